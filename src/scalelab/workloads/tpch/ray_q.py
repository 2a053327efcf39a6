"""TPC-H in Ray Data, as its users write a query: expressions, joins, aggregations, one lazy plan.

Filters and computed columns are Ray Data expressions (`col`, `lit`, `.str.match` is
SQL's LIKE), evaluated by pyarrow inside the read tasks. Joins come in two kinds, as on
any cluster engine:

  * a dimension table (nation, region, supplier, customer, part), filtered first, is
    small: it is read once, put in the object store and joined to every block of the
    big side where it sits (a broadcast join; no shuffle);
  * two big sides (lineitem, orders, partsupp and their aggregates) meet in Ray Data's
    hash-shuffle `join`, one partition per CPU.

A scalar subquery is a reduction run first (Ray Data's `sum` and `mean` execute), the
way a Ray user writes it; a one-row answer is a one-row dataset.
"""

from __future__ import annotations

from scalelab.workloads.tpch.frames import Q19_GROUPS, Q22_CODES, D


def _expr():
    from ray.data.expressions import col, lit

    return col, lit


def _agg():
    from ray.data import aggregate

    return aggregate


def _partitions() -> int:
    from scalelab.workloads.base import ray_partitions

    return ray_partitions()


def _table(ds):
    """A (small) dataset as one pyarrow table on the driver."""
    import pyarrow as pa
    import ray

    tables = ray.get(ds.to_arrow_refs())
    return pa.concat_tables(tables, promote_options="default") if tables else ds.schema().base_schema.empty_table()


JOIN_KINDS = {"inner": "inner", "semi": "left semi", "anti": "left anti", "left": "left outer"}


def _broadcast(big, small, left_on, right_on=None, how="inner"):
    """`big` joined to the small dataset `small`, sent once to the object store and joined block by block."""
    import ray

    ref = ray.put(_table(small))
    left, right = list(left_on), list(right_on or left_on)

    def join(batch):
        return batch.join(ray.get(ref), keys=left, right_keys=right, join_type=JOIN_KINDS[how], use_threads=False)

    return big.map_batches(join, batch_format="pyarrow")


def _shuffle(left, right, on, right_on=None, how="inner"):
    """Two big sides hash-partitioned on the keys and joined partition by partition."""
    kinds = {"inner": "inner", "semi": "left_semi", "anti": "left_anti", "left": "left_outer"}
    return left.join(right, join_type=kinds[how], num_partitions=_partitions(), on=tuple(on),
                     right_on=tuple(right_on) if right_on else None)


def _one_row(**values):
    import ray.data

    return ray.data.from_items([values])


def _revenue():
    col, lit = _expr()
    return col("l_extendedprice") * (lit(1.0) - col("l_discount"))


def _between(name, low, high, closed="left"):
    col, lit = _expr()
    upper = (col(name) < lit(high)) if closed == "left" else (col(name) <= lit(high))
    return (col(name) >= lit(low)) & upper


def _nations_of(t, region):
    col, lit = _expr()
    return _broadcast(t["nation"], t["region"].filter(expr=col("r_name") == lit(region)), ["n_regionkey"],
                      ["r_regionkey"])


def _named(ds, name: str):
    """One nation (as a small dataset)."""
    col, lit = _expr()
    return ds.filter(expr=col("n_name") == lit(name))


def _case(ds, name: str, condition, then: str, otherwise: float = 0.0):
    """SQL's CASE WHEN as a computed column (pyarrow's if_else on each block)."""
    import pyarrow.compute as pc

    def add(batch):
        return batch.append_column(name, pc.if_else(condition(batch), batch[then], otherwise))

    return ds.map_batches(add, batch_format="pyarrow")


