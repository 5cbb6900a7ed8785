"""The staff console's audit log for tenant administrators (`audit:read`): the trails of every service that keeps one
(accounts, requests, hdo, identity, notifications) merged into one list, newest first, filtered by customer number,
actor, entity, days and log, with staff and users named by their login e-mail where identity knows them.

Each service answers `ListAudit` for its own trail, newest first with a keyset on its ids (`kit.audit`). A page here
asks each service for a page from where the last one stopped and merges them by time; the page's token keeps one
position per service, so every entry is shown once whatever the services' clocks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2
from portal.hdo.v1 import hdo_pb2
from portal.identity.v1 import identity_pb2
from portal.notifications.v1 import notifications_pb2
from portal.requests.v1 import requests_pb2

from kit import authz, context, fields
from kit.errors import DomainError

from ..services import Services
from ..web import render
from ..web.pages import ctx
from ..web.views import FormErrors
from . import views
from .customers_pages import pager
from .pages import needs, staff_member, staff_page

PAGE_SIZE = 50
MAX_FILTER = 200
MAX_TOKEN = 512
# a service's position when its trail has nothing more to show
DONE = "done"
# subject kinds that are logins identity can name
NAMED_KINDS = (context.USER, context.STAFF)


@dataclass(frozen=True)
class Source:
    key: str  # the service, also its stub's name on Services
    title: str  # message id
    # the service's ListAuditRequest
    request: Callable[..., Any]

    def call(self, services: Services, wanted: common_pb2.AuditFilter, page: common_pb2.PageRequest) -> Any:
        return getattr(services, self.key).ListAudit(self.request(filter=wanted, page=page))


SOURCES: tuple[Source, ...] = (
    Source("accounts", views.N_("Customers and contracts"), accounts_pb2.ListAuditRequest),
    Source("requests", views.N_("Requests"), requests_pb2.ListAuditRequest),
    Source("hdo", views.N_("HDO switching times and outages"), hdo_pb2.ListAuditRequest),
    Source("identity", views.N_("Logins and access"), identity_pb2.ListAuditRequest),
    Source("notifications", views.N_("Notification preferences"), notifications_pb2.ListAuditRequest),
)


# --- page tokens and merging (pure) ----------------------------------------------------------------------


def encode_positions(positions: Mapping[str, str]) -> str:
    """Not a secret: a forged token only moves where each service's page starts, within the caller's tenant."""
    raw = json.dumps(dict(positions), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_positions(token: str, keys: Sequence[str]) -> dict[str, str]:
    """Each service's position: "" from its newest entry, an entry id to go on below, DONE when it has no more."""
    if not token:
        return dict.fromkeys(keys, "")
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise DomainError("page_token.invalid", field="page_token") from None
    if not isinstance(value, dict) or set(value) != set(keys):
        raise DomainError("page_token.invalid", field="page_token")
    if not all(isinstance(v, str) and (v in ("", DONE) or (v.isascii() and v.isdigit())) for v in value.values()):
        raise DomainError("page_token.invalid", field="page_token")
    return {k: value[k] for k in keys}


@dataclass(frozen=True)
class Answer:
    """One service's page: its entries newest first and whether it has more after them."""

    entries: Sequence[common_pb2.AuditEntry]
    more: bool


def merge(
    answers: Mapping[str, Answer], positions: Mapping[str, str], size: int
) -> tuple[list[tuple[str, common_pb2.AuditEntry]], dict[str, str] | None]:
    """The newest `size` entries of the services' pages, and where each service goes on (None: at the end of all).
    Each service's entries are taken in their own order, so a page takes a prefix of each and the next page starts
    right after it."""
    taken: list[tuple[str, common_pb2.AuditEntry]] = []
    heads = {k: 0 for k in answers}
    while len(taken) < size:
        ready = [k for k in answers if heads[k] < len(answers[k].entries)]
        if not ready:
            break
        newest = max(ready, key=lambda k: answers[k].entries[heads[k]].at.ToDatetime())
        taken.append((newest, answers[newest].entries[heads[newest]]))
        heads[newest] += 1
    after = dict(positions)
    for key, answer in answers.items():
        used = heads[key]
        if used == len(answer.entries) and not answer.more:
            after[key] = DONE
        elif used:
            after[key] = answer.entries[used - 1].id
    if all(v == DONE for v in after.values()):
        return taken, None
    return taken, after


# --- the page ----------------------------------------------------------------------------------------------


