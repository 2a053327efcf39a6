"""The demonstrations behind the question bank: numbers from this lab's data, and the claims they settle.

Each takes a scale (the tests run `tiny`) and returns a Demo. A claim is something that
holds on any machine with this data; a timing is a number to look at, never a claim.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from scalelab.teaching.interview.claims import Claim, Demo

DEMOS: dict[str, Callable[[str], Demo]] = {}
NEEDS: dict[str, tuple[str, ...]] = {}      # the stack's services a demonstration talks to


def demo(fn: Callable[[str], Demo] | None = None, *, needs: tuple[str, ...] = ()):
    def register(f: Callable[[str], Demo]) -> Callable[[str], Demo]:
        DEMOS[f.__name__] = f
        NEEDS[f.__name__] = needs
        return f
    return register(fn) if fn is not None else register


def _customers(scale: str) -> pd.DataFrame:
    from scalelab import datasets

    return pd.read_parquet(datasets.generate("tabular", scale=scale).table_path("data"))


def _split(scale: str):
    """The ML workloads' split: every fifth customer held out; features as the model takes them."""
    from scalelab.ml import models

    return models.holdout_split(_customers(scale))


def _auc(model, X, y) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, model.predict_proba(X)[:, 1]))


@demo
def arrays_vs_lists(scale: str) -> Demo:
    from scalelab.teaching import foundations

    table = foundations.list_vs_array(100_000).set_index("container")
    per_value = table["bytes_per_value"]
    speedup = table.loc["list", "sum_of_squares_s"] / table.loc["numpy array", "sum_of_squares_s"]
    return Demo({"bytes per float, list": round(per_value["list"], 1), "bytes per float, array": per_value["numpy array"],
                 "sum of squares, array speed-up (timing)": f"{speedup:,.0f}x"},
                [Claim("an array stores a float in 8 bytes", per_value["numpy array"] == 8),
                 Claim("a list of floats takes at least 3x the memory", per_value["list"] >= 3 * per_value["numpy array"])])


@demo
def missing_data(scale: str) -> Demo:
    from scalelab.teaching import foundations

    data = _customers(scale)
    income = data["income"].dropna().reset_index(drop=True)
    rng = np.random.default_rng(0)
    random = pd.Series(rng.random(len(income)) < 0.2)
    by_value = pd.Series(rng.random(len(income)) < np.where(income > income.quantile(0.75), 0.6, 0.07))
    groups = pd.Series(np.zeros(len(income)))
    mcar = foundations.compare_imputations(income, random, groups)
    mnar = foundations.compare_imputations(income, by_value, groups)
    mean = income.mean()
    return Demo({"true mean income": round(mean, 2),
                 "at random: bias of dropping": round(mcar.loc["drop the rows", "mean_error"], 2),
                 "at random: bias of the median fill": round(mcar.loc["fill with the median", "mean_error"], 2),
                 "not at random: bias of dropping": round(mnar.loc["drop the rows", "mean_error"], 2),
                 "std after a mean fill / before": round(mcar.loc["fill with the mean", "std"] / income.std(), 3)},
                [Claim("at random, dropping the rows leaves the mean within 2%",
                       abs(mcar.loc["drop the rows", "mean_error"]) < 0.02 * mean),
                 Claim("a median fill biases the mean of a skewed column downwards",
                       mcar.loc["fill with the median", "mean_error"] < 0),
                 Claim("when the rich hide their income, dropping rows underestimates the mean by over 5%",
                       mnar.loc["drop the rows", "mean_error"] < -0.05 * mean),
                 Claim("filling with one value shrinks the spread", mcar.loc["fill with the mean", "std"] < income.std())])


@demo
def bias_variance(scale: str) -> Demo:
    from sklearn.model_selection import validation_curve
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = _split(scale)
    X = X_train[["age", "income", "balance", "tenure_months", "num_products"]].fillna(-1).to_numpy()
    depths = [1, 2, 4, 6, 8, 12, 16, 24]
    train, valid = validation_curve(DecisionTreeClassifier(random_state=0), X, y_train, param_name="max_depth",
                                    param_range=depths, cv=5, scoring="accuracy")
    train_m, valid_m = train.mean(axis=1), valid.mean(axis=1)
    best = depths[int(valid_m.argmax())]
    return Demo({"max_depth": depths, "train accuracy": train_m.round(3).tolist(),
                 "validation accuracy": valid_m.round(3).tolist(), "best depth": best},
                [Claim("training accuracy grows with depth (variance: the tree memorises)",
                       bool(np.all(np.diff(train_m) >= -1e-9)) and train_m[-1] > 0.97),
                 Claim("the best validation depth is neither the shallowest nor the deepest (bias, then variance)",
                       depths[0] < best < depths[-1]),
                 Claim("the deepest tree validates worse than the best one", valid_m[-1] < valid_m.max() - 0.01)])