def q1(t):
    col, lit = _expr()
    a = _agg()
    return (t["lineitem"].filter(expr=col("l_shipdate") <= lit(D("1998-09-02")))
            .with_column("disc_price", _revenue())
            .with_column("charge", col("disc_price") * (lit(1.0) + col("l_tax")))
            .groupby(["l_returnflag", "l_linestatus"])
            .aggregate(a.Sum("l_quantity", alias_name="sum_qty"), a.Sum("l_extendedprice", alias_name="sum_base_price"),
                       a.Sum("disc_price", alias_name="sum_disc_price"), a.Sum("charge", alias_name="sum_charge"),
                       a.Mean("l_quantity", alias_name="avg_qty"), a.Mean("l_extendedprice", alias_name="avg_price"),
                       a.Mean("l_discount", alias_name="avg_disc"), a.Count(alias_name="count_order"))
            .sort(["l_returnflag", "l_linestatus"]))


def q2(t):
    col, lit = _expr()
    a = _agg()
    europe = _broadcast(t["supplier"], _nations_of(t, "EUROPE"), ["s_nationkey"], ["n_nationkey"])
    offers = _broadcast(t["partsupp"], europe, ["ps_suppkey"], ["s_suppkey"])
    brass = t["part"].filter(expr=(col("p_size") == lit(15)) & col("p_type").str.match("%BRASS"))
    candidates = _broadcast(offers, brass, ["ps_partkey"], ["p_partkey"])
    cheapest = offers.groupby("ps_partkey").aggregate(a.Min("ps_supplycost", alias_name="min_cost"))
    return (_shuffle(candidates, cheapest, ["ps_partkey"])
            .filter(expr=col("ps_supplycost") == col("min_cost"))
            .rename_columns({"ps_partkey": "p_partkey"})
            .select_columns(["s_acctbal", "s_name", "n_name", "p_partkey", "p_mfgr", "s_address", "s_phone",
                             "s_comment"])
            .sort(["s_acctbal", "n_name", "s_name", "p_partkey"], descending=[True, False, False, False])
            .limit(100))


def q3(t):
    col, lit = _expr()
    a = _agg()
    orders = _broadcast(t["orders"].filter(expr=col("o_orderdate") < lit(D("1995-03-15"))),
                        t["customer"].filter(expr=col("c_mktsegment") == lit("BUILDING")), ["o_custkey"],
                        ["c_custkey"], how="semi")
    lines = t["lineitem"].filter(expr=col("l_shipdate") > lit(D("1995-03-15")))
    return (_shuffle(lines, orders, ["l_orderkey"], ["o_orderkey"])
            .with_column("revenue", _revenue())
            .groupby(["l_orderkey", "o_orderdate", "o_shippriority"]).aggregate(a.Sum("revenue", alias_name="revenue"))
            .sort(["revenue", "o_orderdate"], descending=[True, False])
            .limit(10))


def q4(t):
    col, lit = _expr()
    a = _agg()
    late = t["lineitem"].filter(expr=col("l_commitdate") < col("l_receiptdate")).select_columns(["l_orderkey"])
    orders = t["orders"].filter(expr=_between("o_orderdate", D("1993-07-01"), D("1993-10-01")))
    return (_shuffle(orders, late, ["o_orderkey"], ["l_orderkey"], how="semi")
            .groupby("o_orderpriority").aggregate(a.Count(alias_name="order_count"))
            .sort("o_orderpriority"))


def q5(t):
    col, lit = _expr()
    a = _agg()
    asia = _nations_of(t, "ASIA")
    suppliers = _broadcast(t["supplier"], asia, ["s_nationkey"], ["n_nationkey"])
    customers = _broadcast(t["customer"], asia, ["c_nationkey"], ["n_nationkey"], how="semi")
    orders = _broadcast(t["orders"].filter(expr=_between("o_orderdate", D("1994-01-01"), D("1995-01-01"))),
                        customers, ["o_custkey"], ["c_custkey"])
    return (_broadcast(_shuffle(t["lineitem"], orders, ["l_orderkey"], ["o_orderkey"]), suppliers,
                       ["l_suppkey", "c_nationkey"], ["s_suppkey", "s_nationkey"])
            .with_column("revenue", _revenue())
            .groupby("n_name").aggregate(a.Sum("revenue", alias_name="revenue"))
            .sort("revenue", descending=True))


