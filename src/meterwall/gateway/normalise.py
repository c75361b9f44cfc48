"""The one canonical form of a proxied request: the first phase of the request path.

Every pattern (``article_patterns``, ``free_patterns``, ``blocked_paths`` ...),
every decision and the upstream request use the value computed here, so no
spelling of a URL can mean one thing to meterwall and another to the
publisher's application.  It is read from the raw request (``raw_path``: the
decoded ``path`` has lost the difference between ``/`` and ``%2F``):

* the path: escapes of unreserved characters decoded (``%2e``, ``%7e``,
  ``%41``), ``;`` segment parameters dropped, dot segments removed (RFC 3986),
  empty segments (``//``) collapsed, and a leading ``/index.php/`` (PHP's
  PATH_INFO, which WordPress serves like the path without it) removed;
  encoded slashes or backslashes, raw backslashes and NUL have no one
  meaning and are refused;
* the query, as PHP reads it: each name percent-decoded (``+`` is a space)
  and mangled as PHP mangles it (leading spaces dropped; ``.``, space and an
  unmatched ``[`` become ``_``; a NUL ends the name), so ``?rest.route=``,
  ``?rest%5Froute=``, ``?%72est_route=``, ``?rest+route=`` and
  ``?rest[route=`` all read ``rest_route``;
* form bodies (``application/x-www-form-urlencoded`` and
  ``multipart/form-data``), whose fields PHP reads the same way;
* the effective method: ``_method`` in the query or form body,
  ``X-HTTP-Method-Override``, ``X-HTTP-Method`` or ``X-Method-Override``.

The proxy redirects a ``GET`` or ``HEAD`` whose raw target differs from
:attr:`Canonical.target` to it, and refuses other requests that differ and
anything :class:`Ambiguous`, so what it forwards is exactly what it decided on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from starlette.types import Scope

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What a path segment may hold unescaped: RFC 3986's pchar, less ";" (parameters).
_SEGMENT_SAFE = _UNRESERVED | frozenset(b"!$&'()*+,=:@")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_PLAIN_PATH = re.compile(rb"(?:/[A-Za-z0-9_~!$&'()*+,=:@-][A-Za-z0-9._~!$&'()*+,=:@-]*)*/?")
_OVERRIDE_HEADERS = (b"x-http-method-override", b"x-http-method", b"x-method-override")
_METHOD = re.compile(r"[A-Z]{1,20}")
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_PART_NAME = re.compile(rb"""\bname\*?=(?:"([^"]*)"|([^\s;]*))""", re.IGNORECASE)


class Ambiguous(ValueError):
    """A request with no one safe meaning (an encoded slash, conflicting methods ...);
    the message is a sentence for the reader."""


