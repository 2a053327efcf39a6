top_id6 = ddf.groupby("id6").v3.sum().nlargest(5).to_frame("v3_sum").reset_index()
top_id6
