"""All SQL of the accounts service."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import db
from kit.db import scoped, scoped_by_parameter, tenant_parameter

metadata = sa.MetaData()

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("slug", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("hosts", ARRAY(sa.Text)),
    sa.Column("theme", JSONB),
    sa.Column("default_locale", sa.Text),
    sa.Column("locales", ARRAY(sa.Text)),
    sa.Column("currency", sa.Text),
    sa.Column("time_zone", sa.Text),
    sa.Column("country", sa.Text),
    sa.Column("legal_entity", JSONB),
    sa.Column("contact_lines", JSONB),
    sa.Column("features", ARRAY(sa.Text)),
    sa.Column("unit_prices", JSONB),
)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("customer_number", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("kind", sa.Text),
    sa.Column("company_id", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("permanent_address", JSONB),
    sa.Column("mailing_address", JSONB),
    sa.Column("authorization_code_hash", sa.Text),
    sa.Column("last_invoice_number", sa.Text),
    sa.Column("last_invoice_amount", sa.Numeric(14, 2)),
)

permission_matrix = sa.Table(
    "permission_matrix",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("contract_type", sa.Text, primary_key=True),
    sa.Column("capabilities", ARRAY(sa.Text)),
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("number", sa.Text),
    sa.Column("customer_number", sa.Text),
    sa.Column("contract_type", sa.Text),
    sa.Column("supplier", sa.Text),
    sa.Column("payment_method", sa.Text),
    sa.Column("bank_account", sa.Text),
    sa.Column("advance_amount", sa.Numeric(12, 2)),
    sa.Column("currency", sa.Text),
    sa.Column("advance_cycle", sa.Text),
    sa.Column("e_invoice", sa.Boolean),
    sa.Column("valid_from", sa.Date),
)

supply_points = sa.Table(
    "supply_points",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("customer_number", sa.Text),
    sa.Column("identifier", sa.Text),
    sa.Column("commodity", sa.Text),
    sa.Column("street", sa.Text),
    sa.Column("house_number", sa.Text),
    sa.Column("city", sa.Text),
    sa.Column("postal_code", sa.Text),
    sa.Column("country", sa.Text),
    sa.Column("meter_number", sa.Text),
    sa.Column("breaker_amps", sa.Integer),
    sa.Column("phases", sa.Integer),
    sa.Column("distribution_tariff", sa.Text),
    sa.Column("product", sa.Text),
    sa.Column("annual_consumption_kwh", sa.BigInteger),
    sa.Column("reading_schedule", sa.Text),
    sa.Column("hdo_code", sa.Text),
    sa.Column("contract_id", sa.Uuid),
)


async def tenant_by_host(conn: AsyncConnection, host: str) -> sa.Row | None:
    """Runs in a system transaction: the tenant is what we are looking for."""
    return (await conn.execute(sa.select(tenants).where(tenants.c.hosts.contains([host])))).first()


async def tenant(conn: AsyncConnection, tenant_id: str) -> sa.Row | None:
    return (
        await conn.execute(sa.select(tenants).where(tenants.c.id == uuid.UUID(tenant_id), scoped(conn, tenants)))
    ).first()


async def customer(conn: AsyncConnection, number: str) -> sa.Row | None:
    return (await conn.execute(_customers_query(conn).where(customers.c.customer_number == number))).first()


async def customers_by_number(conn: AsyncConnection, numbers: Sequence[str]) -> list[sa.Row]:
    query = _customers_query(conn).where(customers.c.customer_number.in_(list(numbers)))
    return list((await conn.execute(query.order_by(customers.c.customer_number))).all())


def _customers_query(conn: AsyncConnection) -> sa.Select:
    return _customers_with_counts().where(scoped(conn, customers))


def _customers_with_counts() -> sa.Select:
    sp_count = (
        sa.select(sa.func.count())
        .where(supply_points.c.tenant_id == customers.c.tenant_id)
        .where(supply_points.c.customer_number == customers.c.customer_number)
        .scalar_subquery()
    )
    contract_count = (
        sa.select(sa.func.count())
        .where(contracts.c.tenant_id == customers.c.tenant_id)
        .where(contracts.c.customer_number == customers.c.customer_number)
        .scalar_subquery()
    )
    return sa.select(customers, sp_count.label("supply_point_count"), contract_count.label("contract_count"))


@dataclass(frozen=True)
class SupplyPointPage:
    rows: list[sa.Row]
    total: int
    electricity: int
    gas: int
    has_more: bool


def _supply_point_columns(*, with_contract: bool = True) -> list[Any]:
    if not with_contract:
        return [supply_points, _policy()]
    return [
        supply_points,
        contracts.c.number.label("contract_number"),
        contracts.c.contract_type,
        contracts.c.supplier,
        contracts.c.payment_method,
        contracts.c.bank_account,
        contracts.c.advance_amount,
        contracts.c.currency,
        contracts.c.advance_cycle,
        contracts.c.e_invoice,
        contracts.c.valid_from,
        _policy(),
    ]


def _policy() -> Any:
    # what the permission matrix allows on the contract type, read with the row rather than by a query of its own
    return sa.func.coalesce(permission_matrix.c.capabilities, sa.literal([], ARRAY(sa.Text))).label("policy")


def _supply_points_with_contract() -> sa.Join:
    return supply_points.join(contracts, contracts.c.id == supply_points.c.contract_id).outerjoin(
        permission_matrix,
        sa.and_(
            permission_matrix.c.tenant_id == contracts.c.tenant_id,
            permission_matrix.c.contract_type == contracts.c.contract_type,
        ),
    )


def _with_contract(conn: AsyncConnection) -> sa.Select:
    return (
        sa.select(*_supply_point_columns())
        .select_from(_supply_points_with_contract())
        .where(scoped(conn, supply_points))
    )


@functools.cache
def _page_statements(
    app_filter: bool, basic: bool, commodity: bool, only_ids: bool, text: bool, after: bool
) -> tuple[Any, Any]:
    """The totals and page queries for one combination of filters, built once: building and keying statements of
    this size costs more CPU than PostgreSQL spends running them. `app_filter` is APPLICATION_TENANT_FILTER, part of
    the key because tests switch it."""
    conditions: list[Any] = [supply_points.c.customer_number.in_(sa.bindparam("customer_numbers", expanding=True))]
    if commodity:
        conditions.append(supply_points.c.commodity == sa.bindparam("commodity"))
    if only_ids:
        conditions.append(supply_points.c.id.in_(sa.bindparam("only_ids", expanding=True)))
    if text:
        conditions.append(
            sa.or_(
                supply_points.c.identifier.ilike(sa.bindparam("prefix")),
                supply_points.c.city.ilike(sa.bindparam("pattern")),
                supply_points.c.street.ilike(sa.bindparam("pattern")),
                sa.func.replace(supply_points.c.postal_code, " ", "").ilike(sa.bindparam("postal_pattern")),
            )
        )
    conditions.append(scoped_by_parameter(supply_points))
    counted = sa.select(
        sa.func.count().label("total"),
        sa.func.count().filter(supply_points.c.commodity == "electricity").label("electricity"),
        sa.func.count().filter(supply_points.c.commodity == "gas").label("gas"),
    ).where(*conditions)
    totals = counted.cte("totals")
    # the totals ride along with the page's rows: one statement where a page and its counts took two
    page = (
        sa.select(*_supply_point_columns(with_contract=not basic), totals.c.total, totals.c.electricity, totals.c.gas)
        .select_from(_supply_points_with_contract())
        .join(totals, sa.true())
        .where(*conditions)
    )
    if after:
        page = page.where(supply_points.c.identifier > sa.bindparam("after"))
    return counted, page.order_by(supply_points.c.identifier).limit(sa.bindparam("limit"))


async def supply_points_page(
    conn: AsyncConnection,
    *,
    customer_numbers: Sequence[str],
    text: str,
    commodity: str,
    only_ids: Sequence[uuid.UUID],
    after_identifier: str,
    limit: int,
    basic: bool = False,
) -> SupplyPointPage:
    """One page in identifier order (keyset, so page 40 costs what page 1 does) with totals for the filter;
    `basic` leaves out the contract columns."""
    counted, page = _page_statements(
        db.APPLICATION_TENANT_FILTER, basic, bool(commodity), bool(only_ids), bool(text), bool(after_identifier)
    )
    params: dict[str, Any] = {"customer_numbers": list(customer_numbers), "limit": limit + 1}
    if db.APPLICATION_TENANT_FILTER:
        params.update(tenant_parameter(conn))
    if commodity:
        params["commodity"] = commodity
    if only_ids:
        params["only_ids"] = list(only_ids)
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.update(prefix=f"{escaped}%", pattern=f"%{escaped}%", postal_pattern=f"%{escaped.replace(' ', '')}%")
    if after_identifier:
        params["after"] = after_identifier
    rows = list((await conn.execute(page, params)).all())
    if rows:
        total, electricity, gas = rows[0].total, rows[0].electricity, rows[0].gas
    elif after_identifier:
        total, electricity, gas = (await conn.execute(counted, params)).one()
    else:
        total = electricity = gas = 0
    return SupplyPointPage(rows=rows[:limit], total=total, electricity=electricity, gas=gas, has_more=len(rows) > limit)


async def supply_point(conn: AsyncConnection, supply_point_id: uuid.UUID) -> sa.Row | None:
    return (await conn.execute(_with_contract(conn).where(supply_points.c.id == supply_point_id))).first()


async def billable_points(conn: AsyncConnection, *, after_identifier: str, limit: int) -> list[sa.Row]:
    """Supply points with a contract, in identifier order from after `after_identifier` (keyset)."""
    query = _with_contract(conn).where(supply_points.c.contract_id.is_not(None))
    if after_identifier:
        query = query.where(supply_points.c.identifier > after_identifier)
    return list((await conn.execute(query.order_by(supply_points.c.identifier).limit(limit))).all())


async def billable_count(conn: AsyncConnection) -> int:
    query = sa.select(sa.func.count()).where(scoped(conn, supply_points), supply_points.c.contract_id.is_not(None))
    return (await conn.execute(query)).scalar_one()


async def contract(conn: AsyncConnection, contract_id: uuid.UUID) -> sa.Row | None:
    return (
        await conn.execute(sa.select(contracts).where(contracts.c.id == contract_id, scoped(conn, contracts)))
    ).first()


async def contract_supply_point_ids(conn: AsyncConnection, contract_id: uuid.UUID) -> list[str]:
    rows = await conn.execute(
        sa.select(supply_points.c.id).where(supply_points.c.contract_id == contract_id, scoped(conn, supply_points))
    )
    return [str(r.id) for r in rows]


async def matrix(conn: AsyncConnection, *, lock: bool = False) -> dict[str, frozenset[str]]:
    query = sa.select(permission_matrix).where(scoped(conn, permission_matrix))
    if lock:
        query = query.with_for_update()
    rows = await conn.execute(query)
    return {r.contract_type: frozenset(r.capabilities) for r in rows}


async def put_matrix_rows(conn: AsyncConnection, rows: Mapping[str, frozenset[str]]) -> None:
    for contract_type, capabilities in rows.items():
        await conn.execute(
            permission_matrix.update()
            .where(scoped(conn, permission_matrix), permission_matrix.c.contract_type == contract_type)
            .values(capabilities=sorted(capabilities))
        )


async def update_contact(conn: AsyncConnection, number: str, email: str, phone: str) -> None:
    await conn.execute(
        customers.update()
        .where(customers.c.customer_number == number, scoped(conn, customers))
        .values(email=email, phone=phone)
    )


async def supply_points_with_customers(
    conn: AsyncConnection,
    *,
    eans: Sequence[str],
    postal_codes: frozenset[str] | None,
    commodity: str,
    after_identifier: str,
    limit: int,
) -> list[sa.Row]:
    """Supply points listed by EAN or with one of the postal codes (spaces ignored; None: every postal code), each
    with its customer's name, e-mail and phone, in identifier order: at most `limit` after `after_identifier`."""
    query = (
        sa.select(
            supply_points,
            customers.c.name.label("customer_name"),
            customers.c.email.label("customer_email"),
            customers.c.phone.label("customer_phone"),
        )
        .select_from(
            supply_points.join(
                customers,
                sa.and_(
                    customers.c.tenant_id == supply_points.c.tenant_id,
                    customers.c.customer_number == supply_points.c.customer_number,
                ),
            )
        )
        .where(scoped(conn, supply_points))
    )
    if postal_codes is not None:
        query = query.where(
            sa.or_(
                supply_points.c.identifier.in_(list(eans)),
                sa.func.replace(supply_points.c.postal_code, " ", "").in_(sorted(postal_codes)),
            )
        )
    if commodity:
        query = query.where(supply_points.c.commodity == commodity)
    if after_identifier:
        query = query.where(supply_points.c.identifier > after_identifier)
    return list((await conn.execute(query.order_by(supply_points.c.identifier).limit(limit))).all())


