"""The ``localstripe`` Stripe emulator, run as a child process on a loopback port.

Tests and ``meterwall demo`` use it so the whole purchase flow works offline:
the Stripe SDK talks to it through ``stripe.api_base``, and the checkout page
loads its fake Stripe.js from ``<api base>/js.stripe.com/v3/``.  Run as
``python -m meterwall.billing.emulator --port N`` it serves localstripe on
127.0.0.1 only, keeping its state in memory (or in ``--state FILE``) instead
of the shared ``/tmp/localstripe.pickle`` it would otherwise write.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pickle
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

WEBHOOK_ID = "meterwall"


def demo_webhook_secret(data_dir: Path) -> str:
    """The demo's webhook signing secret: made at random once per data dir and kept in
    ``data_dir/stripe-webhook.key`` (readable by its owner only), never a published string
    anyone could sign forged events with."""
    path = data_dir / "stripe-webhook.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(f"whsec_{secrets.token_urlsafe(32)}")
    return path.read_text().strip()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available() -> bool:
    """Whether the ``localstripe`` package is installed."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        return False
    return True


class LocalStripe:
    """A running emulator: ``with LocalStripe() as emu: emu.api_base``."""

    def __init__(self, port: int | None = None, state: Path | None = None) -> None:
        self.port = port or free_port()
        self.state = state
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def api_base(self) -> str:
        """The base URL to give the Stripe SDK."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def js_url(self) -> str:
        """The emulator's stand-in for ``https://js.stripe.com/v3/``."""
        return f"{self.api_base}/js.stripe.com/v3/"

    def start(self, timeout: float = 20.0) -> LocalStripe:
        """Start the child process and wait until it answers."""
        command = [
            sys.executable,
            "-m",
            "meterwall.billing.emulator",
            "--port",
            str(self.port),
            "--parent",
            str(os.getpid()),
        ]
        if self.state is not None:
            command += ["--state", str(self.state)]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("localstripe exited at start (is it installed?)")
            try:
                httpx.get(self.js_url, timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"localstripe did not answer on port {self.port}")

    def configure_webhook(self, url: str, secret: str) -> None:
        """Have the emulator deliver its events, signed with ``secret``, to ``url``."""
        response = httpx.post(
            f"{self.api_base}/_config/webhooks/{WEBHOOK_ID}",
            data={"url": url, "secret": secret},
            timeout=5.0,
        )
        response.raise_for_status()

    def stop(self) -> None:
        """Stop the child process (and wait for it)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> LocalStripe:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _persist_to(state: Path | None) -> None:
    """Point localstripe's persistence at ``state`` (or switch it off)."""
    from localstripe import resources

    def dump(store: Any) -> None:
        if state is None:
            return
        temporary = state.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            pickle.dump(dict(store), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, state)

    resources.Store.dump_to_disk = dump
    if state is not None and state.exists():
        with (
            contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError),
            state.open("rb") as handle,
        ):
            resources.store.update(pickle.load(handle))  # noqa: S301 - our own state file


def main(argv: Sequence[str] | None = None) -> None:
    """Serve localstripe on 127.0.0.1 (the child-process entry point)."""
    parser = argparse.ArgumentParser(description="localstripe on a loopback port")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path)
    parser.add_argument("--parent", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    from aiohttp import web
    from localstripe.server import app

    _persist_to(args.state)
    if args.parent:
        app.on_startup.append(lambda _app: _watch_parent(args.parent))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


async def _watch_parent(parent: int) -> None:
    """Stop the emulator when the process that started it ends, however it ended."""

    async def watch() -> None:
        while os.getppid() == parent:  # noqa: ASYNC110 - no event announces a parent exit
            await asyncio.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    _watchers.add(asyncio.ensure_future(watch()))


_watchers: set[asyncio.Future[None]] = set()


if __name__ == "__main__":
    main()
