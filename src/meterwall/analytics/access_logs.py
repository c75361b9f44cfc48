"""Reading a publisher's access log into article views for the meter simulator.

Two kinds of log are read:

* CSV with a header naming a reader column (``reader``, ``reader_id``,
  ``visitor``, ``user_id``, ``cookie``), a time column (``time``,
  ``timestamp``, ``date``) and a URL column (``url``, ``path``, ``page``);
* Common or Combined Log Format (Apache, nginx).  A quoted field after the
  User-Agent is taken as a reader cookie (e.g. nginx's ``"$cookie_mw_reader"``);
  without one, the reader is a hash of the IP address and User-Agent, which
  merges people behind one address and browser, and the summary says so.

Only successful GET requests for article pages count: assets, feeds, the
front page, account pages and known bots are skipped.  Reader keys are
hashed as they are read, so the simulation never holds IP addresses.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import IO, cast

Progress = Callable[[int, int], None]
"""Called now and then with (bytes read, total bytes)."""


class LogFormat(StrEnum):
    """The kinds of log the simulator reads."""

    AUTO = "auto"
    CSV = "csv"
    COMBINED = "combined"


class LogError(ValueError):
    """A log that cannot be read at all, with a message saying why."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One article view: who, when, which article (a normalised path)."""

    reader: str
    at: datetime
    article: str


@dataclass(slots=True)
class LogSummary:
    """What was read, what was skipped and how readers were told apart."""

    format: LogFormat = LogFormat.AUTO
    lines: int = 0
    views: int = 0
    bad_lines: int = 0
    bots: int = 0
    not_articles: int = 0
    not_served: int = 0
    by_column: int = 0
    by_cookie: int = 0
    by_address: int = 0
    examples_of_bad_lines: list[int] = field(default_factory=list)

    def identification(self) -> str:
        """How readers were told apart, in a sentence."""
        parts = []
        if self.by_column:
            parts.append(f"the reader column for {self.by_column:,} views")
        if self.by_cookie:
            parts.append(f"a cookie field for {self.by_cookie:,} views")
        if self.by_address:
            parts.append(
                f"a hash of IP address and User-Agent for {self.by_address:,} views "
                "(approximate: people sharing an address and browser count as one reader)"
            )
        return "Readers were identified by " + ("; ".join(parts) or "nothing (no views)") + "."


_CLF = re.compile(
    r'^(?P<host>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" '
    r'(?P<status>\d{3}|-) \S+(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?(?P<rest>.*)$'
)
_EXTRA_FIELD = re.compile(r'\s*"(?P<value>[^"]*)"')
_BOTS = re.compile(
    r"bot|crawl|spider|slurp|facebookexternalhit|preview|monitor|curl|wget|python-|headless|"
    r"scrapy|httpclient|feedfetcher|lighthouse",
    re.IGNORECASE,
)
_ASSET = re.compile(
    r"\.(css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|woff2?|ttf|otf|eot|xml|txt|json|rss|"
    r"atom|mp4|webm|mp3|pdf|zip|gz)$"
)
_NOT_ARTICLES = re.compile(
    r"^/(static|assets|media|images|img|feed|feeds|rss|sitemap|robots|favicon|account|subscribe|"
    r"admin|api|login|logout|search|tag|tags|category|author|wp-admin|wp-content|wp-json|"
    r"wp-includes|healthz|dev)(/|$|\.)"
)
_READER_COLUMNS = ("reader", "reader_id", "visitor", "visitor_id", "user", "user_id", "cookie")
_TIME_COLUMNS = ("time", "timestamp", "datetime", "date", "ts")
_URL_COLUMNS = ("url", "path", "page", "uri", "request_path")


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}


@lru_cache(maxsize=4_096)
def _is_bot(agent: str) -> bool:
    return _BOTS.search(agent) is not None


@lru_cache(maxsize=64)
def _offset(text: str) -> timezone:
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[3:5])))


def clf_time(text: str) -> datetime:
    """A Common Log Format time (``10/Oct/2026:13:55:36 -0700``) in UTC."""
    if len(text) != 26 or text[2] != "/" or text[6] != "/" or text[11] != ":" or text[20] != " ":
        raise ValueError(f"not a log time: {text!r}")
    moment = datetime(
        int(text[7:11]),
        _MONTHS[text[3:6]],
        int(text[0:2]),
        int(text[12:14]),
        int(text[15:17]),
        int(text[18:20]),
        tzinfo=_offset(text[21:26]),
    )
    return moment.astimezone(UTC)


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:20]


def article_path(url: str, pattern: re.Pattern[str] | None = None) -> str | None:
    """The article a URL names (lower-case path, no query, slash or ``/amp``), or ``None``."""
    path = url.strip()
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    path = path.split("?", 1)[0].split("#", 1)[0].casefold()
    while path.endswith("/") and len(path) > 1:
        path = path[:-1]
    if path.endswith("/amp"):
        path = path[: -len("/amp")] or "/"
    if not path.startswith("/") or path == "/":
        return None
    if pattern is not None:
        return path if pattern.search(path) else None
    if _ASSET.search(path) or _NOT_ARTICLES.match(path):
        return None
    return path


