"""TPC-H in pandas: the reference every engine's answer is checked against, and Dask's code.

Written as pandas users write TPC-H (filter each table first, then merge on keys,
group, sort): the plainest correct code, which is also what Dask runs, because Dask's
point is pandas' API over partitions. Everything here is the subset both share:
semi- and anti-joins are merges (Dask's `isin` takes a list, not a lazy column),
a scalar subquery is a reduction compared lazily, and a LIMIT is `_limit`, since
Dask's `head` would compute the first partition only.

Dates arrive as pyarrow date32 columns (pandas' ArrowDtype: both engines read DATE so),
compared with `datetime.date` literals in pyarrow's vectorised kernels.
"""

from __future__ import annotations

from datetime import date

import pandas as pd


def D(text: str) -> date:
    return date.fromisoformat(text)


def _limit(df, n: int):
    """The first n rows of a sorted frame, kept lazy on Dask (its head() computes at once)."""
    return df.head(n, compute=False) if hasattr(df, "npartitions") else df.head(n)


def _revenue(df):
    return df["l_extendedprice"] * (1 - df["l_discount"])


def _nations_of(t, region: str):
    r = t["region"]
    return t["nation"].merge(r[r["r_name"] == region], left_on="n_regionkey", right_on="r_regionkey")


def q1(t):
    li = t["lineitem"]
    x = li[li["l_shipdate"] <= D("1998-09-02")]
    x = x.assign(disc_price=_revenue(x), charge=_revenue(x) * (1 + x["l_tax"]))
    out = x.groupby(["l_returnflag", "l_linestatus"]).agg(
        sum_qty=("l_quantity", "sum"), sum_base_price=("l_extendedprice", "sum"),
        sum_disc_price=("disc_price", "sum"), sum_charge=("charge", "sum"), avg_qty=("l_quantity", "mean"),
        avg_price=("l_extendedprice", "mean"), avg_disc=("l_discount", "mean"), count_order=("l_quantity", "size")).reset_index()
    return out.sort_values(["l_returnflag", "l_linestatus"])


def q2(t):
    p, ps = t["part"], t["partsupp"]
    europe = t["supplier"].merge(_nations_of(t, "EUROPE"), left_on="s_nationkey", right_on="n_nationkey")
    offers = ps.merge(europe, left_on="ps_suppkey", right_on="s_suppkey")
    brass = p[(p["p_size"] == 15) & p["p_type"].str.endswith("BRASS")]
    x = offers.merge(brass, left_on="ps_partkey", right_on="p_partkey")
    cheapest = offers.groupby("ps_partkey").agg(min_cost=("ps_supplycost", "min")).reset_index()
    x = x.merge(cheapest, on="ps_partkey")
    x = x[x["ps_supplycost"] == x["min_cost"]]
    cols = ["s_acctbal", "s_name", "n_name", "p_partkey", "p_mfgr", "s_address", "s_phone", "s_comment"]
    x = x[cols].sort_values(["s_acctbal", "n_name", "s_name", "p_partkey"], ascending=[False, True, True, True])
    return _limit(x, 100)


def q3(t):
    c, o, li = t["customer"], t["orders"], t["lineitem"]
    x = (c[c["c_mktsegment"] == "BUILDING"]
         .merge(o[o["o_orderdate"] < D("1995-03-15")], left_on="c_custkey", right_on="o_custkey")
         .merge(li[li["l_shipdate"] > D("1995-03-15")], left_on="o_orderkey", right_on="l_orderkey"))
    x = x.assign(revenue=_revenue(x))
    out = x.groupby(["l_orderkey", "o_orderdate", "o_shippriority"]).agg(revenue=("revenue", "sum")).reset_index()
    out = out[["l_orderkey", "revenue", "o_orderdate", "o_shippriority"]]
    return _limit(out.sort_values(["revenue", "o_orderdate"], ascending=[False, True]), 10)


def q4(t):
    o, li = t["orders"], t["lineitem"]
    late = li[li["l_commitdate"] < li["l_receiptdate"]][["l_orderkey"]].drop_duplicates()
    x = o[(o["o_orderdate"] >= D("1993-07-01")) & (o["o_orderdate"] < D("1993-10-01"))]
    x = x.merge(late, left_on="o_orderkey", right_on="l_orderkey")
    out = x.groupby("o_orderpriority").agg(order_count=("o_orderkey", "size")).reset_index()
    return out.sort_values("o_orderpriority")