@dataclass(frozen=True, slots=True)
class Canonical:
    """A request as meterwall and the upstream both read it.

    ``params`` are the query's and then the form body's parameters as
    ``(name, value)``, the name as the application reads it (PHP's top-level
    variable name) and the value in its canonical spelling.
    """

    method: str
    path: str
    query: str
    params: tuple[tuple[str, str], ...]

    @property
    def target(self) -> str:
        """The path and query forwarded upstream (and the redirect target)."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def matched(self) -> str:
        """What ``blocked_paths`` search: the path and every parameter, query and body."""
        if not self.params:
            return self.path
        return self.path + "?" + "&".join(f"{k}={v}" for k, v in self.params)


def _escaped(byte: int) -> str:
    return f"%{byte:02X}"


def _spelled(raw: bytes, safe: frozenset[int], *, segment: bool = False) -> str:
    """``raw`` with escapes of unreserved characters decoded and unsafe bytes escaped.

    In a path ``segment``, an escaped slash or backslash, a backslash and NUL
    are :class:`Ambiguous`, and ``;`` ends the segment (its parameters are dropped).
    """
    out: list[str] = []
    i, end = 0, len(raw)
    while i < end:
        byte = raw[i]
        if byte == 0x25 and i + 2 < end and raw[i + 1] in _HEX and raw[i + 2] in _HEX:
            value = int(raw[i + 1 : i + 3], 16)
            if segment and value in (0x00, 0x2F, 0x5C):
                raise Ambiguous("The path has an encoded slash, backslash or NUL.")
            out.append(chr(value) if value in _UNRESERVED else raw[i : i + 3].decode("ascii"))
            i += 3
            continue
        if segment and byte in (0x5C, 0x00):
            raise Ambiguous("The path has a backslash or NUL.")
        if segment and byte == 0x3B:
            break
        out.append(chr(byte) if byte in safe else _escaped(byte))
        i += 1
    return "".join(out)


def canonical_path(raw: bytes) -> str:
    """The canonical spelling of a raw request path (see the module's description)."""
    if _PLAIN_PATH.fullmatch(raw) is not None and raw[:11].lower() != b"/index.php/":
        return raw.decode("ascii")
    if raw[:1] != b"/":
        raise Ambiguous("The path does not start with /.")
    segments: list[str] = []
    trailing = False
    for part in raw[1:].split(b"/"):
        segment = _spelled(part, _SEGMENT_SAFE, segment=True)
        trailing = segment in ("", ".", "..")
        if segment == "..":
            if segments:
                segments.pop()
        elif not trailing:
            segments.append(segment)
    # PHP's PATH_INFO: WordPress serves /index.php/<rest> as /<rest>.
    while segments and segments[0].casefold() == "index.php" and (len(segments) > 1 or trailing):
        segments.pop(0)
    path = "/" + "/".join(segments)
    return path + "/" if trailing and segments else path


def php_name(name: bytes) -> tuple[bytes, bytes]:
    """A decoded parameter name as PHP registers it: ``(whole name, top-level variable)``.

    ``a.b[c]`` is ``(b"a_b[c]", b"a_b")``; an empty variable means PHP drops
    the parameter.
    """
    name = name.split(b"\0", 1)[0].lstrip(b" ")
    bracket = name.find(b"[")
    head = name if bracket < 0 else name[:bracket]
    base = head.replace(b" ", b"_").replace(b".", b"_")
    if bracket < 0:
        return base, base
    rest = name[bracket + 1 :]
    if b"]" in rest:
        return base + name[bracket:], base
    whole = base + b"_" + re.sub(rb"[ .\[]", b"_", rest)
    return whole, whole


def _urldecode(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def _name(raw: bytes) -> str:
    return "".join(chr(b) if b in _UNRESERVED else _escaped(b) for b in raw)


_QUERY_SAFE = frozenset(range(0x21, 0x7F)) - {0x23, 0x25}
_PLAIN_NAME = re.compile(rb"[A-Za-z0-9_~-]+")
_PLAIN_VALUE = re.compile(rb"[\x21\x22\x24\x26-\x7e]*")


def _pairs(raw: bytes) -> Iterable[tuple[str, str, str]]:
    """``(spelling, variable, value)`` of each parameter PHP reads in ``raw``."""
    for pair in raw.split(b"&"):
        if not pair:
            continue
        raw_name, equals, raw_value = pair.partition(b"=")
        if _PLAIN_NAME.fullmatch(raw_name) is not None:
            # Nothing PHP would decode or mangle: the common case, read as it is.
            name = variable = raw_name.decode("ascii")
        else:
            decoded = _urldecode(raw_name)
            whole, php_variable = php_name(decoded)
            if not php_variable:
                continue
            name = _spelled(raw_name, _QUERY_SAFE) if whole == decoded else _name(whole)
            variable = _name(php_variable)
        if _PLAIN_VALUE.fullmatch(raw_value) is not None:
            value = raw_value.decode("ascii")
        else:
            value = _spelled(raw_value, _QUERY_SAFE)
        yield (name + "=" + value if equals else name), variable, value


def _multipart(content_type: str, body: bytes) -> Iterable[tuple[str, str]]:
    """The fields of a ``multipart/form-data`` body, as PHP reads them."""
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if match is None:
        return
    for part in body.split(b"--" + match.group(1).strip().encode("latin-1"))[1:]:
        head, _, value = part.partition(b"\r\n\r\n")
        for line in head.split(b"\n"):
            if not line.lower().lstrip().startswith(b"content-disposition:"):
                continue
            found = _PART_NAME.search(line)
            if found is not None:
                _, variable = php_name(found.group(1) or found.group(2) or b"")
                if variable:
                    text = value.removesuffix(b"\r\n")
                    yield (
                        _name(variable),
                        "".join(chr(b) if b in _QUERY_SAFE else _escaped(b) for b in text),
                    )


def form_params(content_type: str, body: bytes | None) -> list[tuple[str, str]]:
    """The parameters of a form body, as ``(variable, value)`` (none for other bodies)."""
    if not body:
        return []
    media = content_type.split(";")[0].strip().lower()
    if media == _FORM:
        return [(variable, value) for _, variable, value in _pairs(body)]
    if media == _MULTIPART:
        return list(_multipart(content_type, body))
    return []


def _method(
    method: str, params: list[tuple[str, str]], headers: Iterable[tuple[bytes, bytes]]
) -> str:
    overrides = {
        _urldecode(v.encode("ascii")).decode("latin-1").strip().upper()
        for k, v in params
        if k == "_method"
    }
    overrides |= {v.decode("latin-1").strip().upper() for k, v in headers if k in _OVERRIDE_HEADERS}
    overrides.discard("")
    if not overrides:
        return method
    if len(overrides) > 1:
        raise Ambiguous("The request names conflicting methods.")
    (effective,) = overrides
    if _METHOD.fullmatch(effective) is None:
        raise Ambiguous("The method override is not a method.")
    if effective != method and method in ("GET", "HEAD"):
        raise Ambiguous(f"A {method} request cannot ask to be read as {effective}.")
    return effective


def raw_target(scope: Scope) -> str:
    """The request's path and query exactly as the client sent them."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        raw = scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    path = raw.split(b"?", 1)[0]
    return (path + b"?" + query if query else path).decode("latin-1")


def canonicalise(scope: Scope, body: bytes | None = None) -> Canonical:
    """The canonical form of the HTTP request ``scope`` with ``body`` (``None``: not read).

    Raises :class:`Ambiguous` for a request with no one safe meaning.
    """
    raw = raw_target(scope).encode("latin-1")
    path_part, _, query = raw.partition(b"?")
    path = canonical_path(path_part)
    spellings: list[str] = []
    params: list[tuple[str, str]] = []
    for spelling, variable, value in _pairs(query):
        spellings.append(spelling)
        params.append((variable, value))
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    if body:
        content_type = next((v for k, v in headers if k == b"content-type"), b"")
        params += form_params(content_type.decode("latin-1"), body)
    method = _method(scope["method"], params, headers)
    return Canonical(method=method, path=path, query="&".join(spellings), params=tuple(params))


def canonical_target(target: str) -> str:
    """The canonical path and query of a ``GET`` for ``target`` (path and query as text)."""
    path, _, query = target.partition("?")
    scope = {
        "method": "GET",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query.encode("utf-8"),
        "headers": [],
    }
    return canonicalise(scope).target