# --- immediate changes: addresses, a contract's payment, advance and e-invoice ---------------------------------


async def update_address(conn: AsyncConnection, number: str, column: str, address: dict[str, str]) -> None:
    await conn.execute(
        customers.update()
        .where(customers.c.customer_number == number, scoped(conn, customers))
        .values({column: address})
    )


async def contract_for_update(conn: AsyncConnection, contract_id: uuid.UUID) -> sa.Row | None:
    """The contract, locked until the change's transaction ends, so two changes at once cannot both read the same
    "before"."""
    return (
        await conn.execute(
            sa.select(contracts).where(contracts.c.id == contract_id, scoped(conn, contracts)).with_for_update()
        )
    ).first()


async def update_contract(conn: AsyncConnection, contract_id: uuid.UUID, **values: Any) -> sa.Row:
    return (
        await conn.execute(
            contracts.update()
            .where(contracts.c.id == contract_id, scoped(conn, contracts))
            .values(**values)
            .returning(contracts)
        )
    ).one()


async def contract_consumption(conn: AsyncConnection, contract_id: uuid.UUID) -> dict[str, int]:
    """commodity → the expected annual consumption (kWh) of the contract's supply points."""
    rows = await conn.execute(
        sa.select(supply_points.c.commodity, sa.func.sum(supply_points.c.annual_consumption_kwh))
        .where(supply_points.c.contract_id == contract_id, scoped(conn, supply_points))
        .group_by(supply_points.c.commodity)
    )
    return {commodity: int(total or 0) for commodity, total in rows}


