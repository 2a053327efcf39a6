import json

import pytest
import requests

pytestmark = [pytest.mark.stack, pytest.mark.jupyter]


def test_refuses_a_request_without_the_token(jupyter):
    assert requests.get(f"{jupyter}/api/contents", timeout=10).status_code == 403
    assert requests.get(f"{jupyter}/api/status", timeout=10).status_code == 403


def test_refuses_a_wrong_token(jupyter):
    resp = requests.get(f"{jupyter}/api/status", headers={"Authorization": "token wrong"}, timeout=10)
    assert resp.status_code == 403


def test_serves_a_request_with_the_token(jupyter, cfg):
    resp = requests.get(f"{jupyter}/api/contents/labs", headers={"Authorization": f"token {cfg.jupyter_token}"},
                        timeout=10)
    assert resp.status_code == 200
    assert resp.json()["type"] == "directory"


def test_kernels_get_the_stack_addresses(in_kernel, cfg):
    """What `make up` promises notebooks: the connection variables are in the kernel's environment
    (the local runtime's addresses; in compose, those of the container network)."""
    out = in_kernel("import os, json; print(json.dumps({k: os.environ.get(k) for k in "
                    "['SPARK_MASTER_URL','DASK_SCHEDULER_ADDRESS','RAY_ADDRESS','KAFKA_BOOTSTRAP_SERVERS']}))")
    if cfg.runtime == "docker":
        dask = f"{'tls' if cfg.auth else 'tcp'}://dask-scheduler:8786"     # TLS with SCALELAB_AUTH=on
        expected = {"SPARK_MASTER_URL": "spark://spark-master:7077", "DASK_SCHEDULER_ADDRESS": dask,
                    "RAY_ADDRESS": "ray://ray-head:10001", "KAFKA_BOOTSTRAP_SERVERS": "kafka:19092"}
    else:
        expected = {"SPARK_MASTER_URL": cfg.spark_master_url, "DASK_SCHEDULER_ADDRESS": cfg.dask_scheduler_address,
                    "RAY_ADDRESS": cfg.ray_address, "KAFKA_BOOTSTRAP_SERVERS": cfg.kafka_bootstrap_servers}
    assert json.loads(out) == expected


def test_no_kernel_sees_the_token_in_its_environment(in_kernel, cfg):
    # The server reads its token from a file of its own (JUPYTER_TOKEN_FILE): a notebook that
    # prints os.environ, or a terminal's `env`, shows no credential for the server.
    out = in_kernel("import os, json; print(json.dumps(dict(os.environ)))")
    environ = json.loads(out.strip().splitlines()[-1])
    assert "JUPYTER_TOKEN" not in environ
    assert not [k for k, v in environ.items() if cfg.jupyter_token in v], "the token is in a kernel's environment"
