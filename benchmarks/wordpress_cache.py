"""Cache-speed metering in front of a slow CMS: Debian's WordPress, alone and behind meterwall.

    python3 benchmarks/wordpress_cache.py run [--seconds 10] [--rounds 2]
    python3 benchmarks/wordpress_cache.py profile [--requests 3000]
    python3 benchmarks/wordpress_cache.py articles FILE

``run`` installs and seeds WordPress when needed (``scripts/wordpress/setup.sh``, shared
with the proxy tests:
packages ``wordpress``, ``php-fpm``, ``nginx``, ``mariadb-server``), starts its
own php-fpm and nginx on a free loopback port, and measures with wrk, side by
side, in rounds:

* **WordPress** alone, on its article pages;
* **meterwall proxy** in front of it with the upstream cache (``meterwall proxy
  --workers 2``, cache in memory, Redis meter): metered readers, wrk's Lua
  script rotating 2,000 reader cookies over the articles, so the run mixes
  first reads, re-reads and gated reads;
* **meterwall's built-in site** serving the same articles (``meterwall serve
  --workers 2``, same Redis meter, same cookies and mix).

Every request asks for gzip, as browsers do.  ``profile`` runs the cached
proxy path in-process under cProfile.  Everything listens on loopback and is
stopped by process id when the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gzip
import html
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from common import (
    BENCHMARKS,
    asgi_get,
    free_port,
    machine,
    median,
    parse_wrk,
    redis_pid,
    redis_server,
    say,
    stop,
    wait_for_port,
)

from meterwall.content.demo import demo_articles
from meterwall.content.model import Article
from meterwall.identity.cookies import ReaderCookie, new_reader_id

SECRET = "benchmark-secret-key"
READERS = 2_000
TARGET_VS_WORDPRESS = 100
TARGET_VS_SITE = 0.5
SETUP = BENCHMARKS.parent / "scripts" / "wordpress" / "setup.sh"
SITE_NAME = "bench"
"""The benchmark's WordPress configuration (``/etc/wordpress/config-bench.php``)."""
FPM = "/usr/sbin/php-fpm8.2"
NGINX = "/usr/sbin/nginx"
ARTICLE_PATTERN = r"^/\d{4}/\d{2}/[^/]+/$"
"""WordPress's ``/%year%/%monthnum%/%postname%/`` permalinks."""


def bench_articles() -> list[Article]:
    """The metered demo stories (about 800 words each), the same on every side."""
    return [a for a in demo_articles() if a.access.value == "metered"]


def article_html(article: Article) -> str:
    """The body as WordPress post content."""
    parts = []
    for block in article.body:
        text = html.escape(block.text)
        if block.kind == "subhead":
            parts.append(f"<h2>{text}</h2>")
        elif block.kind == "quote":
            parts.append(f"<blockquote><p>{text}</p></blockquote>")
        elif block.kind == "paragraph":
            parts.append(f"<p>{text}</p>")
    return "\n\n".join(parts)


def write_articles(path: Path) -> None:
    """The articles as the JSON ``setup.sh`` seeds WordPress with."""
    data = [
        {"slug": a.slug, "headline": a.headline, "dek": a.dek, "html": article_html(a)}
        for a in bench_articles()
    ]
    path.write_text(json.dumps(data))


def last_phrase(article: Article) -> str:
    """Words from the last paragraph: in the page only for a reader given the full text."""
    last = [b.text for b in article.body if b.kind == "paragraph"][-1]
    return max(re.findall(r"[A-Za-z ]{12,}", last), key=len).strip()


def nginx_conf(folder: Path, port: int, socket: Path) -> str:
    """nginx serving Debian's WordPress on loopback through php-fpm, gzip on."""
    return f"""
user www-data;
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {folder}/nginx-body;
    fastcgi_temp_path {folder}/nginx-fastcgi;
    proxy_temp_path {folder}/nginx-proxy;
    uwsgi_temp_path {folder}/nginx-uwsgi;
    scgi_temp_path {folder}/nginx-scgi;
    gzip on;
    gzip_types text/css application/javascript application/json application/rss+xml;
    server {{
        listen 127.0.0.1:{port};
        root /usr/share/wordpress;
        index index.php;
        location /wp-content/ {{ alias /var/lib/wordpress/wp-content/; }}
        location / {{ try_files $uri $uri/ /index.php?$args; }}
        location ~ \\.php$ {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param WORDPRESS_CONFIG {SITE_NAME};
            fastcgi_param HTTP_HOST $http_host;
            fastcgi_pass unix:{socket};
        }}
    }}
}}
"""


