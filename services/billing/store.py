"""All SQL of the billing service."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import db
from kit.db import bound_tenant, scoped, scoped_by_parameter, tenant_parameter

from . import domain

metadata = sa.MetaData()

reading_photos = sa.Table(
    "reading_photos",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("content_type", sa.Text),
    sa.Column("size", sa.Integer),
    sa.Column("content", sa.LargeBinary),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

readings = sa.Table(
    "readings",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("supply_point_id", sa.Uuid),
    sa.Column("customer_number", sa.Text),
    sa.Column("read_on", sa.Date),
    sa.Column("source", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("consumption_kwh", sa.Numeric(16, 3)),
    sa.Column("photo_id", sa.Uuid),
    sa.Column("created_by", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("idempotency_key", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

reading_values = sa.Table(
    "reading_values",
    metadata,
    sa.Column("reading_id", sa.Uuid, primary_key=True),
    sa.Column("register", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("value", sa.Numeric(15, 3)),
)

# one submission at a time per supply point, so each is checked against the reading stored before it
_POINT_LOCK = "billing.readings."


async def lock_point(conn: AsyncConnection, supply_point_id: uuid.UUID) -> None:
    key = sa.func.hashtext(_POINT_LOCK + bound_tenant(conn) + str(supply_point_id))
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


@functools.cache
def _statements(app_filter: bool) -> dict[str, Any]:
    """The statements of every submission and page, built once (see accounts/store.py for why); `app_filter` is
    APPLICATION_TENANT_FILTER, part of the key because tests switch it."""
    values = (
        sa.select(sa.func.jsonb_object_agg(reading_values.c.register, sa.cast(reading_values.c.value, sa.Text)))
        .where(reading_values.c.reading_id == readings.c.id, scoped_by_parameter(reading_values))
        .scalar_subquery()
        .label("values")
    )
    photo = (
        sa.select(reading_photos.c.content_type, reading_photos.c.size)
        .where(reading_photos.c.id == readings.c.photo_id, scoped_by_parameter(reading_photos))
        .lateral("photo")
    )
    with_values = (
        sa.select(readings, values, photo.c.content_type.label("photo_content_type"), photo.c.size.label("photo_size"))
        .select_from(readings.outerjoin(photo, sa.true()))
        .where(scoped_by_parameter(readings))
    )
    of_point = with_values.where(readings.c.supply_point_id == sa.bindparam("point", type_=sa.Uuid))
    newest_first = (readings.c.read_on.desc(), readings.c.id.desc())
    return {
        "last_actual": of_point.where(readings.c.source != domain.ESTIMATE).order_by(*newest_first).limit(1),
        "all": of_point.order_by(readings.c.read_on, readings.c.id),
        "first_page": of_point.order_by(*newest_first).limit(sa.bindparam("limit")),
        "next_page": of_point.where(
            sa.tuple_(readings.c.read_on, readings.c.id)
            < sa.tuple_(sa.bindparam("after_day", type_=sa.Date), sa.bindparam("after_id", type_=sa.Uuid))
        )
        .order_by(*newest_first)
        .limit(sa.bindparam("limit")),
        "by_key": with_values.where(
            readings.c.created_by == sa.bindparam("created_by"),
            readings.c.idempotency_key == sa.bindparam("key"),
        ),
        "by_id": with_values.where(readings.c.id == sa.bindparam("id", type_=sa.Uuid)),
        "count": sa.select(sa.func.count())
        .select_from(readings)
        .where(scoped_by_parameter(readings), readings.c.supply_point_id == sa.bindparam("point", type_=sa.Uuid)),
    }


async def _run(conn: AsyncConnection, name: str, **params: Any) -> sa.CursorResult[Any]:
    if db.APPLICATION_TENANT_FILTER:
        params.update(tenant_parameter(conn))
    return await conn.execute(_statements(db.APPLICATION_TENANT_FILTER)[name], params)


def as_reading(row: sa.Row) -> domain.Reading:
    return domain.Reading(
        read_on=row.read_on, values={k: Decimal(v) for k, v in (row.values or {}).items()}, source=row.source
    )


async def last_actual(conn: AsyncConnection, supply_point_id: uuid.UUID) -> sa.Row | None:
    return (await _run(conn, "last_actual", point=supply_point_id)).first()


async def all_of(conn: AsyncConnection, supply_point_id: uuid.UUID) -> list[sa.Row]:
    return list((await _run(conn, "all", point=supply_point_id)).all())


async def by_idempotency_key(conn: AsyncConnection, created_by: str, key: str) -> sa.Row | None:
    return (await _run(conn, "by_key", created_by=created_by, key=key)).first()


async def page(
    conn: AsyncConnection, supply_point_id: uuid.UUID, after: tuple[date, uuid.UUID] | None, limit: int
) -> tuple[list[sa.Row], int]:
    """One page newest first (keyset: page 40 costs what page 1 does) and how many readings the point has."""
    if after is None:
        rows = await _run(conn, "first_page", point=supply_point_id, limit=limit + 1)
    else:
        rows = await _run(
            conn, "next_page", point=supply_point_id, after_day=after[0], after_id=after[1], limit=limit + 1
        )
    found = list(rows.all())
    total = (await _run(conn, "count", point=supply_point_id)).scalar_one()
    return found, total


async def reading(conn: AsyncConnection, reading_id: uuid.UUID) -> sa.Row | None:
    return (await _run(conn, "by_id", id=reading_id)).first()


async def photo(conn: AsyncConnection, photo_id: uuid.UUID) -> sa.Row | None:
    query = sa.select(reading_photos.c.content, reading_photos.c.content_type).where(
        reading_photos.c.id == photo_id, scoped(conn, reading_photos)
    )
    return (await conn.execute(query)).first()


async def add_photo(conn: AsyncConnection, content: bytes, content_type: str) -> uuid.UUID:
    photo_id = uuid.uuid4()
    await conn.execute(
        reading_photos.insert().values(
            id=photo_id,
            tenant_id=uuid.UUID(bound_tenant(conn)),
            content_type=content_type,
            size=len(content),
            content=content,
        )
    )
    return photo_id


async def add_reading(
    conn: AsyncConnection,
    *,
    supply_point_id: uuid.UUID,
    customer_number: str,
    reading: domain.Reading,
    verdict: domain.Verdict,
    photo_id: uuid.UUID | None,
    created_by: str,
    channel: str,
    idempotency_key: str | None,
    now: datetime,
) -> sa.Row:
    reading_id = uuid.uuid4()
    tenant = uuid.UUID(bound_tenant(conn))
    await conn.execute(
        readings.insert().values(
            id=reading_id,
            tenant_id=tenant,
            supply_point_id=supply_point_id,
            customer_number=customer_number,
            read_on=reading.read_on,
            source=reading.source,
            status=verdict.status,
            consumption_kwh=verdict.consumption_kwh,
            photo_id=photo_id,
            created_by=created_by,
            channel=channel,
            idempotency_key=idempotency_key,
            created_at=now,
        )
    )
    await conn.execute(
        reading_values.insert(),
        [{"reading_id": reading_id, "register": r, "tenant_id": tenant, "value": v} for r, v in reading.values.items()],
    )
    return (await _run(conn, "by_id", id=reading_id)).one()


async def add_many(conn: AsyncConnection, rows: Sequence[dict[str, Any]], values: Sequence[dict[str, Any]]) -> int:
    """Bulk insert of readings with given ids (the demo seed); those stored before are left as they are. Returns
    how many readings were new."""
    if not rows:
        return 0
    inserted = await conn.execute(
        insert(readings).on_conflict_do_nothing(index_elements=["id"]).returning(readings.c.id), list(rows)
    )
    new = {r.id for r in inserted}
    fresh = [v for v in values if v["reading_id"] in new]
    if fresh:
        await conn.execute(reading_values.insert(), fresh)
    return len(new)


# --- price lists, advances, invoices, payments, reminders --------------------------------------------------

billing_terms = sa.Table(
    "billing_terms",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("collection_iban", sa.Text),
    sa.Column("collection_bic", sa.Text),
    sa.Column("payment_days", sa.Integer),
)

price_lists = sa.Table(
    "price_lists",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("product", sa.Text),
    sa.Column("commodity", sa.Text),
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_to", sa.Date),
    sa.Column("currency", sa.Text),
    sa.Column("body", JSONB),
)

advances = sa.Table(
    "advances",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("supply_point_id", sa.Uuid),
    sa.Column("supply_point_identifier", sa.Text),
    sa.Column("customer_number", sa.Text),
    sa.Column("contract_type", sa.Text),
    sa.Column("variable_symbol", sa.Text),
    sa.Column("due_date", sa.Date),
    sa.Column("amount", sa.Numeric(14, 2)),
    sa.Column("paid", sa.Numeric(14, 2)),
    sa.Column("currency", sa.Text),
)

invoice_numbers = sa.Table(
    "invoice_numbers",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last", sa.Integer),
)

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("number", sa.Text),
    sa.Column("variable_symbol", sa.Text),
    sa.Column("kind", sa.Text),
    sa.Column("customer_number", sa.Text),
    sa.Column("supply_point_id", sa.Uuid),
    sa.Column("supply_point_identifier", sa.Text),
    sa.Column("commodity", sa.Text),
    sa.Column("contract_type", sa.Text),
    sa.Column("period_from", sa.Date),
    sa.Column("period_to", sa.Date),
    sa.Column("issue_date", sa.Date),
    sa.Column("due_date", sa.Date),
    sa.Column("currency", sa.Text),
    sa.Column("total", sa.Numeric(14, 2)),
    sa.Column("advances", sa.Numeric(14, 2)),
    sa.Column("amount_due", sa.Numeric(14, 2)),
    sa.Column("settled", sa.Numeric(14, 2)),
    sa.Column("total_cents", sa.BigInteger, sa.Computed("(total * 100)::bigint")),
    sa.Column("amount_due_cents", sa.BigInteger, sa.Computed("(amount_due * 100)::bigint")),
    sa.Column("locale", sa.Text),
    sa.Column("settlement", JSONB),
    sa.Column("original_invoice_id", sa.Uuid),
    sa.Column("request_id", sa.Uuid),
    sa.Column("bill_run", sa.Text),
    sa.Column("e_invoice", sa.Boolean),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

invoice_documents = sa.Table(
    "invoice_documents",
    metadata,
    sa.Column("invoice_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("pdf", sa.LargeBinary),
    sa.Column("isdoc", sa.LargeBinary),
)

bill_runs = sa.Table(
    "bill_runs",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("id", sa.Uuid),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("cursor", sa.Text),
    sa.Column("issued", sa.Integer),
    sa.Column("skipped", sa.Integer),
    sa.Column("failed", sa.Integer),
    sa.Column("points", sa.Integer),
    sa.Column("problems", JSONB),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("direction", sa.Text),
    sa.Column("account", sa.Text),
    sa.Column("reference", sa.Text),
    sa.Column("booked_on", sa.Date),
    sa.Column("amount", sa.Numeric(14, 2)),
    sa.Column("currency", sa.Text),
    sa.Column("variable_symbol", sa.Text),
    sa.Column("counterparty_account", sa.Text),
    sa.Column("counterparty_name", sa.Text),
    sa.Column("message", sa.Text),
    sa.Column("customer_number", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("unallocated", sa.Numeric(14, 2)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

allocations = sa.Table(
    "allocations",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("payment_id", sa.Uuid),
    sa.Column("invoice_id", sa.Uuid),
    sa.Column("advance_id", sa.Uuid),
    sa.Column("amount", sa.Numeric(14, 2)),
)

reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("customer_number", sa.Text),
    sa.Column("invoice_id", sa.Uuid),
    sa.Column("advance_id", sa.Uuid),
    sa.Column("level", sa.Integer),
    sa.Column("issued_on", sa.Date),
    sa.Column("deadline", sa.Date),
    sa.Column("amount", sa.Numeric(14, 2)),
    sa.Column("currency", sa.Text),
    sa.Column("closed_on", sa.Date),
)


def _tenant(conn: AsyncConnection) -> uuid.UUID:
    return uuid.UUID(bound_tenant(conn))


async def put_terms(conn: AsyncConnection, collection_iban: str, collection_bic: str, payment_days: int) -> None:
    """The tenant's billing terms when it has none; changed terms stay."""
    await conn.execute(
        insert(billing_terms)
        .values(
            tenant_id=_tenant(conn),
            collection_iban=collection_iban,
            collection_bic=collection_bic,
            payment_days=payment_days,
        )
        .on_conflict_do_nothing()
    )


