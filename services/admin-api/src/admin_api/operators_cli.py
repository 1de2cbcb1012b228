"""`admin-api-operators create NAME --role viewer|operator | revoke NAME | list`: operator
accounts from the command line (DATABASE_URL says where). The new secret is printed once;
every create and revoke lands in the audit trail under `cli:<login name>`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from channel_sync.db import create_pool
from channel_sync.settings import CommonSettings
from pydantic import ValidationError

from admin_api.audit import AuditEntry, record
from admin_api.errors import ApiError
from admin_api.identity import Actor, Role
from admin_api.operator_accounts import (
    create_operator,
    find_by_name,
    list_operators,
    revoke_operator,
)
from admin_api.schemas.operators import NewOperator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="admin-api-operators", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="a new account; prints its secret once")
    create.add_argument("name")
    create.add_argument("--role", choices=[str(r) for r in Role], required=True)
    revoke = commands.add_parser("revoke", help="revoke an account; its sessions end at once")
    revoke.add_argument("name")
    listing = commands.add_parser("list", help="every account (never a secret)")
    listing.add_argument("--active", action="store_true", help="leave revoked accounts out")
    return parser


def _who() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"cli:{user}"[:100], Role.OPERATOR)


async def _run(args: argparse.Namespace, settings: CommonSettings) -> int:
    pool = await create_pool(
        settings.dsn,
        min_size=1,
        max_size=2,
        statement_cache_size=settings.db_statement_cache_size,
    )
    actor = _who()
    try:
        if args.command == "list":
            for row in await list_operators(pool, include_revoked=not args.active):
                state = (
                    f"revoked {row.revoked_at:%Y-%m-%d %H:%M} by {row.revoked_by}"
                    if (row.revoked_at)
                    else "active"
                )
                print(f"{row.name}\t{row.role}\t{state}\t{row.id}")
            return 0
        if args.command == "create":
            body = NewOperator(name=args.name, role=Role(args.role))
            entry = AuditEntry(subject=f"operator {body.name}", detail={"role": str(body.role)})
            try:
                created = await create_operator(pool, body.name, body.role, created_by=actor.name)
            except ApiError as exc:
                await record(
                    pool,
                    actor,
                    via="cli",
                    action="operator.create",
                    entry=entry,
                    status=exc.status_code,
                    error=exc,
                )
                raise
            await record(pool, actor, via="cli", action="operator.create", entry=entry, status=201)
            print(
                f"operator {created.row.name} ({created.row.role}) created; its secret, shown "
                "this once:"
            )
            print(created.secret)
            return 0
        entry = AuditEntry(subject=f"operator {args.name}")
        try:
            row = await find_by_name(pool, args.name)
            await revoke_operator(pool, row.id, revoked_by=actor.name)
        except ApiError as exc:
            await record(
                pool,
                actor,
                via="cli",
                action="operator.revoke",
                entry=entry,
                status=exc.status_code,
                error=exc,
            )
            raise
        await record(pool, actor, via="cli", action="operator.revoke", entry=entry, status=200)
        print(f"operator {row.name} revoked; their console sessions have ended")
        return 0
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "create":
            NewOperator(name=args.name, role=Role(args.role))  # refused before connecting
        settings = CommonSettings()
    except ValidationError as exc:
        problem = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in problem["loc"])
        print(f"admin-api-operators: {field}: {problem['msg']}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, settings))
    except ApiError as exc:
        print(f"admin-api-operators: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
