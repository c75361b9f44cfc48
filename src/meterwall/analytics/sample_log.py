"""A sample access log for the demo: two months of a small news site, made deterministically.

The same seed always writes the same bytes, so the numbers quoted in the
documentation stay true.  Readers follow a heavy-tailed habit (most read one
or two stories a month, a loyal few read dozens), arrive from search, social
or directly, and request pages, images and stylesheets as browsers do; a few
crawlers pass by.  Most lines carry the reader cookie as a last field; some
do not, so the simulator's IP-and-browser fallback is exercised too.
"""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = 2026
START = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 61
READERS = 2_500
ARTICLES = 150

_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/128.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/128.0 Mobile Safari/537.36",
)
_CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
_REFERERS = (
    ("https://www.google.com/", 0.35),
    ("https://www.facebook.com/", 0.12),
    ("https://t.co/abc", 0.05),
    ("-", 0.38),
    ("https://news.example.org/", 0.10),
)


def _line(
    ip: str, at: datetime, path: str, status: int, referer: str, agent: str, cookie: str
) -> str:
    stamp = at.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return (
        f'{ip} - - [{stamp}] "GET {path} HTTP/1.1" {status} 5120 "{referer}" "{agent}" "{cookie}"\n'
    )


def sample_lines(seed: int = SEED) -> list[str]:
    """The sample log's lines, in time order."""
    rng = random.Random(seed)
    slugs = [f"/articles/story-{n:03d}" for n in range(1, ARTICLES + 1)]
    weights = [1 / (rank**0.8) for rank in range(1, ARTICLES + 1)]
    events: list[tuple[datetime, str]] = []
    for reader in range(READERS):
        ip = f"198.51.{reader // 250}.{reader % 250 + 1}"
        agent = rng.choice(_AGENTS)
        cookie = f"r{reader:05d}{rng.getrandbits(32):08x}" if rng.random() < 0.8 else "-"
        monthly = min(60, int(rng.paretovariate(1.3)))
        referer = rng.choices([r for r, _ in _REFERERS], [w for _, w in _REFERERS])[0]
        for month in range(2):
            for _ in range(max(0, monthly + rng.randint(-1, 1))):
                at = START + timedelta(
                    days=30 * month + rng.randrange(30), seconds=rng.randrange(86_400)
                )
                path = rng.choices(slugs, weights)[0]
                events.append((at, _line(ip, at, path, 200, referer, agent, cookie)))
                events.append(
                    (
                        at + timedelta(seconds=1),
                        _line(ip, at, "/static/site.css", 200, "-", agent, cookie),
                    )
                )
    for day in range(DAYS):
        for n in range(20):
            at = START + timedelta(days=day, minutes=n * 71)
            path = rng.choice(slugs)
            events.append((at, _line("66.249.66.1", at, path, 200, "-", _CRAWLER, "-")))
    events.sort(key=lambda item: item[0])
    return [text for _at, text in events]


def write_sample_log(path: Path, seed: int = SEED) -> Path:
    """Write the sample log (gzip, byte-for-byte the same for a seed) to ``path``."""
    data = "".join(sample_lines(seed)).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as out:
        out.write(data)
    return path
