import uuid

import pytest

from scalelab.apps.streaming import pairs_checksum

pytestmark = [pytest.mark.stack, pytest.mark.kafka]

N = 10_000


def test_the_broker_is_listed_by_an_admin_client(kafka_up):
    from scalelab.cluster import connect

    admin = connect.kafka_admin()
    try:
        brokers = admin.describe_cluster()["brokers"]
    finally:
        admin.close()
    assert len(brokers) == 1


def test_ten_thousand_keyed_messages_come_back_once_each(kafka_up):
    from kafka.admin import NewTopic

    from scalelab.cluster import connect

    topic = f"test-roundtrip-{uuid.uuid4().hex[:8]}"
    admin = connect.kafka_admin()
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    try:
        sent = [(f"user-{i % 97}".encode(), f"event-{i}".encode()) for i in range(N)]
        producer = connect.kafka_producer(acks="all", linger_ms=5)
        for key, value in sent:
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=60)
        producer.close()

        consumer = connect.kafka_consumer(topic, group_id=f"g-{topic}", enable_auto_commit=False,
                                          consumer_timeout_ms=15_000)
        got = []
        for msg in consumer:
            got.append((msg.key, msg.value))
            if len(got) >= N:
                break
        consumer.close()

        assert len(got) == N, f"read {len(got)} of {N} messages"
        assert len(set(got)) == N, "some messages came back twice"
        assert pairs_checksum(got) == pairs_checksum(sent)
    finally:
        admin.delete_topics([topic])
        admin.close()


def test_a_producer_does_not_create_a_topic_by_naming_it(kafka_up):
    # auto.create.topics.enable=false: a misspelt topic is an error the producer sees, not a new
    # empty topic the consumer then waits on. The lab's code creates its topics (ensure_topic).
    from kafka.errors import KafkaTimeoutError

    from scalelab.apps import streaming
    from scalelab.cluster import connect

    topic = f"never-made-{uuid.uuid4().hex[:8]}"
    producer = connect.kafka_producer(max_block_ms=3_000)
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.send(topic, b"lost?").get(timeout=10)
    finally:
        producer.close()
    admin = connect.kafka_admin()
    try:
        assert topic not in admin.list_topics()
        produced = streaming.produce_messages(topic, [(b"k", b"made by the lab")])
        assert (produced.sent, produced.acknowledged) == (1, 1)
        assert topic in admin.list_topics()
    finally:
        admin.delete_topics([topic])
        admin.close()


CLIENTS = ["kafka-python", "confluent"]


@pytest.mark.parametrize("producer_client", CLIENTS)
def test_either_client_produces_what_either_client_reads_back(kafka_up, producer_client):
    # SCALELAB_KAFKA_CLIENT picks one for streaming.produce and read_topic: each must hand back what
    # the other sent, headers and null keys included, counted and checksummed the same way.
    from scalelab.apps import streaming

    topic = streaming.new_topic(f"test-clients-{producer_client}-{uuid.uuid4().hex[:8]}")
    sent = [(None if i % 10 == 0 else f"user-{i % 97}".encode(), f"event-{i}".encode()) for i in range(N)]
    produced = streaming.produce_messages(topic, sent, client=producer_client, total=N)
    assert (produced.sent, produced.acknowledged, produced.failed) == (N, N, 0)
    assert produced.checksum == pairs_checksum((k or b"", v) for k, v in sent)
    for reader in CLIENTS:
        back = streaming.read_topic(topic, client=reader)
        assert len(back) == N, f"{reader} read {len(back)} of {N}"
        assert not back.duplicated(["partition", "offset"]).any()
        assert streaming.checksum(back) == produced.checksum
        assert sorted(back["value"]) == sorted(v for _k, v in sent)


@pytest.mark.parametrize("client", CLIENTS)
def test_reading_a_topic_that_is_not_there_names_it(kafka_up, client):
    from scalelab.apps import streaming

    topic = f"never-made-{uuid.uuid4().hex[:8]}"
    with pytest.raises(streaming.StreamError, match=f"topic {topic} does not exist"):
        streaming.read_topic(topic, client=client)


def test_librdkafka_names_a_setting_it_does_not_have(kafka_up):
    # The confluent helpers pass keywords through as librdkafka properties: a kafka-python name
    # librdkafka lacks is an error naming it, not a setting silently dropped.
    from confluent_kafka import KafkaException

    from scalelab.cluster import connect

    with pytest.raises(KafkaException, match="max.block.ms"):
        connect.kafka_producer(client="confluent", max_block_ms=3_000)
