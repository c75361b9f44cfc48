"""Log lines: one JSON object per line, carrying the request id of the request being served."""

from __future__ import annotations

import io
import json
import logging

from hypothesis import given
from hypothesis import strategies as st

from meterwall.ops.context import request_context
from meterwall.ops.logging import JsonFormatter, TextFormatter, configure_logging


def record(message: str, *args: object, **fields: object) -> logging.LogRecord:
    made = logging.LogRecord("meterwall.test", logging.WARNING, __file__, 1, message, args, None)
    if fields:
        made.fields = fields
    return made


def test_a_json_line_has_time_level_logger_message_and_the_request_id() -> None:
    with request_context("req-123"):
        line = JsonFormatter().format(record("meter store slow: %d ms", 300, route="/x"))
    data = json.loads(line)
    assert data["level"] == "warning"
    assert data["logger"] == "meterwall.test"
    assert data["message"] == "meter store slow: 300 ms"
    assert data["request_id"] == "req-123"
    assert data["route"] == "/x"
    assert data["time"].endswith("Z")
    assert "\n" not in line


def test_outside_a_request_there_is_no_request_id() -> None:
    assert "request_id" not in json.loads(JsonFormatter().format(record("starting")))


@given(st.text(), st.text())
def test_any_message_and_field_stays_one_parseable_line(message: str, value: str) -> None:
    line = JsonFormatter().format(record("%s", message, path=value))
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == message
    assert data["path"] == value


def test_an_exception_is_kept_inside_the_json_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        made = record("failed")
        made.exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(made))
    assert "RuntimeError: boom" in data["exception"]


def test_text_lines_put_fields_after_the_message() -> None:
    with request_context("abc"):
        line = TextFormatter().format(record("GET / 200", status=200))
    assert line.endswith("GET / 200 request_id=abc status=200")


def test_configuring_twice_leaves_one_handler_and_silences_the_servers_access_log() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging("json", "warning")
        handler = configure_logging("text", "info")
        ours = [h for h in root.handlers if h.get_name() == "meterwall"]
        assert ours == [handler]
        assert isinstance(handler.formatter, TextFormatter)
        assert root.level == logging.INFO
        assert logging.getLogger("uvicorn.access").propagate is False
        stream = io.StringIO()
        handler.setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("uvicorn.error").info("server started")
        assert "server started" in stream.getvalue()
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
        root.setLevel(level)
