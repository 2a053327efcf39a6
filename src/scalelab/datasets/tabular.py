"""A churn-style classification table for the machine-learning labs, and a dirty copy of it.

Tables:
  data   N rows  id, age, income, balance, tenure_months, num_products, region, plan,
                 channel, signup_date, churn (0/1, the label)
  truth  N rows  id, p_churn: the true probability the label was drawn from
  dirty  about 1.03 N rows (only with dirty=1): `data` as a careless export has it
Named C1_<N>_<pos>_<nas>, with `_dirty` appended for the dirty variant.

The label comes from a known model: a logistic function of the features (with a
non-monotone effect of num_products and a quadratic one of age, so that trees can
beat a linear model), its intercept solved so that `pos`% of customers churn (class
imbalance). The model sees every feature before any is blanked, so `truth` gives the
Bayes-optimal accuracy, mean(max(p, 1 - p)): no classifier can expect better, and a
good one gets close (`bayes_accuracy`). Then each of age, income, region, channel and
signup_date is missing with probability nas/100, independently.

The dirty variant, and the cleaning that takes it back to `data` exactly (`clean`):
  * text where numbers belong: age as "34", "34.0" or " 34 "; income as "52345.67"
    or "$52,345.67"; missing values as any of NULL_TOKENS.
  * inconsistent categories: any case, stray spaces, and the aliases in ALIASES.
  * dates in three formats: ISO "2023-04-05", European "05/04/2023" (day first),
    compact "20230405"; a missing date is written as an impossible one ("2023-02-30",
    "31/31/2023") or a token.
  * labels as 1/0, yes/no, true/false or y/n, in any case.
  * duplicates: 3% of rows appear twice, written differently the second time, so they
    only show as duplicates once normalised (drop them after cleaning, not before).
  * rows in no particular order (`data` is ordered by id).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from scalelab.datasets.base import (BLOCK_ROWS, DatasetError, Generator, Spec, Table, check_min_rows, check_no_extra,
                                    check_percent, pretty_sci, rng_for)

REGIONS = np.array(["north", "south", "east", "west", "central"], dtype=object)
PLANS = np.array(["basic", "plus", "premium"], dtype=object)
CHANNELS = np.array(["web", "store", "phone", "partner"], dtype=object)
ALIASES = {"region": {"n": "north", "s": "south", "e": "east", "w": "west", "c": "central"},
           "plan": {"std": "basic", "plus+": "plus", "prem": "premium"},
           "channel": {"online": "web", "retail": "store", "call centre": "phone", "reseller": "partner"}}
NULL_TOKENS = ("", "na", "n/a", "null", "none", "unknown", "?", "-")
LABEL_TOKENS = {1: ("1", "yes", "true", "y"), 0: ("0", "no", "false", "n")}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d")
BAD_DATES = ("2023-02-30", "31/31/2023", "0000-00-00", "not a date")
REFERENCE_DAY = np.datetime64("2025-01-01", "D")
DUPLICATES = 0.03
SIGNAL = 1.6                     # scales the model: Bayes accuracy about 0.9 at pos=20
DATA, TRUTH, DIRTY, CALIBRATION = 1, 2, 3, 900


def _features(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    days = rng.integers(0, 3653, n)                       # signed up within ten years
    return {
        "age": np.clip(np.round(rng.normal(42, 13, n)), 18, 85).astype(np.int32),
        "income": np.round(rng.lognormal(np.log(52_000), 0.5, n) * 100) / 100,
        "balance": np.round(rng.normal(1_500, 2_500, n) * 100) / 100,
        "tenure_months": (days // 30).astype(np.int32),
        "num_products": rng.choice(np.arange(1, 5, dtype=np.int32), n, p=[0.5, 0.3, 0.15, 0.05]),
        "region": rng.choice(len(REGIONS), n, p=[0.25, 0.2, 0.2, 0.2, 0.15]),
        "plan": rng.choice(len(PLANS), n, p=[0.6, 0.3, 0.1]),
        "channel": rng.choice(len(CHANNELS), n, p=[0.5, 0.25, 0.15, 0.1]),
        "signup_date": REFERENCE_DAY - days.astype("timedelta64[D]"),
    }


def _logit(f: dict[str, np.ndarray]) -> np.ndarray:
    """The known model, without its intercept."""
    age = (f["age"] - 42) / 13
    return SIGNAL * (0.9 * age + 0.6 * (age ** 2 - 1)
        - 1.2 * (np.log(f["income"]) - np.log(52_000)) / 0.5
        - 0.6 * (f["balance"] - 1_500) / 2_500
        - 1.5 * (f["tenure_months"] - 60) / 35
        + np.array([0.0, -1.2, 0.8, 2.0])[f["num_products"] - 1]
        + np.array([0.0, 0.3, -0.2, 0.1, 0.6])[f["region"]]
        + np.array([0.8, 0.0, -1.0])[f["plan"]]
        + np.array([0.0, -0.4, 0.5, 0.3])[f["channel"]])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def intercept(seed: int, pos: int) -> float:
    """The intercept that makes `pos`% positive, solved on a fixed seeded sample."""
    z = _logit(_features(rng_for(seed, CALIBRATION, 0), 4 * BLOCK_ROWS))
    lo, hi = -30.0, 30.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _sigmoid(z + mid).mean() < pos / 100 else (lo, mid)
    return round((lo + hi) / 2, 6)       # rounded: the bytes must not hang on the last bit


class Tabular(Generator):
    name = "tabular"
    description = "churn classification from a known model (imbalance, missing values); dirty=1 adds a dirty copy"
    bytes_per_row = 45.0

    def spec(self, rows: int, pos: int = 20, nas: int = 5, dirty: int = 0, **extra) -> Spec:
        check_no_extra(self.name, ", pos, nas and dirty", extra)
        check_min_rows(self.name, rows, 100)
        if not 1 <= pos <= 99:
            raise DatasetError(f"pos={pos} is the percentage of positive labels: 1 to 99")
        check_percent("nas", nas)
        if dirty not in (0, 1):
            raise DatasetError(f"dirty={dirty} must be 0 (clean only) or 1 (add the dirty copy)")
        name = f"C1_{pretty_sci(rows)}_{pos}_{nas}" + ("_dirty" if dirty else "")
        return Spec(self.name, name, {"N": rows, "pos": pos, "nas": nas, "dirty": dirty})

    def tables(self, spec: Spec) -> list[Table]:
        b0 = intercept(spec.seed, spec.params["pos"])
        nas = spec.params["nas"]

        def block(start: int, stop: int) -> tuple[dict, np.ndarray, np.ndarray]:
            # Every table of a block is made from the same draws, so the tables agree row for row.
            rng = rng_for(spec.seed, DATA, start // BLOCK_ROWS)
            f = _features(rng, stop - start)
            p = _sigmoid(_logit(f) + b0)
            label = (rng.random(stop - start) < p).astype(np.int8)
            missing = {c: rng.random(stop - start) < nas / 100
                       for c in ("age", "income", "region", "channel", "signup_date")}
            return _data_table(start, stop, f, label, missing), p, label

        def make_data(start, stop, _rng):
            return block(start, stop)[0]

        def make_truth(start, stop, _rng):
            return pa.table({"id": pa.array(np.arange(start, stop, dtype=np.int64)),
                             "p_churn": pa.array(np.round(block(start, stop)[1], 6))})

        def make_dirty(start, stop, rng):
            return _dirty_table(block(start, stop)[0], rng)

        n = spec.params["N"]
        tables = [Table("data", n, make_data, DATA), Table("truth", n, make_truth, TRUTH)]
        if spec.params["dirty"]:
            tables.append(Table("dirty", n, make_dirty, DIRTY, produces=dirty_rows(n)))
        return tables


def _data_table(start: int, stop: int, f: dict, label: np.ndarray, missing: dict) -> pa.Table:
    def col(name, values, typ=None):
        return pa.array(values, typ, mask=missing.get(name))

    return pa.table({
        "id": pa.array(np.arange(start, stop, dtype=np.int64)),
        "age": col("age", f["age"], pa.int32()),
        "income": col("income", f["income"], pa.float64()),
        "balance": pa.array(f["balance"], pa.float64()),
        "tenure_months": pa.array(f["tenure_months"], pa.int32()),
        "num_products": pa.array(f["num_products"], pa.int32()),
        "region": col("region", REGIONS[f["region"]], pa.string()),
        "plan": pa.array(PLANS[f["plan"]], pa.string()),
        "channel": col("channel", CHANNELS[f["channel"]], pa.string()),
        "signup_date": col("signup_date", f["signup_date"], pa.date32()),
        "churn": pa.array(label, pa.int8()),
    })


# -- the dirty copy -------------------------------------------------------------------
def _pick(rng: np.random.Generator, choices, n: int, p=None) -> np.ndarray:
    return np.asarray(choices, dtype=object)[rng.choice(len(choices), n, p=p)]


def _null_tokens(rng, n):
    return _pick(rng, ("", "NA", "n/a", "NULL", "None", "unknown", "?", "-", " "), n)


def _render_category(values: np.ndarray, aliases: dict[str, str], rng) -> np.ndarray:
    n = len(values)
    out = values.astype(object).copy()
    style = rng.random(n)
    out = np.where(style < 0.15, np.char.title(out.astype(str)).astype(object), out)
    out = np.where((style >= 0.15) & (style < 0.25), np.char.upper(out.astype(str)).astype(object), out)
    out = np.where((style >= 0.25) & (style < 0.35), np.char.add(np.char.add(" ", out.astype(str)), "  ").astype(object),
                   out)
    import pandas as pd

    alias = pd.Series(values, dtype=object).replace({v: k for k, v in aliases.items()}).to_numpy()
    return np.where(style >= 0.9, alias, out)


def _render(t: pa.Table, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Write one batch of clean rows the way a careless export would."""
    n = t.num_rows
    d = {c: t.column(c).to_numpy(zero_copy_only=False) for c in t.column_names}
    nulls = {c: t.column(c).is_null().to_numpy(zero_copy_only=False) for c in t.column_names}

    age = pa.compute.cast(t.column("age"), pa.string()).fill_null("").to_numpy(zero_copy_only=False)
    style = rng.random(n)
    age = np.where(style < 0.1, np.char.add(age.astype(str), ".0").astype(object), age)
    age = np.where((style >= 0.1) & (style < 0.2), np.char.add(np.char.add(" ", age.astype(str)), " ").astype(object),
                   age)

    cents = np.round(np.nan_to_num(d["income"].astype(float)) * 100).astype(np.int64)
    income_s = np.char.add(np.char.add((cents // 100).astype(str), "."), np.char.zfill((cents % 100).astype(str), 2))
    income_s = income_s.astype(object)
    dollars = np.flatnonzero(rng.random(n) < 0.25)
    income_s[dollars] = [f"${c // 100:,}.{c % 100:02d}" for c in cents[dollars].tolist()]

    # Dates, written from the ISO form's characters: "2023-04-05", "05/04/2023", "20230405".
    iso = d["signup_date"].astype("datetime64[D]").astype("<U10")
    chars = iso.view("<U1").reshape(n, 10)
    slash = np.full((n, 1), "/")
    european = np.concatenate([chars[:, 8:10], slash, chars[:, 5:7], slash, chars[:, 0:4]], axis=1)
    compact = np.concatenate([chars[:, 0:4], chars[:, 5:7], chars[:, 8:10]], axis=1)
    forms = np.stack([iso, np.ascontiguousarray(european).view("<U10").ravel(),
                      np.ascontiguousarray(compact).view("<U8").ravel().astype("<U10")])
    date_s = forms[rng.integers(0, len(DATE_FORMATS), n), np.arange(n)].astype(object)
    date_s = np.where(nulls["signup_date"], np.where(rng.random(n) < 0.6, _pick(rng, BAD_DATES, n),
                                                     _null_tokens(rng, n)), date_s)

    tokens = np.array([LABEL_TOKENS[0], LABEL_TOKENS[1]], dtype=object)
    labels = tokens[d["churn"].astype(int), rng.integers(0, 4, n)]
    labels = np.where(rng.random(n) < 0.3, np.char.upper(labels.astype(str)).astype(object), labels)

    out = {
        "id": d["id"],
        "age": np.where(nulls["age"], _null_tokens(rng, n), age),
        "income": np.where(nulls["income"], _null_tokens(rng, n), income_s),
        "balance": d["balance"],
        "tenure_months": d["tenure_months"],
        "num_products": d["num_products"],
    }
    for c in ("region", "plan", "channel"):
        values = np.where(nulls[c], "", d[c].astype(object))
        out[c] = np.where(nulls[c], _null_tokens(rng, n), _render_category(values, ALIASES[c], rng))
    out["signup_date"] = date_s
    out["churn"] = labels
    return out


def _dirty_table(clean: pa.Table, rng: np.random.Generator) -> pa.Table:
    n = clean.num_rows
    repeats = rng.choice(n, int(n * DUPLICATES), replace=False)
    # The second copy of a duplicated row is rendered afresh: it differs in writing only.
    parts = [_render(clean, rng), _render(clean.take(pa.array(np.sort(repeats))), rng)]
    merged = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    order = rng.permutation(len(merged["id"]))
    types = {"id": pa.int64(), "balance": pa.float64(), "tenure_months": pa.int32(), "num_products": pa.int32()}
    return pa.table({c: pa.array(v[order], types.get(c, pa.string())) for c, v in merged.items()})


def dirty_rows(n: int) -> int:
    """Rows in the dirty table for N clean rows (each block adds its own duplicates)."""
    full, rest = divmod(n, BLOCK_ROWS)
    return full * (BLOCK_ROWS + int(BLOCK_ROWS * DUPLICATES)) + rest + int(rest * DUPLICATES)


# -- the known cleaning (the pandas reference of the data-cleaning workload) -----------
def clean(dirty):
    """The documented cleaning, in pandas: `dirty` back to `data`, ordered by id."""
    return normalise(dirty).drop_duplicates().sort_values("id", ignore_index=True)


def normalise(dirty):
    """Every value of `dirty` in its clean form, row by row (duplicates still in: drop them after this)."""
    import pandas as pd

    df = dirty.copy()
    text = {c: df[c].astype("string").str.strip().str.lower() for c in ("age", "income", "region", "plan",
                                                                          "channel", "signup_date", "churn")}
    nulls = pd.Series(NULL_TOKENS, dtype="string")
    for c, s in text.items():
        text[c] = s.mask(s.isin(nulls))
    df["age"] = pd.to_numeric(text["age"], errors="coerce").astype("Int32")
    df["income"] = pd.to_numeric(text["income"].str.replace(r"[$,]", "", regex=True), errors="coerce")
    for c in ("region", "plan", "channel"):
        df[c] = text[c].replace(ALIASES[c])
    parsed = [pd.to_datetime(text["signup_date"], format=f, errors="coerce") for f in DATE_FORMATS]
    date = parsed[0]
    for other in parsed[1:]:
        date = date.fillna(other)
    df["signup_date"] = date.dt.date.astype("object").where(date.notna(), None)
    truthy = {t: 1 for t in LABEL_TOKENS[1]} | {t: 0 for t in LABEL_TOKENS[0]}
    df["churn"] = text["churn"].map(truthy).astype("int8")
    return df


def bayes_accuracy(ds) -> float:
    """The best accuracy any classifier can expect on this data set (from `truth`)."""
    import pyarrow.parquet as pq

    p = pq.read_table(ds.table_path("truth"), columns=["p_churn"]).column(0).to_numpy()
    return float(np.maximum(p, 1 - p).mean())
