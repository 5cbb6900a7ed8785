"""Issuing invoices (faktury): a supply point's settlement computed from its readings, price lists and paid advances,
rendered as documents, stored with its event in one transaction. The bill run goes through every supply point of
the tenant this way; an extraordinary settlement (mimořádné vyúčtování) asked for by a request settles one.

The rules are pure (pricing.py, ledger.py); this module fetches their inputs, calls them and stores the result.
Rendering and signing the documents is the expensive part, so it runs in worker processes (`Renderer`) while this
process settles the next points and writes to the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from portal.accounts.v1 import accounts_pb2
from portal.events.v1 import billing_pb2 as events

from kit import bus
from kit.db import Database
from kit.errors import DomainError

from . import domain, ledger, pricing, store
from .accounts import Accounts
from .documents import model

logger = logging.getLogger("billing.invoicing")

# supply points asked of accounts at once, and settled before their documents are awaited
BATCH = 200

# the printed name of each settlement line (pricing's line codes), in Czech, English and Bulgarian
LINE_TEXTS: Mapping[str, tuple[str, str, str]] = {
    "energy.vt": ("Silová elektřina – vysoký tarif", "Electricity – high tariff", "Електрическа енергия – дневна"),
    "energy.nt": ("Silová elektřina – nízký tarif", "Electricity – low tariff", "Електрическа енергия – нощна"),
    "energy.gas": ("Zemní plyn – komodita", "Natural gas – commodity", "Природен газ"),
    "distribution.vt": ("Distribuce – vysoký tarif", "Distribution – high tariff", "Разпределение – дневна"),
    "distribution.nt": ("Distribuce – nízký tarif", "Distribution – low tariff", "Разпределение – нощна"),
    "distribution.gas": ("Distribuce plynu", "Gas distribution", "Разпределение на газ"),
    "supply.fixed": ("Stálý měsíční plat", "Fixed monthly fee", "Месечна такса"),
    "distribution.breaker": ("Plat za jistič", "Main breaker charge", "Такса за мощност"),
    "distribution.band": ("Stálý plat za distribuci", "Fixed distribution charge", "Такса за достъп"),
    "network.access": ("Přístup k síti", "Network access", "Достъп до мрежата"),
    "system_services": ("Systémové služby", "System services", "Системни услуги"),
    "renewables": ("Podpora obnovitelných zdrojů", "Support of renewables", "Подкрепа на ВЕИ"),
    "market_operator": ("Činnost operátora trhu", "Market operator fee", "Такса пазарен оператор"),
    "tax": ("Daň z energie", "Energy tax", "Данък върху енергията"),
    "transmission": ("Přenos", "Transmission", "Пренос през електропреносната мрежа"),
    "public_obligations": ("Povinnosti vůči společnosti", "Public obligations", "Задължения към обществото"),
    "excise": ("Spotřební daň", "Excise duty", "Акциз"),
}
LOCALES = ("cs", "en", "bg")
UNITS = {pricing.MWH: "MWh", pricing.MONTH: "month"}
DOCUMENT_KINDS = {
    pricing.REGULAR: model.INVOICE,
    pricing.EXTRAORDINARY: model.EXTRAORDINARY,
    pricing.CREDIT_NOTE: model.CREDIT_NOTE,
}


def line_text(code: str, locale: str) -> str:
    texts = LINE_TEXTS.get(code)
    return texts[LOCALES.index(locale)] if texts and locale in LOCALES else code


@dataclasses.dataclass(frozen=True)
class Terms:
    """What every invoice of a tenant says alike: who issues it and where it is paid."""

    tenant: accounts_pb2.Tenant
    iban: str
    bic: str
    payment_days: int


def price_list_json(pl: pricing.PriceList) -> dict[str, Any]:
    """A price list as stored: decimals as strings, so nothing is lost on the way through JSON."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return value

    return plain(pl)


