"""A real browser against JupyterLab: headless Chromium (Debian's `chromium`, installed by `make test`).

Refused without the token (the login page, no JupyterLab shell), let in with it, lab 1
opened and rendered; the screenshot is kept as results/browser/lab01.png.
"""

import shutil
import subprocess

import pytest

pytestmark = [pytest.mark.stack, pytest.mark.jupyter]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: `make browser` installs Debian's chromium (make test does it).",
                    pytrace=False)
    return path


def _run(tmp_path, url: str, *args: str, budget_ms: int = 25_000) -> str:
    argv = [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,900",
            f"--virtual-time-budget={budget_ms}", *args, url]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_without_the_token_the_browser_gets_the_login_page(jupyter, tmp_path):
    dom = _run(tmp_path, f"{jupyter}/lab", "--dump-dom", budget_ms=5_000)
    assert "login" in dom and "Password or token" in dom
    assert "jp-LabShell" not in dom


def test_with_the_token_lab_1_opens_and_is_screenshotted(jupyter, cfg, tmp_path):
    url = f"{jupyter}/lab/tree/labs/01_tour.ipynb?token={cfg.jupyter_token}"
    dom = _run(tmp_path, url, "--dump-dom")
    assert "jp-LabShell" in dom and "jp-Notebook" in dom
    assert "Lab 1 — A tour of the stack" in dom
    shot = cfg.results_dir / "browser" / "lab01.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.unlink(missing_ok=True)
    _run(tmp_path / "shot", url, f"--screenshot={shot}")
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
