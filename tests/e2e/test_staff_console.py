"""The staff console over HTTP against the whole stack: staff land on it after signing in and see what their roles
open; the tenant administrator imports an operator's switching times (shown to customers at once, the same file again
changes nothing, a malformed one is refused whole with its line) and planned outages; customer service, customers,
anonymous callers and another brand's host get the refusals they should."""

from __future__ import annotations

import contextlib
import json
import random
import re
import uuid
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path

import httpx
from portal.hdo.v1 import hdo_pb2
from portal.hdo.v1.hdo_pb2_grpc import HdoServiceStub

from gateway import i18n
from gateway.staff.pages import MAX_BODY_BYTES, MAX_UPLOAD_BYTES
from kit import context, demo, rpc

from .portal_http import browser, csrf, sign_in

HOST = "volta.localhost"
ADMIN, AGENT, JANA = "admin@volta.example", "agent@volta.example", "jana@volta.example"
DIP = Path(__file__).resolve().parents[1] / "fixtures" / "hdo" / "cez_dip_switch-times_signals.json"
IMPORT, OUTAGES = "/staff/hdo/import", "/staff/outages"


def cs(message: str, **params: object) -> str:
    """A message as the Czech pages show it (volta's language; the test clients name none), HTML-escaped."""
    return escape(i18n.gettext(message, "cs", **params), quote=False)


def reason(code: str, **params: object) -> str:
    return escape(i18n.reason_message(code, "cs", **params), quote=False)


@contextlib.asynccontextmanager
async def signed_in(stack, email: str) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(stack, HOST) as c:
        resp = await sign_in(c, email)
        assert resp.status_code in (302, 303), resp.text[:500]
        yield c


async def upload(c: httpx.AsyncClient, path: str, name: str, content: bytes, **fields: str) -> httpx.Response:
    token = csrf((await c.get("/login")).text)
    return await c.post(
        path, data={"_csrf_token": token, **fields}, files={"file": (name, content, "application/octet-stream")}
    )


async def schedule_of(stack, code: str, first_day: str) -> hdo_pb2.GetScheduleResponse:
    """What a customer of volta is told about a code's switching times."""
    customer = context.CallContext(tenant_id=str(demo.tenant("volta").id), subject="user-1", subject_kind=context.USER)
    async with rpc.channel(stack.address("hdo")) as channel:
        with context.bound(customer):
            return await HdoServiceStub(channel).GetSchedule(hdo_pb2.GetScheduleRequest(code=code, first_day=first_day))


def fresh_code() -> str:
    """An HDO code no demo supply point and no other test uses."""
    return f"A{random.randint(10_000, 99_999)}B9DP{random.randint(1, 9)}"


def schedule_csv(code: str, *lines: str) -> bytes:
    return "\n".join(("code,valid_from,valid_to,days,windows", *(line.format(code=code) for line in lines))).encode()


def outages_file(marker: str, **changes: object) -> bytes:
    # an area no demo supply point lies in, so no customer is e-mailed about the test's outages
    outage = {
        "id": marker,
        "start": "2031-05-14T08:00",
        "end": "2031-05-14T13:30",
        "reason": f"Výměna sloupu {marker}",
        "areas": [{"postal_code": "999 99", "city": f"Nikde {marker}"}],
    }
    return json.dumps({"operator": "ČEZ Distribuce", "outages": [{**outage, **changes}]}).encode()