def price_list_of(body: Mapping[str, Any]) -> pricing.PriceList:
    def money(values: Mapping[str, str]) -> dict[str, Decimal]:
        return {k: Decimal(v) for k, v in values.items()}

    def rates(d: Mapping[str, Any]) -> pricing.DistributionRates:
        return pricing.DistributionRates(
            per_mwh=money(d["per_mwh"]),
            breakers=tuple(
                pricing.BreakerBand(b["phases"], b["max_amps"], Decimal(b["monthly"])) for b in d["breakers"]
            ),
            bands=tuple(pricing.ConsumptionBand(b["max_kwh"], Decimal(b["monthly"])) for b in d["bands"]),
        )

    return pricing.PriceList(
        product=body["product"],
        commodity=body["commodity"],
        valid_from=date.fromisoformat(body["valid_from"]),
        valid_to=date.fromisoformat(body["valid_to"]) if body["valid_to"] else None,
        currency=body["currency"],
        country=body["country"],
        vat_rate=Decimal(body["vat_rate"]),
        energy_mwh=money(body["energy_mwh"]),
        fixed_monthly=Decimal(body["fixed_monthly"]),
        distribution={t: rates(d) for t, d in body["distribution"].items()},
        system_services_mwh=Decimal(body["system_services_mwh"]),
        renewables_mwh=Decimal(body["renewables_mwh"]),
        market_operator_monthly=Decimal(body["market_operator_monthly"]),
        tax_mwh=Decimal(body["tax_mwh"]),
    )


def facts_of(point: accounts_pb2.SupplyPoint) -> pricing.SupplyFacts:
    return pricing.SupplyFacts(
        commodity=point.commodity,
        distribution_tariff=point.distribution_tariff,
        breaker_amps=point.breaker_amps,
        phases=point.phases,
        annual_kwh=point.annual_consumption_kwh,
        hdo_code=point.hdo_code,
    )


def consumption_between(point: accounts_pb2.SupplyPoint, readings: Sequence[domain.Reading], start: date, end: date):
    """kWh per register between the actual readings on `start` and on `end` (gas converted month by month)."""
    by_day = {r.read_on: r for r in readings if r.source != domain.ESTIMATE}
    before, after = by_day[start], by_day[end]
    facts = domain.point_of(point)
    if point.commodity == domain.GAS:
        return {domain.GAS_REGISTER: domain.period_kwh(facts, before, after)}
    return {r: after.values[r] - before.values[r] for r in facts.registers}


def _address(a: Any) -> model.Address:
    return model.Address(
        street=a.street, building_number=a.house_number, city=a.city, postal_code=a.postal_code, country=a.country
    )


def document_of(
    row: Mapping[str, Any],
    settlement: pricing.Settlement,
    terms: Terms,
    point: accounts_pb2.SupplyPoint,
    customer: accounts_pb2.Customer,
) -> model.InvoiceDocument:
    tenant, locale = terms.tenant, row["locale"]
    legal = tenant.legal_entity
    local = model.czech_account_number(terms.iban) if terms.iban.startswith("CZ") else ""
    return model.InvoiceDocument(
        kind=DOCUMENT_KINDS[row["kind"]],
        number=row["number"],
        uuid=str(row["id"]),
        variable_symbol=row["variable_symbol"],
        issue_date=row["issue_date"],
        due_date=row["due_date"],
        period_from=row["period_from"],
        period_to=row["period_to"],
        currency=row["currency"],
        locale=locale,
        supplier=model.Supplier(
            legal_name=legal.name,
            address=_address(legal.address),
            company_id=legal.company_id,
            vat_id=legal.vat_id,
            account=model.BankAccount(iban=terms.iban, bic=terms.bic, local_number=local),
            brand_name=tenant.name,
            brand_color=tenant.theme.primary_color or "#1f4e79",
            contact_phone=tenant.contact_lines.customer_line,
            contact_email=tenant.contact_lines.email,
        ),
        customer=model.Customer(
            name=customer.name,
            address=_address(customer.mailing_address if customer.mailing_address.city else customer.permanent_address),
            customer_number=customer.customer_number,
            company_id=customer.company_id,
        ),
        supply_point=model.SupplyPoint(
            identifier=point.identifier,
            address=_address(point.address),
            commodity=point.commodity,
            distribution_tariff=point.distribution_tariff,
        ),
        taxable_supply_date=row["period_to"] if row["kind"] != pricing.CREDIT_NOTE else None,
        lines=tuple(
            model.Line(
                description=line_text(line.code, locale),
                quantity=line.quantity,
                unit=UNITS.get(line.unit, line.unit),
                unit_price=line.unit_price,
                vat_rate=line.vat_rate * 100,
                base=line.base,
                vat=line.vat,
                total=line.total,
            )
            for line in settlement.lines
        ),
        vat_breakdown=tuple(
            model.VatRate(rate=v.rate * 100, base=v.base, vat=v.vat, total=v.total) for v in settlement.vat_breakdown
        ),
        advances_paid=(
            (model.PaidAdvance(reference="advances", variable_symbol="", amount=settlement.advances),)
            if settlement.advances
            else ()
        ),
        rounding=settlement.rounding,
        total=settlement.total,
        amount_due=settlement.due,
        original_invoice_number=settlement.original,
    )


