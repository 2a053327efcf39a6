import duckdb

# DuckDB streams the files, reads three columns, and keeps one running aggregate per id3.
out_of_core = duckdb.sql(f"""
    SELECT id3, SUM(v1) AS v1, AVG(v3) AS v3
    FROM read_parquet('{path}/*.parquet')
    GROUP BY id3
""")
out_of_core.limit(5)