async def unit_prices(conn: AsyncConnection) -> dict[str, str]:
    row = (await conn.execute(sa.select(tenants.c.unit_prices).where(scoped(conn, tenants)))).first()
    return dict(row.unit_prices or {}) if row else {}


# --- staff customer search -----------------------------------------------------------------------------------
# Each kind of match is its own indexed arm (see migration 0003); their customer numbers are united and the page is
# read in customer-number order from there. The patterns are rendered into the statement (literal_execute) so the
# planner sees them and picks the trigram and prefix indexes; a generic plan of a prepared statement could not.
# Under row-level security PostgreSQL uses an index only for leakproof conditions, and LIKE is not one (a search of
# 200,000 customers took 150 ms a part instead of 3 ms), so the search runs on a system connection and names the
# tenant in every part of the statement itself, whether or not APPLICATION_TENANT_FILTER is on.


def _like(value: str) -> Any:
    return sa.bindparam(None, value, type_=sa.Text, literal_execute=True)


def _contains_all(folded: Any, words: Sequence[str], fold: Any = sa.func.fold) -> Any:
    # || rather than concat(), which is only STABLE: the pattern must fold to a constant for the index
    percent = sa.literal_column("'%'", sa.Text)
    return sa.and_(*(folded.like(percent.op("||")(fold(_like(w), type_=sa.Text)).op("||")(percent)) for w in words))


