import multiprocessing
import stat

import pytest

from scalelab.config import SETTINGS, Config, ConfigError


def load(tmp_path, environ=None, dotenv=None):
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    return Config.load(root=tmp_path, environ=environ or {"SCALELAB_STATE_DIR": str(tmp_path / "state")})


def test_defaults_are_laptop_sized_and_on_loopback(tmp_path):
    cfg = load(tmp_path)
    assert cfg.bind_host == "127.0.0.1"
    assert cfg.spark_master_url == "spark://127.0.0.1:7077"
    assert cfg.dask_scheduler_address == "tcp://127.0.0.1:8786"
    assert cfg.ray_address == "127.0.0.1:6379"
    assert cfg.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert cfg.int("SPARK_WORKER_CORES") == 4 and cfg.int("SPARK_APP_CORES") == 2 and cfg.get("SPARK_WORKER_MEMORY") == "2g"
    assert cfg.int("DASK_WORKERS") == 2 and cfg.get("DASK_WORKER_MEMORY") == "2GiB"


def test_every_port_has_a_distinct_default():
    ports = [s.default for s in SETTINGS if s.kind == "port"]
    assert len(ports) == len(set(ports))


def test_dotenv_overrides_defaults_and_environment_overrides_dotenv(tmp_path):
    dotenv = "SPARK_MASTER_PORT=7177\nKAFKA_PORT=9192\n"
    cfg = load(tmp_path, {"SCALELAB_STATE_DIR": str(tmp_path), "KAFKA_PORT": "9292"}, dotenv)
    assert cfg.port("SPARK_MASTER_PORT") == 7177
    assert cfg.kafka_bootstrap_servers == "127.0.0.1:9292"


def test_an_external_cluster_address_is_kept_verbatim(tmp_path):
    cfg = load(tmp_path, {"SPARK_MASTER_URL": "spark://big-cluster:7077", "SCALELAB_STATE_DIR": str(tmp_path)})
    assert cfg.spark_master_url == "spark://big-cluster:7077"
    assert cfg.client_env()["SPARK_MASTER_URL"] == "spark://big-cluster:7077"


@pytest.mark.parametrize("value, words", [("abc", "not a whole number"), ("70000", "not a TCP port"),
                                          ("0", "not a TCP port")])
def test_a_bad_port_names_the_setting(tmp_path, value, words):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, {"DASK_SCHEDULER_PORT": value})
    assert "DASK_SCHEDULER_PORT" in str(err.value) and words in str(err.value)


def test_the_jupyter_token_is_generated_once_and_kept_private(tmp_path):
    first = load(tmp_path).jupyter_token
    assert len(first) >= 32
    assert load(tmp_path).jupyter_token == first
    kept = tmp_path / "state" / "secrets" / "jupyter-token"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def _secret_when_told(root, state, go, out):
    go.wait()
    out.put(Config.load(root=root, environ={"SCALELAB_STATE_DIR": state}).kept_secret("postgres-password"))


def test_processes_that_ask_for_a_new_secret_at_once_all_get_the_one_that_is_kept(tmp_path):
    # `up` starts every role at once: PostgreSQL's initdb, Airflow's database URL and the probe
    # must agree on the password a fresh clone generates (CI once had initdb's lose to a later one).
    ctx = multiprocessing.get_context("fork")
    for attempt in range(5):
        state = tmp_path / f"state{attempt}"
        go, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_secret_when_told, args=(tmp_path, str(state), go, out)) for _ in range(12)]
        for proc in procs:
            proc.start()
        go.set()
        seen = [out.get(timeout=30) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
        kept = (state / "secrets" / "postgres-password").read_text().strip()
        assert set(seen) == {kept}, f"attempt {attempt}: {len(set(seen))} different passwords handed out"
        assert sorted(p.name for p in (state / "secrets").iterdir()) == ["postgres-password"]


def test_a_jupyter_token_from_the_environment_wins(tmp_path):
    cfg = load(tmp_path, {"JUPYTER_TOKEN": "mine", "SCALELAB_STATE_DIR": str(tmp_path)})
    assert cfg.jupyter_token == "mine"


def test_clients_get_rays_token_settings(tmp_path):
    env = load(tmp_path).client_env()
    assert env["RAY_AUTH_MODE"] == "token"
    assert (tmp_path / "state" / "secrets" / "ray-token").read_text().strip()
    assert env["RAY_AUTH_TOKEN_PATH"].endswith("ray-token")


def test_rays_folder_is_short_enough_for_unix_sockets(tmp_path):
    deep = tmp_path / ("d" * 120)
    cfg = Config.load(root=deep, environ={})
    # Ray adds about 60 characters of session and socket names below its folder (`ray/` inside this one).
    assert len(str(cfg.ray_temp_dir / "ray")) + 60 < 108


def test_the_ray_head_turns_off_grpc_fork_handlers(tmp_path):
    """The Ray Client server fork-execs a process per client; with gRPC's fork handlers
    on, about 1 start in 6 crashed ("SpecificServer startup failed")."""
    from scalelab.cluster import services

    cfg = load(tmp_path)
    head = services.by_role(cfg, "ray-head")
    launch = head.launch(cfg, head.instance)
    assert launch.env["GRPC_ENABLE_FORK_SUPPORT"] == "false"
    assert "--ray-client-server-port" in launch.argv


def test_the_secrets_folder_is_the_owners_alone_even_when_it_was_made_wider(tmp_path):
    cfg = Config.load(environ={"SCALELAB_STATE_DIR": str(tmp_path / "state")})
    cfg.kept_secret("postgres-password")
    secrets_dir = tmp_path / "state" / "secrets"
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    secrets_dir.chmod(0o755)                      # a checkout from before, or a umask of 022
    cfg.kept_secret("redis-password")
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700


def test_a_file_system_without_hard_links_still_keeps_one_secret(tmp_path, monkeypatch):
    import errno
    import os

    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    cfg = Config.load(environ={"SCALELAB_STATE_DIR": str(tmp_path / "state")})
    first = cfg.kept_secret("postgres-password")
    assert len(first) == 48 and cfg.kept_secret("postgres-password") == first
    path = tmp_path / "state" / "secrets" / "postgres-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["postgres-password"]     # no temporary file left


def test_rays_folder_is_per_user_and_private_and_refused_when_another_user_made_it(tmp_path, monkeypatch):
    import os

    from scalelab.config import ConfigError, private_dir

    cfg = Config.load(environ={"SCALELAB_STATE_DIR": str(tmp_path / "state")})
    assert f"scalelab-ray-{os.getuid()}-" in cfg.ray_temp_dir.name           # two users never share one
    mine = private_dir(tmp_path / "ray", "Ray's temp folder")
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700
    mine.chmod(0o777)                                                          # as Ray leaves its own folders
    assert stat.S_IMODE(private_dir(mine, "Ray's temp folder").stat().st_mode) == 0o700
    link = tmp_path / "link"
    link.symlink_to(mine)
    with pytest.raises(ConfigError, match="is a link"):
        private_dir(link, "Ray's temp folder")
    real_uid = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real_uid + 1)                   # now the folder is someone else's
    with pytest.raises(ConfigError, match=rf"owned by uid {real_uid}, not by this user.*RAY_TEMP_DIR"):
        private_dir(mine, "Ray's temp folder", "Remove it, or point RAY_TEMP_DIR at a folder of your own")
    # Without a name to refuse by (.state/secrets, read-only under compose) it is left as it is.
    assert private_dir(mine) == mine