async def terms(conn: AsyncConnection) -> sa.Row | None:
    return (await conn.execute(sa.select(billing_terms).where(scoped(conn, billing_terms)))).first()


async def put_price_lists(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Price lists as given; one already stored for the same product and start keeps its components."""
    if rows:
        await conn.execute(
            insert(price_lists).on_conflict_do_nothing(),
            [{"tenant_id": _tenant(conn), "id": uuid.uuid4(), **r} for r in rows],
        )


async def price_lists_of(conn: AsyncConnection, product: str, commodity: str) -> list[sa.Row]:
    query = sa.select(price_lists).where(
        scoped(conn, price_lists), price_lists.c.product == product, price_lists.c.commodity == commodity
    )
    return list((await conn.execute(query.order_by(price_lists.c.valid_from))).all())


async def put_advances(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> int:
    """An advance plan's advances; one already planned for the same point and day stays as it is."""
    if not rows:
        return 0
    done = await conn.execute(
        insert(advances).on_conflict_do_nothing().returning(advances.c.id),
        [{"tenant_id": _tenant(conn), "id": uuid.uuid4(), "paid": 0, **r} for r in rows],
    )
    return len(done.all())


async def advances_of(
    conn: AsyncConnection,
    customer_number: str,
    first: date,
    last: date,
    contract_types: Sequence[str],
    only_points: Sequence[uuid.UUID] | None,
) -> list[sa.Row]:
    query = sa.select(advances).where(
        scoped(conn, advances),
        advances.c.customer_number == customer_number,
        advances.c.due_date.between(first, last),
        advances.c.contract_type.in_(list(contract_types)),
    )
    if only_points is not None:
        query = query.where(advances.c.supply_point_id.in_(list(only_points)))
    return list((await conn.execute(query.order_by(advances.c.due_date, advances.c.supply_point_identifier))).all())


async def invoice(conn: AsyncConnection, invoice_id: uuid.UUID) -> sa.Row | None:
    query = sa.select(invoices).where(scoped(conn, invoices), invoices.c.id == invoice_id)
    return (await conn.execute(query)).first()


async def invoices_of_point(
    conn: AsyncConnection, supply_point_id: uuid.UUID, settled_to_from: date
) -> list[uuid.UUID]:
    """The ids of a supply point's invoices whose period ends on or after `settled_to_from`."""
    query = sa.select(invoices.c.id).where(
        scoped(conn, invoices), invoices.c.supply_point_id == supply_point_id, invoices.c.period_to >= settled_to_from
    )
    return [r.id for r in await conn.execute(query)]


async def invoice_document(conn: AsyncConnection, invoice_id: uuid.UUID) -> sa.Row | None:
    query = sa.select(invoice_documents).where(
        scoped(conn, invoice_documents), invoice_documents.c.invoice_id == invoice_id
    )
    return (await conn.execute(query)).first()


@dataclass(frozen=True)
class InvoiceFilter:
    customer_number: str
    contract_types: Sequence[str]
    only_points: Sequence[uuid.UUID] | None = None
    number: str = ""
    amount: Decimal | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    status: str = ""
    supply_point_id: uuid.UUID | None = None
    today: date | None = None


def _status_condition(status: str, today: date | None) -> sa.ColumnElement[bool]:
    c = invoices.c
    unpaid = sa.and_(c.amount_due > 0, c.settled < c.amount_due)
    return {
        "unpaid": unpaid,
        "overdue": sa.and_(unpaid, c.due_date < today),
        "paid": sa.and_(c.amount_due > 0, c.settled >= c.amount_due),
        "refund_due": sa.and_(c.amount_due < 0, c.settled < -c.amount_due),
        "refunded": sa.and_(c.amount_due < 0, c.settled >= -c.amount_due),
    }[status]


INVOICE_STATUSES = ("unpaid", "overdue", "paid", "refund_due", "refunded")
MAX_COUNTED = 1_000


async def invoices_page(
    conn: AsyncConnection, f: InvoiceFilter, after: tuple[date, uuid.UUID] | None, limit: int
) -> tuple[list[sa.Row], int]:
    """One page newest first (keyset on issue day and id) and the count for the filter."""
    c = invoices.c
    conditions: list[Any] = [
        scoped(conn, invoices),
        c.customer_number == f.customer_number,
        c.contract_type.in_(list(f.contract_types)),
    ]
    if f.only_points is not None:
        conditions.append(c.supply_point_id.in_(list(f.only_points)))
    if f.number:
        # a prefix of digits as a range of the unique number index (an invoice's variable symbol is its number)
        conditions.append(sa.and_(c.number >= f.number, c.number < f.number[:-1] + chr(ord(f.number[-1]) + 1)))
    if f.amount is not None:
        cents = int(f.amount * 100)
        conditions.append(sa.or_(c.total_cents == cents, c.amount_due_cents == cents))
    if f.issued_from:
        conditions.append(c.issue_date >= f.issued_from)
    if f.issued_to:
        conditions.append(c.issue_date <= f.issued_to)
    if f.due_from:
        conditions.append(c.due_date >= f.due_from)
    if f.due_to:
        conditions.append(c.due_date <= f.due_to)
    if f.status:
        conditions.append(_status_condition(f.status, f.today))
    if f.supply_point_id:
        conditions.append(c.supply_point_id == f.supply_point_id)
    # A number or an amount finds a handful among the customer's thousands: the rows are found by those filters'
    # indexes first (OFFSET 0 keeps PostgreSQL from walking the customer's invoices by date in hope of an early
    # match), then ordered. Counted up to a bound: a business with a hundred thousand invoices is told "more than
    # 1,000", not made to wait while every one is counted on every page.
    selective = bool(f.number) or f.amount is not None
    matching = sa.select(invoices).where(*conditions)
    if selective:
        # planned for its own values: a plan made once for any number or amount walks the customer's invoices
        await conn.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))
        matching = matching.offset(0)
    counted = matching.with_only_columns(sa.literal(1)).limit(MAX_COUNTED + 1).subquery()
    total = (await conn.execute(sa.select(sa.func.count()).select_from(counted))).scalar_one()
    found = matching.subquery() if selective else invoices
    query = sa.select(found)
    if not selective:
        query = query.where(*conditions)
    if after is not None:
        keyset = sa.tuple_(found.c.issue_date, found.c.id) < sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
        query = query.where(keyset)
    query = query.order_by(found.c.issue_date.desc(), found.c.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all()), total