def q5(t):
    o = t["orders"]
    asia = _nations_of(t, "ASIA")
    x = (t["customer"].merge(o[(o["o_orderdate"] >= D("1994-01-01")) & (o["o_orderdate"] < D("1995-01-01"))],
                             left_on="c_custkey", right_on="o_custkey")
         .merge(t["lineitem"], left_on="o_orderkey", right_on="l_orderkey")
         .merge(t["supplier"], left_on=["l_suppkey", "c_nationkey"], right_on=["s_suppkey", "s_nationkey"])
         .merge(asia, left_on="s_nationkey", right_on="n_nationkey"))
    x = x.assign(revenue=_revenue(x))
    out = x.groupby("n_name").agg(revenue=("revenue", "sum")).reset_index()
    return out.sort_values("revenue", ascending=False)


def q6(t):
    li = t["lineitem"]
    x = li[(li["l_shipdate"] >= D("1994-01-01")) & (li["l_shipdate"] < D("1995-01-01"))
           & (li["l_discount"] >= 0.05) & (li["l_discount"] <= 0.07) & (li["l_quantity"] < 24)]
    revenue = (x["l_extendedprice"] * x["l_discount"]).sum()
    return _scalar_frame(revenue=revenue)


def _scalar_frame(**values):
    """A one-row answer from reductions: pandas numbers, or Dask scalars kept lazy as a one-row frame."""
    if any(hasattr(v, "to_series") for v in values.values()):
        import dask.dataframe as dd

        return dd.concat([v.to_series().astype("float64").to_frame(k) for k, v in values.items()], axis=1)
    return pd.DataFrame({k: [float(v)] for k, v in values.items()})


def q7(t):
    n, li = t["nation"], t["lineitem"]
    pair = n[n["n_name"].isin(["FRANCE", "GERMANY"])]
    supp = t["supplier"].merge(pair.rename(columns={"n_name": "supp_nation"}), left_on="s_nationkey",
                               right_on="n_nationkey")[["s_suppkey", "supp_nation"]]
    cust = t["customer"].merge(pair.rename(columns={"n_name": "cust_nation"}), left_on="c_nationkey",
                               right_on="n_nationkey")[["c_custkey", "cust_nation"]]
    x = li[(li["l_shipdate"] >= D("1995-01-01")) & (li["l_shipdate"] <= D("1996-12-31"))]
    x = (x.merge(supp, left_on="l_suppkey", right_on="s_suppkey")
         .merge(t["orders"], left_on="l_orderkey", right_on="o_orderkey")
         .merge(cust, left_on="o_custkey", right_on="c_custkey"))
    x = x[x["supp_nation"] != x["cust_nation"]]
    x = x.assign(l_year=x["l_shipdate"].dt.year, volume=_revenue(x))
    out = x.groupby(["supp_nation", "cust_nation", "l_year"]).agg(revenue=("volume", "sum")).reset_index()
    return out.sort_values(["supp_nation", "cust_nation", "l_year"])


def q8(t):
    p, o = t["part"], t["orders"]
    america = _nations_of(t, "AMERICA")[["n_nationkey"]]
    cust = t["customer"].merge(america, left_on="c_nationkey", right_on="n_nationkey")[["c_custkey"]]
    supp = t["supplier"].merge(t["nation"], left_on="s_nationkey", right_on="n_nationkey")[["s_suppkey", "n_name"]]
    x = (t["lineitem"].merge(p[p["p_type"] == "ECONOMY ANODIZED STEEL"][["p_partkey"]], left_on="l_partkey",
                             right_on="p_partkey")
         .merge(o[(o["o_orderdate"] >= D("1995-01-01")) & (o["o_orderdate"] <= D("1996-12-31"))],
                left_on="l_orderkey", right_on="o_orderkey")
         .merge(cust, left_on="o_custkey", right_on="c_custkey")
         .merge(supp, left_on="l_suppkey", right_on="s_suppkey"))
    volume = _revenue(x)
    x = x.assign(o_year=x["o_orderdate"].dt.year, volume=volume, brazil=volume.where(x["n_name"] == "BRAZIL", 0.0))
    out = x.groupby("o_year").agg(brazil=("brazil", "sum"), volume=("volume", "sum")).reset_index()
    out = out.assign(mkt_share=out["brazil"] / out["volume"])[["o_year", "mkt_share"]]
    return out.sort_values("o_year")