async def test_staff_land_on_the_console_and_see_what_their_roles_open(stack):
    async with signed_in(stack, ADMIN) as admin:
        landing = await admin.get("/dashboard")
        assert (landing.status_code, landing.headers["location"]) == (302, "/staff")
        home = await admin.get("/staff")
        assert home.status_code == 200
        assert ADMIN in home.text and cs("Tenant administrator") in home.text and "Volta Energie" in home.text
        assert f'href="{IMPORT}"' in home.text and f'href="{OUTAGES}"' in home.text
        admin_cookies = dict(admin.cookies)

    async with signed_in(stack, AGENT) as agent:
        home = await agent.get("/staff")
        assert home.status_code == 200 and cs("Customer service") in home.text
        assert f'href="{OUTAGES}"' in home.text and f'href="{IMPORT}"' not in home.text
        listed = await agent.get(OUTAGES)
        assert listed.status_code == 200 and 'enctype="multipart/form-data"' not in listed.text
        assert (await agent.get(IMPORT)).status_code == 403
        code = fresh_code()
        for path in (IMPORT, OUTAGES):
            refused = await upload(agent, path, "nt.csv", schedule_csv(code, "{code},2026-01-01,,mon-sun,0:00-6:00"))
            assert refused.status_code == 403 and reason("forbidden") in refused.text, path
        assert not (await schedule_of(stack, code, "2026-06-01")).versions

    async with signed_in(stack, JANA) as customer:
        for path in ("/staff", IMPORT, OUTAGES):
            refused = await customer.get(path)
            assert refused.status_code == 403 and cs("Access denied") in refused.text, path

    async with browser(stack, HOST) as anonymous:
        resp = await anonymous.get("/staff")
        assert (resp.status_code, resp.headers["location"]) == (302, "/login?next=%2Fstaff")
        signed = await sign_in(anonymous, ADMIN, next="/staff")
        assert signed.headers["location"] == "/staff"

    # the administrator's session means nothing on another brand's host
    async with browser(stack, "esco.localhost", cookies=admin_cookies) as elsewhere:
        for path in ("/staff", IMPORT, OUTAGES):
            resp = await elsewhere.get(path)
            assert resp.status_code == 302 and resp.headers["location"].startswith("/login"), path


