"""JSON shapes of API v1 (msgspec), and their conversion from service messages."""

from __future__ import annotations

from datetime import UTC

import msgspec
from portal.accounts.v1 import accounts_pb2
from portal.billing.v1 import billing_pb2
from portal.common.v1 import common_pb2
from portal.hdo.v1 import hdo_pb2
from portal.notifications.v1 import notifications_pb2
from portal.requests.v1 import requests_pb2


class Address(msgspec.Struct):
    street: str
    house_number: str
    city: str
    postal_code: str
    country: str


class Money(msgspec.Struct):
    amount: str
    currency: str


class Contract(msgspec.Struct):
    id: str
    number: str
    contract_type: str
    supplier: str
    payment_method: str
    bank_account: str
    advance_amount: Money
    advance_cycle: str
    e_invoice: bool
    valid_from: str


class SupplyPoint(msgspec.Struct):
    id: str
    customer_number: str
    identifier: str
    commodity: str
    address: Address
    meter_number: str
    breaker_amps: int
    phases: int
    distribution_tariff: str
    product: str
    annual_consumption_kwh: int
    reading_schedule: str
    hdo_code: str
    contract: Contract | None = None


class SupplyPointPage(msgspec.Struct):
    items: list[SupplyPoint]
    total: int
    electricity_count: int
    gas_count: int
    next_page_token: str | None


class Customer(msgspec.Struct):
    customer_number: str
    name: str
    kind: str
    email: str
    phone: str
    permanent_address: Address
    mailing_address: Address
    supply_point_count: int
    contract_count: int


class ContactChange(msgspec.Struct, forbid_unknown_fields=True):
    # either may be empty (removed), not both
    email: str = ""
    phone: str = ""


class AddressChange(msgspec.Struct, forbid_unknown_fields=True):
    street: str
    house_number: str
    city: str
    postal_code: str
    # two letters, e.g. CZ
    country: str


class PaymentChange(msgspec.Struct, forbid_unknown_fields=True):
    # bank_transfer, direct_debit, sipo or postal_order
    payment_method: str
    # a Czech account ([prefix-]number/bank code) or an IBAN; required for direct_debit
    bank_account: str = ""


class AdvanceChange(msgspec.Struct, forbid_unknown_fields=True):
    # in the contract's currency, e.g. "1500" or "1500.50"
    amount: str


