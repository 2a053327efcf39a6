"""The container image and the compose stack (`make test-compose`; with Docker: RUNTIME=docker make up).

ENGINE names the container engine (podman here, docker by default) and SCALELAB_IMAGE the
image. Nothing is skipped: without an engine, the image or the compose stack, a test fails
saying which is missing and how to get it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

HOW = "run `make test-compose` (Podman) or `RUNTIME=docker make up` (Docker)"


@pytest.fixture(scope="session")
def engine() -> str:
    name = os.environ.get("ENGINE", "docker")
    if shutil.which(name) is None or subprocess.run([name, "info"], capture_output=True).returncode != 0:
        pytest.fail(f"no container engine answers `{name} info`: {HOW}", pytrace=False)
    return name


@pytest.fixture(scope="session")
def image(engine) -> str:
    name = os.environ.get("SCALELAB_IMAGE", "scalelab-python:dev")
    if subprocess.run([engine, "image", "inspect", name], capture_output=True).returncode != 0:
        pytest.fail(f"the image {name} is not built: {HOW}", pytrace=False)
    return name


def _run(engine: str, *args: str, timeout: float = 300) -> str:
    proc = subprocess.run([engine, *args], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{engine} {' '.join(args)} failed:\n{proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture(scope="session")
def run(engine):
    """run("ps", ...) -> the engine's output; a failing command fails the test with its stderr."""
    return lambda *args, timeout=300: _run(engine, *args, timeout=timeout)


@pytest.fixture(scope="session")
def containers(engine, cfg):
    """containers(service=None) -> names of the running compose containers (of one service)."""
    if cfg.runtime != "docker":
        pytest.fail(f"RUNTIME is {cfg.runtime!r}, not docker: these tests need the compose stack; {HOW}",
                    pytrace=False)

    def names(service: str | None = None) -> list[str]:
        label = "label=com.docker.compose.project=scalelab"
        args = ["ps", "--filter", label, "--format", "{{.Names}}"]
        if service:
            args[1:1] = ["--filter", f"label=com.docker.compose.service={service}"]
        return sorted(_run(engine, *args).split())

    if not names():
        pytest.fail(f"no scalelab containers run: {HOW}", pytrace=False)
    return names


@pytest.fixture(scope="session")
def inspect(engine):
    return lambda container: json.loads(_run(engine, "inspect", container))[0]