@demo
def cross_validation_leak(scale: str) -> Demo:
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    # Pure noise: any accuracy above 0.5 is an illusion.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 5_000)), rng.integers(0, 2, 200)
    chosen = SelectKBest(f_classif, k=20).fit(X, y).get_support()
    leaky = cross_val_score(LogisticRegression(max_iter=1000), X[:, chosen], y, cv=5).mean()
    honest = cross_val_score(make_pipeline(SelectKBest(f_classif, k=20), LogisticRegression(max_iter=1000)),
                             X, y, cv=5).mean()
    return Demo({"accuracy, features chosen before the split": round(leaky, 3),
                 "accuracy, selection inside each fold (a Pipeline)": round(honest, 3)},
                [Claim("choosing features on all rows first makes noise look predictive", leaky > 0.7),
                 Claim("inside the folds, noise scores like a coin", abs(honest - 0.5) < 0.1)])


@demo
def evaluating_a_classifier(scale: str) -> Demo:
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import accuracy_score

    from scalelab import datasets
    from scalelab.datasets import tabular
    from scalelab.ml import models

    X_train, X_test, y_train, y_test = _split(scale)
    baseline = DummyClassifier(strategy="most_frequent").fit(X_train, y_train)
    model = models.logistic_pipeline().fit(X_train, y_train)
    bayes = tabular.bayes_accuracy(datasets.generate("tabular", scale=scale))
    acc_base, acc_model = accuracy_score(y_test, baseline.predict(X_test)), accuracy_score(y_test, model.predict(X_test))
    return Demo({"positives": f"{y_test.mean():.1%}", "accuracy, always 'no churn'": round(acc_base, 3),
                 "accuracy, logistic regression": round(acc_model, 3), "best possible accuracy (Bayes)": round(bayes, 3),
                 "ROC AUC, always 'no churn'": round(_auc(baseline, X_test, y_test), 3),
                 "ROC AUC, logistic regression": round(_auc(model, X_test, y_test), 3)},
                [Claim("with 20% positives, predicting 'no' for everyone is about 80% accurate", acc_base > 0.75),
                 Claim("that baseline ranks no better than chance (ROC AUC 0.5)",
                       abs(_auc(baseline, X_test, y_test) - 0.5) < 1e-9),
                 Claim("no model beats the Bayes accuracy by more than sampling noise", acc_model < bayes + 0.02)])


@demo
def forest_vs_boosting(scale: str) -> Demo:
    import time

    from scalelab.teaching.foundations import tree_models

    X_train, X_test, y_train, y_test = _split(scale)
    results = {}
    for name, pipe in tree_models().items():          # the same two pipelines as the scikit-learn lab
        start = time.perf_counter()
        pipe.fit(X_train, y_train)
        results[name] = (_auc(pipe, X_test, y_test), time.perf_counter() - start)
    return Demo({f"ROC AUC, {k}": round(v[0], 3) for k, v in results.items()}
                | {f"fit seconds, {k} (timing)": round(v[1], 2) for k, v in results.items()},
                [Claim("both ensembles rank churners far better than chance", min(v[0] for v in results.values()) > 0.75),
                 Claim("on this data the two are within 0.05 ROC AUC of each other",
                       abs(results["random forest"][0] - results["gradient boosting"][0]) < 0.05)])


@demo
def feature_engineering(scale: str) -> Demo:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = _split(scale)

    def features(X, squared: bool):
        f = X[["age", "balance", "tenure_months"]].fillna(X["age"].mean()).assign(log_income=np.log(X["income"].fillna(52_000)))
        return f.assign(age_squared=(f["age"] - 42) ** 2) if squared else f

    aucs = {}
    for squared in (False, True):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(features(X_train, squared), y_train)
        aucs[squared] = _auc(model, features(X_test, squared), y_test)
    return Demo({"ROC AUC, raw age": round(aucs[False], 4), "ROC AUC, age and (age - 42)²": round(aucs[True], 4)},
                [Claim("a linear model cannot bend: adding a squared age (churn is high at both ends) helps it",
                       aucs[True] > aucs[False] + 0.005)])