def fpm_conf(folder: Path, socket: Path, children: int) -> str:
    """A php-fpm pool of its own, on a unix socket in the benchmark folder."""
    return f"""
[global]
pid = {folder}/php-fpm.pid
error_log = {folder}/php-fpm.log
daemonize = no
[meterwall-bench]
user = www-data
group = www-data
listen = {socket}
listen.owner = www-data
listen.group = www-data
listen.mode = 0666
pm = static
pm.max_children = {children}
clear_env = no
"""


@contextmanager
def process(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A process for the duration of the block, stopped by its own id."""
    with log.open("w") as sink:
        started = subprocess.Popen(
            command, env=env, cwd=BENCHMARKS, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            yield started
        finally:
            stop(started)


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds (user and system) used so far by these processes and their descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo, seen = 0.0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def mariadb_pids() -> list[int]:
    """The MariaDB server serving WordPress (the machine's own service)."""
    found = subprocess.run(["pgrep", "-x", "mariadbd"], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


@contextmanager
def wordpress(folder: Path) -> Iterator[tuple[str, list[str], list[int]]]:
    """Seeded WordPress behind its own php-fpm and nginx; its URL, article paths and the
    process ids that serve it (php-fpm, nginx, MariaDB)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    articles = folder / "articles.json"
    write_articles(articles)
    say(f"setting up WordPress at {url} ({SETUP.relative_to(BENCHMARKS.parent)})")
    seeded = subprocess.run(
        ["sh", str(SETUP), "site", SITE_NAME, str(articles), url],
        capture_output=True,
        text=True,
        timeout=1_800,
        check=False,
    )
    if seeded.returncode != 0:
        raise RuntimeError(f"setup.sh failed:\n{seeded.stderr}")
    paths = [line[len(url) :] for line in seeded.stdout.split() if line.startswith(url)]
    socket = folder / "php-fpm.sock"
    (folder / "fpm.conf").write_text(fpm_conf(folder, socket, children=4))
    (folder / "nginx.conf").write_text(nginx_conf(folder, port, socket))
    fpm = [FPM, "--nodaemonize", "--fpm-config", str(folder / "fpm.conf")]
    nginx = [NGINX, "-c", str(folder / "nginx.conf"), "-g", "daemon off;"]
    with process(fpm, folder / "fpm.out") as php, process(nginx, folder / "nginx.out") as web:
        wait_for_port(port)
        first = httpx.get(url + paths[0], timeout=30)
        if first.status_code != 200 or last_phrase(bench_articles()[0]) not in first.text:
            raise RuntimeError(f"WordPress answered {first.status_code} for {paths[0]}")
        yield url, paths, [php.pid, web.pid, *mariadb_pids()]


def prefix_of(kind: str) -> str:
    """The Redis key prefix of one meterwall server's meter."""
    return f"mwbench-{kind}:"


def environment(data_dir: Path, redis_port: int, prefix: str) -> dict[str, str]:
    """Settings shared by both meterwall servers (each its own data and key prefix)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METERWALL_", "PROMETHEUS"))}
    env.update(
        METERWALL_DATA_DIR=str(data_dir),
        METERWALL_SECRET_KEY=SECRET,
        METERWALL_METER_STORE="redis",
        METERWALL_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        METERWALL_REDIS_KEY_PREFIX=prefix,
        METERWALL_OPS__LOG_FORMAT="text",
    )
    return env


def new_readers(count: int) -> dict[str, str]:
    """``count`` new readers: reader id -> signed cookie."""
    signer = ReaderCookie([SECRET])
    return {reader: signer.sign(reader) for reader in (new_reader_id() for _ in range(count))}


def reader_cookies(count: int) -> list[str]:
    """Signed cookies of ``count`` new readers."""
    return list(new_readers(count).values())


def counted_reads(redis_port: int, prefix: str, readers: list[str]) -> int:
    """How many first reads the meter has recorded for ``readers`` this period."""
    from datetime import UTC, datetime

    from meterwall.access.policy import meter_window
    from meterwall.metering.redis import RedisMeterStore, redis_client
    from meterwall.settings import PolicySettings

    async def count() -> int:
        client = redis_client(f"redis://127.0.0.1:{redis_port}/0", timeout=5)
        store = RedisMeterStore(client, prefix=prefix, timeout=5)
        window = meter_window(PolicySettings().to_policy(), datetime.now(UTC))
        try:
            return sum([len(await store.counted(r, window)) for r in readers])
        finally:
            await store.close()

    return asyncio.run(count())


def lua_script(path: Path, paths: list[str], cookies: list[str]) -> Path:
    """A wrk script: each request a random article, for a random reader (if any cookies).

    The random sequence is seeded from ``MW_SEED``, so each wrk run continues with new
    reads instead of replaying the previous run's."""
    quoted = ",".join(json.dumps(p) for p in paths)
    jar = ",".join(json.dumps(c) for c in cookies)
    path.write_text(
        f"local paths = {{{quoted}}}\nlocal cookies = {{{jar}}}\n"
        'math.randomseed(tonumber(os.getenv("MW_SEED") or "7"))\n'
        "request = function()\n"
        '  local headers = {["Accept-Encoding"] = "gzip"}\n'
        "  if #cookies > 0 then\n"
        '    headers["Cookie"] = "mw_reader=" .. cookies[math.random(#cookies)]\n'
        "  end\n"
        '  return wrk.format("GET", paths[math.random(#paths)], headers)\n'
        "end\n"
    )
    return path


def wrk(url: str, script: Path, seconds: float, connections: int, seed: int = 7) -> tuple[Any, str]:
    """One wrk run (its script seeded with ``seed``); its figures and its command line."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    command += ["--timeout", "10s", "-s", str(script), url]
    env = {**os.environ, "MW_SEED": str(seed)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True, env=env)
    result = parse_wrk(done.stdout)
    if result.errors or result.non_2xx:
        raise RuntimeError(
            f"{url}: {result.errors} errors, {result.non_2xx} non-2xx\n{done.stdout}"
        )
    return result, " ".join(command)


def decisions(url: str) -> dict[str, float]:
    """The server's access decisions so far, by outcome (from /metrics)."""
    text = httpx.get(url + "/metrics", timeout=10).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r'meterwall_decisions_total\{outcome="(\w+)"\} ([\d.e+]+)', line)
        if match:
            found[match.group(1)] = found.get(match.group(1), 0) + float(match.group(2))
    return found


def check_gating(url: str, paths: list[str], articles: list[Article], gate: str) -> None:
    """One reader: full text for five stories, then the teaser with the gate (``gate`` is
    the gate's markup)."""
    cookie = {"mw_reader": reader_cookies(1)[0]}
    with httpx.Client(cookies=cookie, timeout=30) as client:
        for n, (path, article) in enumerate(zip(paths, articles, strict=True)):
            page = client.get(url + path, headers={"Accept-Encoding": "gzip"})
            full = last_phrase(article) in page.text
            if page.status_code != 200 or full != (n < 5) or (gate in page.text) == full:
                raise RuntimeError(f"{url}{path}: story {n + 1} of one reader: wrong variant")


FLOOR_APP = """
from pathlib import Path

BODY = (Path(__file__).parent / "page.gz").read_bytes()
HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"content-encoding", b"gzip"),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})
"""


@contextmanager
def floor(folder: Path, page: bytes) -> Iterator[tuple[str, list[str], int]]:
    """The machine's ceiling for a Python server: a minimal ASGI app on the same uvicorn
    (two workers) answering every request with one gzip-compressed WordPress page."""
    home = folder / "floor"
    home.mkdir()
    (home / "page.gz").write_bytes(page)
    (home / "floor_app.py").write_text(FLOOR_APP)
    port = free_port()
    command = ["uvicorn", "floor_app:app", "--app-dir", str(home), "--port", str(port)]
    command += ["--workers", "2", "--no-access-log", "--log-level", "warning"]
    with process([sys.executable, "-m", *command], home / "server.log") as server:
        wait_for_port(port, 60)
        yield f"http://127.0.0.1:{port}", command, server.pid


@contextmanager
def meterwall(
    kind: str, folder: Path, redis_port: int, upstream: str = ""
) -> Iterator[tuple[str, list[str], int]]:
    """``meterwall proxy`` (cache on) or ``meterwall serve`` with two workers."""
    data = folder / kind
    data.mkdir()
    env = environment(data, redis_port, prefix_of(kind))
    port = free_port()
    if kind == "proxy":
        # Debian's WordPress theme marks up posts without og:type, JSON-LD or <article>,
        # so its permalinks are named, as a publisher would configure them.
        env.update(
            METERWALL_CACHE__ENABLED="true",
            METERWALL_PROXY__ARTICLE_PATTERNS=json.dumps([ARTICLE_PATTERN]),
        )
        command = ["meterwall", "proxy", "--upstream", upstream]
    else:
        from meterwall.content.store import ArticleStore
        from meterwall.settings import Settings
        from meterwall.storage.engine import create_engine
        from meterwall.storage.migrate import upgrade

        settings = Settings(data_dir=data, secret_key=SECRET)
        upgrade(settings.resolved_database_url)

        async def seed() -> None:
            engine = create_engine(settings.resolved_database_url)
            await ArticleStore(engine).save_all((a, "benchmark") for a in bench_articles())
            await engine.dispose()

        asyncio.run(seed())
        command = ["meterwall", "serve"]
    command += ["--port", str(port), "--workers", "2"]
    env["METERWALL_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    runnable = [sys.executable, "-m", *command]
    with process(runnable, data / "server.log", env) as server:
        wait_for_port(port, 60)
        yield f"http://127.0.0.1:{port}", command, server.pid


def run(seconds: float = 10, rounds: int = 2, connections: int = 32) -> dict[str, Any]:
    """WordPress alone, the cached proxy in front of it, and the built-in site, in rounds."""
    for tool in (FPM, NGINX):
        if not Path(tool).exists() and shutil.which("apt-get") is None:
            raise RuntimeError(f"{tool} is missing and apt-get is not available")
    folder = Path(tempfile.mkdtemp(prefix="mw-bench-wordpress-"))
    folder.chmod(0o755)
    articles = bench_articles()
    readers = new_readers(READERS)
    cookies = list(readers.values())
    results: dict[str, Any] = {"seconds": seconds, "rounds": rounds, "readers": READERS}
    try:
        with wordpress(folder) as (wp_url, wp_paths, wp_pids), redis_server() as redis_port:
            site_paths = [f"/articles/{a.slug}" for a in articles]
            page = httpx.get(wp_url + wp_paths[0], timeout=30).content
            with (
                meterwall("proxy", folder, redis_port, wp_url) as (proxy_url, proxy_cmd, proxy_pid),
                meterwall("site", folder, redis_port) as (site_url, site_cmd, site_pid),
                floor(folder, gzip.compress(page)) as (floor_url, floor_cmd, floor_pid),
            ):
                check_gating(proxy_url, wp_paths, articles, '<section class="mw-gate"')
                check_gating(site_url, site_paths, articles, '<section class="gate"')
                for _ in range(4):  # both proxy workers fill their cache
                    for path in wp_paths:
                        httpx.get(proxy_url + path, headers={"Accept-Encoding": "gzip"}, timeout=30)
                sides = {
                    "wordpress": (wp_url, lua_script(folder / "wp.lua", wp_paths, []), 8),
                    "proxy": (
                        proxy_url,
                        lua_script(folder / "proxy.lua", wp_paths, cookies),
                        connections,
                    ),
                    "site": (
                        site_url,
                        lua_script(folder / "site.lua", site_paths, cookies),
                        connections,
                    ),
                    "floor": (floor_url, lua_script(folder / "floor.lua", ["/"], []), connections),
                }
                for name in ("proxy", "site"):  # every reader seen once, as on a live site
                    url, script, conns = sides[name]
                    wrk(url, script, 3, conns, seed=1)
                before = {name: decisions(sides[name][0]) for name in ("proxy", "site")}
                counted = {
                    name: counted_reads(redis_port, prefix_of(name), list(readers))
                    for name in ("proxy", "site")
                }
                # What serves each side, for its CPU per page: the meterwall sides
                # share one Redis, whose CPU is counted where it was spent.
                redis = [p for p in [redis_pid(redis_port)] if p is not None]
                servers = {
                    "wordpress": wp_pids,
                    "proxy": [proxy_pid, *redis],
                    "site": [site_pid, *redis],
                    "floor": [floor_pid],
                }
                runs: dict[str, list[Any]] = {name: [] for name in sides}
                cpu: dict[str, list[float]] = {name: [] for name in sides}
                commands: dict[str, str] = {}
                for n in range(rounds):
                    for name, (url, script, conns) in sides.items():
                        spent = tree_cpu(servers[name])
                        result, command = wrk(url, script, seconds, conns, seed=n + 2)
                        spent = tree_cpu(servers[name]) - spent
                        cpu[name].append(spent / max(1, result.requests))
                        runs[name].append(result)
                        commands[name] = command
                        say(f"round {n + 1} {name:<9} {result.requests_per_second:>9,.1f} req/s")
                for name, (url, _script, _conns) in sides.items():
                    rps = median([r.requests_per_second for r in runs[name]])
                    results[name] = {
                        "rps": round(rps, 1),
                        "p50_ms": median([r.p50_ms for r in runs[name]]),
                        "p99_ms": median([r.p99_ms for r in runs[name]]),
                        "cpu_us": round(median(cpu[name]) * 1e6),
                        "wrk": commands[name],
                    }
                    if name in before:
                        after = decisions(url)
                        made = {k: after.get(k, 0) - before[name].get(k, 0) for k in after}
                        first = counted_reads(redis_port, prefix_of(name), list(readers))
                        first -= counted[name]
                        results[name]["mix"] = {
                            "first_reads": first,
                            "re_reads": round(made.get("metered", 0)) - first,
                            "gated_reads": round(made.get("paywall", 0) + made.get("regwall", 0)),
                        }
                results["proxy"]["server"] = " ".join(proxy_cmd)
                results["site"]["server"] = " ".join(site_cmd)
                results["wordpress"]["server"] = "nginx + php-fpm (4 children), Debian WordPress"
                results["floor"]["server"] = " ".join(floor_cmd)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results["vs_wordpress"] = round(results["proxy"]["rps"] / results["wordpress"]["rps"], 1)
    results["vs_site"] = round(results["proxy"]["rps"] / results["site"]["rps"], 2)
    results["cpu_vs_wordpress"] = round(
        results["wordpress"]["cpu_us"] / max(1, results["proxy"]["cpu_us"]), 1
    )
    say(
        f"proxy / WordPress = {results['vs_wordpress']}x (target >= {TARGET_VS_WORDPRESS}), "
        f"proxy / built-in site = {results['vs_site']} (target >= {TARGET_VS_SITE})"
    )
    return results


def profile(requests: int = 3_000) -> dict[str, Any]:
    """The cached proxy path in-process under cProfile: where a request's time goes."""
    folder = Path(tempfile.mkdtemp(prefix="mw-bench-wordpress-profile-"))
    folder.chmod(0o755)
    try:
        with wordpress(folder) as (wp_url, wp_paths, _pids), redis_server() as redis_port:
            return asyncio.run(_profile(folder, wp_url, wp_paths, redis_port, requests))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _profile(
    folder: Path, upstream: str, paths: list[str], redis_port: int, requests: int
) -> dict[str, Any]:
    """cProfile of the cached path; and CPU per request with and without the cache, from
    an upstream that answers instantly (WordPress's own pages, fetched once)."""
    instant: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for path in paths:
            request = client.build_request(
                "GET", upstream + path, headers={"Accept-Encoding": "gzip"}
            )
            response = await client.send(request, stream=True)
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            await response.aclose()
            instant[path] = (response.status_code, response.headers.raw, raw)
    found = await _profile_app(folder / "profile", upstream, paths, redis_port, requests, True)
    uncached = await _profile_app(
        folder / "uncached", upstream, paths, redis_port, requests // 3, False, instant
    )
    cached = await _profile_app(
        folder / "cached", upstream, paths, redis_port, requests // 3, True, instant
    )
    found["cpu_us_per_request"] = {
        "without_cache": uncached["cpu_us"],
        "with_cache": cached["cpu_us"],
    }
    return found


async def _profile_app(
    data_dir: Path,
    upstream: str,
    paths: list[str],
    redis_port: int,
    requests: int,
    cache: bool,
    instant: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from meterwall.app import create_app
    from meterwall.gateway.upstream import Upstream
    from meterwall.settings import Settings
    from meterwall.storage.migrate import upgrade

    settings = Settings(
        data_dir=data_dir,
        secret_key=SECRET,
        public_url="http://127.0.0.1:8000",
        meter_store="redis",
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        redis_key_prefix=f"mwbench-{data_dir.name}:",
        proxy={"upstream": upstream, "article_patterns": [ARTICLE_PATTERN]},
        cache={"enabled": cache},
        ops={"access_log": False},
    )
    upgrade(settings.resolved_database_url)
    app = create_app(settings)
    if instant is not None:

        def answer(request: httpx.Request) -> httpx.Response:
            status, headers, body = instant[request.url.path]
            return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

        gateway = app.state.gateway
        await gateway.upstream.aclose()
        client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        gateway.upstream = Upstream(upstream, 10, client=client)
    cookies = reader_cookies(300)
    sent: list[int] = []

    async def get(path: str, cookie: str) -> None:
        """One request straight through the ASGI interface (no HTTP client in the profile)."""
        headers = [(b"accept-encoding", b"gzip"), (b"cookie", f"mw_reader={cookie}".encode())]
        sent.append(await asgi_get(app, path, headers))

    async with app.router.lifespan_context(app):
        for n, cookie in enumerate(cookies):  # every reader seen once, every page cached
            await get(paths[n % len(paths)], cookie)
        profiler = cProfile.Profile()
        started, cpu = time.perf_counter(), time.process_time()
        if instant is None:
            profiler.enable()
        for n in range(requests):
            await get(paths[n % len(paths)], cookies[n % len(cookies)])
        profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if set(sent) != {200}:
        raise RuntimeError(f"statuses other than 200: {sorted(set(sent))}")
    out = io.StringIO()
    if instant is None:
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(20)
        stats.sort_stats("cumulative").print_stats(40)
    return {
        "requests": requests,
        "in_process_rps": round(requests / elapsed),
        "cpu_us": round(cpu / requests * 1e6),
        "profile": out.getvalue(),
    }


BEGIN, END = "<!-- wordpress:begin -->", "<!-- wordpress:end -->"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def render(results: dict[str, Any], about: dict[str, str]) -> str:
    """The figures as Markdown, for BENCHMARKS.md."""
    wp, proxy, site, floor_ = (results[k] for k in ("wordpress", "proxy", "site", "floor"))

    def cpu(side: dict[str, Any]) -> str:
        us = side["cpu_us"]
        return f"{us / 1000:.1f} ms" if us >= 1000 else f"{us} us"

    def mix(side: dict[str, Any]) -> str:
        m = side["mix"]
        first, again, gated = m["first_reads"], m["re_reads"], m["gated_reads"]
        return f"{first:,} first reads, {again:,} re-reads, {gated:,} gated"

    met_wp = "yes" if results["vs_wordpress"] >= TARGET_VS_WORDPRESS else "no"
    met_site = "yes" if results["vs_site"] >= TARGET_VS_SITE else "no"
    rounds = f"median of {results['rounds']} rounds of {results['seconds']:g} s"
    lines = [
        f"Measured {about['date']} with `{about['command']}` on {about['cores']} cores "
        f"({about['cpu']}), Python {about['python']}, {about['os']}, {about.get('wrk', 'wrk')}; "
        f"load average {about['load_start']} before, {about['load_end']} after "
        "(the machine is shared; the three sides are measured in alternating rounds).",
        "",
        "| Article pages | req/s | p50 | p99 | server CPU per page "
        "| Reads in the measured rounds |",
        "|---|---|---|---|---|---|",
        f"| WordPress alone (nginx, php-fpm, MariaDB) | {wp['rps']:,.1f} | {wp['p50_ms']:.0f} ms "
        f"| {wp['p99_ms']:.0f} ms | {cpu(wp)} | anonymous |",
        f"| meterwall proxy + cache in front of it | {proxy['rps']:,.0f} "
        f"| {proxy['p50_ms']:.0f} ms | {proxy['p99_ms']:.0f} ms | {cpu(proxy)} | {mix(proxy)} |",
        f"| meterwall built-in site, same articles | {site['rps']:,.0f} "
        f"| {site['p50_ms']:.0f} ms | {site['p99_ms']:.0f} ms | {cpu(site)} | {mix(site)} |",
        f"| for scale: a minimal ASGI app sending one gzipped page | {floor_['rps']:,.0f} "
        f"| {floor_['p50_ms']:.1f} ms | {floor_['p99_ms']:.1f} ms | {cpu(floor_)} "
        "| no access decision |",
        "",
        "| Target | Measured | Met |",
        "|---|---|---|",
        f"| cached proxy >= {TARGET_VS_WORDPRESS}x WordPress | **{results['vs_wordpress']:.0f}x** "
        f"| {met_wp} |",
        f"| cached proxy >= {TARGET_VS_SITE}x the built-in site | **{results['vs_site']:.2f}x** "
        f"| {met_site} |",
        f"| (not a target) CPU per page, WordPress / cached proxy | "
        f"**{results['cpu_vs_wordpress']:.0f}x** less | - |",
        "",
        f"Each figure is the {rounds}; {results['readers']:,} reader cookies, every request "
        "with `Accept-Encoding: gzip`. Server CPU per page is the user and system CPU time "
        "of the processes serving that side (WordPress: php-fpm, nginx and MariaDB; "
        "meterwall: its workers and the Redis it uses) during a round, divided by the "
        "pages served: unlike req/s it hardly depends on what else the machine runs. "
        "Commands:",
        "",
        f"- WordPress: {wp['server']}; `{wp['wrk']}`",
        f"- proxy: `{proxy['server']}` (cache in memory, Redis meter); `{proxy['wrk']}`",
        f"- site: `{site['server']}` (Redis meter); `{site['wrk']}`",
        f"- minimal ASGI app: `{floor_['server']}`; `{floor_['wrk']}`",
    ]
    return "\n".join(lines)


def write_section(markdown: str) -> None:
    """Replace this benchmark's figures in BENCHMARKS.md (its own markers only)."""
    path = BENCHMARKS.parent / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{markdown}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    """Run the WordPress benchmark (or write its articles, or profile the cached path)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="measure WordPress, the cached proxy, the site")
    run_parser.add_argument("--seconds", type=float, default=10)
    run_parser.add_argument("--rounds", type=int, default=2)
    run_parser.add_argument("--connections", type=int, default=32)
    run_parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    profile_parser = sub.add_parser("profile", help="cProfile of the cached proxy path")
    profile_parser.add_argument("--requests", type=int, default=3_000)
    articles_parser = sub.add_parser("articles", help="write the articles JSON for setup.sh")
    articles_parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "articles":
        write_articles(args.file)
        return 0
    if args.command == "profile":
        found = profile(args.requests)
        cpu = found["cpu_us_per_request"]
        print(f"{found['in_process_rps']:,} cached article pages/s in-process (profiled)")
        print(
            f"CPU per article page, instant upstream: {cpu['without_cache']:,} us without "
            f"the cache, {cpu['with_cache']:,} us with it\n"
        )
        print(found["profile"])
        return 0
    about = machine()
    about["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    about["load_start"] = _load()
    about["command"] = "python3 benchmarks/wordpress_cache.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    found = run(args.seconds, args.rounds, args.connections)
    about["load_end"] = _load()
    markdown = render(found, about)
    print(json.dumps({"machine": about, "results": found}, indent=2))
    print(markdown)
    if args.write:
        write_section(markdown)
        say("wrote BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
