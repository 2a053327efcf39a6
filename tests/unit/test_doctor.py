from scalelab.cluster import doctor
from scalelab.config import Config


def _venv_root(tmp_path, compiled: bool):
    (tmp_path / "requirements.lock").write_text("pandas==3.0.0\n")
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    for pkg in ("pandas", "ray"):
        cache = venv / "lib" / "python3.11" / "site-packages" / pkg / "__pycache__"
        cache.mkdir(parents=True)
        if compiled:
            (cache / "__init__.cpython-311.pyc").touch()
    cfg = Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state")})
    (venv / ".scalelab-lock").write_text(doctor.lock_digest(cfg) + "\n")
    return cfg


def test_a_venv_without_bytecode_is_reported_with_the_fix(tmp_path):
    check = doctor._venv(_venv_root(tmp_path, compiled=False))
    assert not check.ok
    assert "bytecode" in check.detail and "make setup" in check.fix


def test_a_compiled_venv_that_matches_the_lock_passes(tmp_path):
    check = doctor._venv(_venv_root(tmp_path, compiled=True))
    assert check.ok, check.detail
