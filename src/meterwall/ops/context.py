"""The facts about the current request that logs and metrics share.

The request middleware opens a :class:`RequestContext` for each request; code
deeper down (the access service, the meter store wrapper, any log call) adds
to it or reads it without the object being passed along.  The context holds a
mutable object, so what a child task writes is seen by the middleware too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class RequestContext:
    """What is known about the request being served.

    ``outcome`` is the last access decision's outcome; ``meter_failed`` is set
    by the meter store wrapper when a call failed and read (and cleared) by the
    access service wrapper to count the failure policy's answers.
    """

    request_id: str
    outcome: str | None = None
    meter_failed: bool = False


_current: ContextVar[RequestContext | None] = ContextVar("meterwall_request", default=None)


def current() -> RequestContext | None:
    """The context of the request being served, if any."""
    return _current.get()


@contextmanager
def request_context(request_id: str) -> Iterator[RequestContext]:
    """A fresh context for the duration of the ``with`` block."""
    context = RequestContext(request_id)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
