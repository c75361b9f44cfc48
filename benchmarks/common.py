"""Shared pieces of the benchmarks: the machine, free ports, wrk, Redis and server processes.

Every process started here listens on loopback only and is stopped by the
benchmark that started it, by its own process id.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def say(message: str) -> None:
    """Progress for the person running the benchmarks."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    found = {
        "cores": str(os.cpu_count() or 0),
        "cpu": model,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }
    for name, command in (
        ("redis", ["redis-server", "--version"]),
        ("wrk", ["wrk", "--version"]),
    ):
        if shutil.which(command[0]):
            out = subprocess.run(command, capture_output=True, text=True, check=False)
            found[name] = (out.stdout or out.stderr).splitlines()[0].strip()
    return found


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 30) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:g} s")


def stop(process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    """SIGTERM this process (by its id), then SIGKILL if it has not ended in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def ensure_wrk() -> str:
    """The path of ``wrk``, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk is missing; installing Debian's package")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("could not install wrk")
    return found


@dataclass(frozen=True)
class WrkResult:
    """One wrk run."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    non_2xx: int


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]
    return float(number) * scale


def parse_wrk(output: str) -> WrkResult:
    """Read the figures out of ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(rps, p50, p99, total, errors, int(non_2xx.group(1)) if non_2xx else 0)


def wrk_command(
    url: str, seconds: float, connections: int, threads: int = 1, headers: Sequence[str] = ()
) -> list[str]:
    """The exact wrk command line a run uses."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for header in headers:
        command += ["-H", header]
    return [*command, url]


def run_wrk(command: list[str]) -> WrkResult:
    """Run wrk (bounded by its own duration) and parse what it printed."""
    ensure_wrk()
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    return parse_wrk(out.stdout)


@contextmanager
def redis_server(maxmemory: str = "") -> Iterator[int]:
    """A dedicated, empty redis-server on a free loopback port, for one benchmark."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="mw-bench-redis-"))
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder)]
    if maxmemory:
        command += ["--maxmemory", maxmemory]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _REDIS_PIDS[port] = process.pid
    try:
        wait_for_port(port)
        yield port
    finally:
        _REDIS_PIDS.pop(port, None)
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


_REDIS_PIDS: dict[int, int] = {}


def redis_pid(port: int) -> int | None:
    """The process id of the redis-server :func:`redis_server` started on ``port``."""
    return _REDIS_PIDS.get(port)


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """A process's parent id and CPU seconds (user + system, all its threads)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def cpu_seconds(root: int) -> float:
    """CPU seconds used so far by a process and all its living descendants.

    Throughput on a shared machine depends on the neighbours; the CPU a
    server spends per request does much less, so the benchmarks report both.
    """
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                parents[int(entry.name)], used[int(entry.name)] = found
    total, wanted = 0.0, {root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        total += used.get(pid, 0.0)
    return total


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


async def asgi_fetch(
    app: Any,
    target: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One GET of ``target`` (path and query) straight through ``app``'s ASGI interface,
    with no HTTP client: the status, headers and body."""
    path, _, query = target.partition("?")
    status, answered, chunks = 0, [], []
    done = asyncio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answered
        if message["type"] == "http.response.start":
            status, answered = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1", "replace"),
        "query_string": query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": client,
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    await app(scope, receive, send)
    return status, answered, b"".join(chunks)


async def asgi_get(app: Any, path: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> int:
    """One GET straight through ``app``'s ASGI interface (no HTTP client); its status."""
    return (await asgi_fetch(app, path, headers))[0]
