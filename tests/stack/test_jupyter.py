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


def test_kernels_get_the_stack_addresses(jupyter, cfg):
    """What `make up` promises notebooks: the connection variables are in the kernel's environment."""
    import json
    import time
    import uuid

    from websocket import create_connection

    headers = {"Authorization": f"token {cfg.jupyter_token}"}
    kernel = requests.post(f"{jupyter}/api/kernels", headers=headers, json={"name": "python3"}, timeout=30).json()
    try:
        ws_url = jupyter.replace("http://", "ws://") + f"/api/kernels/{kernel['id']}/channels"
        ws = create_connection(ws_url, header=[f"Authorization: token {cfg.jupyter_token}"], timeout=60)
        msg_id = uuid.uuid4().hex
        code = "import os, json; print(json.dumps({k: os.environ.get(k) for k in " \
               "['SPARK_MASTER_URL','DASK_SCHEDULER_ADDRESS','RAY_ADDRESS','KAFKA_BOOTSTRAP_SERVERS']}))"
        ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "t",
                                       "session": uuid.uuid4().hex, "version": "5.3"},
                            "parent_header": {}, "metadata": {}, "channel": "shell",
                            "content": {"code": code, "silent": False}}))
        deadline, out = time.time() + 60, None
        while time.time() < deadline and out is None:
            reply = json.loads(ws.recv())
            if reply.get("parent_header", {}).get("msg_id") == msg_id and reply["msg_type"] == "stream":
                out = json.loads(reply["content"]["text"])
        ws.close()
    finally:
        requests.delete(f"{jupyter}/api/kernels/{kernel['id']}", headers=headers, timeout=30)
    assert out == {"SPARK_MASTER_URL": cfg.spark_master_url, "DASK_SCHEDULER_ADDRESS": cfg.dask_scheduler_address,
                   "RAY_ADDRESS": cfg.ray_address, "KAFKA_BOOTSTRAP_SERVERS": cfg.kafka_bootstrap_servers}
