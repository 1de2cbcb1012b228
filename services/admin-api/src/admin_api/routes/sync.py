"""/admin/properties/{id}/initial-sync, /reconcile, /sync-runs, /sync-policy; /admin/sync-runs;
/admin/drift. The admin API only records a request (a `sync_runs` row) and shows progress
and drift: the inbound worker does the runs."""

from __future__ import annotations

from uuid import UUID

from channel_sync.beds24.links import link_of
from channel_sync.db import Connection
from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import Conflict, NotFound
from admin_api.parsing import parse_query, path_uuid, read_json
from admin_api.queries import properties, sync
from admin_api.schemas.sync import DriftPage, DriftQuery, SyncPolicy, SyncRun, SyncRunList


async def _request(request: Request, kind: str) -> Response:
    property_id = path_uuid(request, "property_id")
    async with deps(request).pool.acquire() as conn, conn.transaction():
        await _require_link(conn, property_id)
        run = await sync.request(conn, property_id, kind)
        if run is None:
            busy = await sync.unfinished_of(conn, property_id)
            raise Conflict(
                f"property {property_id} has an unfinished sync run"
                + (f" ({busy.kind}, {busy.id})" if busy else "")
            )
    return answer(run, status=202)


async def initial_sync(request: Request) -> Response:
    return await _request(request, "initial")


async def reconcile(request: Request) -> Response:
    return await _request(request, "reconcile")


async def runs_of_property(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    async with deps(request).pool.acquire() as conn:
        if await properties.get(conn, property_id) is None:
            raise NotFound(f"no property {property_id}")
        return answer(SyncRunList(runs=await sync.of_property(conn, property_id)))


async def get_run(request: Request) -> Response:
    run_id = path_uuid(request, "run_id")
    async with deps(request).pool.acquire() as conn:
        run = await sync.get(conn, run_id)
    if run is None:
        raise NotFound(f"no sync run {run_id}")
    return answer(run)


async def list_drift(request: Request) -> Response:
    query = parse_query(request, DriftQuery)
    async with deps(request).pool.acquire() as conn:
        found, total = await sync.drift(conn, query)
    return answer(DriftPage(drift=found, total=total))


async def get_policy(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    async with deps(request).pool.acquire() as conn:
        policy = await sync.policy_of(conn, property_id)
    if policy is None:
        raise NotFound(f"property {property_id} is not registered with Beds24")
    return answer(SyncPolicy.model_validate({"policy": policy}))


async def put_policy(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    body = await read_json(request, SyncPolicy)
    async with deps(request).pool.acquire() as conn:
        if not await sync.set_policy(conn, property_id, body.policy):
            raise NotFound(f"property {property_id} is not registered with Beds24")
    return answer(body)


async def _require_link(conn: Connection, property_id: UUID) -> None:
    if await link_of(conn, property_id) is None:
        raise NotFound(f"property {property_id} is not registered with Beds24")


ENDPOINTS = [
    Endpoint(
        "POST",
        "/admin/properties/{property_id}/initial-sync",
        initial_sync,
        "Request the initial sync of a property (import Beds24's bookings, send the PMS's)",
        response=SyncRun,
        status=202,
        errors=(400, 404, 409),
    ),
    Endpoint(
        "POST",
        "/admin/properties/{property_id}/reconcile",
        reconcile,
        "Request a reconciliation of a property now (find and repair drift)",
        response=SyncRun,
        status=202,
        errors=(400, 404, 409),
    ),
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/sync-runs",
        runs_of_property,
        "Initial syncs and reconciliations of a property, newest first, with progress",
        response=SyncRunList,
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/sync-policy",
        get_policy,
        "Who wins a stay both sides hold differently",
        response=SyncPolicy,
        errors=(400, 404),
    ),
    Endpoint(
        "PUT",
        "/admin/properties/{property_id}/sync-policy",
        put_policy,
        "Set who wins a stay both sides hold differently",
        body=SyncPolicy,
        response=SyncPolicy,
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/admin/sync-runs/{run_id}",
        get_run,
        "One sync run with its progress",
        response=SyncRun,
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/admin/drift",
        list_drift,
        "Drift records, newest first (status=open: what an operator must decide)",
        query=DriftQuery,
        response=DriftPage,
        errors=(400,),
    ),
]
