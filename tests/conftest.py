"""Shared by every test folder: the configuration the suite runs against."""

import os

import pytest

from scalelab import engines
from scalelab.cluster.services import not_healthy
from scalelab.config import Config


@pytest.fixture(scope="session")
def cfg() -> Config:
    return Config.load()


def _require(cfg: Config, *names: str) -> None:
    for name, reason in not_healthy(cfg, names).items():
        pytest.fail(f"{name} is not healthy ({reason}). Start the stack with `make up`; "
                    f"`make status` and `make logs SERVICE={name}` say more.", pytrace=False)


@pytest.fixture(scope="session")
def require(cfg: Config):
    """require("spark-master", ...): fail, naming the service and how to start it, unless it is healthy."""
    return lambda *names: _require(cfg, *names)


@pytest.fixture(scope="session")
def client_environment(cfg: Config):
    """Point every client in this process (and its children) at the stack, as a kernel is."""
    saved = dict(os.environ)
    os.environ.update(cfg.client_env())
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def in_kernel(cfg: Config, require):
    """in_kernel(code) -> its printed output: run code in a new JupyterLab kernel, as a notebook
    cell does (in compose, inside the JupyterLab container). A raised error fails with its traceback."""
    import json
    import time
    import uuid

    import requests
    from websocket import create_connection

    require("jupyterlab")
    base = cfg.url("JUPYTER_PORT", "")
    headers = {"Authorization": f"token {cfg.jupyter_token}"}

    def run(code: str, timeout: float = 120) -> str:
        kernel = requests.post(f"{base}/api/kernels", headers=headers, json={"name": "python3"}, timeout=30).json()
        try:
            ws = create_connection(base.replace("http://", "ws://") + f"/api/kernels/{kernel['id']}/channels",
                                   header=[f"Authorization: token {cfg.jupyter_token}"], timeout=timeout)
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "t",
                                           "session": uuid.uuid4().hex, "version": "5.3"},
                                "parent_header": {}, "metadata": {}, "channel": "shell",
                                "content": {"code": code, "silent": False}}))
            deadline, out, error = time.time() + timeout, [], None
            while time.time() < deadline:
                reply = json.loads(ws.recv())
                if reply.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = reply["msg_type"]
                if kind == "stream" and reply["content"]["name"] == "stdout":
                    out.append(reply["content"]["text"])
                elif kind == "error":
                    error = "\n".join(reply["content"]["traceback"])
                elif kind == "status" and reply["content"]["execution_state"] == "idle":
                    break
            else:
                pytest.fail(f"the kernel did not finish within {timeout} s", pytrace=False)
            ws.close()
        finally:
            requests.delete(f"{base}/api/kernels/{kernel['id']}", headers=headers, timeout=30)
        if error:
            pytest.fail(f"the kernel raised:\n{error}", pytrace=False)
        return "".join(out)

    return run


def pytest_configure(config):
    # Each engine owns its pytest mark (`pytest -m spark`, `make test/spark`): registered from the
    # engine classes, so a new engine's tests are selectable without editing pyproject.toml.
    for cls in engines.ENGINES.values():
        config.addinivalue_line("markers", f"{cls.mark()}: runs on {cls.description}")


# -- the suite's own time, per tier (scripts/test.sh sets SCALELAB_BUDGET=record) -------------
_TIER_SECONDS: dict[str, list[float]] = {}


def pytest_runtest_logreport(report):
    if os.environ.get("SCALELAB_BUDGET") != "record":
        return
    parts = report.nodeid.split("/")
    if len(parts) > 2 and parts[0] == "tests":
        tier = _TIER_SECONDS.setdefault(parts[1], [0.0, 0])
        tier[0] += report.duration          # setup, call and teardown each report their part
        tier[1] += report.when == "call"


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("SCALELAB_BUDGET") != "record" or not _TIER_SECONDS:
        return
    from scalelab.bench import budget

    cfg = Config.load()
    where = " (compose)" if os.environ.get("RUNTIME") == "docker" else ""     # make test-compose's run
    for tier, (seconds, tests) in sorted(_TIER_SECONDS.items()):
        budget.record(cfg, f"tier {tier}{where}", seconds, "s", f"{tests} tests, exit {int(exitstatus)}")
