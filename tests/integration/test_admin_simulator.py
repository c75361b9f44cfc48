"""The meter simulator from the dashboard and from the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.admin_support import add_staff, running, sign_in
from tests.unit.analytics.test_simulator import HAND_CSV


def cells(html: str, label: str) -> list[str]:
    row = re.search(rf"<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", html)
    assert row is not None, label
    return re.findall(r'<td class="num">([^<]*)</td>', row[1])


async def test_an_uploaded_log_is_compared_side_by_side(app_factory: Callable[..., Any]) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        csrf = await sign_in(client)
        form = await client.get("/admin/simulator")
        assert 'enctype="multipart/form-data"' in form.text
        response = await client.post(
            "/admin/simulator",
            data={
                "csrf": csrf,
                "source": "upload",
                "limits": "1,2",
                "period": "calendar_month",
                "rate": "50",
            },
            files={"log": ("hand.csv", HAND_CSV.encode(), "text/csv")},
        )
        assert response.status_code == 200
        html = response.text
        assert cells(html, "Readers") == ["3", "3"]
        assert cells(html, "Would hit the wall") == ["2", "1"]
        assert cells(html, "Wall impressions") == ["3", "1"]
        assert cells(html, "Expected conversions (at 50% of readers at the wall)") == ["1.0", "0.5"]
        assert "the reader column for 8 views" in html
        assert "<svg" in html and "Readers who would hit the wall" in html


async def test_the_sample_log_runs_without_an_upload(
    app_factory: Callable[..., Any], tmp_path: Path
) -> None:
    app = await app_factory()
    await add_staff(app)
    async with running(app) as client:
        csrf = await sign_in(client)
        response = await client.post(
            "/admin/simulator",
            data={
                "csrf": csrf,
                "source": "sample",
                "limits": "3,5,10",
                "period": "rolling_days:30",
                "rate": "2",
            },
        )
        assert response.status_code == 200
        assert "rolling 30 days" in response.text
        walled = [int(v.replace(",", "")) for v in cells(response.text, "Would hit the wall")]
        assert walled == sorted(walled, reverse=True) and walled[0] > 0
        assert (tmp_path / "sample_access.log.gz").exists()


async def test_bad_simulator_input_is_explained(app_factory: Callable[..., Any]) -> None:
    app = await app_factory(admin={"simulator_max_upload_mb": 1})
    await add_staff(app)
    async with running(app) as client:
        csrf = await sign_in(client)
        for data, message in (
            ({"limits": "three", "period": "calendar_month", "rate": "2"}, "whole numbers"),
            ({"limits": "3", "period": "weekly", "rate": "2"}, "rolling_days:N"),
            ({"limits": "3", "period": "calendar_month", "rate": "200"}, "from 0 to 100"),
            (
                {"limits": "3", "period": "calendar_month", "rate": "2", "source": "upload"},
                "Choose a log file",
            ),
        ):
            response = await client.post("/admin/simulator", data={"csrf": csrf, **data})
            assert response.status_code == 400
            assert message in response.text
        prose = await client.post(
            "/admin/simulator",
            data={
                "csrf": csrf,
                "source": "upload",
                "limits": "3",
                "period": "calendar_month",
                "rate": "2",
            },
            files={"log": ("notes.txt", b"Dear diary, today I read the news.\n", "text/plain")},
        )
        assert prose.status_code == 400
        assert "not a log this tool can read" in prose.text
        huge = await client.post(
            "/admin/simulator",
            data={
                "csrf": csrf,
                "source": "upload",
                "limits": "3",
                "period": "calendar_month",
                "rate": "2",
            },
            files={"log": ("big.log", b"x" * 1_100_000, "text/plain")},
        )
        assert huge.status_code == 413


def test_the_simulate_command(tmp_path: Path) -> None:
    log = tmp_path / "hand.csv"
    log.write_text(HAND_CSV)
    chart = tmp_path / "out.svg"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "meterwall",
            "simulate",
            str(log),
            "--limits",
            "1,2",
            "--conversion-rate",
            "50%",
            "--chart",
            str(chart),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(re.fullmatch(r"Would hit the wall\s+2\s+1", line) for line in lines)
    assert any(re.fullmatch(r"Wall impressions\s+3\s+1", line) for line in lines)
    assert "Readers were identified by the reader column for 8 views." in done.stdout
    assert chart.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg')
    missing = subprocess.run(
        [sys.executable, "-m", "meterwall", "simulate", str(tmp_path / "nope.log")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 2
    assert "no such log file" in missing.stderr
    assert "Traceback" not in missing.stderr
