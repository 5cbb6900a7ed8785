"""View models of the staff console's pages; like the customer pages', plain frozen dataclasses the templates read.

Labels are message ids (`N_`) the templates translate; messages built from a service's answer arrive translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from kit import authz, hdoimport

from ..web.views import N_, NO_ERRORS, PATHS, FormErrors, Money, NavItem, RequestRow


@dataclass(frozen=True)
class Section:
    """A part of the console, open to the staff whose roles give its capability."""

    key: str
    href: str
    title: str  # message id
    summary: str  # message id
    capability: str


# pages of the console that gateway/web/views.py's PATHS do not list
CUSTOMERS_PATH = "/staff/customers"
AUDIT_PATH = "/staff/audit"
CATALOG_PATH = "/staff/catalog"
MATRIX_PATH = "/staff/matrix"
PAYMENTS_PATH = "/staff/payments"


SECTIONS: tuple[Section, ...] = (
    Section(
        "staff_hdo",
        PATHS["staff_hdo_import"],
        N_("HDO switching times"),
        N_("Import a distribution operator's switching times; every customer on those codes sees them."),
        authz.HDO_IMPORT,
    ),
    Section(
        "staff_outages",
        PATHS["staff_outages"],
        N_("Planned outages"),
        N_("Every planned outage announced in the brand's area, and the import of new ones."),
        authz.OUTAGES_READ,
    ),
    Section(
        "staff_requests",
        PATHS["staff_requests"],
        N_("Customers' requests"),
        N_("The queue of open requests by deadline; file a request on a customer's behalf."),
        authz.REQUESTS_WORK,
    ),
    Section(
        "staff_customers",
        CUSTOMERS_PATH,
        N_("Customers"),
        N_(
            "Find a customer by name, number, EAN/EIC, address, e-mail or phone; their supply points, contracts "
            "and requests."
        ),
        authz.CUSTOMERS_READ,
    ),
    Section(
        "staff_catalog",
        CATALOG_PATH,
        N_("Request catalog"),
        N_("Which requests customers may file, on which contracts, in what order and with what deadline."),
        authz.CATALOG_EDIT,
    ),
    Section(
        "staff_matrix",
        MATRIX_PATH,
        N_("Permission matrix"),
        N_("What customers may see and do online under each type of contract."),
        authz.CATALOG_EDIT,
    ),
    Section(
        "staff_payments",
        PAYMENTS_PATH,
        N_("Payments"),
        N_("Import the bank's statements; the payments that could not be matched wait here for a person."),
        authz.PAYMENTS_IMPORT,
    ),
    Section(
        "staff_audit",
        AUDIT_PATH,
        N_("Audit log"),
        N_("Who changed what and when, with the values before and after, and who searched for customers."),
        authz.AUDIT_READ,
    ),
)

ROLES: Mapping[str, str] = MappingProxyType(
    {authz.CUSTOMER_SERVICE: N_("Customer service"), authz.TENANT_ADMIN: N_("Tenant administrator")}
)

# the choices of the import form: "" lets the file's content decide, as `portal hdo import` does
FORMATS: tuple[tuple[str, str], ...] = (
    ("", N_("Recognise from the content")),
    ("cez-legacy", N_("ČEZ Distribuce, older service (per day type)")),
    ("cez-graphql", N_("ČEZ Distribuce, web search (no validity)")),
    ("cez-dip", N_("ČEZ Distribuce, DIP (per date)")),
    ("csv", N_("CSV for other operators")),
    (hdoimport.OUTAGES_FORMAT, N_("Planned outages")),
)


def nav(capabilities: frozenset[str]) -> tuple[NavItem, ...]:
    """The console's start, the sections the roles open, and the profile (password, two-step verification)."""
    return (
        NavItem("staff", PATHS["staff"], N_("Staff console")),
        *(NavItem(s.key, s.href, s.title) for s in SECTIONS if s.capability in capabilities),
        NavItem("profile", PATHS["profile"], N_("Profile")),
    )


@dataclass(frozen=True)
class HomeView:
    email: str
    roles: tuple[str, ...]  # message ids; an unknown role shows as its code
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class ImportForm:
    action: str
    max_mb: int
    # switching times can be sent in any format; the outages page takes outages only
    formats: tuple[tuple[str, str], ...] = ()
    chosen_format: str = ""
    valid_from: str = ""
    errors: FormErrors = NO_ERRORS


@dataclass(frozen=True)
class ScheduleResult:
    kind = "schedule"  # which outcome, for the template (a class attribute, not a field)
    file_name: str
    format: str
    codes: int
    changed_codes: tuple[str, ...]


@dataclass(frozen=True)
class OutagesResult:
    kind = "outages"  # which outcome, for the template
    file_name: str
    outages: int
    planned: int
    changed: int
    cancelled: int
    unchanged: int

    @property
    def nothing_changed(self) -> bool:
        return not (self.planned or self.changed or self.cancelled)


@dataclass(frozen=True)
class Refusal:
    """Why a file was refused as a whole: where in it (translated, may be empty) and what is wrong (translated)."""

    kind = "refused"  # which outcome, for the template
    file_name: str
    where: str
    message: str


Outcome = ScheduleResult | OutagesResult | Refusal | None


@dataclass(frozen=True)
class ImportView:
    form: ImportForm
    outcome: Outcome = None


@dataclass(frozen=True)
class OutageArea:
    text: str  # postal code, city, street
    house_from: int | None
    house_to: int | None


