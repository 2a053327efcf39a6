version_1 = DeltaTable(TRIPS, version=1).to_pandas()
revenue_as_of = (version_1.assign(revenue=version_1["fare"] + version_1["tip"]).groupby("payment_type")
                 .agg(trips=("trip_id", "size"), revenue=("revenue", "sum")).reset_index())
revenue_as_of
