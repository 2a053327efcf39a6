"""TPC-H in Polars' lazy API, as its users write it: filters first, joins, one plan per query.

Polars' optimiser pushes the filters and projections into the scans (or into the held
frames), so a query names only what it means. Semi- and anti-joins are Polars' own
(`how="semi"` / `"anti"`); a scalar subquery is a one-row frame joined by cross join,
so the whole query stays one lazy plan.
"""

from __future__ import annotations

from datetime import date


def _pl():
    import polars as pl

    return pl


def _revenue():
    pl = _pl()
    return pl.col("l_extendedprice") * (1 - pl.col("l_discount"))


def _nations_of(t, region: str):
    pl = _pl()
    return t["nation"].join(t["region"].filter(pl.col("r_name") == region), left_on="n_regionkey",
                            right_on="r_regionkey")


def q1(t):
    pl = _pl()
    return (t["lineitem"].filter(pl.col("l_shipdate") <= date(1998, 9, 2))
            .group_by("l_returnflag", "l_linestatus")
            .agg(pl.col("l_quantity").sum().alias("sum_qty"),
                 pl.col("l_extendedprice").sum().alias("sum_base_price"),
                 _revenue().sum().alias("sum_disc_price"),
                 (_revenue() * (1 + pl.col("l_tax"))).sum().alias("sum_charge"),
                 pl.col("l_quantity").mean().alias("avg_qty"),
                 pl.col("l_extendedprice").mean().alias("avg_price"),
                 pl.col("l_discount").mean().alias("avg_disc"),
                 pl.len().alias("count_order"))
            .sort("l_returnflag", "l_linestatus"))


def q2(t):
    pl = _pl()
    europe = t["supplier"].join(_nations_of(t, "EUROPE"), left_on="s_nationkey", right_on="n_nationkey")
    offers = t["partsupp"].join(europe, left_on="ps_suppkey", right_on="s_suppkey")
    brass = t["part"].filter((pl.col("p_size") == 15) & pl.col("p_type").str.ends_with("BRASS"))
    return (offers.join(brass, left_on="ps_partkey", right_on="p_partkey")
            .filter(pl.col("ps_supplycost") == pl.col("ps_supplycost").min().over("ps_partkey"))
            .select("s_acctbal", "s_name", "n_name", pl.col("ps_partkey").alias("p_partkey"), "p_mfgr",
                    "s_address", "s_phone", "s_comment")
            .sort(["s_acctbal", "n_name", "s_name", "p_partkey"], descending=[True, False, False, False])
            .head(100))


def q3(t):
    pl = _pl()
    return (t["customer"].filter(pl.col("c_mktsegment") == "BUILDING")
            .join(t["orders"].filter(pl.col("o_orderdate") < date(1995, 3, 15)), left_on="c_custkey",
                  right_on="o_custkey")
            .join(t["lineitem"].filter(pl.col("l_shipdate") > date(1995, 3, 15)), left_on="o_orderkey",
                  right_on="l_orderkey")
            .group_by(pl.col("o_orderkey").alias("l_orderkey"), "o_orderdate", "o_shippriority")
            .agg(_revenue().sum().alias("revenue"))
            .select("l_orderkey", "revenue", "o_orderdate", "o_shippriority")
            .sort(["revenue", "o_orderdate"], descending=[True, False])
            .head(10))


def q4(t):
    pl = _pl()
    late = t["lineitem"].filter(pl.col("l_commitdate") < pl.col("l_receiptdate"))
    return (t["orders"].filter(pl.col("o_orderdate").is_between(date(1993, 7, 1), date(1993, 10, 1), closed="left"))
            .join(late, left_on="o_orderkey", right_on="l_orderkey", how="semi")
            .group_by("o_orderpriority").agg(pl.len().alias("order_count"))
            .sort("o_orderpriority"))


def q5(t):
    pl = _pl()
    return (t["customer"]
            .join(t["orders"].filter(pl.col("o_orderdate").is_between(date(1994, 1, 1), date(1995, 1, 1),
                                                                     closed="left")),
                  left_on="c_custkey", right_on="o_custkey")
            .join(t["lineitem"], left_on="o_orderkey", right_on="l_orderkey")
            .join(t["supplier"], left_on=["l_suppkey", "c_nationkey"], right_on=["s_suppkey", "s_nationkey"])
            .join(_nations_of(t, "ASIA"), left_on="c_nationkey", right_on="n_nationkey")
            .group_by("n_name").agg(_revenue().sum().alias("revenue"))
            .sort("revenue", descending=True))


