v3_by_id4 = ddf.groupby("id4").agg(v3_mean=("v3", "mean"), rows=("v3", "size")).reset_index()
v3_by_id4
