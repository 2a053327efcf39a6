workers = client.scheduler_info(n_workers=-1)["workers"].values()
cluster_size = {
    "dask_workers": len(workers),
    "dask_threads": sum(w["nthreads"] for w in workers),
    "spark_cores": lab.spark_master()["cores"],
}
cluster_size
