"""Log lines for machines (one JSON object per line) or for people (plain text).

Every record logged while a request is served carries that request's id, so
an operator can follow one request from the access log into any warning it
caused.  Structured fields are passed as ``extra={"fields": {...}}``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from meterwall.ops.context import current

_HANDLER_NAME = "meterwall"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    data: dict[str, Any] = {}
    context = current()
    if context is not None and context.request_id:
        data["request_id"] = context.request_id
    extra = getattr(record, "fields", None)
    if isinstance(extra, dict):
        data.update(extra)
    return data


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, process id, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        data: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        data.update(_fields(record))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...`` for reading in a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of text (plus a traceback, if any)."""
        fields = " ".join(f"{k}={v}" for k, v in _fields(record).items() if v is not None)
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if fields:
            line = f"{line} {fields}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def configure_logging(
    log_format: Literal["json", "text"] = "json", level: str = "info"
) -> logging.Handler:
    """Send every log record (meterwall's and the server's) to stderr in ``log_format``.

    Calling it again replaces the handler it installed before, so a worker
    process and its parent can both call it.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.setLevel(logging.NOTSET)
        server_logger.propagate = True
        server_logger.disabled = False
    # Alembic narrates every start-up's (usually empty) migration run at INFO.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # The request observer writes the access log, with more in each line.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    return handler
