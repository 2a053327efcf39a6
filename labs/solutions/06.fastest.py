totals = results[results["status"] == "ok"].groupby("engine")["warm_median_s"].sum().sort_values()
fastest = totals.index[0]
totals
