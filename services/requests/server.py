"""gRPC surface of the requests service: protobuf in, protobuf out; rules in domain.py, SQL in store.py.

Customers (and their delegates and applications) file, read, answer and cancel the requests of the customer number
they act for, with `requests:write` / `requests:read` in their grant. Staff whose roles give `requests:work` see the
tenant's whole queue and take every other step. What a type may be asked for on a supply point is the permission
matrix's row for the point's contract type, read from accounts on every submission (`accounts.py`): a type the row
does not allow is refused here, however the call arrives; so is a type the tenant's catalog does not offer (on that
contract type), which tenant administrators (`catalog:edit`) edit with UpdateCatalogEntry. Every change is written
to the request's timeline and the audit trail, and announced through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc
import sqlalchemy as sa
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2
from portal.events.v1 import requests_pb2 as events
from portal.requests.v1 import requests_pb2 as pb
from portal.requests.v1 import requests_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import audit, authz, bus, context, fields, guard
from kit.db import Database
from kit.errors import DomainError

from . import domain, steps, store
from .accounts import Accounts

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
MAX_IDEMPOTENCY_KEY = 200
MAX_COMMENT = 2000


def side() -> str:
    """customer or staff; the system counts as staff, anyone else is refused."""
    ctx = context.current()
    if ctx.subject_kind in (context.USER, context.CLIENT):
        return domain.CUSTOMER
    if ctx.subject_kind == context.SYSTEM:
        return domain.STAFF
    if ctx.subject_kind == context.STAFF and authz.REQUESTS_WORK in authz.staff_capabilities(ctx.capabilities):
        return domain.STAFF
    raise DomainError("forbidden")


def staff_only() -> None:
    if side() != domain.STAFF:
        raise DomainError("forbidden")


def _visible(row: sa.Row, capability: str) -> None:
    """A customer's own request, on a supply point their grant covers; staff see the tenant's."""
    if side() == domain.STAFF:
        return
    guard.owns(row.customer_number)
    if row.supply_point_id is None:
        if guard.supply_point_subset() is not None:
            raise DomainError("not_found")
    else:
        guard.supply_point(str(row.supply_point_id))
    guard.capability(capability)


def _ts(value: datetime | None) -> Any:
    return fields.timestamp(value) if value is not None else None


def request_pb(
    row: sa.Row, now: datetime, timeline: list[sa.Row] | None = None, attachments: list[sa.Row] | None = None
) -> pb.Request:
    by = side()
    return pb.Request(
        id=str(row.id),
        customer_number=row.customer_number,
        supply_point_id=str(row.supply_point_id or ""),
        contract_id=str(row.contract_id or ""),
        contract_type=row.contract_type,
        type=row.type,
        channel=row.channel,
        state=row.state,
        assignee=row.assignee if by == domain.STAFF else "",
        assignee_name=row.assignee_name if by == domain.STAFF else "",
        deadline_at=fields.timestamp(row.deadline_at),
        escalated_at=_ts(row.escalated_at),
        overdue=domain.is_overdue(row.state, row.deadline_at, now),
        created_at=fields.timestamp(row.created_at),
        updated_at=fields.timestamp(row.updated_at),
        values=[pb.FieldValue(name=k, value=v) for k, v in row.payload.items()],
        timeline=[
            pb.TimelineEntry(
                at=fields.timestamp(e.at),
                actor_kind=e.actor_kind,
                # customers learn that staff acted, not who
                actor=e.actor if by == domain.STAFF else "",
                action=e.action,
                from_state=e.from_state,
                to_state=e.to_state,
                text=e.text,
                internal=e.internal,
            )
            for e in timeline or ()
        ],
        actions=domain.available_actions(row.state, by),
        attachments=[
            pb.Attachment(id=str(a.id), file_name=a.file_name, content_type=a.content_type, size=a.size)
            for a in attachments or ()
        ],
    )


def catalog_entry_pb(t: domain.RequestType, matrix: dict[str, frozenset[str]]) -> pb.CatalogEntry:
    return pb.CatalogEntry(
        code=t.code,
        kind=t.kind,
        allowed_contract_types=domain.allowed_contract_types(t, matrix),
        fields=[
            pb.CatalogField(name=f.name, kind=f.kind, required=f.required, choices=f.choices, max_length=f.max_length)
            for f in t.fields
        ],
        deadline_days=t.deadline_days,
        needs_supply_point=t.needs_supply_point,
        capability=t.capability,
        offered=t.offered,
        contract_types=t.contract_types or (),
        position=t.position,
    )


def _entry_snapshot(t: domain.RequestType) -> dict[str, Any]:
    return {
        "offered": t.offered,
        "deadline_days": t.deadline_days,
        "contract_types": list(t.contract_types) if t.contract_types is not None else None,
        "position": t.position,
    }


def _page_size(page: common_pb2.PageRequest) -> int:
    size = page.page_size or DEFAULT_PAGE_SIZE
    if not 0 < size <= MAX_PAGE_SIZE:
        raise DomainError("page_size.invalid", field="page_size")
    return size


class RequestsServicer(requests_pb2_grpc.RequestsServiceServicer):
    def __init__(
        self, db: Database, accounts: Accounts, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.clock = clock

    async def _type(self, conn: AsyncConnection, code: str) -> domain.RequestType:
        found = next((t for t in await store.catalog_of(conn) if t.code == code), None)
        if found is None:
            raise DomainError("request.type_unknown", field="type")
        return found

    async def ListCatalog(self, request: pb.ListCatalogRequest, rpc: grpc.aio.ServicerContext) -> Any:
        by = side()
        if request.all_entries:
            guard.staff_capability(authz.CATALOG_EDIT)
        async with self.db.tenant() as conn:
            # what may be filed: immediate changes are made where their data lives, not filed here
            types = [
                t
                for t in await store.catalog_of(conn)
                if t.kind == domain.PROCESSED and (t.offered or request.all_entries)
            ]
        matrix = await self.accounts.matrix()
        if request.supply_point_id and not request.all_entries:
            point = await self.accounts.point(fields.parse_id(request.supply_point_id, "supply_point_id"))
            granted = context.current().capabilities if by == domain.CUSTOMER else None
            types = [
                t
                for t in types
                if domain.offered_on(t, point.contract_type, matrix)
                and (granted is None or {authz.REQUESTS_WRITE, t.capability} <= granted)
            ]
        return pb.ListCatalogResponse(entries=[catalog_entry_pb(t, matrix) for t in types])

    async def UpdateCatalogEntry(self, request: pb.UpdateCatalogEntryRequest, rpc: grpc.aio.ServicerContext) -> Any:
        guard.staff_capability(authz.CATALOG_EDIT)
        matrix = await self.accounts.matrix()
        async with self.db.tenant() as conn:
            before = await store.catalog_entry(conn, request.code.strip()[:64])
            if before is None:
                raise DomainError("request.type_unknown", field="code")
            after = domain.edited(
                before,
                offered=request.offered,
                deadline_days=request.deadline_days,
                contract_types=request.contract_types,
                position=request.position,
                known_contract_types=matrix,
            )
            if after != before:
                await store.put_catalog_entry(conn, after)
                await audit.record(
                    conn, "catalog", after.code, "changed", _entry_snapshot(before), _entry_snapshot(after)
                )
                await bus.emit(
                    conn,
                    self.db.service,
                    events.CatalogEntryChanged(
                        code=after.code,
                        offered=after.offered,
                        deadline_days=after.deadline_days,
                        contract_types=after.contract_types or (),
                        position=after.position,
                        changed_by=context.current().subject,
                    ),
                )
        return pb.UpdateCatalogEntryResponse(entry=catalog_entry_pb(after, matrix))

    async def _customer_of(self, requested: str) -> str:
        if side() == domain.CUSTOMER:
            guard.capability(authz.REQUESTS_WRITE)
            return guard.customer_number(requested)
        number = requested.strip()
        if not number:
            raise DomainError("customer_number.required", field="customer_number")
        # not_found for a number the tenant does not have
        await self.accounts.stub.GetCustomer(accounts_pb2.GetCustomerRequest(customer_number=number[:32]))
        return number

    async def Submit(self, request: pb.SubmitRequest, rpc: grpc.aio.ServicerContext) -> Any:
        by = side()
        customer_number = await self._customer_of(request.customer_number)
        async with self.db.tenant() as conn:
            kind = await self._type(conn, request.type)
        if kind.kind != domain.PROCESSED:
            raise DomainError("request.type_immediate", field="type")
        if not kind.offered:
            raise DomainError("request.type_unknown", field="type")
        channel = domain.channel_of(request.channel, by)
        key = request.idempotency_key.strip() or None
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
            raise DomainError("idempotency_key.invalid", field="idempotency_key")
        point = None
        if request.supply_point_id:
            point = await self.accounts.point(fields.parse_id(request.supply_point_id, "supply_point_id"))
            if point.customer_number != customer_number:
                raise DomainError("not_found", field="supply_point_id")
            matrix = await self.accounts.matrix()
            # the catalog and the permission matrix for this contract type, for customers and staff alike
            if not domain.offered_on(kind, point.contract_type, matrix):
                raise DomainError("forbidden.request_type", field="type")
            guard.capability(kind.capability, matrix[point.contract_type])
        elif kind.needs_supply_point:
            raise DomainError("request.supply_point_required", field="supply_point_id")
        elif by == domain.CUSTOMER and guard.supply_point_subset() is not None:
            # a delegate acts on the supply points granted, not for the customer as a whole
            raise DomainError("forbidden")
        # after the permission check, so a forbidden type is refused as such whatever its values
        values = domain.parse_values(kind, ((v.name, v.value) for v in request.values))
        files = domain.check_attachments([(a.file_name, a.content_type, a.content) for a in request.attachments])
        now = self.clock()
        ctx = context.current()
        async with self.db.tenant() as conn:
            row = await store.add(
                conn,
                customer_number=customer_number,
                supply_point_id=point.supply_point_id if point else None,
                contract_id=point.contract_id if point else None,
                contract_type=point.contract_type if point else "",
                request_type=kind.code,
                channel=channel,
                payload=values,
                deadline_at=domain.deadline(now, kind.deadline_days),
                created_by=f"{ctx.subject_kind}:{ctx.subject}",
                idempotency_key=key,
                now=now,
            )
            if row is None:
                assert key is not None
                before = await store.by_idempotency_key(conn, customer_number, key)
                if before is None or before.type != kind.code or before.payload != values:
                    raise DomainError("conflict", field="idempotency_key")
                return pb.SubmitResponse(request=request_pb(before, now), created=False)
            await store.add_attachments(conn, row.id, files)
            await store.add_event(conn, row.id, "submitted", now, to_state=row.state)
            await bus.emit(
                conn,
                self.db.service,
                events.RequestSubmitted(
                    request_id=str(row.id),
                    customer_number=customer_number,
                    supply_point_id=str(row.supply_point_id or ""),
                    type=row.type,
                    channel=channel,
                    deadline_at=fields.timestamp(row.deadline_at),
                    values=values,
                ),
            )
            await audit.record(
                conn,
                "request",
                str(row.id),
                "submitted",
                None,
                {**steps.snapshot(row), "type": row.type, **values},
                customer_number=customer_number,
            )
        return pb.SubmitResponse(request=request_pb(row, now), created=True)

    async def List(self, request: pb.ListRequest, rpc: grpc.aio.ServicerContext) -> Any:
        size = _page_size(request.page)
        after = domain.decode_page_token(request.page.page_token) if request.page.page_token else None
        now = self.clock()
        if side() == domain.CUSTOMER:
            guard.capability(authz.REQUESTS_READ)
            numbers = guard.customer_numbers(request.customer_numbers)
            subset = guard.supply_point_subset()
            async with self.db.tenant() as conn:
                rows, total = await store.of_customers(
                    conn, numbers, sorted(subset) if subset is not None else None, after, size
                )
            shown = rows[:size]
            token = domain.encode_page_token(shown[-1].created_at, shown[-1].id) if len(rows) > size else ""
            return pb.ListResponse(
                requests=[request_pb(r, now) for r in shown],
                page=common_pb2.PageInfo(next_page_token=token, total_size=total),
            )
        states = domain.states_filter(request.states)
        if request.assignee and request.unassigned_only:
            raise DomainError("request.assignee_conflict", field="assignee")
        async with self.db.tenant() as conn:
            rows = await store.queue(
                conn,
                states=states,
                request_type=request.type.strip(),
                assignee="" if request.unassigned_only else (request.assignee.strip() or None),
                overdue_at=now if request.overdue_only else None,
                customer_numbers=[n for n in request.customer_numbers if n],
                after=after,
                limit=size,
            )
        shown = rows[:size]
        token = domain.encode_page_token(shown[-1].deadline_at, shown[-1].id) if len(rows) > size else ""
        return pb.ListResponse(
            requests=[request_pb(r, now) for r in shown], page=common_pb2.PageInfo(next_page_token=token)
        )

    async def Get(self, request: pb.GetRequest, rpc: grpc.aio.ServicerContext) -> Any:
        request_id = fields.parse_id(request.request_id, "request_id")
        async with self.db.tenant() as conn:
            row = await store.get(conn, request_id)
            if row is None:
                raise DomainError("not_found")
            _visible(row, authz.REQUESTS_READ)
            timeline = await store.timeline(conn, request_id, with_internal=side() == domain.STAFF)
            files = await store.attachments_of(conn, request_id)
        return pb.GetResponse(request=request_pb(row, self.clock(), timeline, files))

    async def GetAttachment(self, request: pb.GetAttachmentRequest, rpc: grpc.aio.ServicerContext) -> Any:
        request_id = fields.parse_id(request.request_id, "request_id")
        attachment_id = fields.parse_id(request.attachment_id, "attachment_id")
        async with self.db.tenant() as conn:
            row = await store.get(conn, request_id)
            if row is None:
                raise DomainError("not_found")
            _visible(row, authz.REQUESTS_READ)
            found = await store.attachment(conn, request_id, attachment_id)
        if found is None:
            raise DomainError("not_found")
        return pb.GetAttachmentResponse(
            attachment=pb.Attachment(
                id=str(found.id),
                file_name=found.file_name,
                content_type=found.content_type,
                size=found.size,
                content=found.content,
            )
        )

    async def ListAudit(self, request: pb.ListAuditRequest, rpc: grpc.aio.ServicerContext) -> Any:
        return await audit.list_audit(self.db, request, pb.ListAuditResponse)

    async def _change(self, request_id: str, capability: str, apply: Callable[..., Any]) -> pb.Request:
        """Runs `apply(conn, row, now)` on the locked request the caller may change; answers it with its timeline."""
        parsed = fields.parse_id(request_id, "request_id")
        now = self.clock()
        async with self.db.tenant() as conn:
            row = await store.get(conn, parsed, lock=True)
            if row is None:
                raise DomainError("not_found")
            _visible(row, capability)
            after = await apply(conn, row, now)
            timeline = await store.timeline(conn, parsed, with_internal=side() == domain.STAFF)
            files = await store.attachments_of(conn, parsed)
        return request_pb(after, now, timeline, files)

    async def Transition(self, request: pb.TransitionRequest, rpc: grpc.aio.ServicerContext) -> Any:
        by = side()
        reason = request.reason.strip()
        files = domain.step_attachments(
            request.action, [(a.file_name, a.content_type, a.content) for a in request.attachments]
        )

        async def apply(conn: AsyncConnection, row: sa.Row, now: datetime) -> sa.Row:
            # refused before the files are stored: a step the machine does not allow stores nothing
            domain.transition(row.state, request.action, by, reason)
            if files:
                domain.check_room(await store.attachment_count(conn, row.id), len(files))
                await store.add_attachments(conn, row.id, files)
            return await steps.take(conn, self.db.service, row, request.action, by, reason, now)

        return pb.TransitionResponse(request=await self._change(request.request_id, authz.REQUESTS_WRITE, apply))

    async def Comment(self, request: pb.CommentRequest, rpc: grpc.aio.ServicerContext) -> Any:
        staff_only()
        text = request.text.strip()
        if not text:
            raise DomainError("request.comment_required", field="text")
        if len(text) > MAX_COMMENT:
            raise DomainError("request.comment_too_long", field="text", params={"max": str(MAX_COMMENT)})

        async def apply(conn: AsyncConnection, row: sa.Row, now: datetime) -> sa.Row:
            await store.add_event(conn, row.id, "comment", now, text=text, internal=request.internal)
            if not request.internal:
                # the customer is told of what they can read (notifications e-mails them), never of internal notes
                await bus.emit(
                    conn,
                    self.db.service,
                    events.RequestCommented(
                        request_id=str(row.id), customer_number=row.customer_number, type=row.type, text=text
                    ),
                )
            await audit.record(
                conn,
                "request",
                str(row.id),
                "comment",
                None,
                {"text": text, "internal": request.internal},
                customer_number=row.customer_number,
            )
            return await store.update(conn, row.id, now)

        return pb.CommentResponse(request=await self._change(request.request_id, authz.REQUESTS_WRITE, apply))

    async def Assign(self, request: pb.AssignRequest, rpc: grpc.aio.ServicerContext) -> Any:
        staff_only()
        assignee = request.assignee.strip()[:100]
        name = request.assignee_name.strip()[:200] if assignee else ""

        async def apply(conn: AsyncConnection, row: sa.Row, now: datetime) -> sa.Row:
            if row.state not in domain.OPEN_STATES:
                raise DomainError("precondition.request_closed", field="assignee")
            after = await store.update(conn, row.id, now, assignee=assignee, assignee_name=name)
            await store.add_event(conn, row.id, "assign", now, text=name, internal=True)
            await audit.record(
                conn,
                "request",
                str(row.id),
                "assign",
                steps.snapshot(row),
                steps.snapshot(after),
                customer_number=row.customer_number,
            )
            return after

        return pb.AssignResponse(request=await self._change(request.request_id, authz.REQUESTS_WRITE, apply))