def settlement_json(settlement: pricing.Settlement, locale: str, terms: Terms) -> dict[str, Any]:
    """What the invoice keeps of its settlement: printed lines, VAT breakdown, rounding, and every line's inputs so
    the amounts can be recomputed from them."""
    return {
        "lines": [
            {
                "code": line.code,
                "description": line_text(line.code, locale),
                "quantity": str(line.quantity),
                "unit": line.unit,
                "unit_price": str(line.unit_price),
                "base": str(line.base),
                "vat_rate": str(line.vat_rate),
                "vat": str(line.vat),
                "total": str(line.total),
                "valid_from": line.valid_from.isoformat(),
                "valid_to": line.valid_to.isoformat(),
            }
            for line in settlement.lines
        ],
        "inputs": [dict(line.inputs) for line in settlement.lines],
        "vat": [
            {"rate": str(v.rate), "base": str(v.base), "vat": str(v.vat), "total": str(v.total)}
            for v in settlement.vat_breakdown
        ],
        "base": str(settlement.base),
        "vat_total": str(settlement.vat),
        "rounding": str(settlement.rounding),
        "consumption": {r: str(v) for r, v in settlement.consumption.items()},
        "original_number": settlement.original,
        "iban": terms.iban,
        "recipient": terms.tenant.legal_entity.name,
        "bic": terms.bic,
        "bank_account": model.czech_account_number(terms.iban) if terms.iban.startswith("CZ") else "",
    }


def issued_event(row: Mapping[str, Any]) -> events.InvoiceIssued:
    return events.InvoiceIssued(
        invoice_id=str(row["id"]),
        number=row["number"],
        kind=row["kind"],
        customer_number=row["customer_number"],
        supply_point_id=str(row["supply_point_id"]),
        total=str(row["total"]),
        amount_due=str(row["amount_due"]),
        currency=row["currency"],
        due_date=row["due_date"].isoformat(),
        e_invoice=row["e_invoice"],
        request_id=str(row["request_id"]) if row.get("request_id") else "",
    )


