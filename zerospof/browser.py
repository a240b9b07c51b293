"""Open a page in Debian's headless Chromium over the DevTools protocol (``--remote-debugging-pipe``).

No extra dependency: CDP messages are NUL-terminated JSON on file descriptors 3 (to Chromium) and 4 (from it).
The page is loaded, then :class:`PageVisit` says what it logged to the console, what it requested over the
network, what a JavaScript expression evaluated to, and holds a PNG screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zerospof.errors import ZerospofError

__all__ = ["BrowserError", "chromium", "visit", "PageVisit", "screenshot"]

LOCAL_SCHEMES = ("file:", "data:", "about:")


class BrowserError(ZerospofError):
    """Chromium is missing, did not answer in time, or reported an error."""


def chromium() -> str | None:
    """The Chromium binary on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageVisit:
    """What a page did while it loaded."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    evaluated: dict[str, Any] = field(default_factory=dict)
    screenshot_png: bytes = b""

    @property
    def network_requests(self) -> list[str]:
        """Requests for anything but the local file itself (http, https, ws, ...)."""
        return [url for url in self.requests if not url.startswith(LOCAL_SCHEMES)]


class _Pipe:
    def __init__(self, to_browser: int, from_browser: int) -> None:
        self.to_browser, self.from_browser = to_browser, from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout_s: float = 20.0) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            reply = self.read(deadline)
            if reply is None:
                continue
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise BrowserError(f"no reply to {method} within {timeout_s}s")

    def read(self, deadline: float) -> dict[str, Any] | None:
        while b"\0" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.from_browser], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def wait_for(self, method: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method:
                    return event
            event = self.read(deadline)
            if event is not None:
                self.events.append(event)
        raise BrowserError(f"no {method} within {timeout_s}s")


def visit(url: str, expressions: dict[str, str], width: int = 1200, height: int = 900,
          timeout_s: float = 30.0) -> PageVisit:
    """Load ``url`` in headless Chromium, evaluate each JavaScript expression (name -> expression, the value
    returned by value), take a full-page screenshot; return the :class:`PageVisit`. Chromium is always stopped."""
    binary = chromium()
    if binary is None:
        raise BrowserError("chromium is not installed (bin/setup installs it)")
    to_read, to_browser = os.pipe()
    from_browser, to_write = os.pipe()
    profile = tempfile.mkdtemp(prefix="zerospof-chromium-")
    # Chromium reads DevTools commands from fd 3 and writes replies to fd 4 (bash: dash refuses fds above 9).
    process = subprocess.Popen(
        ["bash", "-c", f'exec "$@" 3<&{to_read} 4>&{to_write}', "bash", binary, "--headless=new", "--no-sandbox",
         "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        pass_fds=(to_read, to_write))
    os.close(to_read)
    os.close(to_write)
    pipe = _Pipe(to_browser, from_browser)
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.events.clear()
        pipe.send("Page.navigate", {"url": url}, session=session)
        pipe.wait_for("Page.loadEventFired", timeout_s)
        result = PageVisit()
        for name, expression in expressions.items():
            reply = pipe.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
            result.evaluated[name] = reply.get("result", {}).get("value")
        shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
        result.screenshot_png = base64.b64decode(shot["data"])
        for event in pipe.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                result.console_errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                result.console_errors.append(str(params["exceptionDetails"].get("text")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                result.console_errors.append(str(params["entry"].get("text")))
        return result
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        os.close(to_browser)
        os.close(from_browser)
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(html_path: str | Path, png_path: str | Path) -> Path:
    """Load ``html_path`` in headless Chromium and write a full-page PNG screenshot to ``png_path``."""
    visited = visit(Path(html_path).resolve().as_uri(), {})
    png_path = Path(png_path)
    png_path.write_bytes(visited.screenshot_png)
    return png_path
