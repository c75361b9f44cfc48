"""The meter simulator against small logs whose numbers were worked out by hand."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from meterwall.access.model import CalendarMonth, RollingDays
from meterwall.analytics.access_logs import LogError, LogFormat, LogReader
from meterwall.analytics.sample_log import write_sample_log
from meterwall.analytics.simulation_view import chart, table, text_report
from meterwall.analytics.simulator import simulate

# Worked by hand, limits 1 and 2 per calendar month:
#   A reads a, a again, b, c in October and c in November;
#   B reads a and b in October; C reads a once.
# Limit 1: A is walled at b and c (2 impressions), B at b (1): 2 readers, 3 impressions;
#          metered views: A a, A a, A c (November), B a, C a = 5.
# Limit 2: A is walled at c (1 impression): 1 reader; metered views: 8 - 1 = 7.
HAND_CSV = """\
reader,time,url
A,2026-10-01T10:00:00Z,/articles/a
A,2026-10-01T11:00:00Z,https://news.example.com/articles/a
A,2026-10-02T10:00:00Z,/articles/b
A,2026-10-03T10:00:00Z,/articles/c
B,2026-10-05T10:00:00Z,/articles/a
B,2026-10-06T10:00:00Z,/static/site.css
B,2026-10-06T10:00:01Z,/articles/B?utm_source=x
C,2026-10-07T10:00:00Z,/articles/a/
C,not-a-time,/articles/x
,2026-10-07T10:00:00Z,/articles/a
A,1793527200,/articles/c
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_hand_computed_csv_log(tmp_path: Path) -> None:
    reader = LogReader(write(tmp_path, "hand.csv", HAND_CSV))
    result = simulate(reader.hits(), [1, 2], CalendarMonth(), "UTC", 0.5)
    one, two = result.results
    assert (one.readers, one.walled_readers, one.wall_impressions, one.metered_views) == (
        3,
        2,
        3,
        5,
    )
    assert (two.readers, two.walled_readers, two.wall_impressions, two.metered_views) == (
        3,
        1,
        1,
        7,
    )
    assert one.expected_conversions == pytest.approx(1.0)
    assert two.expected_conversions == pytest.approx(0.5)
    assert one.impressions_per_walled_reader == pytest.approx(1.5)
    assert result.views == 8
    summary = reader.summary
    assert summary.format is LogFormat.CSV
    assert (summary.not_articles, summary.bad_lines, summary.by_column) == (1, 2, 8)
    assert "the reader column for 8 views" in summary.identification()


def test_a_rolling_window_frees_reads_as_they_age(tmp_path: Path) -> None:
    log = write(
        tmp_path,
        "rolling.csv",
        "visitor,timestamp,path\n"
        "A,2026-10-01T10:00:00Z,/articles/a\n"
        "A,2026-10-02T10:00:00Z,/articles/b\n"  # 1 day later: a still counts -> wall
        "A,2026-10-03T10:00:01Z,/articles/b\n"  # 2 days and a second: a has left -> counted
        "A,2026-10-03T10:00:02Z,/articles/c\n",  # b counts now -> wall
    )
    result = simulate(LogReader(log).hits(), [1], RollingDays(2), "UTC", 0.1)
    (only,) = result.results
    assert (only.walled_readers, only.wall_impressions, only.metered_views) == (1, 2, 2)


CLF = (
    # A cookie field after the User-Agent: the reader is the cookie.
    '203.0.113.5 - - [01/Oct/2026:10:00:00 +0000] "GET /articles/a HTTP/1.1" 200 512 '
    '"https://www.google.com/" "Mozilla/5.0 Firefox/129.0" "reader-1"\n'
    '198.51.100.7 - - [01/Oct/2026:12:00:00 +0200] "GET /articles/b HTTP/1.1" 200 512 '
    '"-" "Mozilla/5.0 Firefox/129.0" "reader-1"\n'
    # No cookie: IP and User-Agent.
    '203.0.113.9 - - [01/Oct/2026:11:00:00 +0000] "GET /articles/a HTTP/1.1" 200 512 '
    '"-" "Mozilla/5.0 Safari/605" "-"\n'
    '203.0.113.9 - - [01/Oct/2026:11:05:00 +0000] "GET /articles/b/amp HTTP/1.1" 304 0 '
    '"-" "Mozilla/5.0 Safari/605"\n'
    # Skipped: a crawler, a POST, a 404, an asset, the front page, garbage.
    '66.249.66.1 - - [01/Oct/2026:11:06:00 +0000] "GET /articles/c HTTP/1.1" 200 512 '
    '"-" "Mozilla/5.0 (compatible; Googlebot/2.1)"\n'
    '203.0.113.9 - - [01/Oct/2026:11:07:00 +0000] "POST /articles/c HTTP/1.1" 200 512 '
    '"-" "Mozilla/5.0 Safari/605"\n'
    '203.0.113.9 - - [01/Oct/2026:11:08:00 +0000] "GET /articles/zzz HTTP/1.1" 404 512 '
    '"-" "Mozilla/5.0 Safari/605"\n'
    '203.0.113.9 - - [01/Oct/2026:11:09:00 +0000] "GET /static/site.css HTTP/1.1" 200 512 '
    '"-" "Mozilla/5.0 Safari/605"\n'
    '203.0.113.9 - - [01/Oct/2026:11:09:00 +0000] "GET / HTTP/1.1" 200 512 '
    '"-" "Mozilla/5.0 Safari/605"\n'
    "this is not a log line\n"
    '203.0.113.9 - - [99/Xyz/2026:11:09:00 +0000] "GET /articles/q HTTP/1.1" 200 1 "-" "M"\n'
)


