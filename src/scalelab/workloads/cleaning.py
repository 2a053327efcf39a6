"""Data cleaning on `tabular`'s dirty table: the documented steps, back to the clean data.

The steps (`datasets.tabular` documents the dirt, `tabular.clean` is the pandas
reference, and a unit test checks that it gives the clean `data` table exactly):
  1. trim and lower-case every text value; a null token (NULL_TOKENS) is null;
  2. numbers from text: age through a float ("34.0") to an integer; income without
     "$" and thousands commas;
  3. categories: the aliases in ALIASES mapped to their canonical names;
  4. dates: the first of DATE_FORMATS that parses; an impossible date is null;
  5. labels: yes/true/y/1 are 1, no/false/n/0 are 0;
  6. only then drop duplicate rows (before normalising, the two copies differ).

Every engine's SQL and expressions are written from the same constants (tokens,
aliases, formats), so a change to the dirt reaches all of them.
"""

from __future__ import annotations

from scalelab.datasets import tabular
from scalelab.workloads.base import Data, Suite, ray_partitions

suite = Suite("cleaning", Data("tabular", {"dirty": 1}), ("dirty",), "data cleaning on the tabular dirty table")

dirty = suite.add("dirty", "clean the dirty export: types, null tokens, aliases, date formats, labels, duplicates")

TEXT = ("age", "income", "region", "plan", "channel", "signup_date", "churn")
CATEGORIES = ("region", "plan", "channel")


@dirty.reference
def _(t):
    return tabular.clean(t["dirty"])


@dirty.on("dask")
def _(t):
    # Normalising is row by row: each partition on its own. Duplicates can sit in
    # different partitions, so drop_duplicates (a tree reduction) comes after.
    # (meta from the empty frame: Dask's made-up sample rows are not labels the cleaning knows.)
    dirty = t["dirty"]
    return dirty.map_partitions(tabular.normalise, meta=tabular.normalise(dirty._meta)).drop_duplicates()


@dirty.on("ray")
def _(t):
    # Ray Data has no drop_duplicates. Both copies of a row share its id: hash-shuffle
    # on id, and deduplicating each whole block (batch_size=None) deduplicates the table.
    return (t["dirty"].map_batches(tabular.normalise, batch_format="pandas")
            .repartition(ray_partitions(), keys=["id"])
            .map_batches(lambda b: b.drop_duplicates(), batch_size=None, batch_format="pandas"))


# -- SQL, written from the constants -----------------------------------------------------------
def _quoted(values) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _sql(dialect: str) -> str:
    tokens = _quoted(tabular.NULL_TOKENS)
    text = ",\n           ".join(f"CASE WHEN lower(trim({c})) IN ({tokens}) THEN NULL ELSE lower(trim({c})) END AS {c}"
                                for c in TEXT)
    categories = ",\n       ".join(
        f"CASE {c} " + " ".join(f"WHEN '{a}' THEN '{v}'" for a, v in tabular.ALIASES[c].items()) + f" ELSE {c} END AS {c}"
        for c in CATEGORIES)
    if dialect == "duckdb":
        money = "regexp_replace(income, '[$,]', '', 'g')"
        parse = ", ".join(f"try_strptime(signup_date, '{f}')" for f in tabular.DATE_FORMATS)
    else:                                   # Spark: Java date patterns, and regexp_replace is global
        money = "regexp_replace(income, '[$,]', '')"
        java = {"%Y": "yyyy", "%m": "MM", "%d": "dd"}
        formats = []
        for f in tabular.DATE_FORMATS:
            for py, jv in java.items():
                f = f.replace(py, jv)
            formats.append(f)
        parse = ", ".join(f"try_to_timestamp(signup_date, '{f}')" for f in formats)
    label = " ".join(f"WHEN churn IN ({_quoted(tokens_)}) THEN {value}" for value, tokens_ in tabular.LABEL_TOKENS.items())
    return f"""
WITH text AS (
    SELECT id, balance, tenure_months, num_products,
           {text}
    FROM dirty
)
SELECT DISTINCT id,
       CAST(try_cast(age AS DOUBLE) AS INTEGER) AS age,
       try_cast({money} AS DOUBLE) AS income,
       balance, tenure_months, num_products,
       {categories},
       CAST(coalesce({parse}) AS DATE) AS signup_date,
       CAST(CASE {label} END AS TINYINT) AS churn
FROM text
"""


dirty.sql_on("duckdb", _sql("duckdb"))
dirty.sql_on("spark", _sql("spark"))


@dirty.on("polars")
def _(t):
    import polars as pl

    def text(c):
        s = pl.col(c).str.strip_chars().str.to_lowercase()
        return pl.when(s.is_in(tabular.NULL_TOKENS)).then(None).otherwise(s).alias(c)

    labels = {tok: value for value, toks in tabular.LABEL_TOKENS.items() for tok in toks}
    return (t["dirty"].with_columns(text(c) for c in TEXT).with_columns(
        pl.col("age").cast(pl.Float64, strict=False).cast(pl.Int32),
        pl.col("income").str.replace_all(r"[$,]", "").cast(pl.Float64, strict=False),
        *(pl.col(c).replace(tabular.ALIASES[c]) for c in CATEGORIES),
        pl.coalesce([pl.col("signup_date").str.to_date(f, strict=False) for f in tabular.DATE_FORMATS]),
        pl.col("churn").replace_strict(labels, default=None, return_dtype=pl.Int8),
    ).unique())
