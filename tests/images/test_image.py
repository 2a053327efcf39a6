"""The image every Python role runs: what it holds, and how it behaves run as the host's user."""

import json
import os
import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.images]

_VERSIONS = ("import importlib.metadata as m, json, sys; print(json.dumps({'python': '%d.%d' % sys.version_info[:2], "
             "**{d.metadata['Name'].lower().replace('_', '-'): d.version for d in m.distributions()}}))")


def _by_python_version(cfg) -> set[str]:
    """Packages the lock pins (or includes at all) depending on the Python version's marker."""
    found = set()
    for line in (cfg.root / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==[^ ;]+ ;.*python_(full_)?version", line)
        if m:
            found.add(m.group(1).lower().replace("_", "-"))
    return found


def test_the_image_holds_the_versions_of_the_lock_the_host_venv_holds(run, image, cfg):
    """Drivers on the host and workers in containers unpickle each other's objects: equal versions.
    Only where the lock itself pins by Python version (the image has Debian's 3.11) may they differ."""
    inside = json.loads(run("run", "--rm", image, "python", "-c", _VERSIONS))
    here = json.loads(subprocess.run([sys.executable, "-c", _VERSIONS], capture_output=True, text=True,
                                     check=True).stdout)
    for ours in ("scalelab", "pip", "setuptools", "wheel"):    # the project itself and the venvs' own tools
        inside.pop(ours, None), here.pop(ours, None)
    assert inside.pop("python") == here.pop("python")
    by_python = _by_python_version(cfg)
    differ = {k: (here.get(k), inside.get(k)) for k in set(here) | set(inside) if here.get(k) != inside.get(k)}
    assert {k: v for k, v in differ.items() if k not in by_python} == {}, f"host venv vs image: {differ}"
    for critical in ("pyspark", "dask", "distributed", "ray", "pandas", "pyarrow", "cloudpickle", "numpy"):
        assert inside[critical] == here[critical], critical


def test_a_container_run_as_the_host_user_has_a_name_and_its_files_are_the_users(run, image, tmp_path):
    # Java's login module (Spark) fails for a uid without a name; the entrypoint gives it one.
    tmp_path.chmod(0o777)
    out = run("run", "--rm", "--user", "4242:4243", "-v", f"{tmp_path}:/out", image,
              "sh", "-ec", "whoami; touch /out/written")
    assert out.strip(), "the uid has no user name"    # Podman names it itself, Docker leaves it to the entrypoint
    st = os.stat(tmp_path / "written")
    assert (st.st_uid, st.st_gid) == (4242, 4243)


def test_an_unknown_uid_is_named_without_a_writable_etc_passwd(run, image, engine):
    # Docker adds no passwd entry for --user; Podman does unless told not to (--passwd=false):
    # then the entrypoint's nss_wrapper names the uid, and Java (Spark) can look it up.
    no_entry = ["--passwd=false"] if engine == "podman" else []
    out = run("run", "--rm", *no_entry, "--user", "4242:4243", image, "sh", "-c",
              "whoami; grep -c 4242 /etc/passwd || true; [ -w /etc/passwd ] && echo writable || echo read-only; "
              "java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *user.name = //p'")
    name, in_passwd, writable, java_user = out.split()
    assert (name, in_passwd, writable, java_user) == ("scalelab", "0", "read-only", "scalelab"), out


def test_the_image_runs_as_its_own_user_not_root(run, image):
    out = run("run", "--rm", image, "sh", "-c", "id -u; id -g; stat -c %a /etc/passwd")
    assert out.split() == ["1000", "1000", "644"], out


def test_no_token_is_baked_into_the_image(run, image):
    # Tokens come from the host's .state/secrets, mounted at run time.
    out = run("run", "--rm", image, "sh", "-c",
              "if [ -e /work/.state/secrets ]; then echo present; else echo absent; fi; ls /work/.state")
    assert out.split()[0] == "absent", out
    assert "jars" in out.split()


def test_kafkas_jars_sparks_connector_and_the_jdbc_driver_are_in_the_image(run, image):
    code = ("from scalelab import stores, streaming; from scalelab.cluster import kafka; "
            "from scalelab.config import Config; cfg = Config.load(); "
            "print(kafka.jars_ready(cfg), len(streaming.connector_jars(cfg)), len(stores.jdbc_jars(cfg)))")
    ready, connector, jdbc = run("run", "--rm", "--network", "none", image, "python", "-c", code).split()
    assert ready == "True" and int(connector) > 0 and int(jdbc) > 0   # --network none: nothing fetched at run time


def test_every_role_is_served_by_the_image(run, image):
    from scalelab.cluster.services import ROLES

    out = run("run", "--rm", image, "scalelab", "serve", "--help")
    for role in ROLES:
        assert role in out


def test_airflow_has_its_own_venv_in_the_image_pinned_by_its_lock(run, image, cfg):
    lock = (cfg.root / "docker" / "airflow" / "requirements.lock").read_text()
    pinned = re.search(r"^apache-airflow==(\S+)", lock, re.M).group(1)
    out = run("run", "--rm", "--network", "none", image, "sh", "-c",
              "/opt/airflow-venv/bin/airflow version 2>/dev/null | tail -1; "
              "/opt/venv/bin/python -c 'import airflow' 2>&1 | tail -1")
    version, lab_import = out.strip().splitlines()
    assert version == pinned
    assert "No module named 'airflow'" in lab_import       # the lab's venv stays free of Airflow's pins