def q6(t):
    col, lit = _expr()
    revenue = (t["lineitem"]
               .filter(expr=_between("l_shipdate", D("1994-01-01"), D("1995-01-01"))
                       & (col("l_discount") >= lit(0.05)) & (col("l_discount") <= lit(0.07))
                       & (col("l_quantity") < lit(24.0)))
               .with_column("revenue", col("l_extendedprice") * col("l_discount"))
               .sum("revenue"))
    return _one_row(revenue=revenue)


def q7(t):
    col, lit = _expr()
    a = _agg()
    pair = t["nation"].filter(expr=col("n_name").is_in(["FRANCE", "GERMANY"]))
    suppliers = _broadcast(t["supplier"], pair, ["s_nationkey"], ["n_nationkey"]).rename_columns(
        {"n_name": "supp_nation"}).select_columns(["s_suppkey", "supp_nation"])
    customers = _broadcast(t["customer"], pair, ["c_nationkey"], ["n_nationkey"]).rename_columns(
        {"n_name": "cust_nation"}).select_columns(["c_custkey", "cust_nation"])
    orders = _broadcast(t["orders"], customers, ["o_custkey"], ["c_custkey"])
    lines = _broadcast(t["lineitem"].filter(expr=_between("l_shipdate", D("1995-01-01"), D("1996-12-31"), "both")),
                       suppliers, ["l_suppkey"], ["s_suppkey"])
    return (_shuffle(lines, orders, ["l_orderkey"], ["o_orderkey"])
            .filter(expr=col("supp_nation") != col("cust_nation"))
            .with_column("l_year", col("l_shipdate").dt.year())
            .with_column("volume", _revenue())
            .groupby(["supp_nation", "cust_nation", "l_year"]).aggregate(a.Sum("volume", alias_name="revenue"))
            .sort(["supp_nation", "cust_nation", "l_year"]))


def q8(t):
    import pyarrow.compute as pc

    col, lit = _expr()
    a = _agg()
    customers = _broadcast(t["customer"], _nations_of(t, "AMERICA"), ["c_nationkey"], ["n_nationkey"], how="semi")
    orders = _broadcast(t["orders"].filter(expr=_between("o_orderdate", D("1995-01-01"), D("1996-12-31"), "both")),
                        customers, ["o_custkey"], ["c_custkey"], how="semi")
    suppliers = _broadcast(t["supplier"], t["nation"], ["s_nationkey"], ["n_nationkey"])
    lines = _broadcast(t["lineitem"], t["part"].filter(expr=col("p_type") == lit("ECONOMY ANODIZED STEEL")),
                       ["l_partkey"], ["p_partkey"], how="semi")
    x = _broadcast(_shuffle(lines, orders, ["l_orderkey"], ["o_orderkey"]), suppliers, ["l_suppkey"], ["s_suppkey"])
    x = _case(x.with_column("o_year", col("o_orderdate").dt.year()).with_column("volume", _revenue()),
              "brazil", lambda b: pc.equal(b["n_name"], "BRAZIL"), "volume")
    return (x.groupby("o_year").aggregate(a.Sum("brazil", alias_name="brazil"), a.Sum("volume", alias_name="volume"))
            .with_column("mkt_share", col("brazil") / col("volume"))
            .select_columns(["o_year", "mkt_share"])
            .sort("o_year"))


def q9(t):
    col, lit = _expr()
    a = _agg()
    lines = _broadcast(t["lineitem"], t["part"].filter(expr=col("p_name").str.contains("green")), ["l_partkey"],
                       ["p_partkey"], how="semi")
    lines = _shuffle(lines, t["partsupp"], ["l_suppkey", "l_partkey"], ["ps_suppkey", "ps_partkey"])
    suppliers = _broadcast(t["supplier"], t["nation"], ["s_nationkey"], ["n_nationkey"])
    lines = _broadcast(lines, suppliers, ["l_suppkey"], ["s_suppkey"])
    return (_shuffle(lines, t["orders"], ["l_orderkey"], ["o_orderkey"])
            .with_column("o_year", col("o_orderdate").dt.year())
            .with_column("amount", _revenue() - col("ps_supplycost") * col("l_quantity"))
            .rename_columns({"n_name": "nation"})
            .groupby(["nation", "o_year"]).aggregate(a.Sum("amount", alias_name="sum_profit"))
            .sort(["nation", "o_year"], descending=[False, True]))


