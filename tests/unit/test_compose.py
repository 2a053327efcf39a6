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


def test_published_ports_are_the_settings_on_loopback(compose, cfg):
    defaults = {s.name: s.default for s in SETTINGS}
    for svc in services(cfg):
        published = compose[svc.role].get("ports", [])
        spec = re.compile(r"127\.0\.0\.1:\$\{(\w+):-(\d+)\}:(\d+)$")
        found = {}
        for port in published:
            m = spec.match(port)
            assert m, f"{svc.role}: {port!r} is not published on 127.0.0.1 through a setting"
            found[m.group(1)] = (m.group(2), m.group(3))
        assert set(found) == set(svc.ports), svc.role
        for name, (default, inside) in found.items():
            assert default == inside == defaults[name], (svc.role, name)
