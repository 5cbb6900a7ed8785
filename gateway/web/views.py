"""View models of the customer portal's pages.

Handlers turn protobuf answers into these plain frozen dataclasses and pass them to `gateway.i18n.render`;
the templates read nothing else, so a change in a service contract stops at the handler and a template can be
rendered (and tested) without any service running.

Texts inside view models (flash messages, form errors) arrive already translated; labels that the templates
translate themselves are message ids marked with `N_` so that extraction finds them.

Routes the templates link to or post to are listed in `PATHS`; the handlers serve them:

    /                     landing page (public)              /supply-points        list (GET q, commodity)
    /login                sign in, POST e-mail + password    /supply-points/{id}   detail
    /login/totp           POST the second step's code        /profile              profile (GET)
    /logout               POST                               /profile/password     POST
    /register             GET form, POST                     /profile/email        POST
    /verify-email         GET ?token=                        /profile/totp         POST: start enrolment
    /password-reset       GET form, POST e-mail              /profile/totp/confirm POST code
    /password-reset/new   GET ?token=, POST new password     /profile/totp/disable POST code
    /dashboard            overview                           /locale               POST locale, next
    /supply-points/{id}/hdo   low-tariff times (GET day)     /outages              planned outages
    /supply-points/{id}/readings  reading history (GET page), POST a self-reading (multipart, with a photo)
    /supply-points/{id}/consumption  history (GET by=month|year); .csv the same as a file
    /calendar/hdo/{token}.ics the low-tariff calendar feed (no session: the token is the credential)
    /customer             GET customer, next: switch the acting-for customer number, then redirect to next
    /profile/notifications  how each kind of message is delivered (GET), POST the channels chosen per kind
    /profile/tokens       personal access tokens (GET), POST a new one (its value shown once, in that answer)
    /profile/tokens/{id}/revoke  POST: revoke one
    /profile/contact      contact data and addresses (GET); POST one change (change=contact|mailing|permanent)
    /supply-points/{id}/contract  the contract's payment, advance and e-invoice (GET); POST one change
                          (change=payment|advance|e_invoice), applied at once by accounts
    /theme.css            the tenant's colours, from theme.css.j2
    /staff                the staff console (gateway/staff): its sections by the staff member's roles
    /staff/hdo/import     GET form, POST (multipart) an operator's switching times or outages file
    /staff/outages        every planned outage of the brand; POST (multipart) an outages file
    /requests             the acting-for customer's requests (GET page)   /requests/new  GET supply_point, type; POST
    /requests/{id}        a request with its timeline; POST /requests/{id}/transition (action, reason)
    /staff/requests       the queue (GET state, type, assigned, overdue, page); /staff/requests/new files for a customer
    /staff/requests/{id}  a request; POST …/transition (action, reason), …/assign, …/comment (text, internal)
    /requests/{id}/attachments/{aid}, /staff/requests/{id}/attachments/{aid}   a file sent with a request
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType

from kit.authz import (
    ADVANCE_WRITE,
    BANK_ACCOUNT_WRITE,
    CONSUMPTION_READ,
    CONTACT_WRITE,
    CONTRACTS_READ,
    E_INVOICE_WRITE,
    INVOICES_READ,
    PAYMENT_METHOD_WRITE,
    PAYMENTS_READ,
    READINGS_WRITE,
    SUPPLY_POINTS_READ,
)


def N_(message: str) -> str:
    """Marks a message id for extraction; the template translates it when it shows it."""
    return message


PATHS: Mapping[str, str] = MappingProxyType(
    {
        "landing": "/",
        "login": "/login",
        "login_totp": "/login/totp",
        "logout": "/logout",
        "register": "/register",
        "verify_email": "/verify-email",
        "password_reset_request": "/password-reset",
        "password_reset": "/password-reset/new",
        "dashboard": "/dashboard",
        "supply_points": "/supply-points",
        "outages": "/outages",
        "calendar_hdo": "/calendar/hdo",
        "profile": "/profile",
        "profile_password": "/profile/password",
        "profile_email": "/profile/email",
        "profile_totp": "/profile/totp",
        "profile_totp_confirm": "/profile/totp/confirm",
        "profile_totp_disable": "/profile/totp/disable",
        "profile_notifications": "/profile/notifications",
        "profile_tokens": "/profile/tokens",
        "profile_contact": "/profile/contact",
        "locale": "/locale",
        "customer": "/customer",
        "theme": "/theme.css",
        "static": "/static",
        "terms": "/static/terms.html",
        "staff": "/staff",
        "staff_hdo_import": "/staff/hdo/import",
        "staff_outages": "/staff/outages",
        "requests": "/requests",
        "invoices": "/invoices",
        "requests_new": "/requests/new",
        "staff_requests": "/staff/requests",
        "staff_requests_new": "/staff/requests/new",
    }
)


# Codes that services send, and the message ids the templates show for them (via the `label` filter).
LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "commodity": {"electricity": N_("Electricity"), "gas": N_("Gas")},
        "contract_type": {
            "bundled": N_("Bundled supply and distribution"),
            "supply_only": N_("Supply only"),
        },
        "payment_method": {
            "bank_transfer": N_("Bank transfer"),
            "direct_debit": N_("Direct debit"),
            "sipo": N_("SIPO"),
            "postal_order": N_("Postal order"),
        },
        "advance_cycle": {
            "monthly": N_("Monthly"),
            "quarterly": N_("Quarterly"),
            "half_yearly": N_("Every six months"),
            "yearly": N_("Yearly"),
        },
        "outage_state": {
            "planned": N_("Planned"),
            "changed": N_("Changed"),
            "cancelled": N_("Cancelled"),
        },
        "register": {"vt": N_("High tariff (VT)"), "nt": N_("Low tariff (NT)"), "gas": N_("Gas meter")},
        "reading_source": {
            "operator": N_("Distribution operator"),
            "customer": N_("Self-reading"),
            "estimate": N_("Estimate"),
        },
        "reading_schedule": {
            "yearly": N_("Once a year"),
            "monthly": N_("Monthly"),
            "continuous": N_("Continuous (interval metering)"),
        },
        "message_kind": {"outages": N_("Planned outages and their changes")},
        "channel": {"email": N_("E-mail"), "sms": N_("SMS")},
        "request_type": {
            "breaker_change": N_("Change of the main breaker"),
            "tariff_change": N_("Change of the distribution tariff"),
            "product_change": N_("Change of product"),
            "termination": N_("Termination of the contract"),
            "invoice_complaint": N_("Invoice complaint"),
            "extraordinary_settlement": N_("Extraordinary settlement"),
            "free_text": N_("Other request"),
            "contact_change": N_("Change of contact details"),
            "address_change": N_("Change of address"),
            "payment_change": N_("Change of payment method or bank account"),
            "advance_change": N_("Change of the advance payment"),
            "e_invoice_change": N_("E-invoice turned on or off"),
        },
        "invoice_kind": {
            "regular": N_("Settlement"),
            "extraordinary": N_("Extraordinary settlement"),
            "credit_note": N_("Credit note"),
        },
        "invoice_status": {
            "unpaid": N_("Unpaid"),
            "partially_paid": N_("Partly paid"),
            "paid": N_("Paid"),
            "refund_due": N_("Overpayment to refund"),
            "refunded": N_("Overpayment refunded"),
            "settled": N_("Nothing to pay"),
            "overdue": N_("Overdue"),
        },
        "unit": {"MWh": N_("MWh"), "month": N_("months")},
        "payment_status": {
            "partial": N_("Less than the amount due"),
            "overpaid": N_("More than the amount due"),
            "unmatched": N_("No invoice or advance with this symbol"),
            "held": N_("Returned money, to be checked"),
        },
        "request_state": {
            "submitted": N_("Submitted"),
            "accepted": N_("Accepted"),
            "in_progress": N_("In progress"),
            "waiting_for_customer": N_("Waiting for the customer"),
            "resolved": N_("Resolved"),
            "rejected": N_("Rejected"),
            "cancelled": N_("Cancelled"),
        },
        "request_channel": {
            "portal": N_("Portal"),
            "phone": N_("Phone"),
            "letter": N_("Letter"),
            "branch": N_("Branch"),
            "email": N_("E-mail"),
        },
        # timeline lines and buttons
        "request_action": {
            "submitted": N_("Filed"),
            "accept": N_("Accept"),
            "start": N_("Start work"),
            "ask_customer": N_("Ask the customer"),
            "add_info": N_("Add information"),
            "resolve": N_("Resolve"),
            "reject": N_("Reject"),
            "cancel": N_("Cancel the request"),
            "comment": N_("Comment"),
            "assign": N_("Assigned"),
            "escalated": N_("Deadline passed, escalated"),
            "applied": N_("Changed online, with immediate effect"),
        },
        "request_field": {
            "email": N_("E-mail"),
            "phone": N_("Phone"),
            "mailing_address": N_("Mailing address"),
            "permanent_address": N_("Permanent address"),
            "contract_number": N_("Contract number"),
            "payment_method": N_("Payment method"),
            "bank_account": N_("Bank account"),
            "advance_amount": N_("Advance payment"),
            "e_invoice": N_("E-invoice"),
            "breaker_amps": N_("Main breaker (A)"),
            "phases": N_("Phases"),
            "wanted_from": N_("Wanted from"),
            "note": N_("Note"),
            "distribution_tariff": N_("Distribution tariff"),
            "product": N_("Product"),
            "end_on": N_("Last day of supply"),
            "termination_reason": N_("Reason for the termination"),
            "invoice_number": N_("Invoice number"),
            "description": N_("Description"),
            "reading_day": N_("Day of the meter reading"),
            "subject": N_("Subject"),
        },
        "request_choice": {
            "on": N_("On"),
            "off": N_("Off"),
            "bank_transfer": N_("Bank transfer"),
            "direct_debit": N_("Direct debit"),
            "sipo": N_("SIPO"),
            "postal_order": N_("Postal order"),
            "1": N_("Single-phase"),
            "3": N_("Three-phase"),
            "moving": N_("Moving out"),
            "supplier_change": N_("Change of supplier"),
            "other": N_("Other reason"),
        },
        # what a personal access token may do, by its OAuth scope (kit.authz.SCOPE_CAPABILITIES)
        "scope": {
            "supply-points:read": N_("See supply points and their technical data"),
            "contracts:read": N_("See contracts"),
            "invoices:read": N_("See invoices"),
            "payments:read": N_("See payments"),
            "consumption:read": N_("See meter readings and consumption"),
            "readings:write": N_("Submit meter readings"),
            "requests:read": N_("See requests"),
            "requests:write": N_("Submit requests"),
            "contact:write": N_("Change contact details"),
            "payment-method:write": N_("Change the payment method"),
            "bank-account:write": N_("Change the bank account"),
            "advance:write": N_("Change advance payments"),
            "e-invoice:write": N_("Turn electronic invoices on or off"),
            "breaker-change:request": N_("Ask for a main circuit breaker change"),
            "tariff-change:request": N_("Ask for a distribution tariff change"),
        },
    }
)


@dataclass(frozen=True)
class Brand:
    """A tenant's white label: what every page of that tenant shows and how it formats."""

    slug: str
    name: str
    logo_path: str
    primary_color: str
    accent_color: str
    customer_line: str
    outage_line: str
    email: str
    postal_address: str
    locales: tuple[str, ...]
    default_locale: str
    currency: str
    time_zone: str
    legal_name: str = ""
    company_id: str = ""
    # "households" or "business": the landing page speaks to one or the other
    audience: str = "households"
    commodities: tuple[str, ...] = ("electricity",)


