"""The two Kafka clients behind streaming's producer and reader: kafka-python and librdkafka.

streaming.produce_messages and read_topic say what to do; this module does it with the client
SCALELAB_KAFKA_CLIENT names (Config.kafka_client):
- kafka-python, what the labs teach: pure Python, every message's framing, batching and
  callback done by the interpreter (`scalelab bench kafka`: about 23,000 msg/s produced here);
- confluent (confluent-kafka on librdkafka): Python hands each message to C, which batches,
  compresses and retries in its own threads; the delivery reports come back through poll()
  (about 190,000 msg/s produced here).
Both count the same acknowledgements and the same checksum, so either's answer is checked alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from scalelab.cluster import connect

# Each client's own tuning, in its own names (connect turns `_` into librdkafka's `.`).
PRODUCER_DEFAULTS = {
    # Bigger batches than the 16 KiB default: fewer requests per message (measured here with 50,000
    # events, acks=all: 7,000 -> 8,400 msg/s; kafka-python's per-message Python work is the rest).
    "kafka-python": {"linger_ms": 20, "batch_size": 256 * 1024, "retries": 2_147_483_647,
                     "delivery_timeout_ms": 180_000, "request_timeout_ms": 30_000},
    # librdkafka batches up to 1 MB and retries until the delivery timeout by itself.
    "confluent": {"linger_ms": 20, "delivery_timeout_ms": 180_000, "request_timeout_ms": 30_000},
}
IDEMPOTENT = {
    "kafka-python": {"enable_idempotence": True, "max_in_flight_requests_per_connection": 5},
    # librdkafka keeps acks=all, in-flight <= 5 and unbounded retries itself when idempotent.
    "confluent": {"enable_idempotence": True},
}
DRAW_EVERY = 5_000  # messages between two updates of the bar (and, for librdkafka, serving its reports)


@dataclass
class Tally:
    """What the broker acknowledged, as the delivery reports came in."""
    acknowledged: int = 0
    checksum: int = 0
    failed: int = 0

    def ok(self, key: bytes | None, value: bytes, crc) -> None:
        self.acknowledged += 1
        self.checksum += crc(key, value)

    def fail(self, _error) -> None:
        self.failed += 1


def producer_conf(client: str, idempotent: bool, overrides: dict) -> dict:
    return {**PRODUCER_DEFAULTS[client], **(IDEMPOTENT[client] if idempotent else {}), **overrides}


def send_all(client: str, topic: str, messages, conf: dict, tally: Tally, crc, draw) -> int:
    """Send each (key, value[, headers]) of `messages` and wait for every delivery report; returns
    how many were sent. `draw()` is called every DRAW_EVERY messages and at the end, from this thread."""
    producer = connect.kafka_producer(client=client, **conf)
    send_one, serve = (_confluent_sender if client == "confluent" else _kafka_python_sender)(producer, topic, tally,
                                                                                           crc)
    sent = 0
    try:
        for message in messages:
            send_one(message[0], message[1], message[2] if len(message) > 2 else None)
            sent += 1
            if sent % DRAW_EVERY == 0:
                serve()
                draw()
        # Waits until each message is acknowledged or has failed (delivery_timeout_ms bounds it).
        producer.flush()
        draw()
    finally:
        producer.close()
    return sent


def _kafka_python_sender(producer, topic, tally, crc):
    def ok(key, value):
        # Callbacks run in the producer's I/O thread; Tally's counters are only read after flush.
        return lambda _metadata: tally.ok(key, value, crc)

    def send_one(key, value, headers):
        producer.send(topic, key=key, value=value, headers=headers).add_callback(ok(key, value)) \
            .add_errback(tally.fail)

    return send_one, lambda: None     # its I/O thread serves the reports


def _confluent_sender(producer, topic, tally, crc):
    def report(error, message):
        # Called from poll() and flush(), on this thread.
        if error is None:
            tally.ok(message.key(), message.value(), crc)
        else:
            tally.fail(error)

    def send_one(key, value, headers):
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers, on_delivery=report)
                return
            except BufferError:
                # librdkafka's local queue is full (100,000 messages): serve delivery reports until
                # there is room, which is also how the loop keeps pace with the broker.
                producer.poll(0.1)

    return send_one, lambda: producer.poll(0)


def read_all(client: str, topic: str, timeout_s: float, error, bar_for) -> list[tuple]:
    """(partition, offset, key, value) of every message now in `topic`, read up to the end offsets
    seen at the start. `error(msg)` makes the exception to raise; `bar_for(total)` a progress bar."""
    read = _read_confluent if client == "confluent" else _read_kafka_python
    return read(topic, timeout_s, error, bar_for)


def _read_kafka_python(topic, timeout_s, error, bar_for) -> list[tuple]:
    from kafka import TopicPartition

    consumer = connect.kafka_consumer(enable_auto_commit=False, consumer_timeout_ms=1000)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not parts:
            raise error(f"topic {topic} does not exist")
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        start = {tp: consumer.position(tp) for tp in parts}
        rows: list[tuple] = []
        deadline = time.monotonic() + timeout_s
        with bar_for(sum(end[tp] - start[tp] for tp in parts)) as bar:
            while any(consumer.position(tp) < end[tp] for tp in parts):
                if time.monotonic() > deadline:
                    raise error(f"read {len(rows):,} messages of {topic} in {timeout_s:.0f} s, not all of them")
                for tp, records in consumer.poll(timeout_ms=500, max_records=10_000).items():
                    # A message past the end seen at the start was produced since: not part of this read.
                    rows.extend((tp.partition, r.offset, r.key, r.value) for r in records if r.offset < end[tp])
                bar.update(len(rows) - bar.n)
    finally:
        consumer.close()
    return rows


def _read_confluent(topic, timeout_s, error, bar_for) -> list[tuple]:
    from confluent_kafka import KafkaError, TopicPartition

    consumer = connect.kafka_consumer(client="confluent", enable_auto_commit=False)
    try:
        described = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            raise error(f"topic {topic} does not exist")
        parts = sorted(described.partitions)
        marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in parts}
        next_offset = {p: low for p, (low, _high) in marks.items()}
        end = {p: high for p, (_low, high) in marks.items()}
        consumer.assign([TopicPartition(topic, p, low) for p, low in next_offset.items()])
        rows: list[tuple] = []
        deadline = time.monotonic() + timeout_s
        with bar_for(sum(end[p] - next_offset[p] for p in parts)) as bar:
            while any(next_offset[p] < end[p] for p in parts):
                if time.monotonic() > deadline:
                    raise error(f"read {len(rows):,} messages of {topic} in {timeout_s:.0f} s, not all of them")
                for m in consumer.consume(num_messages=10_000, timeout=0.5):
                    if m.error() is not None:
                        if m.error().code() == KafkaError._PARTITION_EOF:
                            continue
                        raise error(f"reading {topic}: {m.error()}")
                    # A message past the end seen at the start was produced since: not part of this read.
                    if m.offset() < end[m.partition()]:
                        rows.append((m.partition(), m.offset(), m.key(), m.value()))
                    next_offset[m.partition()] = m.offset() + 1
                bar.update(len(rows) - bar.n)
    finally:
        consumer.close()
    return rows
