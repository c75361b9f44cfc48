"""Proxy mode on real pages: what a hard paywall lets through, keeps and costs, page by page.

    python3 benchmarks/realpages.py PATH_TO_CORPUS [--limit N] [--verbose] [--csv FILE] [--check]

The corpus (see its README) holds real pages with, for each, passages of its
main text (``with``) and passages around it (``without``).  Every page is
served by an in-process upstream (nothing leaves the process, nothing
listens) at its original path, and requested once through meterwall's proxy
app, ASGI straight in, by a new anonymous reader under a hard paywall
(limit 0) with the upstream cache off: the cost of gating an uncached page.

Per page it records whether meterwall recognised an article (a gate was
inserted), whether any ``with`` passage after the first (in the page's
reading order: the corpus lists them in no fixed order) survived in any
reading of what was sent (raw, HTML- or JS-unescaped, URL- or base64-decoded,
tags stripped), whether the first one (the lede) was kept, whether the
``without`` passages were kept, whether a page not gated came back
byte for byte, and the process CPU time of the request.  Passages that are
not found in the upstream page itself under the same reading are not
counted.  ``--check`` exits 1 when an accuracy threshold is missed (never on
a time).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import html
import json
import logging
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from common import ROOT, asgi_fetch, machine, median, say
from tests.fixtures.upstream.harness import readings

from meterwall.gateway.text import unescape_js

THRESHOLDS = {"leak_free": 0.98, "lede_kept": 0.95, "intact": 0.95}
"""Accuracy targets on article pages (shares); there is no time threshold."""

PUBLIC = "http://127.0.0.1:8000"
UPSTREAM = "http://upstream.internal"
GATE = b'class="mw-gate"'
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")
_SAFE = "/%:@!$&'()*+,;=-._~"


def normal(text: str) -> str:
    """Words only, case-folded, one space apart: passages match across tags and punctuation."""
    return " ".join(_WORD.findall(text.casefold()))


def visible(raw: str) -> str:
    """The normalised text of a document as shown (tags stripped, entities decoded)."""
    return normal(readings(_TAG.sub(" ", raw))[1])


def plain_readings(raw: str) -> str:
    """The normalised text of a document as shown and as its scripts hold it (cheap)."""
    return visible(raw) + "\n" + normal(_TAG.sub(" ", html.unescape(unescape_js(raw))))


def every_reading(raw: str) -> str:
    """Every normalised reading of a document, tags stripped, joined by a separator."""
    return "\n".join(normal(_TAG.sub(" ", form)) for form in readings(raw))


@dataclass
class Result:
    """What happened to one page."""

    name: str
    url: str
    status: int = 0
    article: bool = False
    unchanged: bool = False
    leaked: list[str] = field(default_factory=list)
    lede_kept: bool | None = None
    missing: list[str] = field(default_factory=list)
    later: int = 0
    cpu_ms: float = 0.0

    @property
    def leak_free(self) -> bool:
        """No main-text passage after the first was sent."""
        return not self.leaked

    @property
    def intact(self) -> bool:
        """Every passage around the main text was kept."""
        return not self.missing


def load(corpus: Path, limit: int) -> list[tuple[str, str, bytes, dict[str, Any]]]:
    """(name, path served, page bytes, expectations) for the first ``limit`` pages."""
    expected = json.loads((corpus / "expectations.json").read_text(encoding="utf-8"))
    pages: list[tuple[str, str, bytes, dict[str, Any]]] = []
    taken: set[str] = set()
    for name in sorted(expected)[: limit or None]:
        entry = expected[name]
        parts = urlsplit((entry.get("url") or "").strip())
        path = quote(parts.path or "/", safe=_SAFE) + (
            f"?{quote(parts.query, safe=_SAFE + '?')}" if parts.query else ""
        )
        if path in taken or not path.startswith("/"):
            path = f"/_page/{name.split('.')[0]}{quote(parts.path or '/', safe=_SAFE)}"
        taken.add(path)
        pages.append((name, path, gzip.decompress((corpus / "pages" / name).read_bytes()), entry))
    return pages


def build_app(data_dir: Path, pages: dict[str, bytes]) -> Any:
    """meterwall in proxy mode, hard paywall, cache off, in front of an in-process upstream."""
    from meterwall.app import create_app
    from meterwall.gateway.upstream import Upstream
    from meterwall.settings import Settings
    from meterwall.storage.migrate import upgrade

    settings = Settings(
        data_dir=data_dir,
        secret_key="realpages-benchmark-secret-key-0123456789",
        public_url=PUBLIC,
        proxy={"upstream": UPSTREAM},
        policy={"anonymous_limit": 0, "registered_limit": 0},
        cache={"enabled": False},
        ops={"access_log": False},
    )
    upgrade(settings.resolved_database_url)
    app = create_app(settings)

    def answer(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode("ascii", "replace")
        body = pages.get(target)
        if body is None:
            return httpx.Response(404, stream=httpx.ByteStream(b"not found"))
        headers = {"content-type": "text/html"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))

    gateway = app.state.gateway
    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    gateway.upstream = Upstream(UPSTREAM, 10, client=client)
    return app


async def fetch(app: Any, target: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One GET through ``app``'s ASGI interface, as a reader's browser: status, headers, body."""
    return await asgi_fetch(
        app, target, [(b"user-agent", b"Mozilla/5.0 benchmark")], ("198.51.100.7", 50000)
    )


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def judge(result: Result, original: bytes, sent: bytes, entry: dict[str, Any]) -> None:
    """Fill ``result`` from the upstream page, what was sent, and the page's passages."""
    source = plain_readings(_decode(original))
    shown = visible(_decode(sent))
    everything = every_reading(_decode(sent))
    passages = [normal(p) for p in entry.get("with", [])]
    findable = sorted((p for p in passages if p and p in source), key=source.find)
    if findable:
        result.lede_kept = findable[0] in shown
    later = findable[1:]
    result.later = len(later)
    result.leaked = [p for p in later if p in everything]
    around = [normal(p) for p in entry.get("without", [])]
    result.missing = [p for p in around if p and p in source and p not in shown]