# --- bill runs ---------------------------------------------------------------------------------------

# problems a run keeps to report; more are counted, not listed
MAX_PROBLEMS = 1000


async def start_bill_run(conn: AsyncConnection, period: str, now: datetime) -> sa.Row:
    """The tenant's run of `period`: the stopped one to go on with, or a new one (also after a finished one)."""
    tenant = _tenant(conn)
    fresh = {
        "id": uuid.uuid4(),
        "started_at": now,
        "finished_at": None,
        "cursor": "",
        "issued": 0,
        "skipped": 0,
        "failed": 0,
        "points": 0,
        "problems": [],
    }
    statement = (
        insert(bill_runs)
        .values(tenant_id=tenant, period=period, **fresh)
        .on_conflict_do_update(
            index_elements=["tenant_id", "period"],
            set_={
                k: sa.case(
                    (bill_runs.c.finished_at.is_(None), getattr(bill_runs.c, k)),
                    else_=sa.literal(v, type_=bill_runs.c[k].type),
                )
                for k, v in fresh.items()
            },
        )
        .returning(*bill_runs.c)
    )
    return (await conn.execute(statement)).one()


async def advance_bill_run(
    conn: AsyncConnection,
    period: str,
    cursor: str,
    *,
    issued: int,
    skipped: int,
    failed: int,
    problems: list[str],
    points: int | None,
) -> sa.Row:
    """Counts a stored batch and moves the cursor past it; `points` is the tenant's count, known on the first."""
    c = bill_runs.c
    statement = (
        bill_runs.update()
        .where(scoped(conn, bill_runs), c.period == period)
        .values(
            cursor=cursor,
            issued=c.issued + issued,
            skipped=c.skipped + skipped,
            failed=c.failed + failed,
            points=c.points if points is None else points,
            problems=sa.func.jsonb_path_query_array(
                c.problems.op("||")(sa.literal(problems, type_=JSONB)),
                sa.literal_column(f"'$[0 to {MAX_PROBLEMS - 1}]'::jsonpath"),
            ),
        )
        .returning(*bill_runs.c)
    )
    return (await conn.execute(statement)).one()