def parse_time(text: str) -> datetime:
    """An ISO 8601 time or Unix seconds; a time without zone is UTC."""
    raw = text.strip()
    try:
        moment = datetime.fromtimestamp(float(raw), UTC)
    except ValueError:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _open(path: Path) -> tuple[IO[bytes], IO[str]]:
    raw = path.open("rb")
    magic = raw.read(2)
    raw.seek(0)
    binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if magic == b"\x1f\x8b" else raw
    return raw, io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="")


def _detect(first_line: str) -> LogFormat:
    if _CLF.match(first_line):
        return LogFormat.COMBINED
    header = [c.strip().casefold() for c in next(csv.reader([first_line]), [])]
    if any(c in _URL_COLUMNS for c in header):
        return LogFormat.CSV
    raise LogError(
        "not a log this tool can read: expected Common/Combined Log Format lines, or CSV with "
        "a header such as reader,time,url"
    )


def _column(header: list[str], names: tuple[str, ...], what: str) -> int:
    for name in names:
        if name in header:
            return header.index(name)
    raise LogError(f"the CSV header has no {what} column (use one of: {', '.join(names)})")


class LogReader:
    """Reads one log file into :class:`Hit` objects, filling in a :class:`LogSummary`."""

    def __init__(
        self,
        path: Path,
        fmt: LogFormat = LogFormat.AUTO,
        articles: re.Pattern[str] | None = None,
        progress: Progress | None = None,
    ) -> None:
        if not path.is_file():
            raise LogError(f"no such log file: {path}")
        self.path = path
        self.format = fmt
        self.articles = articles
        self.progress = progress
        self.summary = LogSummary()

    def hits(self) -> Iterator[Hit]:
        """Every article view in the file, in file order."""
        total = self.path.stat().st_size
        raw, text = _open(self.path)
        with raw, text:
            first = text.readline()
            while first and not first.strip():
                first = text.readline()
            if not first:
                raise LogError(f"{self.path} is empty")
            fmt = _detect(first) if self.format is LogFormat.AUTO else self.format
            self.summary.format = fmt
            lines = self._csv(first, text) if fmt is LogFormat.CSV else self._clf(first, text)
            for count, hit in enumerate(lines, start=1):
                if self.progress is not None and count % 50_000 == 0:
                    self.progress(raw.tell(), total)
                if hit is not None:
                    yield hit
            if self.progress is not None:
                self.progress(total, total)

    def _bad(self) -> None:
        self.summary.bad_lines += 1
        if len(self.summary.examples_of_bad_lines) < 5:
            self.summary.examples_of_bad_lines.append(self.summary.lines)

    def _csv(self, header_line: str, text: IO[str]) -> Iterator[Hit | None]:
        header = [c.strip().casefold() for c in next(csv.reader([header_line]), [])]
        reader_at = _column(header, _READER_COLUMNS, "reader")
        time_at = _column(header, _TIME_COLUMNS, "time")
        url_at = _column(header, _URL_COLUMNS, "url")
        self.summary.lines = 1
        for row in csv.reader(text):
            self.summary.lines += 1
            if not row:
                yield None
                continue
            try:
                who, when, url = row[reader_at].strip(), row[time_at], row[url_at]
                at = parse_time(when)
            except (IndexError, ValueError, OverflowError, OSError):
                who = ""
            if not who:
                self._bad()
                yield None
                continue
            article = article_path(url, self.articles)
            if article is None:
                self.summary.not_articles += 1
                yield None
                continue
            self.summary.views += 1
            self.summary.by_column += 1
            yield Hit(_key("reader", who), at, article)

    def _clf(self, first: str, text: IO[str]) -> Iterator[Hit | None]:
        line = first
        while line:
            self.summary.lines += 1
            yield self._clf_line(line.rstrip("\r\n"))
            line = text.readline()

    def _clf_line(self, line: str) -> Hit | None:
        if not line.strip():
            return None
        match = _CLF.match(line)
        if match is None:
            self._bad()
            return None
        method, _, rest = match["request"].partition(" ")
        target = rest.rsplit(" ", 1)[0] if " " in rest else rest
        agent = match["agent"] or ""
        if method != "GET" or not (match["status"].startswith("2") or match["status"] == "304"):
            self.summary.not_served += 1
            return None
        if _is_bot(agent):
            self.summary.bots += 1
            return None
        article = article_path(target, self.articles)
        if article is None:
            self.summary.not_articles += 1
            return None
        try:
            at = clf_time(match["time"])
        except (ValueError, KeyError):
            self._bad()
            return None
        extra = _EXTRA_FIELD.match(match["rest"] or "")
        cookie = extra["value"].strip() if extra else ""
        self.summary.views += 1
        if cookie and cookie != "-":
            self.summary.by_cookie += 1
            return Hit(_key("cookie", cookie), at, article)
        self.summary.by_address += 1
        return Hit(_key("address", f"{match['host']} {agent}"), at, article)
