import numpy as np

search.set_params(n_jobs=-1)
with joblib.parallel_backend("dask"):        # every fit becomes a task on the Dask workers
    search.fit(X, y)
results = search.cv_results_
best = int(np.argmin(results["rank_test_score"]))
best_params = {k.removeprefix("model__"): v for k, v in results["params"][best].items()}
best_params
