"""The platform profile's stores on the running stack: PostgreSQL and Redis, for real, with passwords."""

import pandas as pd
import pytest

pytestmark = [pytest.mark.stack, pytest.mark.platform]


@pytest.fixture(scope="module")
def pg(cfg, require):
    require("postgres")
    import sqlalchemy as sa

    engine = sa.create_engine(cfg.postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def rds(cfg, require):
    require("redis")
    import redis

    client = redis.Redis(host=cfg.client_host, port=cfg.port("REDIS_PORT"), password=cfg.redis_password)
    yield client
    client.close()


def test_a_dataframe_round_trips_through_postgres(pg):
    frame = pd.DataFrame({"zone": ["a", "b", None], "fare": [1.5, 2.25, None], "n": [1, 2, 3]})
    frame.to_sql("roundtrip_check", pg, if_exists="replace", index=False)
    back = pd.read_sql("SELECT * FROM roundtrip_check ORDER BY n", pg)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_copy_loads_rows_in_bulk(cfg, pg):
    import psycopg

    with psycopg.connect(host=cfg.client_host, port=cfg.port("POSTGRES_PORT"), user=cfg.get("POSTGRES_USER"),
                         password=cfg.postgres_password, dbname=cfg.get("POSTGRES_DB")) as conn:
        conn.execute("DROP TABLE IF EXISTS copy_check; CREATE TABLE copy_check (id int, v double precision)")
        with conn.cursor().copy("COPY copy_check (id, v) FROM STDIN") as copy:
            for i in range(10_000):
                copy.write_row((i, i / 2))
        count, total = conn.execute("SELECT count(*), sum(id) FROM copy_check").fetchone()
        conn.execute("DROP TABLE copy_check")
    assert (count, total) == (10_000, sum(range(10_000)))


def test_postgres_refuses_a_wrong_password(cfg, pg):
    import psycopg

    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=cfg.client_host, port=cfg.port("POSTGRES_PORT"), user=cfg.get("POSTGRES_USER"),
                        password="wrong", dbname=cfg.get("POSTGRES_DB"), connect_timeout=5)


def test_redis_counts_and_refuses_a_client_without_the_password(cfg, rds):
    import redis

    key = "platform-check:counter"
    rds.delete(key)
    for _ in range(5):
        rds.incr(key)
    assert int(rds.get(key)) == 5
    rds.delete(key)
    anonymous = redis.Redis(host=cfg.client_host, port=cfg.port("REDIS_PORT"))
    with pytest.raises(redis.AuthenticationError):
        anonymous.get(key)


def _sample() -> pd.DataFrame:
    return pd.DataFrame({"id": range(300), "name": ["a", None, "c, with a comma", 'quote "q"'] * 75,
                         "x": [0.5, None, -1.25] * 100,
                         "at": pd.date_range("2024-01-01", periods=300, freq="min")})


def test_copy_and_row_by_row_loads_hold_the_same_rows_nulls_included(pg):
    from scalelab.apps import stores
    from scalelab.workloads import compare

    frame = _sample()
    stores.load_rows(frame, "load_rows_check")
    stores.load_copy(frame, "load_copy_check")
    for table in ("load_rows_check", "load_copy_check"):
        compare.compare(stores.read_pandas(f"SELECT * FROM {table}"), frame)
        assert stores.table_summary(table, "id") == (300, sum(range(300)))


def test_duckdb_answers_on_the_table_through_arrow(pg):
    from scalelab.apps import stores

    stores.load_copy(_sample(), "duckdb_check")
    got = stores.read_duckdb("duckdb_check", "SELECT count(*) AS n, count(x) AS xs, sum(id) AS s FROM t")
    assert got.iloc[0].tolist() == [300, 200, sum(range(300))]


@pytest.mark.kafka
def test_counters_fed_from_the_stream_equal_the_batch_ones(rds, require, client_environment):
    from scalelab import datasets
    from scalelab.apps import stores, streaming
    from scalelab.workloads import compare

    require("kafka")
    events = pd.read_parquet(datasets.generate("events", scale="tiny").table_path())
    prefix = "features-test:user"
    stores.clear_features(rds, prefix)
    topic = streaming.new_topic("platform-features-test")
    streaming.produce(topic, events)
    applied = stores.feed_from_kafka(rds, topic, group=f"{topic}-g", prefix=prefix, expected=len(events))
    assert applied == len(events)
    online = stores.online_features(rds, sorted(events["user_id"].unique()), prefix)
    compare.compare(online, stores.batch_features(events))
    stores.clear_features(rds, prefix)


@pytest.mark.kafka
def test_malformed_messages_go_to_the_dead_letter_topic_and_every_good_event_counts_once(rds, require,
                                                                                         client_environment):
    # 100,000 messages, 1% of them not events, spread through the stream (issue 25): the feed must
    # neither stop nor skip a good event, and must keep every bad one, with its reason.
    from scalelab import datasets
    from scalelab.apps import stores, streaming
    from scalelab.workloads import compare

    require("kafka")
    events = pd.read_parquet(datasets.generate("events", rows=99_000, users=2_000).table_path())
    bad = [b"{not json", b"null", b'{"event_id": 1}', b"\xff"] * 250
    good = list(streaming.event_messages(events))
    stream, bad_left = [], iter(bad)
    for i, pair in enumerate(good):
        stream.append(pair)
        if i % 99 == 98:                                    # one bad message after every 99 good ones
            stream.append((b"bad", next(bad_left)))
    assert len(stream) == 100_000 and sum(1 for k, _ in stream if k == b"bad") == 1_000
    topic = streaming.new_topic("platform-dead-letter-test")
    streaming.new_topic(streaming.dead_letter_topic(topic), partitions=1)
    sent = streaming.produce_messages(topic, stream)
    assert sent.acknowledged == 100_000
    prefix = "dead-letter-test:user"
    stores.clear_features(rds, prefix)
    fed = stores.feed_from_kafka(rds, topic, group=f"{topic}-g", prefix=prefix, expected=len(stream))
    assert fed == len(events) and fed.dead_lettered == 1_000
    online = stores.online_features(rds, sorted(events["user_id"].unique()), prefix)
    compare.compare(online, stores.batch_features(events))          # every good event exactly once
    letters = streaming.read_topic(streaming.dead_letter_topic(topic))
    assert sorted(letters["value"]) == sorted(v for k, v in stream if k == b"bad")
    stores.clear_features(rds, prefix)


def test_table_and_column_names_are_quoted_identifiers_never_sql(cfg, pg):
    # A name with a quote, a space and a semicolon is one identifier to PostgreSQL (issue 25): it
    # round-trips through both loaders and both readers, and no statement is smuggled in.
    from scalelab.apps import stores

    name = 'odd "name"; DROP TABLE trips --'
    frame = pd.DataFrame({'id': [1, 2, 3], 'a "quoted" column': ["x", None, "z"]})
    stores.load_rows(frame, name, cfg)
    assert stores.table_summary(name, "id", cfg) == (3, 6)
    stores.load_copy(frame, name, cfg)
    assert stores.table_summary(name, "id", cfg) == (3, 6)
    back = stores.read_arrow(name, cfg).to_pandas()
    assert list(back.columns) == list(frame.columns) and back["id"].tolist() == [1, 2, 3]
    with stores._conn(cfg) as conn:
        conn.execute(stores.sql.SQL("DROP TABLE {}").format(stores.sql.Identifier(name)))
