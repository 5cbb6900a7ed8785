"""Pure rules of the requests service: the catalog of request types (žádosti), what each asks for, and the one state
machine every processed request goes through. No I/O.

States and who moves a request between them (`TRANSITIONS`):

    submitted ──accept──▶ accepted ──start──▶ in_progress ──resolve──▶ resolved
        │                    │  ▲                │   ▲
        │                    │  └──────┐         │   │ add_info (customer)
        │                    └─ask_customer──▶ waiting_for_customer
        └──────── reject (staff, from any open state) ──▶ rejected
        └──────── cancel (customer or staff, while not in progress) ──▶ cancelled

Staff take every step but add_info, which is the customer's answer while the request waits for them; the customer
may also cancel while nobody works on the request (submitted, accepted, waiting for them). A reason is required where
the other side needs one: what the customer should add, the information added, the resolution, the rejection, and a
staff member's cancellation (made on the customer's word, by phone or letter).

Deadlines run in calendar days from the submission. A request is overdue when its deadline passed while it is the
supplier's turn (submitted, accepted, in progress); waiting for the customer does not count against the supplier.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from kit import authz
from kit.errors import DomainError

# kinds of request type
IMMEDIATE = "immediate"  # applied at once by the service that owns the data (contact data, e-invoice …)
PROCESSED = "processed"  # worked by staff through the state machine below

# states
SUBMITTED = "submitted"
ACCEPTED = "accepted"
IN_PROGRESS = "in_progress"
WAITING = "waiting_for_customer"
RESOLVED = "resolved"
REJECTED = "rejected"
CANCELLED = "cancelled"
STATES = (SUBMITTED, ACCEPTED, IN_PROGRESS, WAITING, RESOLVED, REJECTED, CANCELLED)
OPEN_STATES = (SUBMITTED, ACCEPTED, IN_PROGRESS, WAITING)
# the supplier's turn: where a passed deadline is the supplier's delay
SUPPLIER_TURN = (SUBMITTED, ACCEPTED, IN_PROGRESS)

CUSTOMER = "customer"
STAFF = "staff"

# channels a request comes through
CHANNELS = ("portal", "phone", "letter", "branch", "email")
PORTAL = "portal"

MAX_TEXT = 200
MAX_LONG_TEXT = 4000
MAX_REASON = 2000


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    by: frozenset[str]
    # who must give a reason
    reason_from: frozenset[str] = frozenset()


_BOTH = frozenset({CUSTOMER, STAFF})
_STAFF = frozenset({STAFF})

TRANSITIONS: Mapping[str, Transition] = {
    t.action: t
    for t in (
        Transition("accept", (SUBMITTED,), ACCEPTED, _STAFF),
        Transition("start", (SUBMITTED, ACCEPTED), IN_PROGRESS, _STAFF),
        Transition("ask_customer", (ACCEPTED, IN_PROGRESS), WAITING, _STAFF, _STAFF),
        Transition("add_info", (WAITING,), IN_PROGRESS, frozenset({CUSTOMER}), frozenset({CUSTOMER})),
        Transition("resolve", (ACCEPTED, IN_PROGRESS), RESOLVED, _STAFF, _STAFF),
        Transition("reject", OPEN_STATES, REJECTED, _STAFF, _STAFF),
        Transition("cancel", (SUBMITTED, ACCEPTED, WAITING), CANCELLED, _BOTH, _STAFF),
    )
}
ACTIONS = tuple(TRANSITIONS)


def transition(state: str, action: str, by: str, reason: str) -> str:
    """The state after `action` taken by `by` (customer or staff) with `reason`; refuses what the machine does not
    allow: an unknown action, one not for this side, one not from this state, a missing reason."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise DomainError("request.action_unknown", field="action")
    if by not in step.by:
        raise DomainError("forbidden", field="action")
    if state not in step.sources:
        raise DomainError("precondition.request_state", field="action", params={"state": state, "action": action})
    text = reason.strip()
    if by in step.reason_from and not text:
        raise DomainError("request.reason_required", field="reason")
    if len(text) > MAX_REASON:
        raise DomainError("request.reason_too_long", field="reason", params={"max": str(MAX_REASON)})
    return step.target