async def test_the_administrator_imports_switching_times_once_and_a_malformed_file_not_at_all(stack):
    async with signed_in(stack, ADMIN) as admin:
        form = await admin.get(IMPORT)
        assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text

        done = await upload(admin, IMPORT, "dip.json", DIP.read_bytes(), format="")
        assert done.status_code == 200, done.text[:2000]
        assert cs("%(name)s was imported.", name="dip.json") in done.text
        assert "A3B4DP1 A3B4DP2 A3B4DP6" in done.text and ">cez-dip<" in done.text
        # a code no earlier import answered for reads as the operator published it, from its first day on
        assert len((await schedule_of(stack, "A3B4DP1", "2025-08-14")).windows) == 5

        again = await upload(admin, IMPORT, "dip.json", DIP.read_bytes(), format="cez-dip")
        assert again.status_code == 200
        assert cs("%(name)s: nothing changed, the same switching times were imported before.", name="dip.json") in (
            again.text
        )

        code = fresh_code()
        broken = schedule_csv(code, "{code},2026-01-01,,mon-fri,0:00-6:00", "{code},2026-01-01,,sat-sun,25:00-6:00")
        refused = await upload(admin, IMPORT, "nt.csv", broken, format="csv")
        assert refused.status_code == 400
        assert cs("%(name)s was refused; nothing was imported.", name="nt.csv") in refused.text
        assert cs("Line %(line)s", line=3) in refused.text
        assert reason("hdo.import.time_invalid", value="25:00") in refused.text
        # the good first line was not stored either
        assert not (await schedule_of(stack, code, "2026-06-01")).versions

        bad_day = await upload(admin, IMPORT, "nt.csv", broken, format="cez-graphql", valid_from="31.12.2026")
        assert bad_day.status_code == 400 and reason("date.invalid") in bad_day.text
        assert 'value="31.12.2026"' in bad_day.text and '<option value="cez-graphql" selected>' in bad_day.text

        token = csrf((await admin.get("/login")).text)
        no_file = await admin.post(IMPORT, data={"_csrf_token": token}, files={"unrelated": ("", b"")})
        assert no_file.status_code == 400 and cs("Choose the file to import.") in no_file.text

        too_large = await upload(admin, IMPORT, "region.csv", b"#" * (MAX_UPLOAD_BYTES + 1))
        assert too_large.status_code == 400
        assert reason("hdo.import.too_large", max_mb=MAX_UPLOAD_BYTES // (1024 * 1024)) in too_large.text
        # a request larger still is refused before it is read, with the page's limit
        larger = await upload(admin, IMPORT, "region.csv", b"#" * (MAX_BODY_BYTES + 1))
        assert larger.status_code == 413
        assert reason("too_large", max_mb=MAX_BODY_BYTES // (1024 * 1024)) in larger.text

        good = await upload(admin, IMPORT, "nt.csv", schedule_csv(code, "{code},2026-01-01,,mon-sun,0:00-6:00"))
        assert good.status_code == 200 and code in good.text
        assert len((await schedule_of(stack, code, "2026-06-01")).windows) == 1


async def test_the_administrator_imports_planned_outages_and_staff_see_only_their_brands(stack):
    marker, refused_marker, esco_marker = (uuid.uuid4().hex[:10] for _ in range(3))
    system = context.CallContext(tenant_id=str(demo.tenant("esco").id), subject="test", subject_kind=context.SYSTEM)
    async with rpc.channel(stack.address("hdo")) as channel:
        with context.bound(system):
            await HdoServiceStub(channel).ImportOutages(hdo_pb2.ImportOutagesRequest(content=outages_file(esco_marker)))

    async with signed_in(stack, ADMIN) as admin:
        done = await upload(admin, OUTAGES, "odstavky.json", outages_file(marker))
        assert done.status_code == 200, done.text[:2000]
        assert cs("%(name)s was imported. Affected customers are told by e-mail.", name="odstavky.json") in done.text
        listed = (await admin.get(OUTAGES)).text
        assert marker in listed and f"Nikde {marker}" in listed
        assert esco_marker not in listed

        again = await upload(admin, OUTAGES, "odstavky.json", outages_file(marker))
        assert again.status_code == 200
        assert (
            cs("%(name)s: nothing changed, the same outages were imported before.", name="odstavky.json") in again.text
        )

        broken = outages_file(refused_marker, end="2031-05-14T07:00")
        refused = await upload(admin, OUTAGES, "odstavky.json", broken)
        assert refused.status_code == 400
        assert cs("Record %(record)s", record=1) in refused.text
        assert reason("hdo.import.period_invalid") in refused.text
        assert refused_marker not in refused.text and refused_marker not in (await admin.get(OUTAGES)).text

    async with signed_in(stack, AGENT) as agent:
        assert marker in (await agent.get(OUTAGES)).text


CUSTOMERS, AUDIT = "/staff/customers", "/staff/audit"


async def test_an_agent_finds_a_customer_and_sees_their_supply_points_contracts_and_requests(stack):
    svoboda_point = demo.supply_points("volta", demo.SVOBODA)[0]
    async with signed_in(stack, AGENT) as agent:
        home = (await agent.get("/staff")).text
        assert f'href="{CUSTOMERS}"' in home and f'href="{AUDIT}"' not in home
        empty = await agent.get(CUSTOMERS)
        assert empty.status_code == 200 and cs("No customer matches.") not in empty.text

        found = await agent.get(CUSTOMERS, params={"q": "svoboda"})
        assert found.status_code == 200
        assert f'href="{CUSTOMERS}/{demo.SVOBODA}"' in found.text and "Petr Svoboda" in found.text
        assert f'href="{CUSTOMERS}/{demo.JANA}"' not in found.text
        by_ean = await agent.get(CUSTOMERS, params={"q": svoboda_point.identifier[:14]})
        assert f'href="{CUSTOMERS}/{demo.SVOBODA}"' in by_ean.text
        # another brand's customer is not found by name, nor opened by number
        assert cs("No customer matches.") in (await agent.get(CUSTOMERS, params={"q": "Иван Петров"})).text
        assert (await agent.get(f"{CUSTOMERS}/{demo.IVAN}")).status_code == 404

        short = await agent.get(CUSTOMERS, params={"q": "x"})
        assert short.status_code == 400 and reason("customer_search.too_short", min=2) in short.text
        forged = await agent.get(CUSTOMERS, params={"q": "svoboda", "page": "forged"})
        assert forged.status_code == 400 and reason("page_token.invalid") in forged.text

        page = await agent.get(f"{CUSTOMERS}/{demo.SVOBODA}")
        assert page.status_code == 200
        text = page.text
        assert svoboda_point.identifier in text and svoboda_point.contract.number in text
        assert f'href="/staff/requests/new?customer={demo.SVOBODA}"' in text
        assert cs("Invoices are not in the portal yet; they come with billing.") in text
        assert (await agent.get(f"{CUSTOMERS}/1999999999")).status_code == 404

        # the bakery's 180 supply points come a page at a time
        bakery = await agent.get(f"{CUSTOMERS}/{demo.PEKARNY_A}")
        identifiers = sorted(p.identifier for p in demo.supply_points("volta", demo.PEKARNY_A))
        assert identifiers[0] in bakery.text and identifiers[30] not in bakery.text
        next_page = re.search(r'rel="next" href="([^"]+)"', bakery.text)
        assert next_page is not None
        second = await agent.get(next_page.group(1).replace("&amp;", "&"))
        assert identifiers[30] in second.text and identifiers[0] not in second.text

        assert (await agent.get(AUDIT)).status_code == 403


async def test_the_administrator_reads_the_audit_log_with_the_agents_searches(stack):
    marker = f"hledam{uuid.uuid4().hex[:8]}"
    async with signed_in(stack, AGENT) as agent:
        assert (await agent.get(CUSTOMERS, params={"q": marker})).status_code == 200
        await agent.get(f"{CUSTOMERS}/{demo.SVOBODA}")
    async with signed_in(stack, ADMIN) as admin:
        home = (await admin.get("/staff")).text
        assert f'href="{AUDIT}"' in home and f'href="{CUSTOMERS}"' in home
        log = await admin.get(AUDIT)
        assert log.status_code == 200
        assert marker in log.text and "customer_search" in log.text
        assert f"customer {demo.SVOBODA}" in log.text
        searches = await admin.get(AUDIT, params={"entity": "customer_search"})
        assert marker in searches.text and f"customer {demo.SVOBODA}" not in searches.text
        requests_log = await admin.get(AUDIT, params={"source": "requests"})
        assert requests_log.status_code == 200 and marker not in requests_log.text

        bad_day = await admin.get(AUDIT, params={"since": "2026-13-01"})
        assert bad_day.status_code == 400 and reason("date.invalid") in bad_day.text
        backwards = await admin.get(AUDIT, params={"since": "2026-05-02", "until": "2026-05-01"})
        assert backwards.status_code == 400 and reason("audit.period_invalid") in backwards.text
        admin_cookies = dict(admin.cookies)

    async with signed_in(stack, JANA) as customer:
        for path in (CUSTOMERS, f"{CUSTOMERS}/{demo.JANA}", AUDIT):
            refused = await customer.get(path)
            assert refused.status_code == 403 and cs("Access denied") in refused.text, path

    async with browser(stack, HOST) as anonymous:
        for path in (CUSTOMERS, f"{CUSTOMERS}/{demo.JANA}", AUDIT):
            resp = await anonymous.get(path)
            assert resp.status_code == 302 and resp.headers["location"].startswith("/login?next="), path

    async with browser(stack, "esco.localhost", cookies=admin_cookies) as elsewhere:
        for path in (CUSTOMERS, f"{CUSTOMERS}/{demo.JANA}", AUDIT):
            resp = await elsewhere.get(path)
            assert resp.status_code == 302 and resp.headers["location"].startswith("/login"), path
