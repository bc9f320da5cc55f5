"""Load generators, on 127.0.0.1 only and bounded in time: wrk when installed, else Python.

`wrk_get` runs Debian's wrk (installed by `ensure_wrk` if apt-get can), `wrk_script` runs it
with a Lua script (the checkout: bench/checkout.lua); `python_load` is the fallback when wrk
cannot be had. All return a `LoadResult`.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

HOST = "127.0.0.1"


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str
    notes: list[str] = field(default_factory=list)
    http_requests: int | None = None  # when each counted request took several (the checkout)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str | None:
    """The path of wrk, installing Debian's package when missing and possible; None otherwise."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get"):
        for command in (["apt-get", "install", "-y", "-qq", "wrk"],
                        ["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False, timeout=300)
            if shutil.which("wrk"):
                break
    return shutil.which("wrk")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk_get(wrk: str, port: int, path: str, seconds: int, connections: int,
            cookie: str | None = None, threads: int = 2) -> LoadResult:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "--timeout", "5s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(f"http://{HOST}:{port}{path}")
    return _wrk_result(_run(command, seconds))


def wrk_script(wrk: str, port: int, script: str, args: list[str], seconds: int,
               connections: int) -> tuple[LoadResult, str]:
    """wrk with a Lua script, one thread per connection (each thread is one client with its
    own state); the result and wrk's whole output, for the script's own figures."""
    command = [wrk, f"-t{connections}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "--timeout", "5s", "-s", script, f"http://{HOST}:{port}/", "--", *args]
    out = _run(command, seconds)
    return _wrk_result(out), out


def _run(command: list[str], seconds: int) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True,
                          timeout=seconds + 30).stdout


def _wrk_result(out: str) -> LoadResult:
    total = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))
    elapsed = _ms(re.search(r"requests in ([\d.]+(?:us|ms|s|m))", out).group(1)) / 1000
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    errors = 0
    notes = []  # what the errors were, so a failed request can be told from a closed socket
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
        notes.append(f"{non2xx.group(1)} non-2xx/3xx responses")
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    if socket:
        errors += sum(int(n) for n in socket.groups())
        notes.append("socket errors: " + ", ".join(
            f"{name} {n}" for name, n in zip(("connect", "read", "write", "timeout"),
                                             socket.groups(), strict=True) if n != "0"))
    return LoadResult(total, elapsed, p50, p99, errors, "wrk", notes)


# --------------------------------------------------------------------------- Python client


class Visitor:
    """One client with a cookie jar (sent regardless of the Secure flag: this is a test rig)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        headers = {}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response.status, response.headers.get("Location", ""), text

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def csrf(self, path: str) -> str:
        status, _, page = self.request("GET", path)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or not match:
            raise RuntimeError(f"no CSRF token on {path} (status {status})")
        return match.group(1)

    def log_in(self, email: str, password: str) -> None:
        token = self.csrf("/account/login")
        status, location, _ = self.request(
            "POST", "/account/login", {"csrf_token": token, "email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"could not log in {email} (status {status})")
        # Follow the redirect as a browser does: the page shows (and takes out of the session
        # cookie) the "welcome back" message. Until the seventh run the rig did not, and every
        # logged-in row was measured with that message still waiting in the cookie: each
        # request showed it again, wrote a new cookie and, on the home page, skipped the cache.
        status, _, _ = self.request("GET", location or "/")
        if status != 200:
            raise RuntimeError(f"{email}'s page after logging in answered {status}")


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def python_load(operations: list[Callable[[], bool]], seconds: float) -> LoadResult:
    """Run each operation in its own thread in a loop for `seconds`; an op returns success."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(operation: Callable[[], bool]) -> None:
        mine, failed = [], 0
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                ok = operation()
            except Exception:
                ok = False
            mine.append((time.perf_counter() - began) * 1000)
            failed += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(op,)) for op in operations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return LoadResult(len(latencies), elapsed, _percentile(latencies, 0.5),
                      _percentile(latencies, 0.99), errors[0], "python")


def python_get(port: int, path: str, seconds: int, connections: int,
               cookie: str | None = None) -> LoadResult:
    def get() -> bool:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = conn.getresponse()
            response.read()
            return response.status == 200
        finally:
            conn.close()

    return python_load([get] * connections, seconds)
