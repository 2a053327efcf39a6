"""A headless Chromium driven over the DevTools protocol (CDP), for the browser tests.

Chromium's `--dump-dom` shows a page once, as loaded; a test of JupyterLab must also wait for
what its extensions draw, click a tab and read what appears. This speaks CDP over a websocket
(websocket-client, a test dependency): navigate, evaluate JavaScript, wait for a condition,
screenshot. Debian's chromium, no driver binary, nothing downloaded.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import websocket


class BrowserError(AssertionError):
    pass


def chromium() -> str:
    """Debian's chromium, or a failure saying how to install it (never a skip)."""
    import pytest

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: `make browser` installs Debian's chromium (make test does it).",
                    pytrace=False)
    return path


class Browser:
    def __init__(self, chromium: str, profile: Path, width: int = 1400, height: int = 900):
        profile.mkdir(parents=True, exist_ok=True)
        port_file = profile / "DevToolsActivePort"   # Chromium writes the port it chose here
        port_file.unlink(missing_ok=True)             # (a profile used before holds a stale one)
        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise BrowserError(f"Chromium did not open its DevTools port (exit {self.proc.returncode})")
            time.sleep(0.1)
        try:
            port = int(port_file.read_text().split()[0])
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10).read())
            page = next(t for t in targets if t["type"] == "page")
            self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        except BaseException:
            self.close()      # no Chromium left behind holding the profile
            raise
        self._id = 0

    def call(self, method: str, **params):
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg["result"]

    def goto(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def js(self, expression: str):
        got = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in got:
            raise BrowserError(f"{expression[:80]}: {got['exceptionDetails'].get('text')}")
        return got["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 60.0):
        """Poll a JavaScript expression until it is truthy; its value, or a failure naming `what`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.js(expression)
            except BrowserError:
                value = None          # the page is between documents
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"waited {timeout:.0f} s for {what}")
            time.sleep(0.25)

    def click(self, selector: str) -> None:
        """A real mouse click at the element's centre (JupyterLab's tabs listen to pointer events)."""
        box = self.wait_for(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
                            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()",
                            f"an element {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def text(self, selector: str) -> str:
        return self.js(f"Array.from(document.querySelectorAll({json.dumps(selector)}))"
                       ".map(e => e.innerText).join('\\n')") or ""

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