@dataclass(frozen=True)
class NavItem:
    key: str
    href: str
    label: str  # message id


DEFAULT_NAV: tuple[NavItem, ...] = (
    NavItem("dashboard", PATHS["dashboard"], N_("Overview")),
    NavItem("supply_points", PATHS["supply_points"], N_("Supply points")),
    NavItem("outages", PATHS["outages"], N_("Planned outages")),
    NavItem("invoices", PATHS["invoices"], N_("Invoices and payments")),
    NavItem("requests", PATHS["requests"], N_("Requests")),
    NavItem("profile", PATHS["profile"], N_("Profile")),
)


@dataclass(frozen=True)
class CustomerChoice:
    number: str
    name: str


@dataclass(frozen=True)
class Flash:
    message: str  # translated
    kind: str = "info"  # info, success, warning, error


@dataclass(frozen=True)
class Page:
    """What the layout needs on every page: brand, language, who is signed in, for which customer."""

    brand: Brand
    locale: str
    path: str
    csrf_token: str
    # the page's query string, so that switching the language keeps a search or a picked day
    query: str = ""
    available_locales: tuple[str, ...] = ()
    user: str | None = None  # the signed-in login e-mail
    customers: tuple[CustomerChoice, ...] = ()
    current_customer: str | None = None
    flashes: tuple[Flash, ...] = ()
    nav_active: str = ""
    nav: tuple[NavItem, ...] = DEFAULT_NAV

    @property
    def locales(self) -> tuple[str, ...]:
        return self.available_locales or self.brand.locales

    @property
    def show_customer_switcher(self) -> bool:
        return self.user is not None and len(self.customers) > 1