def q6(t):
    pl = _pl()
    return (t["lineitem"]
            .filter(pl.col("l_shipdate").is_between(date(1994, 1, 1), date(1995, 1, 1), closed="left")
                    & pl.col("l_discount").is_between(0.05, 0.07) & (pl.col("l_quantity") < 24))
            .select((pl.col("l_extendedprice") * pl.col("l_discount")).sum().alias("revenue")))


def q7(t):
    pl = _pl()
    pair = t["nation"].filter(pl.col("n_name").is_in(["FRANCE", "GERMANY"]))
    supp = t["supplier"].join(pair, left_on="s_nationkey", right_on="n_nationkey").select(
        "s_suppkey", pl.col("n_name").alias("supp_nation"))
    cust = t["customer"].join(pair, left_on="c_nationkey", right_on="n_nationkey").select(
        "c_custkey", pl.col("n_name").alias("cust_nation"))
    return (t["lineitem"].filter(pl.col("l_shipdate").is_between(date(1995, 1, 1), date(1996, 12, 31)))
            .join(supp, left_on="l_suppkey", right_on="s_suppkey")
            .join(t["orders"], left_on="l_orderkey", right_on="o_orderkey")
            .join(cust, left_on="o_custkey", right_on="c_custkey")
            .filter(pl.col("supp_nation") != pl.col("cust_nation"))
            .group_by("supp_nation", "cust_nation", pl.col("l_shipdate").dt.year().alias("l_year"))
            .agg(_revenue().sum().alias("revenue"))
            .sort("supp_nation", "cust_nation", "l_year"))


def q8(t):
    pl = _pl()
    america = _nations_of(t, "AMERICA").select("n_nationkey")
    cust = t["customer"].join(america, left_on="c_nationkey", right_on="n_nationkey", how="semi")
    supp = t["supplier"].join(t["nation"], left_on="s_nationkey", right_on="n_nationkey")
    return (t["lineitem"]
            .join(t["part"].filter(pl.col("p_type") == "ECONOMY ANODIZED STEEL"), left_on="l_partkey",
                  right_on="p_partkey", how="semi")
            .join(t["orders"].filter(pl.col("o_orderdate").is_between(date(1995, 1, 1), date(1996, 12, 31))),
                  left_on="l_orderkey", right_on="o_orderkey")
            .join(cust, left_on="o_custkey", right_on="c_custkey", how="semi")
            .join(supp, left_on="l_suppkey", right_on="s_suppkey")
            .group_by(pl.col("o_orderdate").dt.year().alias("o_year"))
            .agg((pl.when(pl.col("n_name") == "BRAZIL").then(_revenue()).otherwise(0.0).sum()
                  / _revenue().sum()).alias("mkt_share"))
            .sort("o_year"))


def q9(t):
    pl = _pl()
    return (t["lineitem"]
            .join(t["part"].filter(pl.col("p_name").str.contains("green", literal=True)), left_on="l_partkey",
                  right_on="p_partkey", how="semi")
            .join(t["partsupp"], left_on=["l_suppkey", "l_partkey"], right_on=["ps_suppkey", "ps_partkey"])
            .join(t["supplier"], left_on="l_suppkey", right_on="s_suppkey")
            .join(t["orders"], left_on="l_orderkey", right_on="o_orderkey")
            .join(t["nation"], left_on="s_nationkey", right_on="n_nationkey")
            .group_by(pl.col("n_name").alias("nation"), pl.col("o_orderdate").dt.year().alias("o_year"))
            .agg((_revenue() - pl.col("ps_supplycost") * pl.col("l_quantity")).sum().alias("sum_profit"))
            .sort(["nation", "o_year"], descending=[False, True]))


def q10(t):
    pl = _pl()
    return (t["customer"]
            .join(t["orders"].filter(pl.col("o_orderdate").is_between(date(1993, 10, 1), date(1994, 1, 1),
                                                                     closed="left")),
                  left_on="c_custkey", right_on="o_custkey")
            .join(t["lineitem"].filter(pl.col("l_returnflag") == "R"), left_on="o_orderkey", right_on="l_orderkey")
            .join(t["nation"], left_on="c_nationkey", right_on="n_nationkey")
            .group_by("c_custkey", "c_name", "c_acctbal", "c_phone", "n_name", "c_address", "c_comment")
            .agg(_revenue().sum().alias("revenue"))
            .select("c_custkey", "c_name", "revenue", "c_acctbal", "n_name", "c_address", "c_phone", "c_comment")
            .sort("revenue", descending=True)
            .head(20))