def q10(t):
    col, lit = _expr()
    a = _agg()
    customers = _broadcast(t["customer"], t["nation"], ["c_nationkey"], ["n_nationkey"])
    orders = _broadcast(t["orders"].filter(expr=_between("o_orderdate", D("1993-10-01"), D("1994-01-01"))),
                        customers, ["o_custkey"], ["c_custkey"])
    keys = ["o_custkey", "c_name", "c_acctbal", "c_phone", "n_name", "c_address", "c_comment"]
    return (_shuffle(t["lineitem"].filter(expr=col("l_returnflag") == lit("R")), orders, ["l_orderkey"],
                     ["o_orderkey"])
            .with_column("revenue", _revenue())
            .groupby(keys).aggregate(a.Sum("revenue", alias_name="revenue"))
            .rename_columns({"o_custkey": "c_custkey"})
            .sort("revenue", descending=True)
            .limit(20))


def q11(t):
    col, lit = _expr()
    a = _agg()
    german = _broadcast(t["supplier"], _named(t["nation"], "GERMANY"), ["s_nationkey"], ["n_nationkey"], how="semi")
    stock = (_broadcast(t["partsupp"], german, ["ps_suppkey"], ["s_suppkey"], how="semi")
             .with_column("value", col("ps_supplycost") * col("ps_availqty")))
    threshold = (stock.sum("value") or 0.0) * 0.0001
    return (stock.groupby("ps_partkey").aggregate(a.Sum("value", alias_name="value"))
            .filter(expr=col("value") > lit(threshold))
            .sort("value", descending=True))


def q12(t):
    import pyarrow as pa
    import pyarrow.compute as pc

    col, lit = _expr()
    a = _agg()
    lines = t["lineitem"].filter(expr=col("l_shipmode").is_in(["MAIL", "SHIP"])
                                 & (col("l_commitdate") < col("l_receiptdate"))
                                 & (col("l_shipdate") < col("l_commitdate"))
                                 & _between("l_receiptdate", D("1994-01-01"), D("1995-01-01")))
    x = _shuffle(lines, t["orders"], ["l_orderkey"], ["o_orderkey"])

    def counts(batch):
        high = pc.is_in(batch["o_orderpriority"], value_set=pa.array(["1-URGENT", "2-HIGH"]))
        return batch.append_column("high", pc.cast(high, "int64")).append_column(
            "low", pc.cast(pc.invert(high), "int64"))

    return (x.map_batches(counts, batch_format="pyarrow")
            .groupby("l_shipmode").aggregate(a.Sum("high", alias_name="high_line_count"),
                                             a.Sum("low", alias_name="low_line_count"))
            .sort("l_shipmode"))


def q13(t):
    col, lit = _expr()
    a = _agg()
    kept = t["orders"].filter(expr=~col("o_comment").str.match("%special%requests%")).select_columns(
        ["o_orderkey", "o_custkey"])
    return (_shuffle(t["customer"].select_columns(["c_custkey"]), kept, ["c_custkey"], ["o_custkey"], how="left")
            .groupby("c_custkey").aggregate(a.Count("o_orderkey", ignore_nulls=True, alias_name="c_count"))
            .groupby("c_count").aggregate(a.Count(alias_name="custdist"))
            .sort(["custdist", "c_count"], descending=[True, True]))


