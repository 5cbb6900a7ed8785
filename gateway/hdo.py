"""Low-tariff (HDO) times and planned outages as the pages and the API ask for them.

What both need lives here: which days may be asked about, a supply point that has an HDO code (found the way
the accounts service authorises it), the days of a schedule cut at local midnight, the unguessable address of a
supply point's calendar feed, and the acting customer's supply points handed to the outage matching.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import uuid
from calendar import monthrange
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2
from portal.hdo.v1 import hdo_pb2

from kit import context
from kit.errors import DomainError

from . import supply_points
from .principal import Principal
from .services import Services
from .web import views

# how far back the history goes, and the longest stretch one API call answers for
HISTORY_MONTHS = 3
MAX_API_DAYS = 31
# the largest page accounts gives, and the most supply points the hdo service matches in one call
POINTS_PAGE = 100
PLACES_PER_CALL = 1000
FEED_PURPOSE = "gateway.hdo-calendar-feed"
FEED_SUFFIX = ".ics"
_MAC_BYTES = 16


def months_back(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


@dataclass(frozen=True)
class Bounds:
    """The days a customer may look at: the last three months up to the end of next week."""

    today: date
    first: date
    last: date

    @classmethod
    def around(cls, today: date) -> Bounds:
        return cls(today, months_back(today, HISTORY_MONTHS), week_start(today) + timedelta(days=13))

    def check(self, day: date, field: str) -> date:
        if not self.first <= day <= self.last:
            raise DomainError(
                "hdo.day.out_of_range",
                field=field,
                params={"first": self.first.isoformat(), "last": self.last.isoformat()},
            )
        return day

    def parse(self, text: str, field: str) -> date:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise DomainError("hdo.day.invalid", field=field) from None
        return self.check(day, field)

    def span(self, first_text: str, last_text: str) -> tuple[date, date]:
        """An API call's `from` and `to` (empty: today; `to` empty: the same day)."""
        first = self.parse(first_text, "from") if first_text else self.today
        last = self.parse(last_text, "to") if last_text else first
        if last < first or (last - first).days >= MAX_API_DAYS:
            raise DomainError("hdo.span.invalid", field="to", params={"max": str(MAX_API_DAYS)})
        return first, last


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def today_in(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()


# --- the supply point ------------------------------------------------------------------------------


async def hdo_supply_point(
    services: Services,
    principal: Principal,
    numbers: Iterable[str],
    supply_point_id: str,
    context_for: Callable[[str], context.CallContext],
) -> tuple[accounts_pb2.SupplyPoint, str]:
    """The electricity supply point with an HDO code, and the customer number it was found under (see
    `supply_points.find`). Gas points and points without a code are as unknown as a stranger's."""
    point, number = await supply_points.find(services, principal, numbers, supply_point_id, context_for)
    if point.commodity != "electricity" or not point.hdo_code:
        raise DomainError("not_found")
    return point, number


# --- a schedule by local days ----------------------------------------------------------------------


def instant(ts) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def windows_of(resp: hdo_pb2.GetScheduleResponse) -> list[tuple[datetime, datetime]]:
    return [(instant(w.start), instant(w.end)) for w in resp.windows]


def low_tariff_day(
    windows: list[tuple[datetime, datetime]], day: date, zone: ZoneInfo, today: date | None = None
) -> views.LowTariffDay:
    """The windows' parts within one local day (cut at midnight, so a day's hours add up to its low tariff)."""
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    spans = []
    for a, b in windows:
        s, e = max(a, start), min(b, end)
        if s < e:
            spans.append(
                views.LowTariffSpan(
                    s,
                    e,
                    s.astimezone(zone).strftime("%H:%M"),
                    "24:00" if e == end else e.astimezone(zone).strftime("%H:%M"),
                )
            )
    seconds = sum(int((s.end - s.start).total_seconds()) for s in spans)
    return views.LowTariffDay(day, tuple(spans), seconds, is_today=day == today)


@dataclass(frozen=True)
class LowTariffDays:
    """An answer of `HdoAnswers.days`, with what pages made of it: the weeks' table is the same for every customer on
    the code, so it is rendered once per answer and language (rendering it is most of the HDO page's cost)."""

    days: tuple[views.LowTariffDay, ...]
    rendered: dict[str, str] = field(default_factory=dict)

    def rendered_once(self, key: str, render: Callable[[], str]) -> str:
        text = self.rendered.get(key)
        if text is None:
            text = self.rendered[key] = render()
        return text


class HdoAnswers:
    """The hdo service's answers per tenant and HDO code, kept for a short while: "is the low tariff on now" until
    the next switch (it cannot change before it unless a new schedule is imported), a stretch of days' schedule for
    `ttl` seconds. Many customers share a code and the home page and the HDO page ask on every view; these are the
    operators' public data, not a customer's, so one customer's view may serve another's. A new import reaches the
    pages within `ttl`."""

    def __init__(self, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._kept: dict[tuple, tuple[float, Any]] = {}

    def _keep(self, key: tuple, until: float, answer: Any) -> None:
        if len(self._kept) >= self.max_entries:
            self._kept.clear()
        self._kept[key] = (until, answer)

    async def _answer(self, key: tuple, ask: Callable[[], Awaitable[Any]], until: Callable[[Any, float], float]) -> Any:
        now = datetime.now(UTC).timestamp()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        answer = await ask()
        self._keep(key, min(until(answer, now), now + self.ttl), answer)
        return answer

    async def now(self, services: Services, tenant_id: str, code: str) -> hdo_pb2.IsLowTariffResponse:
        def next_switch(resp: hdo_pb2.IsLowTariffResponse, now: float) -> float:
            return resp.until.ToDatetime(tzinfo=UTC).timestamp() if resp.HasField("until") else now + self.ttl

        return await self._answer(
            ("now", tenant_id, code),
            lambda: services.hdo.IsLowTariff(hdo_pb2.IsLowTariffRequest(code=code)),
            next_switch,
        )

    async def days(
        self, services: Services, tenant_id: str, code: str, first: date, last: date, zone: ZoneInfo, today: date
    ) -> LowTariffDays:
        """The low-tariff times of each local day from `first` to `last`, cut at midnight."""

        async def ask() -> LowTariffDays:
            resp = await services.hdo.GetSchedule(
                hdo_pb2.GetScheduleRequest(code=code, first_day=first.isoformat(), last_day=last.isoformat())
            )
            windows = windows_of(resp)
            count = (last - first).days + 1
            return LowTariffDays(
                tuple(low_tariff_day(windows, first + timedelta(days=i), zone, today) for i in range(count))
            )

        return await self._answer(("days", tenant_id, code, first, last, zone.key, today), ask, _for_ttl)

    async def outages(self, tenant_id: str, user_id: str, number: str, ask: Callable[[], Awaitable[Any]]) -> Any:
        """What the home page tells of the upcoming outages at a customer's supply points, as one user sees them (a
        delegate may see fewer points), so kept per user and customer number."""
        return await self._answer(("outages", tenant_id, user_id, number), ask, _for_ttl)

    def outages_seen(self, tenant_id: str, user_id: str, number: str, answer: Any) -> None:
        """The outages page asked hdo afresh: the home page shows the same from now on."""
        self._keep(("outages", tenant_id, user_id, number), datetime.now(UTC).timestamp() + self.ttl, answer)


def _for_ttl(_answer: Any, now: float) -> float:
    return math.inf


def low_tariff_now(resp: hdo_pb2.IsLowTariffResponse) -> views.LowTariffNow:
    return views.LowTariffNow(
        known=resp.known, low_tariff=resp.low_tariff, until=instant(resp.until) if resp.HasField("until") else None
    )


# --- the calendar feed's address ---------------------------------------------------------------------


def _mac(key: bytes, tenant_id: str, payload: bytes) -> bytes:
    return hmac.new(key, tenant_id.encode() + b"|" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def feed_token(key: bytes, tenant_id: str, supply_point_id: str, user_id: str) -> str:
    """The feed's name: the supply point and the user, signed for the tenant. Calendar applications send no
    cookies, so this name is the credential; it names no customer number and works on its own brand only."""
    payload = uuid.UUID(supply_point_id).bytes + uuid.UUID(user_id).bytes
    return base64.urlsafe_b64encode(payload + _mac(key, tenant_id, payload)).rstrip(b"=").decode()


def read_feed_token(key: bytes, tenant_id: str, token: str) -> tuple[str, str]:
    """(supply point id, user id) of a feed name made by `feed_token` for this tenant; anything else: not found."""
    if not token.endswith(FEED_SUFFIX) or len(token) > 100:
        raise DomainError("not_found")
    text = token.removesuffix(FEED_SUFFIX)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DomainError("not_found") from None
    payload, mac = raw[:32], raw[32:]
    if len(raw) != 32 + _MAC_BYTES or not hmac.compare_digest(mac, _mac(key, tenant_id, payload)):
        raise DomainError("not_found")
    return str(uuid.UUID(bytes=payload[:16])), str(uuid.UUID(bytes=payload[16:]))


# --- planned outages ---------------------------------------------------------------------------------


async def customer_points(services: Services, number: str) -> list[accounts_pb2.SupplyPoint]:
    """All of the customer's supply points the caller may see, a page of a hundred per call (the call context is
    bound by the caller)."""
    points: list[accounts_pb2.SupplyPoint] = []
    token = ""
    while True:
        resp = await services.accounts.ListSupplyPoints(
            accounts_pb2.ListSupplyPointsRequest(
                customer_numbers=[number],
                page=common_pb2.PageRequest(page_size=POINTS_PAGE, page_token=token),
                view=accounts_pb2.SUPPLY_POINT_VIEW_BASIC,
            )
        )
        points.extend(resp.supply_points)
        token = resp.page.next_page_token
        if not token:
            return points


async def upcoming_outages(services: Services, points: list[accounts_pb2.SupplyPoint]) -> list[hdo_pb2.Outage]:
    """Outages that end after now and touch the electricity supply points (a power distributor's outage says
    nothing about gas), cancelled ones included so that the customer learns of the cancellation; by start."""
    places = [
        hdo_pb2.SupplyPlace(supply_point_id=p.id, ean=p.identifier, address=p.address)
        for p in points
        if p.commodity == "electricity"
    ]
    found: dict[str, hdo_pb2.Outage] = {}
    for i in range(0, len(places), PLACES_PER_CALL):
        resp = await services.hdo.ListOutages(
            hdo_pb2.ListOutagesRequest(supply_points=places[i : i + PLACES_PER_CALL], include_cancelled=True)
        )
        for outage in resp.outages:
            kept = found.get(outage.notice.outage_id)
            if kept is not None:
                outage.supply_point_ids[:0] = kept.supply_point_ids
            found[outage.notice.outage_id] = outage
    return sorted(found.values(), key=lambda o: (o.notice.starts_at.seconds, o.notice.outage_id))