def q11(t):
    pl = _pl()
    german = t["supplier"].join(t["nation"].filter(pl.col("n_name") == "GERMANY"), left_on="s_nationkey",
                                right_on="n_nationkey", how="semi")
    stock = (t["partsupp"].join(german, left_on="ps_suppkey", right_on="s_suppkey", how="semi")
             .with_columns((pl.col("ps_supplycost") * pl.col("ps_availqty")).alias("value")))
    threshold = stock.select((pl.col("value").sum() * 0.0001).alias("threshold"))
    return (stock.group_by("ps_partkey").agg(pl.col("value").sum())
            .join(threshold, how="cross")
            .filter(pl.col("value") > pl.col("threshold"))
            .select("ps_partkey", "value")
            .sort("value", descending=True))


def q12(t):
    pl = _pl()
    high = pl.col("o_orderpriority").is_in(["1-URGENT", "2-HIGH"])
    return (t["lineitem"]
            .filter(pl.col("l_shipmode").is_in(["MAIL", "SHIP"]) & (pl.col("l_commitdate") < pl.col("l_receiptdate"))
                    & (pl.col("l_shipdate") < pl.col("l_commitdate"))
                    & pl.col("l_receiptdate").is_between(date(1994, 1, 1), date(1995, 1, 1), closed="left"))
            .join(t["orders"], left_on="l_orderkey", right_on="o_orderkey")
            .group_by("l_shipmode")
            .agg(high.sum().cast(pl.Int64).alias("high_line_count"),
                 (~high).sum().cast(pl.Int64).alias("low_line_count"))
            .sort("l_shipmode"))


def q13(t):
    pl = _pl()
    kept = t["orders"].filter(~pl.col("o_comment").str.contains("special.*requests"))
    return (t["customer"].join(kept, left_on="c_custkey", right_on="o_custkey", how="left")
            .group_by("c_custkey").agg(pl.col("o_orderkey").count().alias("c_count"))
            .group_by("c_count").agg(pl.len().alias("custdist"))
            .sort(["custdist", "c_count"], descending=[True, True]))


def q14(t):
    pl = _pl()
    return (t["lineitem"].filter(pl.col("l_shipdate").is_between(date(1995, 9, 1), date(1995, 10, 1), closed="left"))
            .join(t["part"], left_on="l_partkey", right_on="p_partkey")
            .select((100.0 * pl.when(pl.col("p_type").str.starts_with("PROMO")).then(_revenue()).otherwise(0.0).sum()
                     / _revenue().sum()).alias("promo_revenue")))


def q15(t):
    pl = _pl()
    revenue = (t["lineitem"].filter(pl.col("l_shipdate").is_between(date(1996, 1, 1), date(1996, 4, 1),
                                                                    closed="left"))
               .group_by("l_suppkey").agg(_revenue().sum().alias("total_revenue")))
    return (t["supplier"].join(revenue, left_on="s_suppkey", right_on="l_suppkey")
            .filter(pl.col("total_revenue") == pl.col("total_revenue").max())
            .select("s_suppkey", "s_name", "s_address", "s_phone", "total_revenue")
            .sort("s_suppkey"))


def q16(t):
    pl = _pl()
    complaints = t["supplier"].filter(pl.col("s_comment").str.contains("Customer.*Complaints"))
    parts = t["part"].filter((pl.col("p_brand") != "Brand#45") & ~pl.col("p_type").str.starts_with("MEDIUM POLISHED")
                             & pl.col("p_size").is_in([49, 14, 23, 45, 19, 3, 36, 9]))
    return (t["partsupp"].join(parts, left_on="ps_partkey", right_on="p_partkey")
            .join(complaints, left_on="ps_suppkey", right_on="s_suppkey", how="anti")
            .group_by("p_brand", "p_type", "p_size").agg(pl.col("ps_suppkey").n_unique().alias("supplier_cnt"))
            .sort(["supplier_cnt", "p_brand", "p_type", "p_size"], descending=[True, False, False, False]))


def q17(t):
    pl = _pl()
    parts = t["part"].filter((pl.col("p_brand") == "Brand#23") & (pl.col("p_container") == "MED BOX"))
    return (t["lineitem"].join(parts, left_on="l_partkey", right_on="p_partkey", how="semi")
            .filter(pl.col("l_quantity") < 0.2 * pl.col("l_quantity").mean().over("l_partkey"))
            # SQL's sum over no rows is NULL (at SF 0.01 no line qualifies), Polars' is 0.
            .select(pl.when(pl.len() > 0).then(pl.col("l_extendedprice").sum() / 7.0).alias("avg_yearly")))