def _customer_address() -> Any:
    a = customers.c.permanent_address
    return sa.func.address_text(
        a["street"].astext, a["house_number"].astext, a["postal_code"].astext, a["city"].astext, type_=sa.Text
    )


async def search_customers(
    conn: AsyncConnection,
    *,
    tenant_id: uuid.UUID,
    words: Sequence[str],
    prefix: str,
    digits: str,
    after_number: str,
    limit: int,
) -> list[sa.Row]:
    """At most `limit` customers of the tenant after `after_number` matching the query, with their counts; `conn` is
    a system connection (see above)."""
    arms: list[sa.Select] = [
        sa.select(customers.c.customer_number).where(customers.c.tenant_id == tenant_id, condition)
        for condition in (
            _contains_all(sa.func.fold(customers.c.name, type_=sa.Text), words),
            _contains_all(sa.func.lower(customers.c.email, type_=sa.Text), words, sa.func.lower),
            _contains_all(_customer_address(), words),
        )
    ]
    points_address = sa.func.address_text(
        supply_points.c.street,
        supply_points.c.house_number,
        supply_points.c.postal_code,
        supply_points.c.city,
        type_=sa.Text,
    )
    arms.append(
        sa.select(supply_points.c.customer_number).where(
            supply_points.c.tenant_id == tenant_id, _contains_all(points_address, words)
        )
    )
    if prefix:
        arms.append(
            sa.select(customers.c.customer_number).where(
                customers.c.tenant_id == tenant_id, customers.c.customer_number.like(_like(prefix + "%"))
            )
        )
        arms.append(
            sa.select(supply_points.c.customer_number).where(
                supply_points.c.tenant_id == tenant_id,
                sa.func.upper(supply_points.c.identifier).like(_like(prefix + "%")),
            )
        )
    if digits:
        arms.append(
            sa.select(customers.c.customer_number).where(
                customers.c.tenant_id == tenant_id,
                sa.func.phone_digits(customers.c.phone, type_=sa.Text).like(_like(f"%{digits}%")),
            )
        )
    matching = sa.union(*arms).subquery()
    query = _customers_with_counts().where(
        customers.c.tenant_id == tenant_id, customers.c.customer_number.in_(sa.select(matching.c.customer_number))
    )
    if after_number:
        query = query.where(customers.c.customer_number > after_number)
    return list((await conn.execute(query.order_by(customers.c.customer_number).limit(limit))).all())
