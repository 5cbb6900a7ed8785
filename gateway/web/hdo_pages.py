"""Low-tariff (HDO) times of a supply point, its calendar feed, and the customer's planned outages."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from portal.hdo.v1 import hdo_pb2
from portal.identity.v1 import identity_pb2

from kit import context
from kit.errors import DomainError

from .. import hdo, i18n
from ..principal import call_context, principal_of
from ..services import Services
from . import render, views
from .pages import acting_for, address, ctx, customer_page, outage_card_of, outage_rows, row, signed_in

WEEKS = (("this", views.N_("This week")), ("next", views.N_("Next week")))


def weeks_table(locale: str, weeks: tuple[views.LowTariffWeek, ...]) -> str:
    return render.fragment("_low_tariff_weeks.html", locale, weeks=weeks)


def feed_urls(request: Request, supply_point_id: str, user_id: str) -> tuple[str, str]:
    """The calendar feed's https (or http) address and the same as webcal://, which calendar apps subscribe to."""
    token = hdo.feed_token(request.app.state.feed_key, request.state.tenant.id, supply_point_id, user_id)
    host = request.headers.get("host", "").split(":", 1)[0]
    url = request.app.state.settings.public_base_url(host) + f"{views.PATHS['calendar_hdo']}/{token}{hdo.FEED_SUFFIX}"
    return url, "webcal://" + url.split("://", 1)[1]


@get("/supply-points/{supply_point_id:str}/hdo", name="supply_point_hdo")
async def supply_point_hdo(request: Request, services: Services, supply_point_id: str, day: str = "") -> Response:
    principal = await signed_in(request, services)
    number = acting_for(request, principal)
    call = ctx(request, principal, number)
    point, _ = await hdo.hdo_supply_point(services, principal, [number], supply_point_id, lambda _: call)
    brand = render.brand(request)
    zone = ZoneInfo(brand.time_zone)
    bounds = hdo.Bounds.around(hdo.today_in(zone))
    page_ctx = await customer_page(request, services, principal, "supply_points")
    monday = hdo.week_start(bounds.today)
    picked, day_error = None, ""
    if day:
        try:
            picked = bounds.parse(day[:32], "day")
        except DomainError as err:
            first, last = (i18n.format_date(d, page_ctx.locale) for d in (bounds.first, bounds.last))
            day_error = render.translate(page_ctx, err.reason, first=first, last=last)
    code = point.hdo_code
    answers: hdo.HdoAnswers = request.app.state.hdo_answers
    tenant_id = call.tenant_id
    # the two weeks answer for a picked day within them; any other day is a third question, asked alongside
    elsewhere = picked is not None and not monday <= picked <= bounds.last
    with context.bound(call):
        # gather's tasks take the bound context when they are created, so they are created inside the block
        asked = [
            answers.now(services, tenant_id, code),
            answers.days(services, tenant_id, code, monday, bounds.last, zone, bounds.today),
        ]
        if elsewhere:
            asked.append(answers.days(services, tenant_id, code, picked, picked, zone, bounds.today))
        now, schedule, *other = await asyncio.gather(*asked)
    days = schedule.days
    picked_day = None
    if picked is not None:
        picked_day = other[0].days[0] if other else days[(picked - monday).days]
    weeks = tuple(views.LowTariffWeek(key, title, days[7 * i : 7 * i + 7]) for i, (key, title) in enumerate(WEEKS))
    feed_url, webcal_url = feed_urls(request, point.id, principal.user.id)
    view = views.LowTariffView(
        supply_point=row(point),
        code=code,
        time_zone=brand.time_zone,
        now=hdo.low_tariff_now(now),
        today=days[(bounds.today - monday).days],
        weeks=weeks,
        weeks_table=schedule.rendered_once(page_ctx.locale, lambda: weeks_table(page_ctx.locale, weeks)),
        first_day=bounds.first,
        last_day=bounds.last,
        feed_url=feed_url,
        webcal_url=webcal_url,
        picked=picked_day,
        day_value=day[:32],
        day_error=day_error,
    )
    return render.html(request, "supply_point_hdo.html", page_ctx, status=400 if day_error else 200, view=view)


@get("/calendar/hdo/{feed:str}", name="calendar_hdo")
async def calendar_feed(request: Request, services: Services, feed: str) -> Response:
    """What a calendar application fetches: no session, the signed name is the credential. The user's grants are
    asked for on every fetch, so a withdrawn access ends the feed."""
    tenant = request.state.tenant
    supply_point_id, user_id = hdo.read_feed_token(request.app.state.feed_key, tenant.id, feed)
    base = context.CallContext(tenant_id=tenant.id, request_id=request.state.request_id)
    with context.bound(base.with_(subject=user_id, subject_kind=context.USER)):
        grants = await services.identity.ListGrants(identity_pb2.ListGrantsRequest(user_id=user_id))
    principal = principal_of(
        identity_pb2.ResolveAccessTokenResponse(
            active=True, user=identity_pb2.User(id=user_id, kind="customer"), grants=grants.grants
        ),
        first_party=True,
    )
    point, number = await hdo.hdo_supply_point(
        services,
        principal,
        principal.customer_numbers,
        supply_point_id,
        lambda n: call_context(tenant, principal, customer_number=n, request_id=request.state.request_id),
    )
    brand = render.brand(request)
    name = i18n.gettext("Low tariff – %(place)s", brand.default_locale, place=str(address(point.address)))
    with context.bound(base):
        resp = await services.hdo.GetCalendar(hdo_pb2.GetCalendarRequest(code=point.hdo_code, name=name))
    return Response(
        resp.content,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, max-age=3600",
            "Content-Disposition": f'inline; filename="hdo-{point.identifier}.ics"',
        },
    )


@get("/outages", name="outages")
async def outages(request: Request, services: Services) -> Response:
    principal = await signed_in(request, services)
    number = acting_for(request, principal)
    call = ctx(request, principal, number)
    with context.bound(call):
        points = await hdo.customer_points(services, number)
        found = await hdo.upcoming_outages(services, points)
    request.app.state.hdo_answers.outages_seen(call.tenant_id, call.subject, number, outage_card_of(found, points))
    view = views.OutagesView(
        rows=outage_rows(found, points),
        electricity_count=sum(1 for p in points if p.commodity == "electricity"),
    )
    return render.html(request, "outages.html", await customer_page(request, services, principal, "outages"), view=view)


ROUTES = [supply_point_hdo, calendar_feed, outages]