def q9(t):
    p = t["part"]
    green = p[p["p_name"].str.contains("green", regex=False)][["p_partkey"]]
    x = (t["lineitem"].merge(green, left_on="l_partkey", right_on="p_partkey")
         .merge(t["partsupp"], left_on=["l_suppkey", "l_partkey"], right_on=["ps_suppkey", "ps_partkey"])
         .merge(t["supplier"], left_on="l_suppkey", right_on="s_suppkey")
         .merge(t["orders"], left_on="l_orderkey", right_on="o_orderkey")
         .merge(t["nation"], left_on="s_nationkey", right_on="n_nationkey"))
    x = x.assign(nation=x["n_name"], o_year=x["o_orderdate"].dt.year,
                 amount=_revenue(x) - x["ps_supplycost"] * x["l_quantity"])
    out = x.groupby(["nation", "o_year"]).agg(sum_profit=("amount", "sum")).reset_index()
    return out.sort_values(["nation", "o_year"], ascending=[True, False])


def q10(t):
    o, li = t["orders"], t["lineitem"]
    x = (t["customer"].merge(o[(o["o_orderdate"] >= D("1993-10-01")) & (o["o_orderdate"] < D("1994-01-01"))],
                             left_on="c_custkey", right_on="o_custkey")
         .merge(li[li["l_returnflag"] == "R"], left_on="o_orderkey", right_on="l_orderkey")
         .merge(t["nation"], left_on="c_nationkey", right_on="n_nationkey"))
    x = x.assign(revenue=_revenue(x))
    keys = ["c_custkey", "c_name", "c_acctbal", "c_phone", "n_name", "c_address", "c_comment"]
    out = x.groupby(keys).agg(revenue=("revenue", "sum")).reset_index()
    out = out[["c_custkey", "c_name", "revenue", "c_acctbal", "n_name", "c_address", "c_phone", "c_comment"]]
    return _limit(out.sort_values("revenue", ascending=False), 20)


def _german_stock(t):
    n = t["nation"]
    supp = t["supplier"].merge(n[n["n_name"] == "GERMANY"], left_on="s_nationkey", right_on="n_nationkey")
    x = t["partsupp"].merge(supp[["s_suppkey"]], left_on="ps_suppkey", right_on="s_suppkey")
    return x.assign(value=x["ps_supplycost"] * x["ps_availqty"])


def q11(t):
    x = _german_stock(t)
    threshold = x["value"].sum() * 0.0001
    out = x.groupby("ps_partkey").agg(value=("value", "sum")).reset_index()
    return out[out["value"] > threshold].sort_values("value", ascending=False)


def q12(t):
    li = t["lineitem"]
    x = li[li["l_shipmode"].isin(["MAIL", "SHIP"]) & (li["l_commitdate"] < li["l_receiptdate"])
           & (li["l_shipdate"] < li["l_commitdate"]) & (li["l_receiptdate"] >= D("1994-01-01"))
           & (li["l_receiptdate"] < D("1995-01-01"))]
    x = x.merge(t["orders"], left_on="l_orderkey", right_on="o_orderkey")
    high = x["o_orderpriority"].isin(["1-URGENT", "2-HIGH"])
    x = x.assign(high_line_count=high.astype("int64"), low_line_count=(~high).astype("int64"))
    out = x.groupby("l_shipmode").agg(high_line_count=("high_line_count", "sum"),
                                                      low_line_count=("low_line_count", "sum")).reset_index()
    return out.sort_values("l_shipmode")


def q13(t):
    o = t["orders"]
    kept = o[~o["o_comment"].str.contains("special.*requests", regex=True)][["o_orderkey", "o_custkey"]]
    x = t["customer"][["c_custkey"]].merge(kept, left_on="c_custkey", right_on="o_custkey", how="left")
    per_customer = x.groupby("c_custkey").agg(c_count=("o_orderkey", "count")).reset_index()
    out = per_customer.groupby("c_count").agg(custdist=("c_custkey", "size")).reset_index()
    return out.sort_values(["custdist", "c_count"], ascending=[False, False])