@dataclass(frozen=True)
class FormErrors:
    """Translated messages per field name, plus one for the form as a whole."""

    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    form: str | None = None

    def __bool__(self) -> bool:
        return bool(self.form) or any(self.fields.values())

    def of(self, name: str) -> tuple[str, ...]:
        return tuple(self.fields.get(name, ()))

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(k, tuple(v)) for k, v in self.fields.items() if v]


NO_ERRORS = FormErrors()


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Address:
    street: str = ""
    house_number: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""

    def __str__(self) -> str:
        street = " ".join(p for p in (self.street, self.house_number) if p)
        town = " ".join(p for p in (self.postal_code, self.city) if p)
        return ", ".join(p for p in (street, town) if p)


@dataclass(frozen=True)
class SupplyPointRow:
    id: str
    identifier: str  # EAN (electricity) or EIC (gas)
    commodity: str  # electricity, gas
    address: Address
    product: str = ""
    distribution_tariff: str = ""
    customer_number: str = ""

    @property
    def href(self) -> str:
        return f"{PATHS['supply_points']}/{self.id}"

    @property
    def hdo_href(self) -> str:
        return f"{PATHS['supply_points']}/{self.id}/hdo"

    @property
    def readings_href(self) -> str:
        return f"{PATHS['supply_points']}/{self.id}/readings"

    @property
    def consumption_href(self) -> str:
        return f"{PATHS['supply_points']}/{self.id}/consumption"


@dataclass(frozen=True)
class SupplyPointListView:
    rows: tuple[SupplyPointRow, ...]
    total: int
    query: str = ""
    commodity: str = ""  # "", electricity, gas
    next_href: str | None = None
    prev_href: str | None = None
    first_index: int = 1  # 1-based position of rows[0] in the whole result, for "1–25 of 240"

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.rows) - 1