async def finish_bill_run(conn: AsyncConnection, period: str, now: datetime) -> sa.Row:
    statement = (
        bill_runs.update()
        .where(scoped(conn, bill_runs), bill_runs.c.period == period)
        .values(finished_at=now, cursor="")
        .returning(*bill_runs.c)
    )
    return (await conn.execute(statement)).one()


# --- balance -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    # what is due by today (invoices and advances), less overpayments not yet refunded or kept unallocated
    owed: Decimal
    overdue: Decimal
    currency: str | None


async def balance(conn: AsyncConnection, customer_number: str, today: date, contract_types: Sequence[str]) -> Balance:
    i, a, p = invoices.c, advances.c, payments.c
    invoice_open = sa.case((i.amount_due >= 0, i.amount_due - i.settled), else_=i.amount_due + i.settled)
    of_invoices = sa.select(
        sa.func.coalesce(sa.func.sum(invoice_open), 0),
        sa.func.coalesce(
            sa.func.sum(sa.case((sa.and_(i.amount_due > 0, i.due_date < today), invoice_open), else_=0)), 0
        ),
        sa.func.min(i.currency),
    ).where(scoped(conn, invoices), i.customer_number == customer_number, i.contract_type.in_(list(contract_types)))
    of_advances = sa.select(
        sa.func.coalesce(sa.func.sum(a.amount - a.paid), 0),
        sa.func.coalesce(sa.func.sum(sa.case((a.due_date < today, a.amount - a.paid), else_=0)), 0),
        sa.func.min(a.currency),
    ).where(
        scoped(conn, advances),
        a.customer_number == customer_number,
        a.due_date <= today,
        a.contract_type.in_(list(contract_types)),
    )
    kept = sa.select(sa.func.coalesce(sa.func.sum(p.unallocated), 0)).where(
        scoped(conn, payments), p.customer_number == customer_number, p.direction == "in"
    )
    owed_i, overdue_i, currency_i = (await conn.execute(of_invoices)).one()
    owed_a, overdue_a, currency_a = (await conn.execute(of_advances)).one()
    unallocated = (await conn.execute(kept)).scalar_one()
    return Balance(
        owed=Decimal(owed_i) + Decimal(owed_a) - Decimal(unallocated),
        overdue=Decimal(overdue_i) + Decimal(overdue_a),
        currency=currency_i or currency_a,
    )


