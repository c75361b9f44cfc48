"""The deployment files shipped in the repository: they parse, and run commands that exist.

Docker cannot build or run here (no engine), so the Dockerfile and compose file are
checked as text: stages, a non-root user, the health check, and that every command
they run is a real ``meterwall`` command.  The systemd unit, the nginx site and the
WordPress plugin are checked by their own tools when the machine has them.
"""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from meterwall.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def _runs_a_real_command(argv: list[str]) -> None:
    """``argv`` (``meterwall ...``) parses with meterwall's own command line."""
    assert Path(argv[0]).name == "meterwall", argv
    try:
        build_parser().parse_args(argv[1:])
    except SystemExit as exc:  # argparse exits on an unknown command or option
        raise AssertionError(f"not a meterwall command: {shlex.join(argv)}") from exc


def _dockerfile() -> list[str]:
    lines, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#"):
            continue
        current += raw.rstrip("\\").rstrip() + " "
        if not raw.endswith("\\"):
            if current.strip():
                lines.append(current.strip())
            current = ""
    return lines


def test_the_dockerfile_builds_in_stages_and_runs_meterwall_as_a_user() -> None:
    lines = _dockerfile()
    stages = [line for line in lines if line.upper().startswith("FROM ")]
    assert any("-c constraints.txt" in line for line in lines), "the versions CI tested"
    assert len(stages) >= 2, "a multi-stage build"
    final = lines[lines.index(stages[-1]) :]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the server does not run as root"
    health = next(line for line in final if line.upper().startswith("HEALTHCHECK"))
    assert "/healthz" in health
    cmd = next(line for line in final if line.upper().startswith("CMD "))
    argv = yaml.safe_load(cmd[4:])
    assert argv[:2] == ["meterwall", "serve"]
    _runs_a_real_command(argv)


def test_compose_runs_meterwall_postgres_redis_and_a_one_shot_migration() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"meterwall", "postgres", "redis", "migrate"} <= set(services)
    assert services["migrate"]["command"] == ["meterwall", "migrate"]
    assert services["migrate"]["restart"] == "no"
    waits = services["meterwall"]["depends_on"]
    assert waits["migrate"]["condition"] == "service_completed_successfully"
    for name in ("meterwall", "migrate"):
        _runs_a_real_command(services[name]["command"])
    redis = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis, "meters survive a Redis restart"
    env = services["meterwall"]["environment"]
    assert env["METERWALL_DATABASE_URL"].startswith("postgresql://")
    assert env["METERWALL_METER_STORE"] == "redis"


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "systemd" / "meterwall.service")
    return unit


def test_the_systemd_unit_starts_meterwall_serve_as_a_user() -> None:
    service = _unit()["Service"]
    argv = shlex.split(service["ExecStart"])
    _runs_a_real_command(argv)
    assert "serve" in argv
    assert service["User"] != "root"
    assert service["KillSignal"] == "SIGTERM"


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    meterwall = shutil.which("meterwall")
    if analyze is None or meterwall is None:
        pytest.skip("systemd-analyze or the meterwall command is not on this machine")
    text = (DEPLOY / "systemd" / "meterwall.service").read_text()
    # The unit names the production path; verify it with this machine's meterwall.
    unit = tmp_path / "meterwall.service"
    unit.write_text(text.replace("/opt/meterwall/.venv/bin/meterwall", meterwall))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Unknown" not in done.stderr, done.stderr


def test_nginx_accepts_the_site_and_it_protects_meterwall(tmp_path: Path) -> None:
    site = (DEPLOY / "nginx" / "meterwall.conf").read_text()
    for directive in ("client_header_timeout", "client_body_timeout", "client_max_body_size"):
        assert directive in site, f"{directive}: slow or large requests end at the proxy"
    assert "location = /metrics" in site
    assert "X-Forwarded-For $remote_addr" in site, "the client cannot choose its address"
    nginx, openssl = shutil.which("nginx"), shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("nginx or openssl is not on this machine")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=news.example.com",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    site = site.replace("/etc/letsencrypt/live/news.example.com/fullchain.pem", str(cert)).replace(
        "/etc/letsencrypt/live/news.example.com/privkey.pem", str(key)
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_wordpress_plugin_is_a_plugin_folder_that_php_accepts() -> None:
    plugin = DEPLOY / "wordpress" / "meterwall-purge" / "meterwall-purge.php"
    text = plugin.read_text()
    assert text.startswith("<?php")
    assert "Plugin Name: meterwall purge" in text
    php = shutil.which("php")
    if php is None:
        pytest.skip("php is not on this machine")
    done = subprocess.run([php, "-l", str(plugin)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