@dataclass(frozen=True)
class ContractRow:
    number: str
    contract_type: str
    supply_point_count: int = 0
    payment_method: str = ""
    advance: Money | None = None
    advance_cycle: str = ""
    e_invoice: bool = False


@dataclass(frozen=True)
class QuickAction:
    key: str
    href: str
    label: str  # message id
    capability: str
    # the action's page for one supply point, under /supply-points/{id}; empty: `href?supply_point={id}`
    point_page: str = ""

    def href_for(self, supply_point_id: str) -> str:
        if self.point_page:
            return f"{PATHS['supply_points']}/{supply_point_id}/{self.point_page}"
        return f"{self.href}?supply_point={supply_point_id}"


# the most-used actions, most used first; a dashboard shows those its capabilities allow
QUICK_ACTIONS: tuple[QuickAction, ...] = (
    QuickAction("reading", "/readings/new", N_("Submit a meter reading"), READINGS_WRITE, "readings"),
    QuickAction("invoices", "/invoices", N_("Invoices and payments"), INVOICES_READ),
    QuickAction("consumption", "/consumption", N_("Consumption history"), CONSUMPTION_READ, "consumption"),
    QuickAction("supply_points", PATHS["supply_points"], N_("All supply points"), SUPPLY_POINTS_READ),
    QuickAction("outages", PATHS["outages"], N_("Planned outages"), SUPPLY_POINTS_READ),
    QuickAction("contact", PATHS["profile_contact"], N_("Change contact details"), CONTACT_WRITE),
)


@dataclass(frozen=True)
class LowTariffNow:
    """Whether the low tariff is on now; `known` is false when no switching times cover the moment."""

    known: bool
    low_tariff: bool
    until: datetime | None = None


@dataclass(frozen=True)
class LowTariffCard:
    """The dashboard's line about the first supply point with an HDO code."""

    supply_point: SupplyPointRow
    code: str
    now: LowTariffNow


@dataclass(frozen=True)
class DashboardView:
    customer_name: str
    customer_number: str
    electricity_count: int
    gas_count: int
    supply_points: tuple[SupplyPointRow, ...]  # the first few
    contracts: tuple[ContractRow, ...]
    capabilities: frozenset[str]
    actions: tuple[QuickAction, ...] = QUICK_ACTIONS
    low_tariff: LowTariffCard | None = None
    outages: OutageCard | None = None

    @property
    def supply_point_count(self) -> int:
        return self.electricity_count + self.gas_count

    @property
    def visible_actions(self) -> tuple[QuickAction, ...]:
        return tuple(a for a in self.actions if a.capability in self.capabilities)

    def action_href(self, action: QuickAction) -> str:
        """A per-point action goes straight to the point's page when there is one point; with several, the
        dashboard lists the ones it shows (`action_points`)."""
        if action.point_page and self.supply_point_count == 1 and self.supply_points:
            return action.href_for(self.supply_points[0].id)
        return action.href

    def action_points(self, action: QuickAction) -> tuple[tuple[SupplyPointRow, str], ...]:
        if not action.point_page or self.supply_point_count == 1:
            return ()
        return tuple((p, action.href_for(p.id)) for p in self.supply_points)

    @property
    def can_see_contracts(self) -> bool:
        return CONTRACTS_READ in self.capabilities


@dataclass(frozen=True)
class ContractDetail:
    number: str
    contract_type: str
    payment_method: str
    bank_account: str = ""
    advance: Money | None = None
    advance_cycle: str = ""
    e_invoice: bool = False
    supplier: str = ""
    valid_from: date | None = None


@dataclass(frozen=True)
class SupplyPointDetailView:
    id: str
    identifier: str
    commodity: str
    address: Address
    capabilities: frozenset[str]
    customer_number: str = ""
    meter_number: str = ""
    breaker_amps: int | None = None
    phases: int | None = None
    distribution_tariff: str = ""
    product: str = ""
    annual_consumption_kwh: int | None = None
    reading_schedule: str = ""
    hdo_code: str = ""
    contract: ContractDetail | None = None

    @property
    def is_electricity(self) -> bool:
        return self.commodity == "electricity"

    @property
    def show_technical(self) -> bool:
        return SUPPLY_POINTS_READ in self.capabilities

    @property
    def show_contract(self) -> bool:
        return self.contract is not None and CONTRACTS_READ in self.capabilities

    @property
    def show_payment(self) -> bool:
        return self.show_contract and PAYMENTS_READ in self.capabilities

    @property
    def can_change_contract(self) -> bool:
        """Whether the grant allows any immediate change of the contract; its page offers what the matrix allows."""
        return self.show_contract and bool(
            {PAYMENT_METHOD_WRITE, BANK_ACCOUNT_WRITE, ADVANCE_WRITE, E_INVOICE_WRITE} & self.capabilities
        )

    @property
    def hdo_href(self) -> str | None:
        """The low-tariff page, for electricity with an HDO code whose technical data may be read."""
        if self.is_electricity and self.hdo_code and self.show_technical:
            return f"{PATHS['supply_points']}/{self.id}/hdo"
        return None

    @property
    def actions(self) -> tuple[QuickAction, ...]:
        wanted = {"reading", "consumption", "invoices"}
        return tuple(a for a in QUICK_ACTIONS if a.key in wanted and a.capability in self.capabilities)

    def action_href(self, action: QuickAction) -> str:
        return action.href_for(self.id)