def q14(t):
    li = t["lineitem"]
    x = li[(li["l_shipdate"] >= D("1995-09-01")) & (li["l_shipdate"] < D("1995-10-01"))]
    x = x.merge(t["part"], left_on="l_partkey", right_on="p_partkey")
    revenue = _revenue(x)
    promo = revenue.where(x["p_type"].str.startswith("PROMO"), 0.0)
    return _scalar_frame(promo_revenue=100.0 * promo.sum() / revenue.sum())


def _q15_revenue(t):
    li = t["lineitem"]
    x = li[(li["l_shipdate"] >= D("1996-01-01")) & (li["l_shipdate"] < D("1996-04-01"))]
    x = x.assign(revenue=_revenue(x))
    return x.groupby("l_suppkey").agg(total_revenue=("revenue", "sum")).reset_index()


def q15(t):
    revenue = _q15_revenue(t)
    top = revenue[revenue["total_revenue"] == revenue["total_revenue"].max()]
    x = t["supplier"].merge(top, left_on="s_suppkey", right_on="l_suppkey")
    return x[["s_suppkey", "s_name", "s_address", "s_phone", "total_revenue"]].sort_values("s_suppkey")


def q16(t):
    p, s = t["part"], t["supplier"]
    complaints = s[s["s_comment"].str.contains("Customer.*Complaints", regex=True)][["s_suppkey"]]
    parts = p[(p["p_brand"] != "Brand#45") & ~p["p_type"].str.startswith("MEDIUM POLISHED")
              & p["p_size"].isin([49, 14, 23, 45, 19, 3, 36, 9])]
    x = t["partsupp"].merge(parts, left_on="ps_partkey", right_on="p_partkey")
    # NOT IN as an anti-join: the left merge marks the complaining suppliers, which go.
    x = x.merge(complaints, left_on="ps_suppkey", right_on="s_suppkey", how="left")
    x = x[x["s_suppkey"].isna()]
    out = (x.groupby(["p_brand", "p_type", "p_size"])["ps_suppkey"].nunique()
           .reset_index().rename(columns={"ps_suppkey": "supplier_cnt"}))
    return out.sort_values(["supplier_cnt", "p_brand", "p_type", "p_size"], ascending=[False, True, True, True])


def q17(t):
    p, li = t["part"], t["lineitem"]
    parts = p[(p["p_brand"] == "Brand#23") & (p["p_container"] == "MED BOX")][["p_partkey"]]
    x = li.merge(parts, left_on="l_partkey", right_on="p_partkey")
    limit = x.groupby("l_partkey").agg(avg_qty=("l_quantity", "mean")).reset_index()
    x = x.merge(limit, on="l_partkey")
    x = x[x["l_quantity"] < 0.2 * x["avg_qty"]]
    # SQL's sum over no rows is NULL (at SF 0.01 no line qualifies), pandas' is 0: min_count says SQL's.
    return _scalar_frame(avg_yearly=x["l_extendedprice"].sum(min_count=1) / 7.0)


def q18(t):
    li = t["lineitem"]
    per_order = li.groupby("l_orderkey").agg(sum_qty=("l_quantity", "sum")).reset_index()
    big = per_order[per_order["sum_qty"] > 300]
    x = (t["orders"].merge(big, left_on="o_orderkey", right_on="l_orderkey")
         .merge(t["customer"], left_on="o_custkey", right_on="c_custkey"))
    # Grouping by the order's columns over its lines is the order's own total: big already holds it.
    out = x[["c_name", "c_custkey", "o_orderkey", "o_orderdate", "o_totalprice", "sum_qty"]]
    return _limit(out.sort_values(["o_totalprice", "o_orderdate"], ascending=[False, True]), 100)


Q19_GROUPS = (("Brand#12", ("SM CASE", "SM BOX", "SM PACK", "SM PKG"), 1, 11, 5),
              ("Brand#23", ("MED BAG", "MED BOX", "MED PKG", "MED PACK"), 10, 20, 10),
              ("Brand#34", ("LG CASE", "LG BOX", "LG PACK", "LG PKG"), 20, 30, 15))


