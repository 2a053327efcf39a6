"""compose.yaml runs the same roles, on the same ports, as the local runtime."""

import re

import pytest
import yaml

from scalelab.cluster.services import ROLES, services
from scalelab.config import SETTINGS, Config


@pytest.fixture(scope="module")
def compose(cfg: Config) -> dict:
    return yaml.safe_load((cfg.root / "compose.yaml").read_text())["services"]


def test_every_role_has_a_service_running_its_serve_command(compose):
    assert set(compose) == set(ROLES)
    for role, svc in compose.items():
        assert svc["command"] == ["scalelab", "serve", role]


# Roles scaled with --scale publish nothing: replicas cannot share one host port.
UNPUBLISHED = {"spark-worker": "its UI is linked from the master's; workers are scaled with --scale"}
# Ports a service listens on inside its container only.
CONTAINER_ONLY = {"KAFKA_CONTROLLER_PORT": "the KRaft controller is on loopback: it serves its own broker alone"}


def test_published_ports_are_the_settings_on_loopback(compose, cfg):
    defaults = {s.name: s.default for s in SETTINGS}
    for svc in services(cfg, everything=True):
        published = compose[svc.role].get("ports", [])
        spec = re.compile(r"127\.0\.0\.1:\$\{(\w+):-(\d+)\}:(\d+)$")
        found = {}
        for port in published:
            m = spec.match(port)
            assert m, f"{svc.role}: {port!r} is not published on 127.0.0.1 through a setting"
            found[m.group(1)] = (m.group(2), m.group(3))
        assert set(found) == (set() if svc.role in UNPUBLISHED else set(svc.ports) - set(CONTAINER_ONLY)), svc.role
        for name, (default, inside) in found.items():
            assert default == inside == defaults[name], (svc.role, name)


def test_every_service_has_a_healthcheck_that_is_its_roles_probe(compose):
    for role, svc in compose.items():
        check = svc.get("healthcheck", {})
        assert check.get("test") == ["CMD", "scalelab", "probe", role], role
        assert check.get("start_period") and check.get("interval"), role


def test_every_service_is_in_the_profile_all_and_its_group_but_the_platforms(compose, cfg):
    for svc in services(cfg, everything=True):
        profiles = compose[svc.role]["profiles"]
        if svc.profile == "platform":
            assert profiles == ["platform"], svc.role
        else:
            assert profiles[0] == "all" and len(profiles) == 2, svc.role


def test_workers_wait_for_their_masters_health(compose):
    assert compose["spark-worker"]["depends_on"] == {"spark-master": {"condition": "service_healthy"}}
    assert compose["dask-worker"]["depends_on"] == {"dask-scheduler": {"condition": "service_healthy"}}


def test_labs_datasets_and_tokens_are_mounted_in_every_container(compose):
    for role, svc in compose.items():
        mounts = {v.split(":")[0]: v.split(":", 1)[1] for v in svc["volumes"]}
        assert mounts["./labs"] == "/work/labs", role
        # The host's own path, so a path named by a driver on the host is the same file in here.
        assert mounts["./datasets"] == "${SCALELAB_HOST_DATA_DIR:-/work/datasets}", role
        assert mounts["./.state/secrets"] == "/work/.state/secrets:ro", role
        assert svc["environment"]["SCALELAB_DATA_DIR"] == "${SCALELAB_HOST_DATA_DIR:-/work/datasets}", role


def test_the_settings_passed_into_the_containers_exist(compose):
    known = {s.name for s in SETTINGS} | {"SPARK_MASTER_URL", "DASK_SCHEDULER_ADDRESS", "RAY_ADDRESS",
                                          "KAFKA_BOOTSTRAP_SERVERS"}
    for role, svc in compose.items():
        unknown = set(svc["environment"]) - known
        assert unknown == set(), (role, unknown)


