"""How fast each Kafka client produces and reads the `events` data set (`scalelab bench kafka`).

One row per (client, run): the produce rate with acks=all and an idempotent producer, and the
rate at which the same client reads the topic back. A run whose messages do not all come back
with the checksum the producer counted is marked wrong and has no rates: a fast wrong answer is
a wrong answer.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from scalelab import datasets
from scalelab.apps import streaming
from scalelab.config import KAFKA_CLIENTS


def measure(client: str, events: pd.DataFrame, scale: str, run: int) -> dict:
    topic = streaming.new_topic(f"bench-kafka-{client}-{scale}")
    try:   # a million messages are tens of MB on the broker's disk: never left behind
        produced = streaming.produce(topic, events, client=client, progress=False)
        start = time.perf_counter()
        back = streaming.read_topic(topic, timeout_s=600, client=client, progress=False)
        read_s = time.perf_counter() - start
    finally:
        streaming.delete_topic(topic)
    ok = (produced.acknowledged == len(events) == len(back) and produced.failed == 0
          and streaming.checksum(back) == produced.checksum)
    return {"client": client, "scale": scale, "run": run, "rows": len(events),
            "status": "ok" if ok else "wrong", "produce_s": round(produced.seconds, 3),
            "read_s": round(read_s, 3),
            "produce_msg_s": round(len(events) / produced.seconds) if ok else None,
            "read_msg_s": round(len(events) / read_s) if ok else None}


def run(clients: list[str], scale: str, repeat: int, out_dir: Path) -> tuple[Path, list[dict]]:
    unknown = [c for c in clients if c not in KAFKA_CLIENTS]
    if unknown:
        raise ValueError(f"unknown Kafka client(s) {', '.join(unknown)}: choose from {', '.join(KAFKA_CLIENTS)}")
    events = pd.read_parquet(datasets.generate("events", scale=scale, rate=1).table_path())
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"kafka-{time.strftime('%Y%m%dT%H%M%S')}.jsonl"
    rows = []
    with path.open("w") as out:
        # Interleaved, so that a slower minute of the machine does not fall on one client only.
        for r in range(1, repeat + 1):
            for client in clients:
                row = measure(client, events, scale, r)
                out.write(json.dumps(row) + "\n")
                out.flush()
                rows.append(row)
    return path, rows