def q19(t):
    li = t["lineitem"]
    x = li[li["l_shipmode"].isin(["AIR", "AIR REG"]) & (li["l_shipinstruct"] == "DELIVER IN PERSON")]
    x = x.merge(t["part"], left_on="l_partkey", right_on="p_partkey")
    keep = None
    for brand, containers, low, high, size in Q19_GROUPS:
        one = ((x["p_brand"] == brand) & x["p_container"].isin(list(containers)) & (x["l_quantity"] >= low)
               & (x["l_quantity"] <= high) & (x["p_size"] >= 1) & (x["p_size"] <= size))
        keep = one if keep is None else keep | one
    return _scalar_frame(revenue=_revenue(x[keep]).sum())


def q20(t):
    p, li, n = t["part"], t["lineitem"], t["nation"]
    forest = p[p["p_name"].str.startswith("forest")][["p_partkey"]]
    shipped = li[(li["l_shipdate"] >= D("1994-01-01")) & (li["l_shipdate"] < D("1995-01-01"))]
    shipped = shipped.groupby(["l_partkey", "l_suppkey"]).agg(qty=("l_quantity", "sum")).reset_index()
    x = (t["partsupp"].merge(forest, left_on="ps_partkey", right_on="p_partkey")
         .merge(shipped, left_on=["ps_partkey", "ps_suppkey"], right_on=["l_partkey", "l_suppkey"]))
    suppliers = x[x["ps_availqty"] > 0.5 * x["qty"]][["ps_suppkey"]].drop_duplicates()
    canada = t["supplier"].merge(n[n["n_name"] == "CANADA"], left_on="s_nationkey", right_on="n_nationkey")
    out = canada.merge(suppliers, left_on="s_suppkey", right_on="ps_suppkey")
    return out[["s_name", "s_address"]].sort_values("s_name")


def q21(t):
    li, o, n = t["lineitem"], t["orders"], t["nation"]
    # EXISTS another supplier on the order, and NOT EXISTS another supplier late on it: the order has
    # more than one supplier, and its late lines have exactly one (this line's).
    suppliers = li.groupby("l_orderkey")["l_suppkey"].nunique().reset_index().rename(columns={"l_suppkey": "n_all"})
    late = li[li["l_receiptdate"] > li["l_commitdate"]]
    late_suppliers = (late.groupby("l_orderkey")["l_suppkey"].nunique().reset_index()
                      .rename(columns={"l_suppkey": "n_late"}))
    saudi = t["supplier"].merge(n[n["n_name"] == "SAUDI ARABIA"], left_on="s_nationkey", right_on="n_nationkey")
    x = (late.merge(saudi[["s_suppkey", "s_name"]], left_on="l_suppkey", right_on="s_suppkey")
         .merge(o[o["o_orderstatus"] == "F"][["o_orderkey"]], left_on="l_orderkey", right_on="o_orderkey")
         .merge(suppliers, on="l_orderkey").merge(late_suppliers, on="l_orderkey"))
    x = x[(x["n_all"] > 1) & (x["n_late"] == 1)]
    out = x.groupby("s_name").agg(numwait=("l_orderkey", "size")).reset_index()
    return _limit(out.sort_values(["numwait", "s_name"], ascending=[False, True]), 100)


Q22_CODES = ["13", "31", "23", "29", "30", "18", "17"]


def q22(t):
    c = t["customer"]
    c = c.assign(cntrycode=c["c_phone"].str.slice(0, 2))
    c = c[c["cntrycode"].isin(Q22_CODES)]
    average = c[c["c_acctbal"] > 0.0]["c_acctbal"].mean()
    ordered = t["orders"][["o_custkey"]].drop_duplicates()
    x = c[c["c_acctbal"] > average].merge(ordered, left_on="c_custkey", right_on="o_custkey", how="left")
    x = x[x["o_custkey"].isna()]
    out = x.groupby("cntrycode").agg(numcust=("c_custkey", "size"), totacctbal=("c_acctbal", "sum")).reset_index()
    return out.sort_values("cntrycode")


QUERIES = {n: globals()[f"q{n}"] for n in range(1, 23)}
