"""Purges shared by the processes of one machine through an append-only file.

The in-memory cache lives in each worker process, but a purge arrives at
one of them (or at ``meterwall cache purge``, another process altogether).
Each purge is appended to a file in ``data_dir`` as one JSON line, and
every process reads the lines other processes wrote since it last looked,
at most every ``interval`` seconds.  The file's first line names it; when the file grows
past a bound it is replaced by one with a new name, and a process that
finds a replaced file drops its whole cache, since it cannot know which
purges it missed.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

ALL: tuple[str, ...] = ()
"""A purge of everything (as returned by :meth:`PurgeJournal.poll`)."""

_MAX_BYTES = 1024 * 1024


def _name_line() -> bytes:
    return (json.dumps({"journal": secrets.token_hex(8)}) + "\n").encode()


class PurgeJournal:
    """The purge file of one ``data_dir``."""

    def __init__(
        self,
        path: Path,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._interval = interval
        self._clock = clock
        self._next_check = 0.0
        self._writer = secrets.token_hex(6)
        self._name, self._offset = self._read_name()
        try:
            self._offset = self.path.stat().st_size
        except OSError:
            self._offset = 0

    def _read_name(self) -> tuple[bytes, int]:
        try:
            with self.path.open("rb") as source:
                first = source.readline()
        except OSError:
            return b"", 0
        return (first, len(first)) if first.endswith(b"\n") else (b"", 0)

    def record(self, groups: Sequence[str] | None) -> None:
        """Append a purge of ``groups`` (``None``: everything) for every process to apply."""
        if groups is not None and not groups:
            return
        record: dict[str, object] = {"by": self._writer}
        record.update({"all": True} if groups is None else {"groups": list(groups)})
        line = json.dumps(record) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size == 0 or size > _MAX_BYTES:
            replacement = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
            replacement.write_bytes(_name_line() + line.encode())
            os.replace(replacement, self.path)
            return
        with self.path.open("a", encoding="utf-8") as sink:
            sink.write(line)

    def poll(self) -> list[tuple[str, ...]]:
        """Purges recorded since the last call (:data:`ALL` for everything), read at most
        once per ``interval``."""
        now = self._clock()
        if now < self._next_check:
            return []
        self._next_check = now + self._interval
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size == self._offset:
            return []
        name, start = self._read_name()
        if not name:
            return []
        if name != self._name:
            missed = bool(self._name) or self._offset > 0
            self._name, self._offset = name, start
            if missed:
                self._offset = size
                return [ALL]
        with self.path.open("rb") as source:
            source.seek(self._offset)
            data = source.read(size - self._offset)
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        found = (self._parse(line) for line in complete.splitlines() if line.strip())
        return [groups for groups in found if groups is not None]

    def _parse(self, line: bytes) -> tuple[str, ...] | None:
        """The purge on one line; ``None`` for this journal's own purges (already done)."""
        try:
            record = json.loads(line)
            if record.get("by") == self._writer:
                return None
            if record.get("all"):
                return ALL
            return tuple(str(g) for g in record["groups"])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("unreadable line in the purge journal; dropping the whole cache")
            return ALL
