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
