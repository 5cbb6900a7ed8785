"""The first customer journey over HTTP against the whole stack: register with a proof, confirm by the e-mail
that arrived over SMTP, sign in, see the dashboard and the supply points."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import icalendar
from markupsafe import escape
from portal.hdo.v1 import hdo_pb2
from portal.hdo.v1.hdo_pb2_grpc import HdoServiceStub

from gateway import i18n
from kit import authz, context, demo, rpc

from .portal_http import browser, cli_tokens
from .portal_http import sign_in as portal_sign_in


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def client(stack, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{stack.http_port}", headers={"Host": host}, follow_redirects=False, timeout=20
    )


async def sign_in(c: httpx.AsyncClient, email: str, password: str = demo.DEMO_PASSWORD) -> httpx.Response:
    page = await c.get("/login")
    return await c.post(
        "/login", data={"_csrf_token": csrf(page.text), "email": email, "password": password, "next": "/dashboard"}
    )


async def test_register_confirm_sign_in_and_see_supply_points(stack, mailbox):
    svoboda = demo.customer("volta", demo.SVOBODA)
    async with client(stack, "volta.localhost") as c:
        form = await c.get("/register")
        assert form.status_code == 200
        resp = await c.post(
            "/register",
            data={
                "_csrf_token": csrf(form.text),
                "customer_number": svoboda.customer_number,
                "proof": "invoice",
                "invoice_number": svoboda.last_invoice.number,
                "invoice_amount": svoboda.last_invoice.amount.replace(".", ","),
                "email": "petr.svoboda@example.cz",
                "password": "Kvetinova-Louka-77",
                "password_confirm": "Kvetinova-Louka-77",
                "terms": "yes",
            },
        )
        assert resp.status_code == 200, resp.text[:2000]
        message = await mailbox.wait_for("petr.svoboda@example.cz")
        link = re.search(r"https?://\S+/verify-email\?token=\S+", message.get_content()).group(0)
        path = link.split("volta.localhost", 1)[1].split("/", 1)[1]
        verified = await c.get("/" + path.split(":", 1)[-1] if path[0].isdigit() else "/" + path)
        assert verified.status_code == 200
        resp = await sign_in(c, "petr.svoboda@example.cz", "Kvetinova-Louka-77")
        assert resp.status_code in (302, 303), resp.text[:2000]
        dashboard = await c.get("/dashboard")
        assert dashboard.status_code == 200
        assert svoboda.name in dashboard.text
        points = await c.get("/supply-points")
        assert demo.supply_points("volta", demo.SVOBODA)[0].identifier in points.text


async def test_the_business_sees_its_first_page_and_can_page_on(stack):
    async with client(stack, "volta.localhost") as c:
        resp = await sign_in(c, "firma@volta.example")
        assert resp.status_code in (302, 303), resp.text[:1500]
        first = await c.get("/supply-points")
        assert first.status_code == 200
        identifiers = sorted(p.identifier for p in demo.supply_points("volta", demo.PEKARNY_A))
        assert identifiers[0] in first.text and identifiers[25] not in first.text
        nxt = re.search(r'href="(/supply-points\?[^"]*page=[^"]+)"', first.text).group(1).replace("&amp;", "&")
        second = await c.get(nxt)
        assert identifiers[25] in second.text


async def test_an_unknown_host_gets_a_brandless_404(stack):
    async with client(stack, "evil.localhost") as c:
        resp = await c.get("/login")
    assert resp.status_code == 404
    for brand in ("Volta", "Balkan"):
        assert brand not in resp.text


# --- low-tariff times and planned outages -------------------------------------------------------------

PRAGUE = ZoneInfo("Europe/Prague")
DURATION = re.compile(r'<time datetime="PT(\d+)H(\d+)M(?:(\d+)S)?">')


def seconds_of(html: str) -> list[int]:
    return [int(h) * 3600 + int(m) * 60 + int(s or 0) for h, m, s in DURATION.findall(html)]


def table(html: str, table_id: str) -> str:
    match = re.search(rf'<table class="table" id="{table_id}">.*?</table>', html, re.S)
    assert match, f"no table {table_id}"
    return match.group(0)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def overlap(windows: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> int:
    return int(sum(max(timedelta(0), min(b, end) - max(a, start)).total_seconds() for a, b in windows))


async def test_jana_sees_when_the_low_tariff_runs_and_subscribes_to_it(stack):
    point = next(p for p in demo.supply_points("volta", demo.JANA) if p.hdo_code == "A3B7DP6")
    tokens = await cli_tokens(stack, "volta.localhost", "jana@volta.example")
    api_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with browser(stack, "volta.localhost") as web, browser(stack, "volta.localhost", headers=api_headers) as api:
        assert (await portal_sign_in(web, "jana@volta.example", "Demo-Portal-2026")).status_code in (302, 303)
        dashboard = await web.get("/dashboard")
        assert f'href="/supply-points/{point.id}/hdo"' in dashboard.text and 'href="/outages"' in dashboard.text
        detail = await web.get(f"/supply-points/{point.id}")
        assert f'href="/supply-points/{point.id}/hdo"' in detail.text

        page = await web.get(f"/supply-points/{point.id}/hdo")
        assert page.status_code == 200, page.text[:2000]
        now = (await api.get(f"/api/v1/supply-points/{point.id}/hdo/now")).json()
        assert now["known"] and now["code"] == "A3B7DP6"
        state = re.search(r'id="hdo-now"[^>]*data-state="(\w+)"', page.text).group(1)
        if state == ("on" if now["low_tariff"] else "off"):  # no switch between the two questions
            assert f'<time datetime="{instant(now["until"]).isoformat()}">' in page.text

        today = datetime.now(PRAGUE).date()
        monday = today - timedelta(days=today.weekday())
        for week, first in (("week-this", monday), ("week-next", monday + timedelta(days=7))):
            last = first + timedelta(days=6)
            shown = seconds_of(table(page.text, week))
            # seven days, then the week's total, which adds them up
            assert len(shown) == 8 and sum(shown[:7]) == shown[7] > 0
            schedule = await api.get(
                f"/api/v1/supply-points/{point.id}/hdo", params={"from": first.isoformat(), "to": last.isoformat()}
            )
            assert schedule.status_code == 200, schedule.text
            body = schedule.json()
            windows = [(instant(w["start"]), instant(w["end"])) for w in body["windows"]]
            start = datetime.combine(first, datetime.min.time(), PRAGUE)
            end = datetime.combine(last + timedelta(days=1), datetime.min.time(), PRAGUE)
            assert shown[7] == body["low_tariff_seconds"] == overlap(windows, start, end)

        # the calendar feed the page offers, fetched as a calendar application does: without any cookie
        feed_url = re.search(r'id="f-feed" type="text" value="([^"]+)"', page.text).group(1)
        assert re.search(r'href="webcal://[^"]+\.ics"', page.text)
        async with browser(stack, "volta.localhost") as calendar_app:
            feed = await calendar_app.get(urlsplit(feed_url).path)
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        events = [
            (e.decoded("dtstart").astimezone(UTC), e.decoded("dtend").astimezone(UTC))
            for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
        ]
        first, last = monday, monday + timedelta(days=13)
        schedule = (
            await api.get(
                f"/api/v1/supply-points/{point.id}/hdo", params={"from": first.isoformat(), "to": last.isoformat()}
            )
        ).json()
        expected = [(instant(w["start"]), instant(w["end"])) for w in schedule["windows"]]
        start = datetime.combine(first, datetime.min.time(), PRAGUE)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), PRAGUE)
        assert expected and sorted(e for e in events if e[1] > start and e[0] < end) == expected

        # a day of the history, picked with the form
        past = today - timedelta(days=40)
        picked = await web.get(f"/supply-points/{point.id}/hdo", params={"day": past.isoformat()})
        assert picked.status_code == 200
        day = (await api.get(f"/api/v1/supply-points/{point.id}/hdo", params={"from": past.isoformat()})).json()
        assert seconds_of(re.search(r'<dl class="facts" id="picked-day">.*?</dl>', picked.text, re.S).group(0)) == [
            day["low_tariff_seconds"]
        ]


async def test_bad_days_get_a_translated_message_and_no_server_error(stack):
    point = next(p for p in demo.supply_points("volta", demo.JANA) if p.hdo_code)
    today = datetime.now(PRAGUE).date()
    tokens = await cli_tokens(stack, "volta.localhost", "jana@volta.example")
    async with browser(stack, "volta.localhost") as web:
        assert (await portal_sign_in(web, "jana@volta.example")).status_code in (302, 303)
        for day, reason in (
            ("2026-13-45", "hdo.day.invalid"),
            ("yesterday", "hdo.day.invalid"),
            ((today - timedelta(days=200)).isoformat(), "hdo.day.out_of_range"),
            ((today + timedelta(days=60)).isoformat(), "hdo.day.out_of_range"),
        ):
            resp = await web.get(f"/supply-points/{point.id}/hdo", params={"day": day})
            assert resp.status_code == 400, (day, resp.status_code)
            # Jana reads Czech; the message is the Czech one, not the English message id
            cs = i18n.reason_message(reason, "cs", first="", last="").split("%")[0][:30]
            assert cs and cs != i18n.reason_message(reason, "en", first="", last="")[:30]
            assert str(escape(cs)) in resp.text, (day, resp.text[:3000])
            assert 'aria-invalid="true"' in resp.text
    async with browser(stack, "volta.localhost", headers={"Authorization": f"Bearer {tokens['access_token']}"}) as api:
        base = f"/api/v1/supply-points/{point.id}/hdo"
        for params, reason in (
            ({"from": "31.12.2026"}, "hdo.day.invalid"),
            ({"from": today.isoformat(), "to": "x"}, "hdo.day.invalid"),
            ({"from": (today - timedelta(days=400)).isoformat()}, "hdo.day.out_of_range"),
            ({"from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat()}, "hdo.span.invalid"),
            ({"from": (today - timedelta(days=60)).isoformat(), "to": today.isoformat()}, "hdo.span.invalid"),
        ):
            resp = await api.get(base, params=params)
            assert resp.status_code == 422, (params, resp.status_code, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            assert resp.json()["reason"] == reason


async def test_jana_sees_a_planned_outage_and_its_cancellation(stack):
    point = next(p for p in demo.supply_points("volta", demo.JANA) if p.hdo_code)
    marker = f"journey-{uuid.uuid4().hex[:10]}"
    start = datetime.now(PRAGUE).replace(microsecond=0, second=0, minute=0) + timedelta(days=20)

    def outage(**changes: object) -> bytes:
        item = {
            "id": marker,
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"),
            "reason": f"Výměna sloupu {marker}",
            "eans": [point.identifier],
        }
        return json.dumps({"operator": "ČEZ Distribuce", "outages": [{**item, **changes}]}).encode()

    channel = rpc.channel(stack.address("hdo"))
    hdo = HdoServiceStub(channel)
    staff = context.CallContext(
        tenant_id=str(demo.tenant("volta").id),
        subject="staff-1",
        subject_kind=context.STAFF,
        capabilities=frozenset({authz.TENANT_ADMIN}),
    )
    tokens = await cli_tokens(stack, "volta.localhost", "jana@volta.example")
    try:
        with context.bound(staff):
            await hdo.ImportOutages(hdo_pb2.ImportOutagesRequest(content=outage()))
        async with browser(stack, "volta.localhost") as web:
            assert (await portal_sign_in(web, "jana@volta.example")).status_code in (302, 303)
            page = await web.get("/outages")
            assert page.status_code == 200
            row = re.search(rf"<tr>(?:(?!</tr>).)*{marker}.*?</tr>", page.text, re.S).group(0)
            assert point.identifier in row and "badge-" not in row
            assert f'<time datetime="{start.astimezone(UTC).isoformat()}">' in row
            # the home page tells of the next outage, the first the outages page lists (other tests plan some too);
            # the outages page's fresh answer is what the home page shows from now on
            rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", page.text, re.S)
            starts = [re.search(r'datetime="([^"]+)"', r).group(1) for r in rows if "badge-cancelled" not in r]
            card = re.search(
                r'<section class="card outage-card".*?</section>', (await web.get("/dashboard")).text, re.S
            )
            assert card is not None and f'<time datetime="{starts[0]}">' in card.group(0)
            assert start.astimezone(UTC).isoformat() in starts
            more = len(starts) - 1
            assert (f"a {more} dal" in card.group(0)) == bool(more)  # "a 3 další plánované odstávky"
            with context.bound(staff):
                await hdo.ImportOutages(hdo_pb2.ImportOutagesRequest(content=outage(cancelled=True)))
            page = await web.get("/outages")
            row = re.search(rf"<tr>(?:(?!</tr>).)*{marker}.*?</tr>", page.text, re.S).group(0)
            assert 'class="badge badge-cancelled"' in row and "Zrušeno" in row
            assert start.astimezone(UTC).isoformat() not in (await web.get("/dashboard")).text
        async with browser(
            stack, "volta.localhost", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        ) as api:
            listed = (await api.get(f"/api/v1/customers/{demo.JANA}/outages")).json()["items"]
            mine = next(o for o in listed if o["external_id"] == marker)
            assert mine["state"] == "cancelled" and mine["supply_points"] == [
                {"supply_point_id": str(point.id), "identifier": point.identifier}
            ]
            assert instant(mine["starts_at"]) == start
    finally:
        await channel.close()


async def calls_of(spans, trace_id: int, method: str) -> int:
    """How often the gateway called a gRPC method within one trace (client side only, so each counts once)."""
    from opentelemetry.trace import SpanKind

    await asyncio.sleep(0.2)
    return sum(
        1
        for s in spans.get_finished_spans()
        if s.context.trace_id == trace_id and s.kind == SpanKind.CLIENT and s.name.endswith(f"/{method}")
    )


JANA_HDO_PAGE = f"/supply-points/{next(p for p in demo.supply_points('volta', demo.JANA) if p.hdo_code).id}/hdo"


async def test_the_dashboard_asks_hdo_at_most_once_and_the_outages_page_pages_through_the_supply_points(stack, spans):
    cases = (
        # Jana's household has a point with an HDO code: at most one low-tariff question and one outage question (the
        # answers are kept, so an earlier view may have asked already), nothing else of hdo; a second view asks nothing
        ("volta.localhost", "jana@volta.example", "/dashboard", {"GetSchedule": 0}),
        ("volta.localhost", "jana@volta.example", "/dashboard", {"IsLowTariff": 0, "ListOutages": 0}),
        # the HDO page: the operator's answers per code are kept, so a second view asks hdo nothing
        ("volta.localhost", "jana@volta.example", JANA_HDO_PAGE, {"ListOutages": 0}),
        ("volta.localhost", "jana@volta.example", JANA_HDO_PAGE, {"IsLowTariff": 0, "GetSchedule": 0}),
        # a Bulgarian household has no HDO code: no low-tariff question
        ("balkan.localhost", "ivan@balkan.example", "/dashboard", {"IsLowTariff": 0}),
        # the bakery's 180 supply points: two pages of a hundred from accounts, one matching call to hdo
        ("volta.localhost", "firma@volta.example", "/outages", {"ListSupplyPoints": 2, "ListOutages": 1}),
    )
    for number, (host, email, path, expected) in enumerate(cases, start=1):
        trace = f"{number:032x}"
        async with browser(stack, host) as web:
            assert (await portal_sign_in(web, email)).status_code in (302, 303)
            resp = await web.get(path, headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
            assert resp.status_code == 200, resp.text[:1000]
        counted = {method: await calls_of(spans, int(trace, 16), method) for method in expected}
        assert counted == expected, (host, email, path)