def q18(t):
    pl = _pl()
    big = (t["lineitem"].group_by("l_orderkey").agg(pl.col("l_quantity").sum().alias("sum_qty"))
           .filter(pl.col("sum_qty") > 300))
    return (t["orders"].join(big, left_on="o_orderkey", right_on="l_orderkey")
            .join(t["customer"], left_on="o_custkey", right_on="c_custkey")
            .select("c_name", pl.col("o_custkey").alias("c_custkey"), "o_orderkey", "o_orderdate", "o_totalprice",
                    "sum_qty")
            .sort(["o_totalprice", "o_orderdate"], descending=[True, False])
            .head(100))


def q19(t):
    pl = _pl()
    from scalelab.workloads.tpch.frames import Q19_GROUPS

    keep = pl.lit(False)
    for brand, containers, low, high, size in Q19_GROUPS:
        keep = keep | ((pl.col("p_brand") == brand) & pl.col("p_container").is_in(list(containers))
                       & pl.col("l_quantity").is_between(low, high) & pl.col("p_size").is_between(1, size))
    return (t["lineitem"].filter(pl.col("l_shipmode").is_in(["AIR", "AIR REG"])
                                 & (pl.col("l_shipinstruct") == "DELIVER IN PERSON"))
            .join(t["part"], left_on="l_partkey", right_on="p_partkey")
            .filter(keep)
            .select(_revenue().sum().alias("revenue")))


def q20(t):
    pl = _pl()
    shipped = (t["lineitem"].filter(pl.col("l_shipdate").is_between(date(1994, 1, 1), date(1995, 1, 1),
                                                                    closed="left"))
               .group_by("l_partkey", "l_suppkey").agg(pl.col("l_quantity").sum().alias("qty")))
    suppliers = (t["partsupp"]
                 .join(t["part"].filter(pl.col("p_name").str.starts_with("forest")), left_on="ps_partkey",
                       right_on="p_partkey", how="semi")
                 .join(shipped, left_on=["ps_partkey", "ps_suppkey"], right_on=["l_partkey", "l_suppkey"])
                 .filter(pl.col("ps_availqty") > 0.5 * pl.col("qty")))
    return (t["supplier"]
            .join(t["nation"].filter(pl.col("n_name") == "CANADA"), left_on="s_nationkey", right_on="n_nationkey",
                  how="semi")
            .join(suppliers, left_on="s_suppkey", right_on="ps_suppkey", how="semi")
            .select("s_name", "s_address")
            .sort("s_name"))


def q21(t):
    pl = _pl()
    li = t["lineitem"]
    late = li.filter(pl.col("l_receiptdate") > pl.col("l_commitdate"))
    # EXISTS another supplier on the order, NOT EXISTS another late one (see the pandas reference).
    many = li.group_by("l_orderkey").agg(pl.col("l_suppkey").n_unique().alias("n_all")).filter(pl.col("n_all") > 1)
    alone = (late.group_by("l_orderkey").agg(pl.col("l_suppkey").n_unique().alias("n_late"))
             .filter(pl.col("n_late") == 1))
    saudi = t["supplier"].join(t["nation"].filter(pl.col("n_name") == "SAUDI ARABIA"), left_on="s_nationkey",
                               right_on="n_nationkey", how="semi")
    return (late.join(saudi, left_on="l_suppkey", right_on="s_suppkey")
            .join(t["orders"].filter(pl.col("o_orderstatus") == "F"), left_on="l_orderkey", right_on="o_orderkey",
                  how="semi")
            .join(many, on="l_orderkey", how="semi")
            .join(alone, on="l_orderkey", how="semi")
            .group_by("s_name").agg(pl.len().alias("numwait"))
            .sort(["numwait", "s_name"], descending=[True, False])
            .head(100))


def q22(t):
    pl = _pl()
    from scalelab.workloads.tpch.frames import Q22_CODES

    c = (t["customer"].with_columns(pl.col("c_phone").str.slice(0, 2).alias("cntrycode"))
         .filter(pl.col("cntrycode").is_in(Q22_CODES)))
    average = c.filter(pl.col("c_acctbal") > 0.0).select(pl.col("c_acctbal").mean().alias("average"))
    return (c.join(average, how="cross").filter(pl.col("c_acctbal") > pl.col("average"))
            .join(t["orders"], left_on="c_custkey", right_on="o_custkey", how="anti")
            .group_by("cntrycode").agg(pl.len().alias("numcust"), pl.col("c_acctbal").sum().alias("totacctbal"))
            .sort("cntrycode"))


QUERIES = {n: globals()[f"q{n}"] for n in range(1, 23)}