@dataclass(frozen=True)
class StaffOutageRow:
    operator: str
    external_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    state: str  # planned, changed, cancelled
    eans: tuple[str, ...]
    areas: tuple[OutageArea, ...]


@dataclass(frozen=True)
class OutagesView:
    rows: tuple[StaffOutageRow, ...]
    # None: the roles allow reading only
    upload: ImportView | None


# the queue's filters: states (empty: every open one), the assigned filter ("", "me", "none")
QUEUE_STATES: tuple[str, ...] = ("submitted", "accepted", "in_progress", "waiting_for_customer")
QUEUE_TYPES: tuple[str, ...] = (
    "breaker_change",
    "tariff_change",
    "product_change",
    "termination",
    "invoice_complaint",
    "extraordinary_settlement",
    "free_text",
)


@dataclass(frozen=True)
class QueueView:
    rows: tuple[RequestRow, ...]
    # state, type, assigned, overdue as asked
    filters: Mapping[str, str]
    next_href: str | None = None
    first_href: str | None = None
    states: tuple[str, ...] = QUEUE_STATES
    types: tuple[str, ...] = QUEUE_TYPES


# --- customers -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRow:
    number: str
    name: str
    email: str
    phone: str
    address: str  # the permanent address on one line
    supply_points: int
    href: str


@dataclass(frozen=True)
class CustomerSearchView:
    query: str
    rows: tuple[CustomerRow, ...]
    # False until a query was sent, so the page does not say "nothing found" before anyone searched
    searched: bool
    errors: FormErrors = NO_ERRORS
    next_href: str | None = None
    first_href: str | None = None
    action: str = CUSTOMERS_PATH


@dataclass(frozen=True)
class StaffPointRow:
    identifier: str  # EAN or EIC
    commodity: str
    address: str
    product: str
    contract_number: str


@dataclass(frozen=True)
class StaffContractRow:
    number: str
    contract_type: str
    payment_method: str
    advance: str  # amount with currency, formatted by the template
    currency: str
    advance_cycle: str
    e_invoice: bool


@dataclass(frozen=True)
class CustomerView:
    number: str
    name: str
    kind: str  # person or business
    company_id: str
    email: str
    phone: str
    permanent_address: str
    mailing_address: str
    supply_point_count: int
    contract_count: int
    points: tuple[StaffPointRow, ...]
    # the contracts of the supply points on this page of them
    contracts: tuple[StaffContractRow, ...]
    requests: tuple[RequestRow, ...]
    file_request_href: str
    next_href: str | None = None
    first_href: str | None = None
    # more requests than shown: the queue has them all
    more_requests: bool = False
    back_href: str = CUSTOMERS_PATH


# --- audit log -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    actor_kind: str  # user, client, staff, system
    me: bool  # the actor is the staff member looking
    channel: str
    entity: str
    entity_id: str
    action: str
    before: tuple[tuple[str, str], ...]
    after: tuple[tuple[str, str], ...]
    source: str = ""  # the log's title, a message id
    # the actor's login e-mail where identity knows it
    actor_name: str = ""
    customer_number: str = ""
    customer_href: str = ""
    # the log and the entry's id in it, unique across the merged log
    key: str = ""


@dataclass(frozen=True)
class AuditView:
    # source, customer, actor, entity, since, until as asked
    filters: Mapping[str, str]
    rows: tuple[AuditRow, ...]
    errors: FormErrors = NO_ERRORS
    next_href: str | None = None
    first_href: str | None = None
    # (key, title message id) of the log selector, "" for every log
    sources: tuple[tuple[str, str], ...] = ()
    action: str = AUDIT_PATH


# --- request catalog and permission matrix ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContractTypeChoice:
    code: str
    chosen: bool  # the catalog offers the type on it
    # the permission matrix allows the type's capability on it; where not, ticking it offers nothing
    matrix_allows: bool


@dataclass(frozen=True)
class CatalogCard:
    """One processed request type as the administrator edits it."""

    code: str
    capability: str  # its label's message id
    offered: bool
    deadline_days: str  # as typed, when the form comes back refused
    position: str
    contract_types: tuple[ContractTypeChoice, ...]
    # the contract types it can be filed on now: chosen and allowed by the matrix
    effective: tuple[str, ...]
    action: str
    errors: FormErrors = NO_ERRORS


@dataclass(frozen=True)
class CatalogView:
    cards: tuple[CatalogCard, ...]
    max_deadline_days: int
    max_position: int


@dataclass(frozen=True)
class MatrixRow:
    contract_type: str
    # (capability, allowed) in the columns' order
    cells: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class MatrixView:
    # (capability, its label's message id), the columns
    capabilities: tuple[tuple[str, str], ...]
    rows: tuple[MatrixRow, ...]
    # the labels' message ids of the capabilities no contract type may lose
    required: tuple[str, ...]
    errors: FormErrors = NO_ERRORS
    action: str = MATRIX_PATH


@dataclass(frozen=True)
class QueuedPaymentRow:
    booked_on: date
    amount: Money
    unallocated: Money
    variable_symbol: str
    counterparty: str
    message: str
    status: str  # partial, overpaid, unmatched, held
    customer_number: str


@dataclass(frozen=True)
class StatementResult:
    file_name: str
    lines: int
    matched: int
    queued: int
    duplicates: int
    kind: str = "statement"


StatementOutcome = StatementResult | Refusal


@dataclass(frozen=True)
class PaymentsView:
    rows: tuple[QueuedPaymentRow, ...]
    outcome: StatementOutcome | None
    errors: FormErrors
    max_mb: int