@dataclass(frozen=True)
class Duration:
    seconds: int

    @property
    def hours(self) -> int:
        return self.seconds // 3600

    @property
    def minutes(self) -> int:
        return self.seconds % 3600 // 60

    @property
    def iso(self) -> str:
        """For `<time datetime>`: an ISO 8601 duration, exact to the second."""
        rest = self.seconds % 60
        return f"PT{self.hours}H{self.minutes}M" + (f"{rest}S" if rest else "")


@dataclass(frozen=True)
class LowTariffSpan:
    """A low-tariff window within one local day, as wall-clock times ("24:00": until the day's end)."""

    start: datetime
    end: datetime
    start_text: str
    end_text: str


@dataclass(frozen=True)
class LowTariffDay:
    day: date
    spans: tuple[LowTariffSpan, ...]
    seconds: int
    is_today: bool = False

    @property
    def duration(self) -> Duration:
        return Duration(self.seconds)


@dataclass(frozen=True)
class LowTariffWeek:
    key: str  # this, next
    title: str  # message id
    days: tuple[LowTariffDay, ...]

    @property
    def duration(self) -> Duration:
        return Duration(sum(d.seconds for d in self.days))


@dataclass(frozen=True)
class LowTariffView:
    supply_point: SupplyPointRow
    code: str
    time_zone: str
    now: LowTariffNow
    today: LowTariffDay
    weeks: tuple[LowTariffWeek, ...]
    weeks_table: str  # the weeks as rendered by `_low_tariff_weeks.html`
    first_day: date  # the oldest day that may be picked
    last_day: date  # the last day of next week
    feed_url: str
    webcal_url: str
    picked: LowTariffDay | None = None
    day_value: str = ""  # what was typed into the date field
    day_error: str = ""  # translated

    @property
    def has_times(self) -> bool:
        return self.now.known or any(d.spans for w in self.weeks for d in w.days)


@dataclass(frozen=True)
class OutageRow:
    starts_at: datetime
    ends_at: datetime
    reason: str
    state: str  # planned, changed, cancelled
    places: tuple[SupplyPointRow, ...]


@dataclass(frozen=True)
class OutageCard:
    """The dashboard's line about the next planned outage at the customer's supply points."""

    next: OutageRow
    more: int


@dataclass(frozen=True)
class OutagesView:
    rows: tuple[OutageRow, ...]
    electricity_count: int


@dataclass(frozen=True)
class ReadingRow:
    read_on: date
    source: str  # operator, customer, estimate
    flagged: bool  # suspicious, confirmed by the customer
    values: Mapping[str, Decimal]  # register → the meter's display
    consumption_kwh: Decimal | None  # since the reading before; None for the first
    has_photo: bool = False


@dataclass(frozen=True)
class Suspicious:
    """A value the check found suspicious but possible: what it would mean, for the customer to confirm."""

    consumption_kwh: Decimal
    expected_kwh: Decimal
    last_date: date


@dataclass(frozen=True)
class ReadingForm:
    """The self-reading form (samoodečet): one field per register, the day, an optional meter photo."""

    registers: tuple[str, ...]  # vt (and nt), or gas
    unit: str  # kWh or m³
    read_on: str  # as typed; today when first shown
    today: date
    idempotency_key: str  # made when the form is first shown, so a resubmitted form stores nothing twice
    values: Mapping[str, str] = field(default_factory=dict)  # as typed
    errors: FormErrors = NO_ERRORS
    suspicious: Suspicious | None = None
    photo_dropped: bool = False  # a photo came with the refused submission: browsers cannot keep it
    max_photo_mb: int = 4


@dataclass(frozen=True)
class ReadingsView:
    supply_point: SupplyPointRow
    registers: tuple[str, ...]
    unit: str
    rows: tuple[ReadingRow, ...]
    total: int
    form: ReadingForm | None  # None: the caller may not submit readings
    next_href: str | None = None
    first_href: str | None = None  # back to the newest, when this is a later page

    @property
    def last(self) -> ReadingRow | None:
        """The last actual reading, which a new one is checked against (on the first page only)."""
        if self.first_href is not None:
            return None
        return next((r for r in self.rows if r.source != "estimate"), None)


@dataclass(frozen=True)
class ConsumptionPeriodRow:
    period: str  # YYYY-MM or YYYY
    first_day: date
    last_day: date
    kwh: Decimal
    registers: Mapping[str, Decimal]  # kWh per register
    volume_m3: Decimal | None  # gas only
    days_covered: int
    days: int
    estimated: bool

    @property
    def complete(self) -> bool:
        return self.days_covered == self.days


@dataclass(frozen=True)
class ChartBar:
    row: ConsumptionPeriodRow
    x: float
    y: float
    width: float
    height: float
    label_x: float


@dataclass(frozen=True)
class ChartTick:
    value: Decimal
    y: float