def q14(t):
    import pyarrow.compute as pc

    lines = t["lineitem"].filter(expr=_between("l_shipdate", D("1995-09-01"), D("1995-10-01")))
    x = _broadcast(lines, t["part"], ["l_partkey"], ["p_partkey"]).with_column("revenue", _revenue())
    x = _case(x, "promo", lambda b: pc.starts_with(b["p_type"], "PROMO"), "revenue")
    a = _agg()
    sums = x.aggregate(a.Sum("promo", alias_name="promo"), a.Sum("revenue", alias_name="revenue"))
    return _one_row(promo_revenue=100.0 * sums["promo"] / sums["revenue"])


def q15(t):
    col, lit = _expr()
    a = _agg()
    revenue = (t["lineitem"].filter(expr=_between("l_shipdate", D("1996-01-01"), D("1996-04-01")))
               .with_column("revenue", _revenue())
               .groupby("l_suppkey").aggregate(a.Sum("revenue", alias_name="total_revenue"))
               .materialize())          # asked twice: its maximum, then the suppliers that reach it
    top = revenue.max("total_revenue")
    return (_broadcast(t["supplier"], revenue.filter(expr=col("total_revenue") == lit(top)), ["s_suppkey"],
                       ["l_suppkey"])
            .select_columns(["s_suppkey", "s_name", "s_address", "s_phone", "total_revenue"])
            .sort("s_suppkey"))


def q16(t):
    col, lit = _expr()
    a = _agg()
    complaints = t["supplier"].filter(expr=col("s_comment").str.match("%Customer%Complaints%"))
    parts = t["part"].filter(expr=(col("p_brand") != lit("Brand#45")) & ~col("p_type").str.match("MEDIUM POLISHED%")
                             & col("p_size").is_in([49, 14, 23, 45, 19, 3, 36, 9]))
    x = _broadcast(_broadcast(t["partsupp"], parts, ["ps_partkey"], ["p_partkey"]), complaints, ["ps_suppkey"],
                   ["s_suppkey"], how="anti")
    return (x.groupby(["p_brand", "p_type", "p_size"])
            .aggregate(a.CountDistinct("ps_suppkey", alias_name="supplier_cnt"))
            .sort(["supplier_cnt", "p_brand", "p_type", "p_size"], descending=[True, False, False, False]))


def q17(t):
    col, lit = _expr()
    a = _agg()
    parts = t["part"].filter(expr=(col("p_brand") == lit("Brand#23")) & (col("p_container") == lit("MED BOX")))
    lines = _broadcast(t["lineitem"], parts, ["l_partkey"], ["p_partkey"], how="semi").materialize()
    average = lines.groupby("l_partkey").aggregate(a.Mean("l_quantity", alias_name="avg_qty"))
    total = (_shuffle(lines, average, ["l_partkey"])
             .filter(expr=col("l_quantity") < lit(0.2) * col("avg_qty"))
             .sum("l_extendedprice"))
    return _one_row(avg_yearly=None if total is None else total / 7.0)     # SQL: no rows, NULL


def q18(t):
    col, lit = _expr()
    a = _agg()
    big = (t["lineitem"].groupby("l_orderkey").aggregate(a.Sum("l_quantity", alias_name="sum_qty"))
           .filter(expr=col("sum_qty") > lit(300.0)))
    orders = _broadcast(_shuffle(t["orders"], big, ["o_orderkey"], ["l_orderkey"]), t["customer"], ["o_custkey"],
                        ["c_custkey"])
    return (orders.rename_columns({"o_custkey": "c_custkey"})
            .select_columns(["c_name", "c_custkey", "o_orderkey", "o_orderdate", "o_totalprice", "sum_qty"])
            .sort(["o_totalprice", "o_orderdate"], descending=[True, False])
            .limit(100))