@demo
def regularisation(scale: str) -> Demo:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    X_train, X_test, y_train, y_test = _split(scale)
    cols = ["age", "income", "balance", "tenure_months", "num_products"]
    small, test = X_train[cols].fillna(0).head(300), X_test[cols].fillna(0)
    gaps = {}
    for C in (1e4, 0.05):
        model = make_pipeline(PolynomialFeatures(3), StandardScaler(), LogisticRegression(C=C, max_iter=5000))
        model.fit(small, y_train[:300])
        gaps[C] = (_auc(model, small, y_train[:300]), _auc(model, test, y_test))
    return Demo({f"C={C}: train / test ROC AUC": f"{a:.3f} / {b:.3f}" for C, (a, b) in gaps.items()},
                [Claim("with 56 polynomial features and 300 rows, a weak penalty fits the training rows much "
                       "better than new ones", gaps[1e4][0] - gaps[1e4][1] > 0.05),
                 Claim("a stronger penalty narrows that gap", gaps[0.05][0] - gaps[0.05][1] < gaps[1e4][0] - gaps[1e4][1]),
                 Claim("and scores better on the held-out rows", gaps[0.05][1] > gaps[1e4][1])])


@demo
def skew_and_salting(scale: str) -> Demo:
    from scalelab.teaching.exercises import skewed_keys

    frame = skewed_keys(20_000)
    partitions = 8
    plain = pd.util.hash_array(frame["key"].to_numpy()) % partitions
    salts = 4 * partitions          # more salts than partitions: hashing (key, salt) pairs also collides
    salt = np.random.default_rng(0).integers(0, salts, len(frame))
    salted = pd.util.hash_array((frame["key"].to_numpy() * salts + salt)) % partitions
    share = lambda parts: np.bincount(parts, minlength=partitions).max() / len(frame)  # noqa: E731
    return Demo({"rows with the hot key": f"{(frame['key'] == 0).mean():.0%}",
                 "largest partition's share, hashed by key": f"{share(plain):.0%}",
                 f"largest partition's share, key plus one of {salts} salts": f"{share(salted):.0%}"},
                [Claim("hashing by a skewed key puts at least 80% of rows in one partition (one task does the work)",
                       share(plain) >= 0.8),
                 Claim("a random salt spreads the hot key: no partition holds more than 30%", share(salted) <= 0.3)])


@demo
def how_a_network_learns(scale: str) -> Demo:
    from sklearn.metrics import roc_auc_score

    from scalelab.ml import nn

    X, y = nn.churn_matrix(_customers(scale))
    net = nn.Network.init(X.shape[1], 8, seed=0)
    errors = {name: nn.relative_error(net.gradients(X[:64], y[:64])[name], nn.numeric_gradient(net, X[:64], y[:64], name))
              for name in ("W1", "b1", "W2", "b2")}
    net.fit(X, y, epochs=20, lr=0.5)
    return Demo({"largest relative error, backpropagation vs finite differences": f"{max(errors.values()):.1e}",
                 "log loss after epoch 1": round(net.history[0], 4), "log loss after epoch 20": round(net.history[-1], 4)},
                [Claim("backpropagation's gradients agree with finite differences (relative error < 1e-5)",
                       max(errors.values()) < 1e-5),
                 Claim("gradient descent lowers the loss epoch after epoch, overall", net.history[-1] < net.history[0]),
                 Claim("the trained network ranks churners well (training ROC AUC > 0.8)",
                       roc_auc_score(y, net.predict_proba(X)) > 0.8)])


@demo
def deploying_a_model(scale: str) -> Demo:
    import json
    import tempfile

    from scalelab.config import Config
    from scalelab.ml import models
    from scalelab.ml.serving import model

    with tempfile.TemporaryDirectory(prefix="scalelab-quiz-") as state:
        cfg = Config.load(environ={"SCALELAB_STATE_DIR": state, "MODEL_API_TRAIN_SCALE": scale})
        card = model.train(cfg)
        loaded, _, _ = model.load(cfg)
        X_train, X_test, y_train, _ = _split(scale)
        afresh = models.logistic_pipeline().fit(X_train, y_train)
        rows = X_test.head(500)
        same = bool((loaded.predict_proba(rows) == afresh.predict_proba(rows)).all())
        _, card_file, _ = model.paths(cfg)
        card_file.write_text(json.dumps(json.loads(card_file.read_text()) | {"sklearn": "0.0.1"}))
        try:
            model.load(cfg)
            refused = False
        except model.ModelError:
            refused = True
    return Demo({"model": card.model_id, "held-out ROC AUC on its card": round(card.holdout_roc_auc, 3),
                 "scikit-learn on its card": card.sklearn},
                [Claim("the loaded file predicts exactly as the pipeline trained afresh on the same rows", same),
                 Claim("a model saved with another scikit-learn version is refused, not trusted", refused)])


