"""Run meterwall's benchmarks and print (or write into BENCHMARKS.md) what they measured.

    python3 benchmarks/run.py                    # everything, about 6 minutes
    python3 benchmarks/run.py --only decide page # some of them
    python3 benchmarks/run.py --quick            # shorter runs, for a smoke test
    python3 benchmarks/run.py --write            # also update BENCHMARKS.md

Benchmarks: decide, page, meter, memory, workers, profile.  Each is bounded
in time, listens on loopback only, and starts (and stops) its own
redis-server and servers on free ports.  Nothing here fails on a figure: the
targets are printed next to the results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, machine, say

BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
RESULTS_JSON = ROOT / "benchmarks" / "results" / "latest.json"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
NAMES = ("decide", "page", "meter", "memory", "workers", "profile")
OPTIONAL = ("wordpress",)
"""Run only when named: ``wordpress`` installs Debian's WordPress (scripts/wordpress/)."""


def _runners(quick: bool) -> dict[str, Callable[[], dict[str, Any]]]:
    import bench_decide
    import bench_http
    import bench_redis
    import profile_page
    import wordpress_cache

    seconds = 2 if quick else 5
    return {
        "decide": lambda: bench_decide.run(1 if quick else 3),
        "page": lambda: bench_http.run_page(
            seconds=seconds, rounds=1 if quick else 3, meter="both"
        ),
        "meter": lambda: bench_redis.run_meter(seconds=seconds),
        "memory": lambda: bench_redis.run_memory(readers=10_000 if quick else 100_000),
        "workers": lambda: bench_http.run_workers(seconds=seconds),
        "profile": lambda: _profile(profile_page, quick),
        "wordpress": lambda: wordpress_cache.run(seconds=seconds * 2, rounds=1 if quick else 2),
    }