async def open_reminders(conn: AsyncConnection, customer_number: str) -> list[sa.Row]:
    r = reminders.c
    query = (
        sa.select(reminders, invoices.c.number.label("invoice_number"), advances.c.due_date.label("advance_due"))
        .select_from(
            reminders.outerjoin(invoices, invoices.c.id == r.invoice_id).outerjoin(
                advances, advances.c.id == r.advance_id
            )
        )
        .where(scoped(conn, reminders), r.customer_number == customer_number, r.closed_on.is_(None))
        .order_by(r.issued_on.desc(), r.level.desc())
    )
    return list((await conn.execute(query)).all())


# --- payments --------------------------------------------------------------------------------------------

# the payments module's item ids carry the kind, so one allocation names an invoice or an advance
INVOICE_ITEM = "invoice:"
ADVANCE_ITEM = "advance:"
# what a payment's outcome is stored as; money out that is no payment of ours is not stored
PAYMENT_STATUS = {
    "paid": "matched",
    "partial": "partial",
    "overpaid": "overpaid",
    "unmatched": "unmatched",
    "held": "held",
    "reversed": "returned",
}
QUEUED = ("partial", "overpaid", "unmatched", "held")


async def known_references(conn: AsyncConnection, account: str, references: Sequence[str]) -> set[str]:
    """Of a statement's line references, those imported before (from the same account)."""
    found: set[str] = set()
    for i in range(0, len(references), 10_000):
        chunk = list(references[i : i + 10_000])
        query = sa.select(payments.c.reference).where(
            scoped(conn, payments), payments.c.account == account, payments.c.reference.in_(chunk)
        )
        found.update(r.reference for r in await conn.execute(query))
    return found