def available_actions(state: str, by: str) -> tuple[str, ...]:
    """What `by` may do with a request in `state`, in the machine's order."""
    return tuple(a for a, t in TRANSITIONS.items() if by in t.by and state in t.sources)


def is_overdue(state: str, deadline_at: datetime, now: datetime) -> bool:
    return state in SUPPLIER_TURN and deadline_at < now


def deadline(submitted_at: datetime, days: int) -> datetime:
    return submitted_at + timedelta(days=days)


# --- the catalog ---------------------------------------------------------------------------------------------

TEXT = "text"
LONG_TEXT = "long_text"
DATE = "date"
CHOICE = "choice"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()

    @property
    def max_length(self) -> int:
        return MAX_LONG_TEXT if self.kind == LONG_TEXT else MAX_TEXT

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "required": self.required, "choices": list(self.choices)}

    @classmethod
    def from_json(cls, value: Mapping[str, object]) -> Field:
        return cls(
            name=str(value["name"]),
            kind=str(value["kind"]),
            required=bool(value.get("required", True)),
            choices=tuple(str(c) for c in value.get("choices") or ()),  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class RequestType:
    code: str
    kind: str
    # the permission matrix's capability a contract type must allow (kit.authz)
    capability: str
    fields: tuple[Field, ...]
    deadline_days: int
    needs_supply_point: bool = True
    # what a tenant administrator sets (UpdateCatalogEntry): whether it is filed at all, the contract types it is
    # offered on before the permission matrix has its say (None: every one), its place in the list
    offered: bool = True
    contract_types: tuple[str, ...] | None = None
    position: int = 0


# jistič: the sizes distribution operators install, in amperes
BREAKER_SIZES = ("10", "13", "16", "20", "25", "32", "40", "50", "63")
_NOTE = Field("note", LONG_TEXT, required=False)
_FROM = Field("wanted_from", DATE, required=False)

DEFAULT_CATALOG: tuple[RequestType, ...] = (
    # change of the main breaker (hlavní jistič): a distribution matter, so bundled contracts only
    RequestType(
        "breaker_change",
        PROCESSED,
        authz.BREAKER_CHANGE_REQUEST,
        (
            Field("breaker_amps", CHOICE, choices=BREAKER_SIZES),
            Field("phases", CHOICE, choices=("1", "3")),
            _FROM,
            _NOTE,
        ),
        30,
    ),
    # distribuční sazba
    RequestType(
        "tariff_change",
        PROCESSED,
        authz.TARIFF_CHANGE_REQUEST,
        (Field("distribution_tariff", TEXT), _FROM, _NOTE),
        30,
    ),
    RequestType("product_change", PROCESSED, authz.REQUESTS_WRITE, (Field("product", TEXT), _FROM, _NOTE), 15),
    # výpověď smlouvy
    RequestType(
        "termination",
        PROCESSED,
        authz.REQUESTS_WRITE,
        (
            Field("end_on", DATE),
            Field("termination_reason", CHOICE, choices=("moving", "supplier_change", "other")),
            _NOTE,
        ),
        15,
    ),
    # reklamace faktury
    RequestType(
        "invoice_complaint",
        PROCESSED,
        authz.REQUESTS_WRITE,
        (Field("invoice_number", TEXT), Field("description", LONG_TEXT)),
        30,
        needs_supply_point=False,
    ),
    # mimořádné vyúčtování: settled on a reading day outside the usual cycle
    RequestType("extraordinary_settlement", PROCESSED, authz.REQUESTS_WRITE, (Field("reading_day", DATE), _NOTE), 15),
    RequestType(
        "free_text",
        PROCESSED,
        authz.REQUESTS_WRITE,
        (Field("subject", TEXT), Field("description", LONG_TEXT)),
        30,
        needs_supply_point=False,
    ),
)


# Immediate changes are applied by the service owning the data (accounts) and recorded here from its events as
# requests already resolved, so the customer's history holds every change; nobody files them through Submit.
# Their deadline is a formality (they are resolved when recorded): a day, as the catalog allows no less.
IMMEDIATE_CATALOG: tuple[RequestType, ...] = (
    RequestType("contact_change", IMMEDIATE, authz.CONTACT_WRITE, (), 1, needs_supply_point=False),
    RequestType("address_change", IMMEDIATE, authz.CONTACT_WRITE, (), 1, needs_supply_point=False),
    RequestType("payment_change", IMMEDIATE, authz.PAYMENT_METHOD_WRITE, (), 1),
    RequestType("advance_change", IMMEDIATE, authz.ADVANCE_WRITE, (), 1),
    RequestType("e_invoice_change", IMMEDIATE, authz.E_INVOICE_WRITE, (), 1),
)
# the timeline line of an immediate request
APPLIED = "applied"


def offered_on(request_type: RequestType, contract_type: str, matrix: Mapping[str, frozenset[str]]) -> bool:
    """Whether the type may be filed on a supply point under `contract_type`: the catalog offers it there and the
    permission matrix's row allows its capability."""
    chosen = request_type.contract_types
    return (
        request_type.offered
        and request_type.capability in matrix.get(contract_type, frozenset())
        and (chosen is None or contract_type in chosen)
    )


def allowed_contract_types(request_type: RequestType, matrix: Mapping[str, frozenset[str]]) -> tuple[str, ...]:
    return tuple(sorted(t for t in matrix if offered_on(request_type, t, matrix)))


MAX_DEADLINE_DAYS = 365
MAX_POSITION = 999


def edited(
    request_type: RequestType,
    *,
    offered: bool,
    deadline_days: int,
    contract_types: Iterable[str],
    position: int,
    known_contract_types: Iterable[str],
) -> RequestType:
    """The type as a tenant administrator edits it; refuses an immediate type (applied where its data lives and
    governed by the matrix alone), a deadline outside 1–365 days, a position outside 0–999, an unknown contract type
    and none at all (a type offered nowhere is one not offered)."""
    if request_type.kind != PROCESSED:
        raise DomainError("catalog.immediate", field="code")
    if not 0 < deadline_days <= MAX_DEADLINE_DAYS:
        raise DomainError("catalog.deadline_invalid", field="deadline_days", params={"max": str(MAX_DEADLINE_DAYS)})
    if not 0 <= position <= MAX_POSITION:
        raise DomainError("catalog.position_invalid", field="position", params={"max": str(MAX_POSITION)})
    known = frozenset(known_contract_types)
    chosen = tuple(sorted(frozenset(contract_types)))
    if any(t not in known for t in chosen):
        raise DomainError("catalog.contract_type_unknown", field="contract_types")
    if not chosen:
        raise DomainError("catalog.contract_types_required", field="contract_types")
    return replace(
        request_type,
        offered=offered,
        deadline_days=deadline_days,
        # every contract type ticked is stored as "every one", so a contract type added later is offered too
        contract_types=None if frozenset(chosen) == known else chosen,
        position=position,
    )


def parse_values(request_type: RequestType, values: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The values the type asks for, checked: no unknown or repeated field, every required one, a choice among its
    choices, a valid day, no longer than the field allows."""
    known = {f.name: f for f in request_type.fields}
    parsed: dict[str, str] = {}
    for name, raw in values:
        field = known.get(name)
        if field is None or name in parsed:
            raise DomainError("request.field_unknown", field=name)
        text = raw.strip()
        if not text:
            continue
        if len(text) > field.max_length:
            raise DomainError("request.field_too_long", field=name, params={"max": str(field.max_length)})
        if field.kind == CHOICE and text not in field.choices:
            raise DomainError("request.field_choice", field=name)
        if field.kind == DATE:
            try:
                text = date.fromisoformat(text).isoformat()
            except ValueError:
                raise DomainError("date.invalid", field=name) from None
        parsed[name] = text
    for field in request_type.fields:
        if field.required and field.name not in parsed:
            raise DomainError("request.field_required", field=field.name)
    return {f.name: parsed[f.name] for f in request_type.fields if f.name in parsed}


# files sent with a request: what a customer photographs or scans; three of them stay under gRPC's 4 MiB message
MAX_ATTACHMENTS = 3
MAX_ATTACHMENT_BYTES = 1_000_000
ATTACHMENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/webp", "image/heic", "text/plain"})
MAX_FILE_NAME = 200


@dataclass(frozen=True)
class Attachment:
    file_name: str
    content_type: str
    content: bytes


def check_attachments(files: Sequence[tuple[str, str, bytes]]) -> tuple[Attachment, ...]:
    """At most three non-empty files of the allowed types and size, each with a name."""
    if len(files) > MAX_ATTACHMENTS:
        raise DomainError("request.attachments_too_many", field="attachments", params={"max": str(MAX_ATTACHMENTS)})
    checked = []
    for name, content_type, content in files:
        kind = content_type.strip().lower()
        if not content or len(content) > MAX_ATTACHMENT_BYTES:
            raise DomainError(
                "request.attachment_size", field="attachments", params={"max_bytes": str(MAX_ATTACHMENT_BYTES)}
            )
        if kind not in ATTACHMENT_TYPES:
            raise DomainError("request.attachment_type", field="attachments")
        # the name is only shown and offered back on download: no path, no control characters
        clean = "".join(c for c in name.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable()).strip()
        checked.append(Attachment(clean[:MAX_FILE_NAME] or "attachment", kind, content))
    return tuple(checked)


# files the customer sends later, with the information asked for; what a request holds in all
MAX_REQUEST_ATTACHMENTS = 12


def step_attachments(action: str, files: Sequence[tuple[str, str, bytes]]) -> tuple[Attachment, ...]:
    """Files sent with a step: only with the information the customer adds, checked as those of a submission."""
    if files and action != "add_info":
        raise DomainError("request.attachments_not_allowed", field="attachments")
    return check_attachments(files)


def check_room(held: int, added: int) -> None:
    if held + added > MAX_REQUEST_ATTACHMENTS:
        raise DomainError("request.attachments_full", field="attachments", params={"max": str(MAX_REQUEST_ATTACHMENTS)})


def channel_of(requested: str, by: str) -> str:
    """Customers file through the portal; staff say which channel the request came through."""
    if by != STAFF:
        return PORTAL
    channel = requested.strip() or PORTAL
    if channel not in CHANNELS:
        raise DomainError("request.channel_invalid", field="channel")
    return channel


def states_filter(requested: Sequence[str]) -> tuple[str, ...]:
    wanted = tuple(s for s in requested if s)
    if any(s not in STATES for s in wanted):
        raise DomainError("request.state_invalid", field="states")
    return wanted or OPEN_STATES


# --- page tokens ---------------------------------------------------------------------------------------------


def encode_page_token(at: datetime, request_id: uuid.UUID) -> str:
    """The page after a request. Not a secret: a forged token only moves the start of a page within requests the
    caller may see anyway."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{request_id}".encode()).rstrip(b"=").decode("ascii")


def decode_page_token(token: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, _, request_id = raw.partition("|")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError(at)
        return parsed, uuid.UUID(request_id)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("page_token.invalid", field="page_token") from None


# states in which nobody has started work on a request yet
NOT_STARTED = (SUBMITTED, ACCEPTED)

# what the system writes in the timeline of an extraordinary settlement (mimořádné vyúčtování) billing acted on
SETTLEMENT_ISSUED = {
    "cs": "Vystavili jsme mimořádné vyúčtování, fakturu č. {number}.",
    "en": "The extraordinary settlement has been issued as invoice {number}.",
    "bg": "Издадохме извънредно изравняване, фактура № {number}.",
}
SETTLEMENT_REFUSED = {
    "settlement.reading_missing": {
        "cs": "K dni {day} nemáme odečet. Pošlete prosím samoodečet k tomuto dni a doplňte žádost.",
        "en": "There is no meter reading for {day}. Please send a self-reading for that day and add it here.",
        "bg": "Няма отчет на уреда за {day}. Моля, изпратете самоотчет за този ден и допълнете искането.",
    },
    "settlement.nothing_to_settle": {
        "cs": "K dni {day} není co vyúčtovat: období do tohoto dne už je vyúčtováno.",
        "en": "There is nothing to settle up to {day}: that period has been settled already.",
        "bg": "До {day} няма какво да се изравни: периодът вече е изравнен.",
    },
}
SETTLEMENT_FAILED = {
    "cs": "Mimořádné vyúčtování se nepodařilo vystavit automaticky; převezme ho pracovník.",
    "en": "The extraordinary settlement could not be issued automatically; a member of staff takes it over.",
    "bg": "Извънредното изравняване не можа да бъде издадено автоматично; служител ще го поеме.",
}
