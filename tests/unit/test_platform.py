"""The platform profile: opt-in services, enabled until `down`, their stores' launch and errors."""

import os
import stat

import pytest
from typer.testing import CliRunner

from scalelab.cli import app
from scalelab.cluster import platform
from scalelab.cluster.services import (PROFILES, UnknownService, by_name, enable_profiles, enabled_profiles,
                                       forget_profiles, services)
from scalelab.config import Config


@pytest.fixture
def cfg(tmp_path) -> Config:
    return Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"),
                                               "RAY_TEMP_DIR": str(tmp_path / "ray")})


def test_the_default_stack_stays_laptop_sized(cfg):
    assert enabled_profiles(cfg) == ["core"]
    names = [s.name for s in services(cfg)]
    assert "postgres" not in names and "redis" not in names
    assert {"postgres", "redis"} <= {s.name for s in services(cfg, everything=True)}
    assert by_name(cfg, "postgres").profile == "platform"    # logs and probes find it all the same


def test_a_profile_is_enabled_until_down_forgets_it(cfg):
    enable_profiles(cfg, ["platform"])
    assert enabled_profiles(cfg) == ["core", "platform"]
    assert [s.name for s in services(cfg) if s.profile == "platform"] == [
        "postgres", "redis", "airflow-api", "airflow-scheduler", "airflow-dag-processor"]
    enable_profiles(cfg, [])                         # a later `up` without it keeps it
    assert enabled_profiles(cfg) == ["core", "platform"]
    forget_profiles(cfg)
    assert enabled_profiles(cfg) == ["core"]


def test_an_unknown_profile_is_refused_with_the_known_ones(cfg, isolated_env):
    with pytest.raises(UnknownService, match="known profiles: core, platform"):
        enable_profiles(cfg, ["warehouse"])
    result = CliRunner().invoke(app, ["up", "--profile", "warehouse"])
    assert result.exit_code == 2 and "unknown profile 'warehouse'" in result.output
    assert PROFILES == ("core", "platform")


def test_redis_gets_its_password_from_a_private_file_not_the_command_line(cfg):
    argv = platform.redis_argv(cfg)
    conf = argv[-1]
    assert cfg.redis_password not in " ".join(argv)
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    text = open(conf).read()
    assert f"requirepass {cfg.redis_password}" in text
    assert "bind 127.0.0.1" in text and "port 6380" in text      # 6379 is Ray's


def test_postgres_listens_on_the_bind_host_only_and_over_tcp_only(cfg, monkeypatch):
    (cfg.state_dir / "pg").mkdir(parents=True)
    monkeypatch.setattr(platform, "ensure_postgres_cluster", lambda cfg: cfg.state_dir / "pg")
    monkeypatch.setattr(platform, "sync_postgres_login", lambda cfg, data: False)
    argv = platform.postgres_argv(cfg)
    # Who may connect: loopback only, with a password.
    assert (cfg.state_dir / "pg" / "pg_hba.conf").read_text().splitlines()[1:] == [
        "host all all 127.0.0.1/32 scram-sha-256", "host all all ::1/128 scram-sha-256"]
    assert "listen_addresses=127.0.0.1" in argv and "unix_socket_directories=" in argv
    assert argv[argv.index("-p") + 1] == "5432"
    if os.geteuid() == 0:   # PostgreSQL refuses root: it runs as Debian's postgres user
        assert argv[:2] == ["setpriv", "--reuid=postgres"]


def test_passwords_are_generated_once_and_kept(cfg):
    first = cfg.postgres_password
    assert len(first) == 48 and Config.load(root=cfg.root, environ={
        "SCALELAB_STATE_DIR": str(cfg.state_dir)}).postgres_password == first
    assert f":{first}@127.0.0.1:5432/lab" in cfg.postgres_url


def test_a_missing_server_says_how_to_install_it(cfg, monkeypatch):
    monkeypatch.setattr(platform.shutil, "which", lambda name: None)
    with pytest.raises(platform.PlatformSetupError, match="apt-get install redis-server"):
        platform.require_installed(["redis"])
    monkeypatch.setattr(platform.Path, "glob", lambda self, pattern: iter(()))
    with pytest.raises(platform.PlatformSetupError, match="apt-get install postgresql"):
        platform.require_installed(["postgres"])


def test_bound_to_every_interface_postgres_takes_passworded_clients_from_anywhere(tmp_path):
    # In a container the published port's connections arrive from the network's gateway.
    cfg = Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"),
                                              "SCALELAB_BIND_HOST": "0.0.0.0"})
    data = tmp_path / "pg"
    data.mkdir()
    platform.write_hba(cfg, data)
    assert (data / "pg_hba.conf").read_text().splitlines()[1:] == [
        "host all all 0.0.0.0/0 scram-sha-256", "host all all ::/0 scram-sha-256"]


def test_a_postgres_identifier_is_quoted_by_psycopg_with_its_quotes_doubled():
    from scalelab.apps import stores

    assert stores.ident('t') == '"t"'
    assert stores.ident('a"; DROP TABLE x; --') == '"a""; DROP TABLE x; --"'