def q19(t):
    col, lit = _expr()
    keep = None
    for brand, containers, low, high, size in Q19_GROUPS:
        one = ((col("p_brand") == lit(brand)) & col("p_container").is_in(list(containers))
               & (col("l_quantity") >= lit(float(low))) & (col("l_quantity") <= lit(float(high)))
               & (col("p_size") >= lit(1)) & (col("p_size") <= lit(size)))
        keep = one if keep is None else keep | one
    lines = t["lineitem"].filter(expr=col("l_shipmode").is_in(["AIR", "AIR REG"])
                                 & (col("l_shipinstruct") == lit("DELIVER IN PERSON")))
    revenue = _broadcast(lines, t["part"], ["l_partkey"], ["p_partkey"]).filter(expr=keep).with_column(
        "revenue", _revenue()).sum("revenue")
    return _one_row(revenue=revenue)


def q20(t):
    col, lit = _expr()
    a = _agg()
    shipped = (t["lineitem"].filter(expr=_between("l_shipdate", D("1994-01-01"), D("1995-01-01")))
               .groupby(["l_partkey", "l_suppkey"]).aggregate(a.Sum("l_quantity", alias_name="qty")))
    offers = _broadcast(t["partsupp"], t["part"].filter(expr=col("p_name").str.starts_with("forest")), ["ps_partkey"],
                        ["p_partkey"], how="semi")
    suppliers = (_shuffle(offers, shipped, ["ps_partkey", "ps_suppkey"], ["l_partkey", "l_suppkey"])
                 .filter(expr=col("ps_availqty") > lit(0.5) * col("qty"))
                 .select_columns(["ps_suppkey"]))
    canada = _broadcast(t["supplier"], _named(t["nation"], "CANADA"), ["s_nationkey"], ["n_nationkey"], how="semi")
    return (_shuffle(canada, suppliers, ["s_suppkey"], ["ps_suppkey"], how="semi")
            .select_columns(["s_name", "s_address"])
            .sort("s_name"))


def q21(t):
    col, lit = _expr()
    a = _agg()
    # EXISTS another supplier on the order, NOT EXISTS another late one (see the pandas reference).
    late = t["lineitem"].filter(expr=col("l_receiptdate") > col("l_commitdate")).select_columns(
        ["l_orderkey", "l_suppkey"])
    many = (t["lineitem"].groupby("l_orderkey").aggregate(a.CountDistinct("l_suppkey", alias_name="n_all"))
            .filter(expr=col("n_all") > lit(1)))
    alone = (late.groupby("l_orderkey").aggregate(a.CountDistinct("l_suppkey", alias_name="n_late"))
             .filter(expr=col("n_late") == lit(1)))
    saudi = _broadcast(t["supplier"], _named(t["nation"], "SAUDI ARABIA"), ["s_nationkey"], ["n_nationkey"],
                       how="semi")
    orders = t["orders"].filter(expr=col("o_orderstatus") == lit("F")).select_columns(["o_orderkey"])
    x = _broadcast(late, saudi, ["l_suppkey"], ["s_suppkey"])
    x = _shuffle(_shuffle(_shuffle(x, orders, ["l_orderkey"], ["o_orderkey"], how="semi"), many, ["l_orderkey"],
                          how="semi"), alone, ["l_orderkey"], how="semi")
    return (x.groupby("s_name").aggregate(a.Count(alias_name="numwait"))
            .sort(["numwait", "s_name"], descending=[True, False])
            .limit(100))


def q22(t):
    col, lit = _expr()
    a = _agg()
    customers = (t["customer"].with_column("cntrycode", col("c_phone").str.slice(0, 2))
                 .filter(expr=col("cntrycode").is_in(Q22_CODES))
                 .materialize())        # asked twice: the average balance, then the customers above it
    average = customers.filter(expr=col("c_acctbal") > lit(0.0)).mean("c_acctbal")
    rich = customers.filter(expr=col("c_acctbal") > lit(average))
    return (_shuffle(rich, t["orders"].select_columns(["o_custkey"]), ["c_custkey"], ["o_custkey"], how="anti")
            .groupby("cntrycode").aggregate(a.Count(alias_name="numcust"), a.Sum("c_acctbal", alias_name="totacctbal"))
            .sort("cntrycode"))


QUERIES = {n: globals()[f"q{n}"] for n in range(1, 23)}