def _open_items(conn: AsyncConnection, invoice_filter: Any, advance_filter: Any) -> Any:
    """Invoices asking for money and advances not paid in full, as the payments module's items: (item id, kind,
    symbol, customer number, outstanding, due date, currency)."""
    i, a = invoices.c, advances.c
    of_invoices = sa.select(
        (sa.literal(INVOICE_ITEM) + sa.cast(i.id, sa.Text)).label("item"),
        sa.literal("invoice").label("kind"),
        i.variable_symbol,
        i.customer_number,
        (i.amount_due - i.settled).label("outstanding"),
        i.due_date,
        i.currency,
    ).where(scoped(conn, invoices), i.amount_due > 0, invoice_filter)
    of_advances = sa.select(
        (sa.literal(ADVANCE_ITEM) + sa.cast(a.id, sa.Text)).label("item"),
        sa.literal("advance").label("kind"),
        a.variable_symbol,
        a.customer_number,
        (a.amount - a.paid).label("outstanding"),
        a.due_date,
        a.currency,
    ).where(scoped(conn, advances), a.paid < a.amount, advance_filter)
    return of_invoices.union_all(of_advances)


async def items_with_symbols(conn: AsyncConnection, symbols: Sequence[str]) -> list[sa.Row]:
    """The items (`_open_items`) whose variable symbol is one of `symbols`. Paid invoices are included, so a second
    payment of one counts as the customer's overpayment rather than a stranger's."""
    found: list[sa.Row] = []
    for n in range(0, len(symbols), 10_000):
        chunk = list(symbols[n : n + 10_000])
        query = _open_items(conn, invoices.c.variable_symbol.in_(chunk), advances.c.variable_symbol.in_(chunk))
        found += list((await conn.execute(query)).all())
    return found


def item_uuid(item_id: str) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    kind, _, raw = item_id.partition(":")
    return (uuid.UUID(raw), None) if kind + ":" == INVOICE_ITEM else (None, uuid.UUID(raw))


