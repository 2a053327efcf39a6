with drills.DaskWorker() as doomed:
    report = drills.dask_job(client, doomed, tasks=30)
print(report)
survivor_sum = report.result