class Invoicing:
    def __init__(
        self,
        db: Database,
        accounts: Accounts,
        render: Callable[[str, model.InvoiceDocument], asyncio.Future[tuple[bytes, bytes]]],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.render = render
        self.clock = clock

    async def terms(self) -> Terms:
        tenant = await self.accounts.tenant()
        async with self.db.tenant() as conn:
            row = await store.terms(conn)
        if row is None:
            raise DomainError("precondition.billing_terms_missing")
        return Terms(tenant=tenant, iban=row.collection_iban, bic=row.collection_bic, payment_days=row.payment_days)

    async def _price_lists(self, cache: dict[tuple[str, str], list[pricing.PriceList]], product: str, commodity: str):
        key = (product, commodity)
        if key not in cache:
            async with self.db.tenant() as conn:
                cache[key] = [price_list_of(r.body) for r in await store.price_lists_of(conn, product, commodity)]
        if not cache[key]:
            raise DomainError("precondition.price_list_missing", params={"product": product})
        return cache[key]

    def _row(
        self,
        terms: Terms,
        point: accounts_pb2.SupplyPoint,
        settlement: pricing.Settlement,
        number: str,
        issue_date: date,
        locale: str,
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "number": number,
            "variable_symbol": pricing.variable_symbol(number),
            "kind": settlement.kind,
            "customer_number": point.customer_number,
            "supply_point_id": uuid.UUID(point.id),
            "supply_point_identifier": point.identifier,
            "commodity": point.commodity,
            "contract_type": point.contract.contract_type,
            "period_from": settlement.start,
            "period_to": settlement.end - timedelta(days=1),
            "issue_date": issue_date,
            "due_date": pricing.next_business_day(
                issue_date + timedelta(days=terms.payment_days), terms.tenant.country or "CZ"
            ),
            "currency": settlement.currency,
            "total": settlement.total,
            "advances": settlement.advances,
            "amount_due": settlement.due,
            "settled": Decimal(0),
            "locale": locale,
            "settlement": settlement_json(settlement, locale, terms),
            "e_invoice": point.contract.e_invoice,
            "created_at": self.clock(),
        }

    async def _issue(
        self,
        terms: Terms,
        drafts: Sequence[tuple[accounts_pb2.SupplyPoint, accounts_pb2.Customer, pricing.Settlement]],
        issue_date: date,
        **extra: Any,
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Numbers, renders and stores settlements with their InvoiceIssued, in one transaction once every
        document is rendered; answers the rows stored and the problems of those that could not be."""
        if not drafts:
            return [], []
        locale = terms.tenant.default_locale or "cs"
        async with self.db.tenant() as conn:
            first = await store.reserve_invoice_numbers(conn, issue_date.year, len(drafts))
        rows, pending = [], []
        for n, (point, customer, settlement) in enumerate(drafts):
            row = (
                self._row(
                    terms, point, settlement, pricing.invoice_number(issue_date.year, "", first + n), issue_date, locale
                )
                | extra
            )
            rows.append(row)
            pending.append(self.render(terms.tenant.slug, document_of(row, settlement, terms, point, customer)))
        rendered = await asyncio.gather(*pending, return_exceptions=True)
        issued, problems = [], []
        for row, result in zip(rows, rendered, strict=True):
            if isinstance(result, BaseException):
                logger.error("invoice document of %s not rendered", row["supply_point_identifier"], exc_info=result)
                problems.append(f"{row['supply_point_identifier']}: document not rendered ({result})")
            else:
                issued.append((row, *result))
        async with self.db.tenant() as conn:
            stored = await store.add_invoices(conn, issued)
            done = [row for row, _, _ in issued if row["id"] in stored]
            await bus.emit_many(conn, self.db.service, [issued_event(row) for row in done])
        return done, problems

    async def run_batch(self, period: str, issue_date: date | None) -> sa.Row:
        """Settles the next batch of the tenant's supply points due in `period` and answers the run's state; the
        run is finished when a call finds no more points. A run left unfinished goes on from the last batch stored;
        one finished starts again from the first point, settling only what is still due."""
        first, after_last = ledger.parse_period(period)
        monthly = ledger.monthly_period(period)
        terms = await self.terms()
        issue_on = issue_date or self.clock().astimezone(await self.accounts.zone()).date()
        async with self.db.tenant() as conn:
            run = await store.start_bill_run(conn, period, self.clock())
        points, token, count = await self.accounts.billable_points(run.cursor, BATCH)
        # a point read on another schedule is not due in this run, whatever its readings
        due = [p for p in points if monthly == (p.reading_schedule in ledger.MONTHLY_SCHEDULES)]
        ids = [uuid.UUID(p.id) for p in due]
        async with self.db.tenant() as conn:
            readings = await store.readings_of(conn, ids)
            settled = await store.last_invoiced_days(conn, ids)
        problems: list[str] = []
        windows: dict[str, tuple[date, date]] = {}
        for point in due:
            try:
                window = ledger.settlement_window(
                    monthly_run=monthly,
                    schedule=point.reading_schedule,
                    period=(first, after_last),
                    actual_days=[r.read_on for r in readings[uuid.UUID(point.id)] if r.source != domain.ESTIMATE],
                    settled_until=settled.get(uuid.UUID(point.id)),
                )
            except DomainError as err:
                problems.append(f"{point.identifier}: {err.reason}")
                continue
            if window is not None:
                windows[point.id] = window
        async with self.db.tenant() as conn:
            paid = await store.advances_paid_in(
                conn, [(uuid.UUID(p), a, b - timedelta(days=1)) for p, (a, b) in windows.items()]
            )
        customers = await self.accounts.customers(p.customer_number for p in due if p.id in windows) if windows else {}
        price_cache: dict[tuple[str, str], list[pricing.PriceList]] = {}
        drafts = []
        for point in due:
            if point.id not in windows:
                continue
            start, end = windows[point.id]
            try:
                lists = await self._price_lists(price_cache, point.product, point.commodity)
                advances = paid.get(uuid.UUID(point.id), Decimal(0))
                settlement = pricing.settle(
                    facts_of(point),
                    start,
                    end,
                    consumption_between(point, readings[uuid.UUID(point.id)], start, end),
                    lists,
                    [advances] if advances else [],
                )
            except DomainError as err:
                problems.append(f"{point.identifier}: {err.reason}")
                continue
            drafts.append((point, customers[point.customer_number], settlement))
        done, not_rendered = await self._issue(terms, drafts, issue_on, bill_run=period)
        problems += not_rendered
        async with self.db.tenant() as conn:
            run = await store.advance_bill_run(
                conn,
                period,
                token,
                issued=len(done),
                skipped=len(points) - len(done) - len(problems),
                failed=len(problems),
                problems=problems,
                points=None if run.cursor else count,
            )
            if not token:
                run = await store.finish_bill_run(conn, period, self.clock())
        return run

    async def settle_on_request(self, request_id: str, supply_point_id: str, customer_number: str, day: date) -> str:
        """The extraordinary settlement (mimořádné vyúčtování) a request asked for, to the actual reading on `day`,
        issued today under the request's id (so a redelivered request issues it once); answers its number.
        Refused with a reason (DomainError) when the point is not the customer's or cannot be settled to that day."""
        terms = await self.terms()
        point = await self.accounts.point_as_system(supply_point_id)
        if point.customer_number != customer_number:
            raise DomainError("not_found", field="supply_point_id")
        point_id = uuid.UUID(point.id)
        async with self.db.tenant() as conn:
            readings = (await store.readings_of(conn, [point_id]))[point_id]
            settled = (await store.last_invoiced_days(conn, [point_id])).get(point_id)
        start, end = ledger.extraordinary_window(
            [r.read_on for r in readings if r.source != domain.ESTIMATE], settled, day
        )
        async with self.db.tenant() as conn:
            paid = (await store.advances_paid_in(conn, [(point_id, start, end - timedelta(days=1))])).get(point_id)
        settlement = pricing.settle(
            facts_of(point),
            start,
            end,
            consumption_between(point, readings, start, end),
            await self._price_lists({}, point.product, point.commodity),
            [paid] if paid else [],
            kind=pricing.EXTRAORDINARY,
        )
        customer = (await self.accounts.customers([customer_number]))[customer_number]
        today = self.clock().astimezone(await self.accounts.zone()).date()
        done, problems = await self._issue(
            terms, [(point, customer, settlement)], today, request_id=uuid.UUID(request_id)
        )
        if problems:
            raise RuntimeError(problems[0])
        if done:
            return done[0]["number"]
        async with self.db.tenant() as conn:
            issued = await store.invoice_of_request(conn, uuid.UUID(request_id))
        return issued.number if issued else ""
