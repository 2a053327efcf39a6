import polars as pl

q2_polars = (pl.scan_parquet(str(groupby.table_path() / "*.parquet"))
             .group_by("id1", "id2").agg(pl.col("v1").sum()))
q2_polars.collect().head()