def flat(text: str) -> tuple[tuple[str, str], ...]:
    """A JSON object of values before or after as name/value pairs; nested values stay JSON."""
    if not text:
        return ()
    value = json.loads(text)
    if not isinstance(value, dict):
        return (("", text),)
    return tuple((k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in value.items())


def day_start(text: str, zone: ZoneInfo, field: str, *, next_day: bool = False) -> Any:
    """The start of a day typed on the form (or of the day after it) in the brand's time zone, as a Timestamp."""
    day = fields.parse_day(text, field)
    if next_day:
        day += timedelta(days=1)
    return fields.timestamp(datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC))


def audit_filter(filters: dict[str, str], zone: ZoneInfo) -> common_pb2.AuditFilter:
    wanted = common_pb2.AuditFilter(
        actor=filters["actor"], entity=filters["entity"], customer_number=filters["customer"]
    )
    if filters["since"]:
        wanted.since.CopyFrom(day_start(filters["since"], zone, "since"))
    if filters["until"]:
        # the last day shown is included
        wanted.until.CopyFrom(day_start(filters["until"], zone, "until", next_day=True))
    return wanted


async def names_of(services: Services, entries: Sequence[common_pb2.AuditEntry]) -> dict[str, str]:
    """The login e-mails of the staff and users among the entries' actors, as identity knows them."""
    ids = sorted({e.actor for e in entries if e.actor_kind in NAMED_KINDS})
    if not ids:
        return {}
    found = await services.identity.ListUsers(identity_pb2.ListUsersRequest(user_ids=ids))
    return {u.id: u.email for u in found.users}


@get(views.AUDIT_PATH, name="staff_audit")
async def audit_log(
    request: Request,
    services: Services,
    source: str = "",
    customer: str = "",
    actor: str = "",
    entity: str = "",
    since: str = "",
    until: str = "",
    page: str = "",
) -> Response:
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.AUDIT_READ)
    page_ctx = staff_page(request, principal, capabilities, "staff_audit")
    chosen = tuple(s for s in SOURCES if s.key == source) or SOURCES
    filters = {
        "source": chosen[0].key if len(chosen) == 1 else "",
        "customer": customer.strip()[:MAX_FILTER],
        "actor": actor.strip()[:MAX_FILTER],
        "entity": entity.strip()[:MAX_FILTER],
        "since": since.strip()[:32],
        "until": until.strip()[:32],
    }
    try:
        wanted = audit_filter(filters, ZoneInfo(request.state.tenant.time_zone))
        positions = decode_positions(page[:MAX_TOKEN], [s.key for s in chosen])
        with context.bound(ctx(request, principal)):
            asked = [s for s in chosen if positions[s.key] != DONE]
            listed = await asyncio.gather(
                *(
                    s.call(services, wanted, common_pb2.PageRequest(page_size=PAGE_SIZE, page_token=positions[s.key]))
                    for s in asked
                )
            )
            answers = {
                s.key: Answer(a.entries, bool(a.page.next_page_token)) for s, a in zip(asked, listed, strict=True)
            }
            taken, after = merge(answers, positions, PAGE_SIZE)
            names = await names_of(services, [e for _, e in taken])
    except DomainError as err:
        if err.field not in ("since", "until", "page_token"):
            raise
        # the period's end refused by a service is the form's "until"
        errors = FormErrors(fields={err.field: (render.translate(page_ctx, err.reason, **err.params),)})
        view = views.AuditView(filters=filters, rows=(), errors=errors, sources=log_choices())
        return render.html(request, "staff/audit.html", page_ctx, status=400, view=view)
    titles = {s.key: s.title for s in SOURCES}
    rows = tuple(
        views.AuditRow(
            at=e.at.ToDatetime(tzinfo=UTC),
            actor=e.actor,
            actor_kind=e.actor_kind,
            me=e.actor == principal.user.id,
            channel=e.channel,
            entity=e.entity,
            entity_id=e.entity_id,
            action=e.action,
            before=flat(e.before_json),
            after=flat(e.after_json),
            source=titles[key],
            actor_name=names.get(e.actor, ""),
            customer_number=e.customer_number,
            customer_href=f"{views.CUSTOMERS_PATH}/{quote(e.customer_number, safe='')}" if e.customer_number else "",
            key=f"{key}-{e.id}",
        )
        for key, e in taken
    )
    token = encode_positions(after) if after is not None else ""
    next_href, first_href = pager(views.AUDIT_PATH, filters, token, page)
    view = views.AuditView(
        filters=filters, rows=rows, next_href=next_href, first_href=first_href, sources=log_choices()
    )
    return render.html(request, "staff/audit.html", page_ctx, view=view)


def log_choices() -> tuple[tuple[str, str], ...]:
    return (("", views.N_("Every log")), *((s.key, s.title) for s in SOURCES))


ROUTES = [audit_log]