def share(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage."""
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(results: list[Result]) -> dict[str, Any]:
    """Overall figures."""
    articles = [r for r in results if r.article]
    others = [r for r in results if not r.article]
    with_lede = [r for r in articles if r.lede_kept is not None]
    cpu = [r.cpu_ms for r in results]
    gated_cpu = [r.cpu_ms for r in articles]
    return {
        "pages": len(results),
        "articles": len(articles),
        "not_articles": len(others),
        "leak_free": sum(r.leak_free for r in articles),
        "lede_kept": sum(bool(r.lede_kept) for r in with_lede),
        "lede_measured": len(with_lede),
        "intact": sum(r.intact for r in articles),
        "unchanged": sum(r.unchanged for r in others),
        "not_articles_with_main_text": sum(r.later > 0 for r in others),
        "cpu_ms": {
            "median": median(cpu) if cpu else 0.0,
            "p90": percentile(cpu, 0.9),
            "p99": percentile(cpu, 0.99),
        },
        "gated_cpu_ms": {
            "median": median(gated_cpu) if gated_cpu else 0.0,
            "p90": percentile(gated_cpu, 0.9),
            "p99": percentile(gated_cpu, 0.99),
        },
    }


def rates(figures: dict[str, Any]) -> dict[str, float]:
    """The shares the thresholds apply to."""
    articles = figures["articles"] or 1
    return {
        "leak_free": figures["leak_free"] / articles,
        "lede_kept": figures["lede_kept"] / (figures["lede_measured"] or 1),
        "intact": figures["intact"] / articles,
    }


def report(figures: dict[str, Any]) -> str:
    """The overall figures as Markdown lines."""
    a, n = figures["articles"], figures["not_articles"]
    cpu, gated = figures["cpu_ms"], figures["gated_cpu_ms"]
    return "\n".join(
        [
            f"| pages | {figures['pages']} |",
            f"| recognised as articles (gated) | {a} |",
            f"| not recognised (passed) | {n} |",
            f"| leak-free article pages | {figures['leak_free']} "
            f"({share(figures['leak_free'], a)}) |",
            f"| lede kept | {figures['lede_kept']} of {figures['lede_measured']} "
            f"({share(figures['lede_kept'], figures['lede_measured'])}) |",
            f"| article pages intact (`without` kept) | {figures['intact']} "
            f"({share(figures['intact'], a)}) |",
            f"| non-article pages unchanged | {figures['unchanged']} "
            f"({share(figures['unchanged'], n)}) |",
            "| non-article pages whose main text passed | "
            f"{figures['not_articles_with_main_text']} |",
            f"| CPU per page, all (median / p90 / p99) | {cpu['median']:.1f} / {cpu['p90']:.1f} / "
            f"{cpu['p99']:.1f} ms |",
            f"| CPU per gated page (median / p90 / p99) | {gated['median']:.1f} / "
            f"{gated['p90']:.1f} / {gated['p99']:.1f} ms |",
        ]
    )


COLUMNS = (
    *("page", "url", "status", "article", "leak_free", "lede_kept", "intact", "unchanged"),
    *("cpu_ms", "leaked", "missing"),
)


def write_csv(path: Path, results: Iterable[Result]) -> None:
    """One row per page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for r in results:
            leaked, missing = " | ".join(r.leaked), " | ".join(r.missing)
            flags = (r.article, r.leak_free, r.lede_kept, r.intact, r.unchanged)
            writer.writerow((r.name, r.url, r.status, *flags, f"{r.cpu_ms:.2f}", leaked, missing))


async def run(corpus: Path, limit: int, verbose: bool) -> list[Result]:
    """Every page through the proxy, judged."""
    pages = load(corpus, limit)
    folder = Path(tempfile.mkdtemp(prefix="mw-realpages-"))
    try:
        app = build_app(folder, {path: body for _, path, body, _ in pages})
        results: list[Result] = []
        async with app.router.lifespan_context(app):
            await fetch(app, pages[0][1])  # imports and first-use setup are not a page's cost
            for number, (name, path, body, entry) in enumerate(pages, 1):
                result = Result(name=name, url=entry.get("url", ""))
                started = time.process_time()
                result.status, _, sent = await fetch(app, path)
                result.cpu_ms = 1000 * (time.process_time() - started)
                result.article = GATE in sent
                result.unchanged = sent == body
                judge(result, body, sent, entry)
                results.append(result)
                if verbose:
                    print(
                        f"{name} {'article' if result.article else 'passed '} "
                        f"leak={'no ' if result.leak_free else 'YES'} "
                        f"lede={result.lede_kept} intact={result.intact} "
                        f"cpu={result.cpu_ms:.1f}ms {result.url}"
                    )
                if number % 100 == 0:
                    say(f"{number} of {len(pages)} pages")
        await app.state.services.access.meter.close()
        await app.state.services.engine.dispose()
        return results
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; with ``--check``, 1 when a threshold is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="the realpages corpus folder")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    parser.add_argument("--verbose", action="store_true", help="one line per page on stdout")
    parser.add_argument(
        "--csv",
        type=Path,
        default=ROOT / "benchmarks" / "results" / "realpages.csv",
        help="per-page figures (default benchmarks/results/realpages.csv)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a threshold is missed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if not (args.corpus / "expectations.json").is_file():
        parser.error(f"{args.corpus} holds no expectations.json")
    results = asyncio.run(run(args.corpus, args.limit, args.verbose))
    write_csv(args.csv, results)
    figures = summary(results)
    about = machine()
    print(f"machine: {about['cpu']}, {about['cores']} cores, Python {about['python']}")
    print("| figure | value |\n|---|---|")
    print(report(figures))
    say(f"per-page figures in {args.csv}")
    if not args.check:
        return 0
    missed = [
        f"{name} {value:.1%} < {THRESHOLDS[name]:.0%}"
        for name, value in rates(figures).items()
        if value < THRESHOLDS[name]
    ]
    for line in missed:
        print(f"threshold missed: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