async def record_payments(conn: AsyncConnection, account: str, rows: Sequence[dict[str, Any]]) -> None:
    """Stores payments with their allocations, moves what the invoices and advances have had paid, and closes
    the reminders of the items paid in full. Each row: the payment's columns and `allocations`, a list of
    (item id, amount, settled) tuples."""
    if not rows:
        return
    tenant = _tenant(conn)
    await conn.execute(
        payments.insert(),
        [{"tenant_id": tenant, "account": account, **{k: v for k, v in r.items() if k != "allocations"}} for r in rows],
    )
    shares: list[dict[str, Any]] = []
    by_invoice: dict[uuid.UUID, Decimal] = {}
    by_advance: dict[uuid.UUID, Decimal] = {}
    closed: list[dict[str, Any]] = []
    for r in rows:
        for item_id, amount, settled in r["allocations"]:
            invoice_id, advance_id = item_uuid(item_id)
            shares.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant,
                    "payment_id": r["id"],
                    "invoice_id": invoice_id,
                    "advance_id": advance_id,
                    "amount": amount,
                }
            )
            if invoice_id:
                by_invoice[invoice_id] = by_invoice.get(invoice_id, Decimal(0)) + amount
            else:
                assert advance_id is not None
                by_advance[advance_id] = by_advance.get(advance_id, Decimal(0)) + amount
            if settled:
                closed.append({"invoice_id": invoice_id, "advance_id": advance_id, "closed_on": r["booked_on"]})
    if shares:
        await conn.execute(allocations.insert(), shares)
    for table, column, moved in ((invoices, "settled", by_invoice), (advances, "paid", by_advance)):
        if not moved:
            continue
        ids, amounts = list(moved), [moved[k] for k in moved]
        update = sa.text(
            f"UPDATE {table.name} AS t SET {column} = t.{column} + m.amount "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:amounts AS numeric[])) AS m(id, amount) "
            "WHERE t.id = m.id AND t.tenant_id = :tenant"
        )
        await conn.execute(update, {"ids": ids, "amounts": amounts, "tenant": tenant})
    for c in closed:
        item = (
            reminders.c.invoice_id == c["invoice_id"] if c["invoice_id"] else reminders.c.advance_id == c["advance_id"]
        )
        await conn.execute(
            reminders.update()
            .where(scoped(conn, reminders), item, reminders.c.closed_on.is_(None))
            .values(closed_on=c["closed_on"])
        )


async def payments_page(
    conn: AsyncConnection, customer_number: str, after: tuple[date, uuid.UUID] | None, limit: int
) -> tuple[list[sa.Row], int]:
    p = payments.c
    conditions: list[Any] = [scoped(conn, payments), p.customer_number == customer_number]
    total = (await conn.execute(sa.select(sa.func.count()).select_from(payments).where(*conditions))).scalar_one()
    if after is not None:
        conditions.append(sa.tuple_(p.booked_on, p.id) < sa.tuple_(sa.literal(after[0]), sa.literal(after[1])))
    paid = (
        sa.select(sa.func.array_agg(sa.func.coalesce(invoices.c.number, sa.cast(advances.c.due_date, sa.Text))))
        .select_from(
            allocations.outerjoin(invoices, invoices.c.id == allocations.c.invoice_id).outerjoin(
                advances, advances.c.id == allocations.c.advance_id
            )
        )
        .where(allocations.c.payment_id == p.id, scoped(conn, allocations))
        .scalar_subquery()
        .label("paid_items")
    )
    query = sa.select(payments, paid).where(*conditions).order_by(p.booked_on.desc(), p.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all()), total


