"""Who is reading: the reader id from the signed cookie, or a new one."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import _unquote

from starlette.requests import Request
from starlette.responses import Response

from meterwall.identity.cookies import ReaderCookie, new_reader_id


@dataclass(frozen=True, slots=True)
class Visitor:
    """The reader behind a request; ``new`` when the cookie was missing or not ours."""

    reader_id: str
    new: bool


def cookie_value(request: Request, name: str) -> str | None:
    """The cookie ``name`` as ``request.cookies`` reads it (the last one sent wins),
    without reading every other cookie the browser sends to get it."""
    value = None
    for key, raw in request.headers.raw:
        if key != b"cookie":
            continue
        text = raw.decode("latin-1")
        if name not in text:
            continue
        for chunk in text.split(";"):
            key_text, equals, found = chunk.partition("=")
            if equals and key_text.strip() == name:
                value = found.strip()
    return None if value is None else _unquote(value)


class ReaderIdentity:
    """Reads and writes the one first-party reader cookie."""

    def __init__(self, cookie: ReaderCookie, name: str, max_age: int, secure: bool) -> None:
        self._cookie = cookie
        self.name = name
        self._max_age = max_age
        self._secure = secure

    def visitor(self, request: Request) -> Visitor:
        """The visitor of this request; a tampered cookie counts as no cookie."""
        reader_id = self._cookie.verify(cookie_value(request, self.name))
        if reader_id is None:
            return Visitor(new_reader_id(), new=True)
        return Visitor(reader_id, new=False)

    def from_token(self, token: str | None) -> Visitor:
        """The visitor a signed reader token names (the cookie's value, for API callers).

        A missing, tampered or foreign token is a new anonymous reader, never an error.
        """
        reader_id = self._cookie.verify(token)
        if reader_id is None:
            return Visitor(new_reader_id(), new=True)
        return Visitor(reader_id, new=False)

    def token(self, reader_id: str) -> str:
        """The signed reader token for ``reader_id`` (the same value the cookie carries)."""
        return self._cookie.sign(reader_id)

    def remember(self, response: Response, visitor: Visitor) -> None:
        """Set the cookie on ``response`` when the visitor is new."""
        if visitor.new:
            self.set(response, visitor.reader_id)

    def set(self, response: Response, reader_id: str) -> None:
        """Set the cookie for ``reader_id``."""
        response.set_cookie(
            self.name,
            self._cookie.sign(reader_id),
            max_age=self._max_age,
            path="/",
            secure=self._secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response) -> None:
        """Remove the cookie."""
        response.delete_cookie(
            self.name, path="/", secure=self._secure, httponly=True, samesite="lax"
        )
