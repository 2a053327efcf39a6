snapshot_rows = {s.snapshot_id: int(s.summary["added-records"]) for s in iceberg.snapshots()}
snapshot_rows