async def payment_queue(conn: AsyncConnection, limit: int) -> list[sa.Row]:
    """Payments staff must look at (partial, over-, unmatched, held), oldest first."""
    p = payments.c
    query = (
        sa.select(payments)
        .where(scoped(conn, payments), p.status.in_(QUEUED), p.resolved_at.is_(None))
        .order_by(p.booked_on, p.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


# --- reminders ---------------------------------------------------------------------------------------


async def tenants_with_overdue(conn: AsyncConnection, due_before: date) -> list[uuid.UUID]:
    """On a system connection: the tenants with an invoice or advance unpaid since before `due_before`."""
    i, a = invoices.c, advances.c
    query = sa.union(
        sa.select(i.tenant_id).where(i.amount_due > i.settled, i.amount_due > 0, i.due_date < due_before),
        sa.select(a.tenant_id).where(a.paid < a.amount, a.due_date < due_before),
    )
    return [r.tenant_id for r in await conn.execute(query)]


async def overdue_items(conn: AsyncConnection, due_before: date) -> list[sa.Row]:
    """The tenant's items (`_open_items`) unpaid since before `due_before`."""
    i, a = invoices.c, advances.c
    query = _open_items(conn, sa.and_(i.amount_due > i.settled, i.due_date < due_before), a.due_date < due_before)
    return list((await conn.execute(query)).all())


async def reminders_sent(conn: AsyncConnection) -> list[sa.Row]:
    """The tenant's open reminders, with the item id as the payments module names it."""
    r = reminders.c
    item = sa.case(
        (r.invoice_id.is_not(None), sa.literal(INVOICE_ITEM) + sa.cast(r.invoice_id, sa.Text)),
        else_=sa.literal(ADVANCE_ITEM) + sa.cast(r.advance_id, sa.Text),
    ).label("item")
    query = sa.select(item, r.level, r.issued_on, r.deadline).where(scoped(conn, reminders), r.closed_on.is_(None))
    return list((await conn.execute(query)).all())


async def add_reminder(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """A reminder as given; False when that level was sent for the item already (another instance came first)."""
    invoice_id, advance_id = item_uuid(row.pop("item"))
    done = await conn.execute(
        insert(reminders)
        .values(tenant_id=_tenant(conn), invoice_id=invoice_id, advance_id=advance_id, **row)
        .on_conflict_do_nothing()
        .returning(reminders.c.id)
    )
    return done.first() is not None


# --- a bill run's batch ------------------------------------------------------------------------------


async def readings_of(conn: AsyncConnection, point_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[domain.Reading]]:
    """The readings of several supply points, oldest first, in one query."""
    values = (
        sa.select(sa.func.jsonb_object_agg(reading_values.c.register, sa.cast(reading_values.c.value, sa.Text)))
        .where(reading_values.c.reading_id == readings.c.id, scoped(conn, reading_values))
        .scalar_subquery()
        .label("values")
    )
    query = (
        sa.select(readings.c.supply_point_id, readings.c.read_on, readings.c.source, values)
        .where(scoped(conn, readings), readings.c.supply_point_id.in_(list(point_ids)))
        .order_by(readings.c.supply_point_id, readings.c.read_on, readings.c.id)
    )
    found: dict[uuid.UUID, list[domain.Reading]] = {p: [] for p in point_ids}
    for row in await conn.execute(query):
        found[row.supply_point_id].append(as_reading(row))
    return found


async def last_invoiced_days(conn: AsyncConnection, point_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, date]:
    """Per supply point, the last day a regular or extraordinary invoice settled (points never settled: absent)."""
    i = invoices.c
    query = (
        sa.select(i.supply_point_id, sa.func.max(i.period_to))
        .where(
            scoped(conn, invoices),
            i.supply_point_id.in_(list(point_ids)),
            i.kind.in_(("regular", "extraordinary")),
        )
        .group_by(i.supply_point_id)
    )
    return {point: day for point, day in await conn.execute(query)}


async def advances_paid_in(
    conn: AsyncConnection, windows: Sequence[tuple[uuid.UUID, date, date]]
) -> dict[uuid.UUID, Decimal]:
    """Per (supply point, first, last day): what was paid of its advances due in those days (both inclusive)."""
    if not windows:
        return {}
    query = sa.text(
        "SELECT w.point, coalesce(sum(a.paid), 0) AS paid "
        "FROM unnest(CAST(:points AS uuid[]), CAST(:firsts AS date[]), CAST(:lasts AS date[])) "
        "AS w(point, first, last) "
        "LEFT JOIN advances a ON a.supply_point_id = w.point AND a.due_date BETWEEN w.first AND w.last "
        "AND a.tenant_id = :tenant GROUP BY w.point"
    )
    params = {
        "points": [w[0] for w in windows],
        "firsts": [w[1] for w in windows],
        "lasts": [w[2] for w in windows],
        "tenant": _tenant(conn),
    }
    return {row.point: Decimal(row.paid) for row in await conn.execute(query, params)}


async def reserve_invoice_numbers(conn: AsyncConnection, year: int, count: int) -> int:
    """`count` consecutive numbers of the tenant's series for `year`; returns the first."""
    statement = (
        insert(invoice_numbers)
        .values(tenant_id=_tenant(conn), year=year, last=count)
        .on_conflict_do_update(index_elements=["tenant_id", "year"], set_={"last": invoice_numbers.c.last + count})
        .returning(invoice_numbers.c.last)
    )
    return (await conn.execute(statement)).scalar_one() - count + 1


async def add_invoices(conn: AsyncConnection, issued: Sequence[tuple[dict[str, Any], bytes, bytes]]) -> set[uuid.UUID]:
    """Stores invoices with their documents in one go; returns the ids stored (a period or request settled
    already is skipped)."""
    if not issued:
        return set()
    tenant = _tenant(conn)
    done = await conn.execute(
        insert(invoices).on_conflict_do_nothing().returning(invoices.c.id),
        [{"tenant_id": tenant, **row} for row, _, _ in issued],
    )
    stored = {r.id for r in done}
    documents = [
        {"invoice_id": row["id"], "tenant_id": tenant, "pdf": pdf, "isdoc": isdoc}
        for row, pdf, isdoc in issued
        if row["id"] in stored
    ]
    if documents:
        await conn.execute(invoice_documents.insert(), documents)
    return stored


async def invoice_of_request(conn: AsyncConnection, request_id: uuid.UUID) -> sa.Row | None:
    query = sa.select(invoices).where(scoped(conn, invoices), invoices.c.request_id == request_id)
    return (await conn.execute(query)).first()
