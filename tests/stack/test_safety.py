"""Safe by default: nothing of the stack answers off loopback, and what could is locked."""

import ipaddress
import os
import subprocess
import sys

import psutil
import pytest

from scalelab.cluster import local
from scalelab.cluster.health import port_open

pytestmark = [pytest.mark.stack]


def _stack_listeners(cfg):
    pids = {p.pid: p for p in local.stack_processes(cfg)}
    assert pids, "no process of the stack is running: start it with `make up`"
    found = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids:
            found.append((conn.laddr.ip, conn.laddr.port, pids[conn.pid].name()))
    return found


def _loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr.is_loopback


@pytest.mark.local_runtime  # compose: tests/images/test_compose_stack.py checks the published ports
def test_every_listener_of_the_stack_is_on_loopback(cfg):
    # Ray's raylet, GCS and workers would listen on every interface; with the node
    # address held on loopback they do not. Token auth (below) guards them regardless.
    listeners = _stack_listeners(cfg)
    assert len(listeners) >= 10, listeners  # the whole stack, not a stray process
    exposed = [lst for lst in listeners if not _loopback(lst[0])]
    assert exposed == [], f"listening off loopback: {exposed}"


def test_spark_rest_submission_server_is_off(cfg):
    assert not port_open(cfg.client_host, 6066), "Spark's REST submission server (6066) is listening"


_DRIVER = "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); print('joined')"


@pytest.mark.ray
def test_ray_refuses_a_driver_without_the_token(cfg, tmp_path):
    # Both drivers at once. Ray's driver retries the GCS once a second, 20 times by default, and is
    # refused the same way each time: three tries show the refusal without waiting out the other 17 s.
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    base.update({k: v for k, v in cfg.client_env().items() if k == "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"})
    base["RAY_NUM_REDIS_GET_RETRIES"] = "3"
    bad = tmp_path / "token"
    bad.write_text("0" * 48)
    envs = {"no token": base, "wrong token": {**base, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(bad)}}
    drivers = {auth: subprocess.Popen([sys.executable, "-c", _DRIVER, cfg.ray_address], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE) for auth, env in envs.items()}
    for auth, proc in drivers.items():
        out, errors = proc.communicate(timeout=120)
        assert proc.returncode != 0 and "joined" not in out, f"Ray accepted a driver with {auth}"
        # Refused for its token, not for want of a reachable head.
        assert "Authentication token is missing or incorrect" in errors, (auth, errors[-2000:])


@pytest.mark.ray
def test_ray_dashboard_refuses_a_request_without_the_token(cfg):
    import requests

    url = cfg.url("RAY_DASHBOARD_PORT", "/api/jobs/")
    assert requests.get(url, timeout=10).status_code in (401, 403)
    token = cfg.ray_token_path.read_text().strip()
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200


@pytest.mark.local_runtime      # under compose the head's folder is the container's own
def test_rays_sockets_sit_in_a_folder_only_this_user_can_enter(cfg, require):
    # Ray makes its temp folder and sockets/ 0777 without the sticky bit (issue 25): inside a 0700
    # folder of ours, no other local user can reach or replace them.
    import os
    import stat

    require("ray-head")
    private = cfg.ray_temp_dir
    info = os.lstat(private)
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700
    sessions = list((private / "ray").glob("session_2*"))
    assert sessions and all((s / "sockets").is_dir() for s in sessions)
