"""/admin/operators: named accounts (viewer, operator), each with its own secret."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_api.audit import audit_of
from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.operator_accounts import create_operator, list_operators, revoke_operator
from admin_api.parsing import parse_query, path_uuid, read_json
from admin_api.schemas.operators import (
    CreatedOperator,
    ListOperatorsQuery,
    NewOperator,
    OperatorInfo,
    OperatorList,
)


async def list_accounts(request: Request) -> Response:
    query = parse_query(request, ListOperatorsQuery)
    rows = await list_operators(deps(request).pool, include_revoked=query.include_revoked)
    return answer(OperatorList(operators=[OperatorInfo.of(r) for r in rows]))


async def create_account(request: Request) -> Response:
    body = await read_json(request, NewOperator)
    audit = audit_of(request)
    audit.subject = f"operator {body.name}"
    audit.detail["role"] = str(body.role)
    created = await create_operator(
        deps(request).pool, body.name, body.role, created_by=request.state.actor.name
    )
    return answer(
        CreatedOperator(operator=OperatorInfo.of(created.row), secret=created.secret), status=201
    )


async def revoke_account(request: Request) -> Response:
    operator_id = path_uuid(request, "operator_id")
    row = await revoke_operator(
        deps(request).pool, operator_id, revoked_by=request.state.actor.name
    )
    audit_of(request).subject = f"operator {row.name}"
    return answer(OperatorInfo.of(row))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/operators",
        list_accounts,
        "Operator accounts (never their secrets)",
        query=ListOperatorsQuery,
        response=OperatorList,
        errors=(400,),
    ),
    Endpoint(
        "POST",
        "/admin/operators",
        create_account,
        "Create a named operator account; answers its secret, shown once",
        body=NewOperator,
        response=CreatedOperator,
        status=201,
        errors=(400, 409),
        action="operator.create",
    ),
    Endpoint(
        "POST",
        "/admin/operators/{operator_id}/revoke",
        revoke_account,
        "Revoke an operator account (idempotent): its secret and console sessions end at once",
        response=OperatorInfo,
        errors=(400, 404),
        action="operator.revoke",
    ),
]