CHART_WIDTH = 720
CHART_HEIGHT = 260
CHART_LEFT = 64  # room for the axis values
CHART_TOP = 12
CHART_BOTTOM = 36  # room for the period labels


def _nice_ceiling(value: Decimal) -> Decimal:
    """The axis' top: 1, 2, 2.5 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


@dataclass(frozen=True)
class ConsumptionView:
    supply_point: SupplyPointRow
    by: str  # month, year
    commodity: str
    registers: tuple[str, ...]
    periods: tuple[ConsumptionPeriodRow, ...]  # oldest first

    width = CHART_WIDTH
    height = CHART_HEIGHT
    left = CHART_LEFT
    baseline = CHART_HEIGHT - CHART_BOTTOM

    @property
    def gas(self) -> bool:
        return self.commodity == "gas"

    @property
    def total_kwh(self) -> Decimal:
        return sum((p.kwh for p in self.periods), Decimal(0))

    @property
    def peak(self) -> ConsumptionPeriodRow | None:
        return max(self.periods, key=lambda p: p.kwh, default=None)

    def href(self, by: str, suffix: str = "") -> str:
        return f"{PATHS['supply_points']}/{self.supply_point.id}/consumption{suffix}?by={by}"

    @property
    def csv_href(self) -> str:
        return self.href(self.by, ".csv")

    @property
    def xlsx_href(self) -> str:
        return self.href(self.by, ".xlsx")

    @property
    def axis_max(self) -> Decimal:
        return _nice_ceiling(self.peak.kwh if self.peak else Decimal(0))

    @property
    def plot_height(self) -> int:
        return CHART_HEIGHT - CHART_TOP - CHART_BOTTOM

    @property
    def ticks(self) -> tuple[ChartTick, ...]:
        top = self.axis_max
        return tuple(ChartTick(top * i / 4, round(CHART_TOP + self.plot_height * (1 - i / 4), 2)) for i in range(5))

    @property
    def bars(self) -> tuple[ChartBar, ...]:
        """Bar geometry in the chart's own units (its viewBox), so the SVG needs attributes only, no styles."""
        if not self.periods:
            return ()
        slot = (CHART_WIDTH - CHART_LEFT) / len(self.periods)
        width = max(slot * 0.7, 1)
        top = self.axis_max
        bars = []
        for i, p in enumerate(self.periods):
            height = float(p.kwh / top) * self.plot_height if top else 0.0
            x = CHART_LEFT + i * slot + (slot - width) / 2
            bars.append(
                ChartBar(
                    p,
                    round(x, 2),
                    round(CHART_TOP + self.plot_height - height, 2),
                    round(width, 2),
                    round(height, 2),
                    round(x + width / 2, 2),
                )
            )
        return tuple(bars)

    @property
    def label_every(self) -> int:
        """Every how many bars a period label fits under the axis."""
        return max(1, -(-len(self.periods) // 12))


@dataclass(frozen=True)
class RequestField:
    """One field a request type asks for, with what was typed."""

    name: str
    kind: str  # text, long_text, date, choice
    required: bool
    choices: tuple[str, ...]
    max_length: int
    value: str = ""


@dataclass(frozen=True)
class RequestPointChoice:
    id: str
    label: str  # EAN/EIC and address


@dataclass(frozen=True)
class RequestRow:
    id: str
    type: str
    state: str
    channel: str
    customer_number: str
    supply_point: str  # its EAN/EIC where known, else its id; empty: the customer as a whole
    created_at: datetime
    deadline_at: datetime
    overdue: bool
    escalated: bool
    href: str
    assignee: str = ""  # staff only
    assignee_name: str = ""


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    action: str
    to_state: str
    text: str
    by: str  # user, client, staff or system
    internal: bool = False


@dataclass(frozen=True)
class RequestsView:
    rows: tuple[RequestRow, ...]
    total: int
    can_file: bool
    next_href: str | None = None
    first_href: str | None = None


@dataclass(frozen=True)
class NewRequestView:
    """Filing a request in three steps on one page: the supply point (none for requests about the customer as a
    whole), the type its contract allows, the type's fields."""

    action: str
    points: tuple[RequestPointChoice, ...]
    supply_point: str
    types: tuple[str, ...]  # type codes offered for the chosen supply point
    chosen: str  # the type code being filled in; empty: none yet
    fields: tuple[RequestField, ...] = ()
    deadline_days: int = 0
    idempotency_key: str = ""
    errors: FormErrors = NO_ERRORS
    # staff filing on a customer's behalf
    customer_number: str = ""
    channel: str = ""
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttachmentRow:
    file_name: str
    content_type: str
    size: int
    href: str


@dataclass(frozen=True)
class RequestDetailView:
    request: RequestRow
    values: tuple[tuple[str, str], ...]  # field name, value
    timeline: tuple[TimelineRow, ...]
    actions: tuple[str, ...]  # the steps the viewer may take now
    post_href: str
    errors: FormErrors = NO_ERRORS
    staff: bool = False
    # the viewer's own subject id, for "assign to me"
    me: str = ""
    attachments: tuple[AttachmentRow, ...] = ()


@dataclass(frozen=True)
class TotpEnrolment:
    """A started, unconfirmed enrolment: shown once so the user can type it into an authenticator app."""

    secret: str
    provisioning_uri: str


@dataclass(frozen=True)
class ProfileView:
    email: str
    totp_enabled: bool
    customers: tuple[CustomerChoice, ...]
    totp_enrolment: TotpEnrolment | None = None
    pending_email: str | None = None  # a new login e-mail awaiting its confirmation link


@dataclass(frozen=True)
class ContactDetailsView:
    """The customer's contact data and addresses, each changed at once by its own form (`change`)."""

    customer_number: str
    email: str
    phone: str
    mailing_address: Address
    permanent_address: Address
    can_change: bool
    # what a refused form posted, shown again: change → field → value
    posted: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def value(self, change: str, name: str, current: str) -> str:
        return self.posted.get(change, {}).get(name, current)


@dataclass(frozen=True)
class AdvanceBounds:
    minimum: Money
    maximum: Money
    proposal: Money
    yearly_cost: Money
    annual_consumption_kwh: int


PAYMENT_METHODS = ("bank_transfer", "direct_debit", "sipo", "postal_order")


@dataclass(frozen=True)
class ContractSettingsView:
    """A supply point's contract with the forms its grant and the brand's permission matrix allow."""

    supply_point: SupplyPointRow
    contract: ContractDetail
    # capabilities the caller has on this contract (grant ∩ matrix row of its type)
    capabilities: frozenset[str]
    bounds: AdvanceBounds | None = None
    posted: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    payment_methods: tuple[str, ...] = PAYMENT_METHODS

    def value(self, change: str, name: str, current: str) -> str:
        return self.posted.get(change, {}).get(name, current)

    @property
    def can_change_payment(self) -> bool:
        return bool({PAYMENT_METHOD_WRITE, BANK_ACCOUNT_WRITE} & self.capabilities)

    @property
    def can_change_method(self) -> bool:
        return PAYMENT_METHOD_WRITE in self.capabilities

    @property
    def can_change_account(self) -> bool:
        return BANK_ACCOUNT_WRITE in self.capabilities

    @property
    def can_change_advance(self) -> bool:
        return ADVANCE_WRITE in self.capabilities and self.bounds is not None

    @property
    def can_change_e_invoice(self) -> bool:
        return E_INVOICE_WRITE in self.capabilities

    @property
    def href(self) -> str:
        return f"{PATHS['supply_points']}/{self.supply_point.id}/contract"


@dataclass(frozen=True)
class PreferenceRow:
    kind: str
    channels: frozenset[str]


@dataclass(frozen=True)
class PreferencesView:
    """How each kind of message reaches the customer, and whether the signed-in user may change it (owners may,
    delegates see it only)."""

    rows: tuple[PreferenceRow, ...]
    channels: tuple[str, ...]
    # where SMS go (E.164), from the customer's contact data; empty when there is none
    phone: str
    sms_available: bool
    can_change: bool


@dataclass(frozen=True)
class PersonalTokenRow:
    id: str
    name: str
    scopes: tuple[str, ...]
    # empty: every customer number of the login
    customer_numbers: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    expired: bool

    @property
    def revoke_path(self) -> str:
        return f"{PATHS['profile_tokens']}/{self.id}/revoke"


@dataclass(frozen=True)
class NewPersonalToken:
    """A token just created. Its value is in the one answer that shows it, never in the session or the list."""

    name: str
    value: str
    expires_at: datetime
    # an API address to try it on, with this brand's host
    example_url: str


@dataclass(frozen=True)
class TokenForm:
    """The create form as posted, to show again when it was refused."""

    name: str = ""
    scopes: frozenset[str] = frozenset()
    customer_numbers: frozenset[str] = frozenset()
    # days ("30", "90", "365") or "date" for expires_on
    expires: str = "90"
    expires_on: str = ""


@dataclass(frozen=True)
class TokensView:
    tokens: tuple[PersonalTokenRow, ...]
    # the scopes a token may be given, in kit.authz's order
    scopes: tuple[str, ...]
    # the login's customer numbers; a choice among them is offered when there are several
    customers: tuple[CustomerChoice, ...]
    max_active: int
    # the days the expiry date may take
    first_day: date
    last_day: date
    expiry_days: tuple[str, ...] = ("30", "90", "365")
    form: TokenForm = TokenForm()
    created: NewPersonalToken | None = None

    @property
    def live_count(self) -> int:
        return sum(1 for t in self.tokens if not t.expired)


def brand_from_tenant(tenant: object) -> Brand:
    """Brand from an accounts.v1.Tenant message (duck-typed, so this module does not import protobufs)."""
    t = tenant
    contact = t.contact_lines  # type: ignore[attr-defined]
    theme = t.theme  # type: ignore[attr-defined]
    legal = t.legal_entity  # type: ignore[attr-defined]
    features = set(t.features)  # type: ignore[attr-defined]
    return Brand(
        slug=t.slug,  # type: ignore[attr-defined]
        name=t.name,  # type: ignore[attr-defined]
        logo_path=theme.logo_path or f"/static/brands/{t.slug}/logo.svg",  # type: ignore[attr-defined]
        primary_color=theme.primary_color,
        accent_color=theme.accent_color,
        customer_line=contact.customer_line,
        outage_line=contact.outage_line,
        email=contact.email,
        postal_address=contact.postal_address,
        locales=tuple(t.locales) or (t.default_locale,),  # type: ignore[attr-defined]
        default_locale=t.default_locale,  # type: ignore[attr-defined]
        currency=t.currency,  # type: ignore[attr-defined]
        time_zone=t.time_zone,  # type: ignore[attr-defined]
        legal_name=legal.name,
        company_id=legal.company_id,
        # large consumers nominate their diagrams; the landing page then speaks to businesses
        audience="business" if "nominations" in features else "households",
        commodities=("electricity", "gas") if "gas" in features else ("electricity",),
    )


# The three demo brands, as the accounts seed describes them; tests and local previews render with these.
DEMO_BRANDS: Mapping[str, Brand] = MappingProxyType(
    {
        "volta": Brand(
            slug="volta",
            name="Volta Energie",
            logo_path="/static/brands/volta/logo.svg",
            primary_color="#0b57a4",
            accent_color="#f2b705",
            customer_line="+420 800 100 200",
            outage_line="+420 800 100 299",
            email="zakaznici@volta-energie.cz",
            postal_address="Volta Energie s.r.o., Vinohradská 1511/230, 100 00 Praha 10",
            locales=("cs", "bg", "en"),
            default_locale="cs",
            currency="CZK",
            time_zone="Europe/Prague",
            legal_name="Volta Energie s.r.o.",
            company_id="IČO 27654321",
            commodities=("electricity", "gas"),
        ),
        "esco": Brand(
            slug="esco",
            name="Volta ESCO",
            logo_path="/static/brands/esco/logo.svg",
            primary_color="#1f4e3d",
            accent_color="#3fb68b",
            customer_line="+420 800 300 400",
            outage_line="+420 800 300 499",
            email="klienti@volta-esco.cz",
            postal_address="Volta ESCO a.s., Karlovo náměstí 288/17, 120 00 Praha 2",
            locales=("cs", "bg", "en"),
            default_locale="cs",
            currency="CZK",
            time_zone="Europe/Prague",
            legal_name="Volta ESCO a.s.",
            company_id="IČO 08765432",
            audience="business",
            commodities=("electricity", "gas"),
        ),
        "balkan": Brand(
            slug="balkan",
            name="Balkan Power",
            logo_path="/static/brands/balkan/logo.svg",
            primary_color="#8a1c3a",
            accent_color="#e8833a",
            customer_line="+359 700 10 200",
            outage_line="+359 700 10 299",
            email="klienti@balkanpower.bg",
            postal_address="Балкан Пауър ЕАД, бул. „Витоша“ 89, 1463 София",
            locales=("cs", "bg", "en"),
            default_locale="bg",
            currency="EUR",
            time_zone="Europe/Sofia",
            legal_name="Балкан Пауър ЕАД",
            company_id="ЕИК 204567890",
            commodities=("electricity",),
        ),
    }
)


@dataclass(frozen=True)
class InvoiceRow:
    id: str
    href: str
    number: str
    kind: str
    supply_point: str
    issue_date: date
    due_date: date
    total: Money
    amount_due: Money
    outstanding: Money
    status: str
    overdue: bool
    reminder_level: int = 0


@dataclass(frozen=True)
class PaymentInstructions:
    """How to pay an amount by bank transfer, and the QR code of the same payment (QR Platba or the EPC code)."""

    account: str  # Czech domestic form; empty for other countries
    iban: str
    variable_symbol: str
    amount: Money
    due_date: date
    code: str
    qr_svg: str


@dataclass(frozen=True)
class InvoiceLineRow:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    base: Decimal
    vat_rate: Decimal  # percent
    total: Decimal


@dataclass(frozen=True)
class VatRow:
    rate: Decimal  # percent
    base: Decimal
    vat: Decimal
    total: Decimal


@dataclass(frozen=True)
class InvoiceView:
    row: InvoiceRow
    variable_symbol: str
    period_from: date
    period_to: date
    commodity: str
    advances: Money
    rounding: Money
    original_number: str
    lines: tuple[InvoiceLineRow, ...]
    vat: tuple[VatRow, ...]
    payment: PaymentInstructions | None
    pdf_href: str
    isdoc_href: str


@dataclass(frozen=True)
class AdvanceRow:
    supply_point: str
    due_date: date
    amount: Money
    outstanding: Money
    status: str
    overdue: bool


@dataclass(frozen=True)
class InvoicesView:
    rows: tuple[InvoiceRow, ...]
    total: int
    filters: Mapping[str, str]
    statuses: tuple[str, ...]
    points: tuple[RequestPointChoice, ...]
    advances: tuple[AdvanceRow, ...] = ()
    next_advance: PaymentInstructions | None = None
    balance: Money | None = None
    overdue: Money | None = None
    disconnection_from: date | None = None
    filter_error: str = ""
    next_href: str | None = None
    first_href: str | None = None