@demo
def shuffles(scale: str) -> Demo:
    from scalelab import datasets

    x = pd.read_parquet(datasets.generate("groupby", scale=scale).table_path(), columns=["id1", "v1"])
    partitions = 8
    source = np.arange(len(x)) % partitions                               # where each row starts
    target = pd.util.hash_array(x["id1"].to_numpy(dtype=object)) % partitions   # where its key's group is reduced
    moved = int((source != target).sum())
    # With a map-side combine each source partition sends one partial sum per key it holds.
    partials = x.assign(source=source).groupby(["source", "id1"]).size()
    combined = int((partials.index.get_level_values("source")
                    != pd.util.hash_array(partials.index.get_level_values("id1").to_numpy(dtype=object)) % partitions).sum())
    return Demo({"rows": len(x), "keys (id1)": x["id1"].nunique(), "partitions": partitions,
                 "rows sent over the network, plain shuffle": moved, "partial sums sent, with a map-side combine": combined},
                [Claim(f"a hash shuffle moves about (P-1)/P = {(partitions - 1) / partitions:.0%} of the rows",
                       abs(moved / len(x) - (partitions - 1) / partitions) < 0.03),
                 Claim("combining before the shuffle sends at most partitions x keys partial results",
                       combined <= partitions * x["id1"].nunique()),
                 Claim("which, with few keys, is a small fraction of the rows", combined < 0.2 * moved)])


def _one_of_each_kind() -> list[str]:
    """The reference, the next single-node engine and the first cluster engine, in registry order."""
    from scalelab.engines import ENGINES, REFERENCE

    single = [e for e, cls in ENGINES.items() if cls.kind() == "single-node" and e != REFERENCE]
    cluster = [e for e, cls in ENGINES.items() if cls.kind() == "cluster"]
    return [REFERENCE, *single[:1], *cluster[:1]]


def _services_of(names: list[str]) -> tuple[str, ...]:
    from scalelab.config import Config
    from scalelab.engines import ENGINES

    cfg = Config.load()
    return tuple(s for name in names for s in ENGINES[name].services(cfg))


@demo(needs=_services_of(_one_of_each_kind()))
def engines_compared(scale: str) -> Demo:
    from scalelab import workloads
    from scalelab.engines import ENGINES, REFERENCE
    from scalelab.workloads import runner

    q = workloads.get("groupby.q1")
    outcomes = {e: runner.run(q, e, scale=scale) for e in _one_of_each_kind()}
    status = {(w.name, e): w.status(e) for w in workloads.WORKLOADS.values() for e in ENGINES}
    declared = {e: sum(1 for (_, eng), st in status.items() if eng == e and st.startswith("no:")) for e in ENGINES}
    return Demo({f"groupby.q1 seconds, {e} (timing)": round(o.seconds, 4) for e, o in outcomes.items()}
                | {"workloads in the registry": len(workloads.WORKLOADS)}
                | {f"workloads {e} declares it cannot do": n for e, n in declared.items() if n},
                [Claim(f"{', '.join(outcomes)} (a single-node engine and a cluster) give the same answer, "
                       f"checked against {REFERENCE}", all(o.checked.startswith(REFERENCE) for o in outcomes.values())),
                 Claim("every engine implements each workload or declares why not",
                       all(st != "missing" for st in status.values()))])


@demo(needs=("kafka",))
def kafka_delivery(scale: str) -> Demo:
    import time

    from scalelab.apps import streaming
    from scalelab.cluster import connect

    topic = streaming.new_topic(f"quiz-delivery-{time.time_ns()}", partitions=1)
    produced = streaming.produce_messages(topic, ((b"k", f"m-{i}".encode()) for i in range(2_000)))
    back = streaming.read_topic(topic)

    def consume(n: int, commit: bool) -> list[bytes]:
        consumer = connect.kafka_consumer(topic, group_id=f"{topic}-group", enable_auto_commit=False,
                                          consumer_timeout_ms=5_000, max_poll_records=n)
        got: list[bytes] = []
        while len(got) < n:
            for records in consumer.poll(timeout_ms=5_000, max_records=n - len(got)).values():
                got += [r.value for r in records]
        if commit:
            consumer.commit()
        consumer.close()
        return got

    first = consume(500, commit=True)          # processed and committed
    crashed = consume(300, commit=False)       # processed, then "crashed" before committing
    resumed = consume(300, commit=True)        # the group's next consumer starts at the last commit
    return Demo({"acknowledged": produced.acknowledged, "in the log": len(back),
                 "re-delivered after the crash": len(set(crashed) & set(resumed))},
                [Claim("acks=all with an idempotent producer: every acknowledged message is in the log once",
                       produced.acknowledged == len(back) == 2_000 and streaming.checksum(back) == produced.checksum),
                 Claim("a consumer that crashes before committing has its messages delivered again (at least once)",
                       crashed == resumed),
                 Claim("committed messages are not delivered again", not set(first) & set(resumed))])