class EInvoiceChange(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool


class AdvanceBounds(msgspec.Struct):
    minimum: Money
    maximum: Money
    # the expected yearly cost spread over the advances of a year
    proposal: Money
    expected_yearly_cost: Money
    annual_consumption_kwh: int
    contract: Contract


def advance_bounds(b: accounts_pb2.GetAdvanceBoundsResponse) -> AdvanceBounds:
    def money(m: common_pb2.Money) -> Money:
        return Money(amount=m.amount, currency=m.currency)

    return AdvanceBounds(
        minimum=money(b.minimum),
        maximum=money(b.maximum),
        proposal=money(b.proposal),
        expected_yearly_cost=money(b.expected_yearly_cost),
        annual_consumption_kwh=b.annual_consumption_kwh,
        contract=contract(b.contract),
    )


class Grant(msgspec.Struct):
    customer_number: str
    role: str
    capabilities: list[str]


class Me(msgspec.Struct):
    id: str
    email: str
    email_verified: bool
    locale: str
    customer_numbers: list[str]
    grants: list[Grant]


class Window(msgspec.Struct):
    """A low-tariff window: UTC instants, the end exclusive."""

    start: str
    end: str


class ScheduleVersion(msgspec.Struct):
    """The import of switching times that counts for some of the days asked about."""

    valid_from: str
    valid_to: str | None
    effective_from: str
    imported_at: str
    source_format: str
    label: str
    tariff: str


class LowTariffSchedule(msgspec.Struct):
    supply_point_id: str
    code: str
    time_zone: str
    first_day: str = msgspec.field(name="from")
    last_day: str = msgspec.field(name="to")
    # whole windows that overlap the days (one from the evening before is not cut at midnight)
    windows: list[Window] = msgspec.field(default_factory=list)
    # low tariff within the days only
    low_tariff_seconds: int = 0
    versions: list[ScheduleVersion] = msgspec.field(default_factory=list)


class LowTariffNow(msgspec.Struct):
    supply_point_id: str
    code: str
    at: str
    low_tariff: bool
    # when it switches next; null when the known switching times end first
    until: str | None
    # false when no switching times cover the moment
    known: bool


class OutagePlace(msgspec.Struct):
    supply_point_id: str
    identifier: str


class Outage(msgspec.Struct):
    id: str
    version: int
    # planned, changed or cancelled
    state: str
    operator: str
    external_id: str
    starts_at: str
    ends_at: str
    reason: str
    supply_points: list[OutagePlace]
    updated_at: str


class OutageList(msgspec.Struct):
    items: list[Outage]


class Reading(msgspec.Struct):
    """A meter reading: the meter's state at the start of `read_on` (a local day in the tenant's zone)."""

    id: str
    supply_point_id: str
    read_on: str
    # operator, customer (a self-reading) or estimate
    source: str
    # accepted, or flagged: found suspicious and confirmed by the customer
    status: str
    # register (vt, nt or gas) → the meter's display as a decimal string: kWh, or m³ for gas
    values: dict[str, str]
    # since the reading before, kWh; null for the first
    consumption_kwh: str | None
    created_at: str
    photo_content_type: str | None = None
    photo_size: int = 0


class ReadingPage(msgspec.Struct):
    items: list[Reading]
    total: int
    next_page_token: str | None


class NewReading(msgspec.Struct, forbid_unknown_fields=True):
    """A self-reading (samoodečet)."""

    # YYYY-MM-DD in the tenant's time zone; not in the future, after the last reading
    read_on: str
    # one value per register of the meter: {"vt": "12345.6", "nt": "6789"}, or {"gas": "4321.125"}
    values: dict[str, str]
    # true after a 422 with the reason reading.confirm_suspicious, when the values are right after all
    confirm_suspicious: bool = False
    # a photo of the meter, base64; at most 4,000,000 bytes decoded
    photo: bytes | None = None
    # image/jpeg, image/png, image/webp or image/heic
    photo_content_type: str | None = None


class ConsumptionPeriod(msgspec.Struct):
    # YYYY-MM or YYYY
    period: str
    first_day: str
    last_day: str
    kwh: str
    # register → kWh
    registers: dict[str, str]
    # gas only
    volume_m3: str | None
    # of `days`, how many lie between two readings; the rest is not known yet
    days_covered: int
    days: int
    # part of it rests on an estimated reading
    estimated: bool


class ConsumptionHistory(msgspec.Struct):
    supply_point_id: str
    commodity: str
    registers: list[str]
    # month or year
    by: str
    # periods with at least one covered day, oldest first
    periods: list[ConsumptionPeriod]


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str = ""
    reason: str = ""
    field: str = ""
    # what the reason needs to be explained: dates (YYYY-MM-DD), quantities (decimal strings), registers
    params: dict[str, str] = msgspec.field(default_factory=dict)


def reading(r: billing_pb2.Reading) -> Reading:
    return Reading(
        id=r.id,
        supply_point_id=r.supply_point_id,
        read_on=r.read_on,
        source=r.source,
        status=r.status,
        values={v.register: v.value for v in r.values},
        consumption_kwh=r.consumption_kwh or None,
        created_at=instant(r.created_at),
        photo_content_type=r.photo_content_type or None,
        photo_size=r.photo_size,
    )


def consumption_period(p: billing_pb2.ConsumptionPeriod) -> ConsumptionPeriod:
    return ConsumptionPeriod(
        period=p.period,
        first_day=p.first_day,
        last_day=p.last_day,
        kwh=p.kwh,
        registers={r.register: r.kwh for r in p.registers},
        volume_m3=p.volume_m3 or None,
        days_covered=p.days_covered,
        days=p.days,
        estimated=p.estimated,
    )


def instant(ts) -> str:
    return ts.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def window(w: hdo_pb2.Window) -> Window:
    return Window(start=instant(w.start), end=instant(w.end))


def schedule_version(v: hdo_pb2.ScheduleVersion) -> ScheduleVersion:
    return ScheduleVersion(
        valid_from=v.valid_from,
        valid_to=v.valid_to or None,
        effective_from=v.effective_from,
        imported_at=instant(v.imported_at),
        source_format=v.source_format,
        label=v.label,
        tariff=v.tariff,
    )


def outage(o: hdo_pb2.Outage, identifiers: dict[str, str]) -> Outage:
    n = o.notice
    return Outage(
        id=n.outage_id,
        version=n.version,
        state=n.state,
        operator=n.operator,
        external_id=n.external_id,
        starts_at=instant(n.starts_at),
        ends_at=instant(n.ends_at),
        reason=n.reason,
        supply_points=[OutagePlace(i, identifiers.get(i, "")) for i in o.supply_point_ids],
        updated_at=instant(o.updated_at),
    )


def address(a: object) -> Address:
    return Address(
        street=a.street, house_number=a.house_number, city=a.city, postal_code=a.postal_code, country=a.country
    )


def contract(c: accounts_pb2.Contract) -> Contract:
    return Contract(
        id=c.id,
        number=c.number,
        contract_type=c.contract_type,
        supplier=c.supplier,
        payment_method=c.payment_method,
        bank_account=c.bank_account,
        advance_amount=Money(amount=c.advance_amount.amount, currency=c.advance_amount.currency),
        advance_cycle=c.advance_cycle,
        e_invoice=c.e_invoice,
        valid_from=c.valid_from.ToDatetime().date().isoformat(),
    )


def supply_point(p: accounts_pb2.SupplyPoint) -> SupplyPoint:
    return SupplyPoint(
        id=p.id,
        customer_number=p.customer_number,
        identifier=p.identifier,
        commodity=p.commodity,
        address=address(p.address),
        meter_number=p.meter_number,
        breaker_amps=p.breaker_amps,
        phases=p.phases,
        distribution_tariff=p.distribution_tariff,
        product=p.product,
        annual_consumption_kwh=p.annual_consumption_kwh,
        reading_schedule=p.reading_schedule,
        hdo_code=p.hdo_code,
        contract=contract(p.contract) if p.HasField("contract") else None,
    )


def customer(c: accounts_pb2.Customer) -> Customer:
    return Customer(
        customer_number=c.customer_number,
        name=c.name,
        kind=c.kind,
        email=c.email,
        phone=c.phone,
        permanent_address=address(c.permanent_address),
        mailing_address=address(c.mailing_address),
        supply_point_count=c.supply_point_count,
        contract_count=c.contract_count,
    )


class KindPreference(msgspec.Struct):
    kind: str
    channels: list[str]


class NotificationPreferences(msgspec.Struct):
    customer_number: str
    kinds: list[KindPreference]
    # where SMS go (E.164), from the customer's contact data; empty when there is none
    phone: str
    sms_available: bool


class NotificationPreferencesChange(msgspec.Struct, forbid_unknown_fields=True):
    # the kinds to change; kinds left out keep their channels
    kinds: list[KindPreference]


def notification_preferences(p: notifications_pb2.Preferences) -> NotificationPreferences:
    return NotificationPreferences(
        customer_number=p.customer_number,
        kinds=[KindPreference(kind=k.kind, channels=list(k.channels)) for k in p.kinds],
        phone=p.phone,
        sms_available=p.sms_available,
    )


class RequestEvent(msgspec.Struct):
    """A line of a request's timeline."""

    at: str
    # submitted, accept, start, ask_customer, add_info, resolve, reject, cancel, comment, escalated
    action: str
    # the state after it; empty for a comment
    to_state: str
    text: str
    # user, client, staff or system
    by: str


class AttachmentInfo(msgspec.Struct):
    """A file sent with a request; its content is downloaded from `href`."""

    id: str
    file_name: str
    content_type: str
    size: int
    href: str


class NewAttachment(msgspec.Struct, forbid_unknown_fields=True):
    """A file sent with a request or with the information added: a PDF, a JPEG, PNG, WebP or HEIC image, or plain
    text, 1 to 1,000,000 bytes."""

    file_name: str
    # application/pdf, image/jpeg, image/png, image/webp, image/heic or text/plain
    content_type: str
    # the file's bytes, base64-encoded
    content: bytes


class CustomerRequest(msgspec.Struct):
    """A request (žádost) of the customer, from any channel."""

    id: str
    customer_number: str
    # null: about the customer as a whole
    supply_point_id: str | None
    type: str
    # portal, phone, letter, branch or email
    channel: str
    # submitted, accepted, in_progress, waiting_for_customer, resolved, rejected or cancelled
    state: str
    deadline_at: str
    overdue: bool
    created_at: str
    updated_at: str
    # the type's fields as filed
    values: dict[str, str]
    # what the caller may do now: add_info, cancel (POST them to the request's steps)
    actions: list[str]
    # only when one request is asked for
    timeline: list[RequestEvent] | None = None
    # only when one request is asked for
    attachments: list[AttachmentInfo] | None = None


class CustomerRequestPage(msgspec.Struct):
    items: list[CustomerRequest]
    total: int
    next_page_token: str | None


class NewCustomerRequest(msgspec.Struct, forbid_unknown_fields=True):
    # a type of the catalog the contract of the supply point allows
    type: str
    # the fields the type asks for
    values: dict[str, str]
    # required by every type but invoice_complaint and free_text
    supply_point_id: str = ""
    # at most 3
    attachments: list[NewAttachment] = []


class RequestStep(msgspec.Struct, forbid_unknown_fields=True):
    """A step the customer takes on their request: add_info (while it waits for them; the information in `reason`,
    files allowed) or cancel (while nobody works on it)."""

    action: str
    reason: str = ""
    # add_info only; at most 3 a step and 12 a request
    attachments: list[NewAttachment] = []


def customer_request(r: requests_pb2.Request, *, with_timeline: bool = False, href: str = "") -> CustomerRequest:
    """The request as the API shows it; with `with_timeline` (one request asked for) its timeline and its files,
    each downloaded under `href`."""
    return CustomerRequest(
        id=r.id,
        customer_number=r.customer_number,
        supply_point_id=r.supply_point_id or None,
        type=r.type,
        channel=r.channel,
        state=r.state,
        deadline_at=instant(r.deadline_at),
        overdue=r.overdue,
        created_at=instant(r.created_at),
        updated_at=instant(r.updated_at),
        values={v.name: v.value for v in r.values},
        actions=list(r.actions),
        timeline=[
            RequestEvent(at=instant(e.at), action=e.action, to_state=e.to_state, text=e.text, by=e.actor_kind)
            for e in r.timeline
        ]
        if with_timeline
        else None,
        attachments=[
            AttachmentInfo(
                id=a.id,
                file_name=a.file_name,
                content_type=a.content_type,
                size=a.size,
                href=f"{href}/attachments/{a.id}",
            )
            for a in r.attachments
        ]
        if with_timeline
        else None,
    )


# --- invoices, advances, balance ----------------------------------------------------------------------------


class InvoiceLine(msgspec.Struct):
    code: str
    description: str
    quantity: str
    # MWh or month
    unit: str
    unit_price: str
    base: str
    # a fraction: 0.21 is 21 %
    vat_rate: str
    vat: str
    total: str
    valid_from: str
    valid_to: str


class VatRate(msgspec.Struct):
    rate: str
    base: str
    vat: str
    total: str


class Invoice(msgspec.Struct):
    """A settlement (regular or extraordinary) or a credit note. Days are local days YYYY-MM-DD; the period's last
    day is inclusive. `amount_due` is positive to pay, negative an overpayment to be refunded."""

    id: str
    number: str
    # regular, extraordinary or credit_note
    kind: str
    variable_symbol: str
    customer_number: str
    supply_point_id: str
    supply_point_identifier: str
    commodity: str
    period_from: str
    period_to: str
    issue_date: str
    due_date: str
    total: Money
    advances: Money
    amount_due: Money
    outstanding: Money
    # unpaid, partially_paid, paid, refund_due, refunded, settled
    status: str
    overdue: bool
    # the QR payment string (SPAYD in CZK, the EPC code in EUR) of what is still to pay; null when nothing is
    payment_string: str | None
    original_invoice_number: str | None
    lines: list[InvoiceLine] | None = None
    vat_breakdown: list[VatRate] | None = None


class InvoicePage(msgspec.Struct):
    items: list[Invoice]
    total: int
    next_page_token: str | None


class Advance(msgspec.Struct):
    id: str
    supply_point_id: str
    supply_point_identifier: str
    variable_symbol: str
    due_date: str
    amount: Money
    outstanding: Money
    # unpaid, partially_paid or paid
    status: str
    overdue: bool
    payment_string: str | None


class Reminder(msgspec.Struct):
    # 1 first reminder, 2 second, 3 final notice before disconnection
    level: int
    issued_on: str
    deadline: str
    invoice_number: str | None
    advance_due_date: str | None
    amount: Money


class Balance(msgspec.Struct):
    # positive: owed by today; negative: overpaid
    balance: Money
    overdue: Money
    reminders: list[Reminder]
    # the first day supply may be disconnected for unpaid items; null when none
    disconnection_from: str | None


def _money(m: common_pb2.Money) -> Money:
    return Money(amount=m.amount, currency=m.currency)


def invoice(i: billing_pb2.Invoice, *, detail: bool = False) -> Invoice:
    return Invoice(
        id=i.id,
        number=i.number,
        kind=i.kind,
        variable_symbol=i.variable_symbol,
        customer_number=i.customer_number,
        supply_point_id=i.supply_point_id,
        supply_point_identifier=i.supply_point_identifier,
        commodity=i.commodity,
        period_from=i.period_from,
        period_to=i.period_to,
        issue_date=i.issue_date,
        due_date=i.due_date,
        total=_money(i.total),
        advances=_money(i.advances),
        amount_due=_money(i.amount_due),
        outstanding=_money(i.outstanding),
        status=i.status,
        overdue=i.overdue,
        payment_string=i.payment_string or None,
        original_invoice_number=i.original_invoice_number or None,
        lines=[
            InvoiceLine(
                code=line.code,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                base=line.base,
                vat_rate=line.vat_rate,
                vat=line.vat,
                total=line.total,
                valid_from=line.valid_from,
                valid_to=line.valid_to,
            )
            for line in i.lines
        ]
        if detail
        else None,
        vat_breakdown=[VatRate(rate=v.rate, base=v.base, vat=v.vat, total=v.total) for v in i.vat_breakdown]
        if detail
        else None,
    )


def advance(a: billing_pb2.Advance) -> Advance:
    return Advance(
        id=a.id,
        supply_point_id=a.supply_point_id,
        supply_point_identifier=a.supply_point_identifier,
        variable_symbol=a.variable_symbol,
        due_date=a.due_date,
        amount=_money(a.amount),
        outstanding=_money(a.outstanding),
        status=a.status,
        overdue=a.overdue,
        payment_string=a.payment_string or None,
    )


def balance(b: billing_pb2.GetBalanceResponse) -> Balance:
    return Balance(
        balance=_money(b.balance),
        overdue=_money(b.overdue),
        reminders=[
            Reminder(
                level=r.level,
                issued_on=r.issued_on,
                deadline=r.deadline,
                invoice_number=r.invoice_number or None,
                advance_due_date=r.advance_due_date or None,
                amount=_money(r.amount),
            )
            for r in b.reminders
        ],
        disconnection_from=b.disconnection_from or None,
    )
