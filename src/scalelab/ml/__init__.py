"""Model code the labs and services share: scikit-learn pipelines on `tabular` (models),
the NumPy network (nn) and the model service (serving).

The `ml` workload suite (scalelab.workloads.ml) benchmarks these models on every engine;
it imports them from here, as serving and the teaching layer do.
"""
