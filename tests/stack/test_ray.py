import pytest

pytestmark = [pytest.mark.stack, pytest.mark.ray]


def test_remote_tasks_run_on_the_head_node(ray_cluster):
    ray = ray_cluster

    @ray.remote
    def square_and_node(x):
        return x * x, ray.get_runtime_context().get_node_id()

    heads = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n.get("Resources", {}).get("node:__internal_head__")]
    assert len(heads) == 1, ray.nodes()
    results = ray.get([square_and_node.remote(i) for i in range(20)])
    assert [v for v, _ in results] == [i * i for i in range(20)]
    assert {node for _, node in results} == {heads[0]}


def test_the_object_store_round_trips_data(ray_cluster):
    import numpy as np

    ray = ray_cluster
    arr = np.arange(1_000_000, dtype=np.int64)
    ref = ray.put(arr)

    @ray.remote
    def total(a):
        return int(a.sum())

    assert ray.get(total.remote(ref)) == int(arr.sum())
