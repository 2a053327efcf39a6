@ray.remote
class Counter:
    def __init__(self):
        self.counts = {}

    def add(self, counts: dict):
        for key, n in counts.items():
            self.counts[key] = self.counts.get(key, 0) + n

    def totals(self):
        return self.counts


@ray.remote
def count_file(path, counter):
    counts = pq.read_table(path, columns=["event_type"]).to_pandas()["event_type"].value_counts()
    return ray.get(counter.add.remote({k: int(v) for k, v in counts.items()}))


counter = Counter.remote()
ray.get([count_file.remote(str(p), counter) for p in events_ds.table_path().glob("*.parquet")])
type_counts = ray.get(counter.totals.remote())
type_counts
