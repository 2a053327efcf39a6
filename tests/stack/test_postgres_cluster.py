"""The local runtime's PostgreSQL cluster outlives the password it was made with (it sits under
/var/lib/scalelab when root runs it, so a deleted `.state` or a clone made again at the same path
finds it). A start must make it take the configured login, and keep its tables."""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from scalelab.cluster import platform
from scalelab.config import Config

pytestmark = [pytest.mark.platform, pytest.mark.local_runtime, pytest.mark.lifecycle]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cluster_dir():
    # Not pytest's tmp_path: when root runs the suite, the server runs as `postgres`, which
    # cannot enter root's private temporary folders.
    folder = Path(tempfile.mkdtemp(prefix="scalelab-pg-test-"))
    folder.chmod(0o755)
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


def _serve(cfg: Config):
    proc = subprocess.Popen(platform.postgres_argv(cfg), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            psycopg.connect(**{**cfg.postgres_params, "password": "probe"}, connect_timeout=2).close()
        except psycopg.OperationalError as exc:
            if "password authentication failed" in str(exc):
                return proc          # listening, and it checks passwords
        if proc.poll() is not None:
            pytest.fail(f"postgres exited: {proc.stderr.read()[-2000:]}")
        time.sleep(0.3)
    proc.terminate()
    pytest.fail("postgres did not listen within 60 s")


def _stop(proc) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def test_a_cluster_made_with_an_old_password_takes_the_new_one_and_keeps_its_tables(tmp_path, cluster_dir):
    base = {"SCALELAB_STATE_DIR": str(tmp_path / "state"), "POSTGRES_DATA_DIR": str(cluster_dir),
            "POSTGRES_PORT": str(_free_port()), "POSTGRES_HOST": "127.0.0.1"}
    old = Config.load(environ={**base, "POSTGRES_PASSWORD": "old-one"})
    proc = _serve(old)
    try:
        with psycopg.connect(**old.postgres_params) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (42)")
    finally:
        _stop(proc)

    # A new password (and a lab database that .env renamed) on the same cluster.
    new = Config.load(environ={**base, "POSTGRES_PASSWORD": "new 'one'", "POSTGRES_DB": "renamed"})
    proc = _serve(new)
    try:
        with psycopg.connect(**{**new.postgres_params, "dbname": old.get("POSTGRES_DB")}) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(42,)]
        with psycopg.connect(**new.postgres_params) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("renamed",)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(**old.postgres_params, connect_timeout=5)
    finally:
        _stop(proc)
    # The next start with the same login does nothing more.
    assert platform.sync_postgres_login(new, cluster_dir) is False