def test_a_combined_log_with_and_without_a_cookie_field(tmp_path: Path) -> None:
    path = tmp_path / "access.log.gz"
    path.write_bytes(gzip.compress(CLF.encode()))
    reader = LogReader(path)
    result = simulate(reader.hits(), [1], CalendarMonth(), "UTC", 1.0)
    (only,) = result.results
    # reader-1 reads a then b (+0200: 10:00 UTC, after a); the Safari reader reads a then b.
    assert (only.readers, only.walled_readers, only.wall_impressions) == (2, 2, 2)
    summary = reader.summary
    assert summary.format is LogFormat.COMBINED
    assert (summary.by_cookie, summary.by_address) == (2, 2)
    assert (summary.bots, summary.not_served, summary.not_articles) == (1, 2, 2)
    assert summary.bad_lines == 2
    text = summary.identification()
    assert "cookie field for 2 views" in text
    assert "IP address and User-Agent for 2 views" in text


def test_an_article_pattern_narrows_what_counts(tmp_path: Path) -> None:
    import re

    log = write(tmp_path, "p.csv", HAND_CSV)
    reader = LogReader(log, articles=re.compile(r"^/articles/a$"))
    result = simulate(reader.hits(), [1], CalendarMonth(), "UTC", 0.0)
    assert result.views == 4
    assert result.results[0].walled_readers == 0


def test_unreadable_logs_get_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="no such log file"):
        LogReader(tmp_path / "missing.log")
    with pytest.raises(LogError, match="empty"):
        list(LogReader(write(tmp_path, "empty.log", "\n\n")).hits())
    with pytest.raises(LogError, match="not a log"):
        list(LogReader(write(tmp_path, "prose.txt", "Dear diary\n")).hits())
    with pytest.raises(LogError, match="no reader column"):
        list(LogReader(write(tmp_path, "cols.csv", "when,url\n1,/articles/a\n")).hits())


def test_the_report_puts_the_limits_side_by_side(tmp_path: Path) -> None:
    reader = LogReader(write(tmp_path, "hand.csv", HAND_CSV))
    result = simulate(reader.hits(), [1, 2], CalendarMonth(), "UTC", 0.5)
    report = text_report(result, reader.summary)
    assert "limit 1  limit 2" in report
    walled = next(line for line in table(result) if line.label == "Would hit the wall")
    assert walled.values == ("2", "1")
    assert "calendar month" in report
    svg = str(chart(result))
    assert "<title" in svg and "<desc" in svg and "limit 2" in svg


def test_the_sample_log_is_deterministic(tmp_path: Path) -> None:
    one = write_sample_log(tmp_path / "one.log.gz").read_bytes()
    two = write_sample_log(tmp_path / "two.log.gz").read_bytes()
    assert hashlib.sha256(one).digest() == hashlib.sha256(two).digest()
    reader = LogReader(tmp_path / "one.log.gz")
    result = simulate(reader.hits(), [3, 5, 10], CalendarMonth(), "UTC", 0.02)
    walled = [r.walled_readers for r in result.results]
    assert walled == sorted(walled, reverse=True)
    assert walled[0] > walled[-1] > 0
    assert reader.summary.bots > 0 and reader.summary.by_address > 0


def test_limits_and_rates_are_checked() -> None:
    with pytest.raises(ValueError):
        simulate([], [], CalendarMonth(), "UTC", 0.02)
    with pytest.raises(ValueError):
        simulate([], [3], CalendarMonth(), "UTC", 2.0)
