"""The ``meterwall admin`` commands: staff accounts for the dashboard."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime

from meterwall.admin.passwords import WeakPassword
from meterwall.admin.staff import InvalidStaffEmail, StaffDirectory, StaffExists
from meterwall.settings import Settings, load_settings
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade


def read_password(from_stdin: bool) -> str:
    """The new password: one line of standard input, or typed twice at a prompt."""
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (at least 10 characters): ")
    if getpass.getpass("Again: ") != first:
        raise WeakPassword("the two passwords differ")
    return first


async def _with_directory(settings: Settings, action: str, email: str, password: str) -> str:
    if settings.auto_migrate:
        upgrade(settings.resolved_database_url)
    engine = create_engine(settings.resolved_database_url)
    directory = StaffDirectory(engine)
    try:
        if action == "create":
            user = await directory.create(email, password, datetime.now(UTC))
            return f"created staff user {user.email}; sign in at {settings.public_url}/admin"
        if await directory.set_password(email, password):
            return f"changed the password of {email.strip().casefold()} and ended its sessions"
        raise LookupError(f"there is no staff user {email.strip()}")
    finally:
        await engine.dispose()


def _run(args: argparse.Namespace, action: str) -> int:
    settings = load_settings(getattr(args, "config", None))
    try:
        password = read_password(args.password_stdin)
        print(asyncio.run(_with_directory(settings, action, args.email, password)))
    except (WeakPassword, InvalidStaffEmail, StaffExists, LookupError) as exc:
        print(f"meterwall admin: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    """Create a staff user who may sign in to ``/admin``."""
    return _run(args, "create")


def cmd_set_password(args: argparse.Namespace) -> int:
    """Change a staff user's password."""
    return _run(args, "password")


def cmd_list_users(args: argparse.Namespace) -> int:
    """List the staff users."""
    settings = load_settings(getattr(args, "config", None))

    async def users() -> list[str]:
        if settings.auto_migrate:
            upgrade(settings.resolved_database_url)
        engine = create_engine(settings.resolved_database_url)
        try:
            found = await StaffDirectory(engine).users()
        finally:
            await engine.dispose()
        return [
            f"{u.email}\tlast sign-in: "
            + (u.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if u.last_login_at else "never")
            for u in found
        ]

    lines = asyncio.run(users())
    print("\n".join(lines) if lines else "no staff users yet: meterwall admin create-user EMAIL")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``admin`` to the ``meterwall`` command."""
    admin = sub.add_parser("admin", help="manage the staff who may use the dashboard")
    actions = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, func, text in (
        ("create-user", cmd_create_user, "create a staff user (asks for a password)"),
        (
            "set-password",
            cmd_set_password,
            "change a staff user's password (and clear their second factor)",
        ),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("email")
        action.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input instead of asking",
        )
        action.set_defaults(func=func)
    listing = actions.add_parser("list-users", help="list the staff users")
    listing.set_defaults(func=cmd_list_users)
