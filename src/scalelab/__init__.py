"""scalelab: pandas and scikit-learn workloads scaled across Spark, Dask, Ray, DuckDB and Polars."""

__version__ = "0.1.0"