def _profile(profile_page: Any, quick: bool) -> dict[str, Any]:
    from common import redis_server

    with redis_server() as port:
        result: dict[str, Any] = profile_page.run(500 if quick else 3000, redis_port=port)
        result["caches"] = profile_page.before_after(
            300 if quick else 1000, 1 if quick else 3, redis_port=port
        )
        result["check_costs_us"] = profile_page.check_costs(port, 300 if quick else 2000)
    return result


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def render(results: dict[str, Any], about: dict[str, str]) -> str:
    """The results as Markdown, for BENCHMARKS.md."""
    lines = [
        f"Machine: {about['cores']} cores, {about['cpu']}, Python {about['python']}, "
        f"{about['os']}; {about.get('redis', 'no redis-server')}; {about.get('wrk', 'no wrk')}. "
        "The machine is shared with other work (see the load averages below), so absolute "
        "figures vary; each ratio is measured side by side in one run.",
        "",
        "| Benchmark | Result | Target | Met |",
        "|---|---|---|---|",
    ]
    if "decide" in results:
        r = results["decide"]
        lines.append(
            f"| `decide()` on one core | {_fmt(r['decisions_per_second'])} decisions/s "
            f"(CPU time; {_fmt(r['wall_clock_per_second'])}/s wall clock) "
            f"| >= 300,000/s | {'yes' if r['met'] else 'no'} |"
        )
    for store in ("sql", "redis"):
        for scenario in ("metered", "gated"):
            r = results.get("page", {}).get(store, {}).get(scenario)
            if r:
                lines.append(
                    f"| article page, {scenario}, {store} meter: with / without the access "
                    f"check | throughput {_fmt(r['real_rps'])} / {_fmt(r['baseline_rps'])} "
                    f"req/s = **{r['ratio']:.2f}**; app CPU per request "
                    f"{r['real_app_cpu_ms']:.2f} / {r['baseline_app_cpu_ms']:.2f} ms = "
                    f"**{r['cpu_ratio']:.2f}** | >= 0.8 | "
                    f"{'yes' if min(r['ratio'], r['cpu_ratio']) >= 0.8 else 'no'} |"
                )
    if "meter" in results:
        r = results["meter"]
        peak, half = r["peak"], r["half_load"]
        lines.append(
            f"| Redis check-and-record, one process | {_fmt(peak['per_second'])}/s "
            f"({_fmt(peak['per_cpu_second'])} per CPU second of the client; Redis spent "
            f"{peak.get('redis_cpu_us_per_call', 0):.0f} us per call) | >= 20,000/s | "
            f"{'yes' if peak['per_second'] >= 20_000 else 'no'} |"
        )
        lines.append(
            f"| p99 at half of peak ({_fmt(half['rate'])}/s) | {half['p99_ms']:.2f} ms "
            f"(p50 {half['p50_ms']:.2f} ms, {half['errors']} timeouts) | < 5 ms | "
            f"{'yes' if half['p99_ms'] < 5 else 'no'} |"
        )
    if "memory" in results:
        r = results["memory"]
        lines.append(
            f"| Redis memory per reader per period (limit 5, {_fmt(r['readers'])} readers) | "
            f"{r['bytes_per_reader']:.1f} bytes | <= 128 bytes | {'yes' if r['met'] else 'no'} |"
        )
    if "workers" in results:
        runs = results["workers"]["runs"]
        shown = ", ".join(
            f"{n}: {_fmt(r['rps'])} req/s (x{r.get('speedup', 1):.2f}, "
            f"{r['app_cpu_ms']:.2f} ms CPU per request)"
            for n, r in runs.items()
        )
        lines.append(f"| `meterwall serve --workers N`, metered page | {shown} | scales | - |")
    lines += ["", "When, and the load average (1, 5, 15 minutes) before -> after each:", ""]
    for name in NAMES:
        run = results.get(name, {}).get("run")
        if run:
            lines.append(f"- {name}: {run['when']}, load {run['load']}, `{run['command']}`")
    lines += ["", "Commands:", ""]
    for store in ("sql", "redis"):
        page = results.get("page", {}).get(store)
        if page:
            lines.append(f"- page ({store} meter) server: `{page['server']}`")
            for side, cmd in page["metered"]["commands"].items():
                lines.append(f"  - {side}: `{cmd}`")
    for n, r in results.get("workers", {}).get("runs", {}).items():
        lines.append(f"- workers={n}: `{r['server']}` then `{r['wrk']}`")
    if "profile" in results:
        caches = results["profile"]["caches"]
        lines.append(
            f"- profile: {_fmt(results['profile']['in_process_rps'])} article pages/s "
            "in-process through the ASGI interface (Redis meter), see `benchmarks/profile_page.py`"
        )
        lines.append(
            f"- caches (article and anonymous-session): {_fmt(caches['before'])} -> "
            f"{_fmt(caches['after'])} article pages per CPU second (x{caches['speedup']:.2f}), "
            "same process, same data, alternating rounds"
        )
        costs = results["profile"].get("check_costs_us", {})
        if costs:
            shown = ", ".join(f"{name} {us:.0f} us" for name, us in costs.items())
            lines.append(f"- the access check's parts, CPU time per call: {shown}")
    return "\n".join(lines)


def write(markdown: str) -> None:
    """Replace the results section of BENCHMARKS.md."""
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else f"{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    BENCHMARKS_MD.write_text(f"{head}{BEGIN}\n{markdown}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=NAMES + OPTIONAL, default=list(NAMES))
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke test)")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    about = machine()
    about["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    about["load_start"] = _load()
    runners = _runners(args.quick)
    command = "python3 benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {}
    if RESULTS_JSON.exists() and set(args.only) != set(NAMES):
        # A partial run keeps the other benchmarks' last figures.
        results = json.loads(RESULTS_JSON.read_text()).get("results", {})
    for name in args.only:
        say(f"--- {name}")
        started = time.monotonic()
        load = _load()
        results[name] = runners[name]()
        results[name]["run"] = {
            "command": command.strip(),
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load": f"{load} -> {_load()}",
        }
        say(f"--- {name} done in {time.monotonic() - started:.0f} s")
        RESULTS_JSON.parent.mkdir(exist_ok=True)
        RESULTS_JSON.write_text(json.dumps({"machine": about, "results": results}, indent=2))
    about["load_end"] = _load()
    markdown = render(results, about)
    print(markdown)
    if "profile" in results:
        print("\nProfile of the article page:\n")
        print(results["profile"]["profile"])
    if args.write:
        write(markdown)
        say(f"wrote {BENCHMARKS_MD}")
    if args.write and "wordpress" in args.only:
        import wordpress_cache

        wordpress_cache.write_section(
            wordpress_cache.render(results["wordpress"], {**about, "command": command.strip()})
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
