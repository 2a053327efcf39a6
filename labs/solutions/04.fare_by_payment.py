from ray.data.aggregate import Count, Sum

fare_by_payment = (ray.data.read_parquet(str(trips_ds.table_path("trips")))
                   .groupby("payment_type").aggregate(Count(), Sum("fare"))
                   .rename_columns({"count()": "trips", "sum(fare)": "fare"})
                   .materialize())      # computed once, kept in the object store: showing and checking reuse it
fare_by_payment.to_pandas()