def test_the_official_kafka_override_matches_the_version_ports_and_listeners(cfg, compose):
    from scalelab.cluster import kafka
    from scalelab.config import KAFKA_VERSION

    override = yaml.safe_load((cfg.root / "compose.kafka-official.yaml").read_text())["services"]["kafka"]
    assert override["image"] == f"apache/kafka:{KAFKA_VERSION}"
    env = override["environment"]
    ours = dict(line.split("=", 1) for line in kafka.broker_overrides(Config.load(environ={
        "SCALELAB_BIND_HOST": "0.0.0.0", "KAFKA_ADVERTISED_HOST": "127.0.0.1", **{
            k: v for k, v in compose["kafka"]["environment"].items() if k.startswith("KAFKA_INTERNAL")}})))
    assert env["KAFKA_LISTENERS"] == ours["listeners"]
    assert env["KAFKA_ADVERTISED_LISTENERS"] == ours["advertised.listeners"]
    assert env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == ours["listener.security.protocol.map"]
    # The broker settings of docker/kafka/server.properties, one by one.
    props = dict(line.split("=", 1) for line in (cfg.root / "docker/kafka/server.properties").read_text().splitlines()
                 if "=" in line and not line.startswith("#"))
    for key, value in props.items():
        if key in ("inter.broker.listener.name", "controller.listener.names", "process.roles", "node.id",
                   "num.partitions", "group.initial.rebalance.delay.ms") or "replication.factor" in key or "min.isr" in key:
            assert str(env["KAFKA_" + key.upper().replace(".", "_")]) == value, key


def test_the_image_gets_every_pom_that_setup_resolves(cfg):
    """`scalelab setup` runs inside the image build: each pom it reads must be in the build context."""
    dockerfile = (cfg.root / "docker" / "python" / "Dockerfile").read_text()
    copied = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ") and "--from" not in line]
    poms = sorted(p.relative_to(cfg.root) for p in (cfg.root / "docker").glob("*/pom.xml"))
    assert poms, "no poms found"
    for pom in poms:
        assert any(str(pom).startswith(src.rstrip("/") + "/") or str(pom) == src for src in copied), \
            f"{pom} is read by `scalelab setup` in the image build but not copied in: {copied}"
    ignored = (cfg.root / ".dockerignore").read_text().split()
    assert "docker" not in ignored


def test_compose_makes_every_secret_the_configuration_keeps(cfg):
    # The containers mount the secrets read-only: compose.sh must create each one first.
    from scalelab.config import KEPT_SECRETS

    script = (cfg.root / "scripts" / "compose.sh").read_text()
    listed = re.search(r"for name in ([\w\- \\\n]+); do", script).group(1).replace("\\", " ").split()
    assert sorted(listed) == sorted(KEPT_SECRETS)


def test_airflows_roles_share_their_task_logs_and_reach_the_stores_by_name(compose):
    for role in ("airflow-api", "airflow-scheduler", "airflow-dag-processor"):
        assert "airflow-logs:/work/.state/airflow/logs" in compose[role]["volumes"], role
        assert compose[role]["environment"]["AIRFLOW_API_HOST"] == "airflow-api"
        assert compose[role]["environment"]["POSTGRES_HOST"] == "postgres"


def test_no_container_runs_with_capabilities_or_as_root_by_default(compose):
    for role, svc in compose.items():
        assert svc["cap_drop"] == ["ALL"] and "no-new-privileges:true" in svc["security_opt"], role
        assert svc["user"] == "${SCALELAB_UID:-1000}:${SCALELAB_GID:-1000}", role    # unset: not root
    # Only PostgreSQL takes some back: as root it drops to its own user and hands it its files.
    assert {role: svc["cap_add"] for role, svc in compose.items() if "cap_add" in svc} == {
        "postgres": ["SETUID", "SETGID", "CHOWN", "FOWNER", "DAC_OVERRIDE"]}


def test_the_image_keeps_etc_passwd_read_only_runs_as_a_user_and_pins_uv_by_hash(cfg):
    dockerfile = (cfg.root / "docker" / "python" / "Dockerfile").read_text()
    commands = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    assert "/etc/passwd" not in commands
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and not users[-1].startswith("0") and users[-1] != "root"
    assert "--require-hashes" in dockerfile and "uv==" not in dockerfile
    pins = (cfg.root / "docker" / "python" / "uv-requirements.txt").read_text()
    makefile = (cfg.root / "Makefile").read_text()
    version = re.search(r"^UV_VERSION\s*\?=\s*(\S+)", makefile, re.M).group(1)
    assert re.search(rf"^uv=={re.escape(version)} ", pins, re.M), "make pins: the Makefile's uv is not the pinned one"
    assert pins.count("--hash=sha256:") >= 5
    assert "--require-hashes" in makefile     # make's bootstrap installs the same uv the same way
    entrypoint = (cfg.root / "docker" / "python" / "entrypoint.sh").read_text()
    assert "nss_wrapper" in entrypoint and ">> /etc/passwd" not in entrypoint
