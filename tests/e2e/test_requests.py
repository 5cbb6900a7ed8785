"""Requests (žádosti) over HTTP against the whole stack: a customer files a breaker change, an agent works it through
the staff console, the customer follows it to its end with its timeline and an e-mail on each step; a supply-only
contract on esco is never offered the breaker change and cannot file it by posting the form; one form sent twice is
one request; staff file on a customer's behalf by phone."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from html import escape

import httpx
from portal.accounts.v1 import accounts_pb2
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.billing.v1 import billing_pb2
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub
from portal.requests.v1 import requests_pb2
from portal.requests.v1.requests_pb2_grpc import RequestsServiceStub

from gateway import i18n
from kit import authz, context, demo, rpc

from .portal_http import browser, csrf, sign_in

VOLTA, ESCO = "volta.localhost", "esco.localhost"
JANA, AGENT, TOVARNA = "jana@volta.example", "agent@volta.example", "tovarna@esco.example"
JANA_ELECTRICITY = demo.supply_points("volta", demo.JANA)[0]
TOVARNA_SUPPLY_ONLY = next(
    p
    for p in demo.supply_points("esco", demo.TOVARNA)
    if p.contract.contract_type == demo.SUPPLY_ONLY and p.commodity == "electricity"
)
REQUEST_LINK = re.compile(r'href="(/(?:staff/)?requests/[0-9a-f-]{36})"')


def cs(message: str, **params: object) -> str:
    return escape(i18n.gettext(message, "cs", **params), quote=False)


@contextlib.asynccontextmanager
async def signed_in(stack, host: str, email: str) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(stack, host) as c:
        resp = await sign_in(c, email)
        assert resp.status_code in (302, 303), resp.text[:500]
        yield c


async def post(c: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    token = csrf((await c.get("/login")).text)
    return await c.post(path, data={"_csrf_token": token, **form})


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} in the form"
    return found.group(1)


async def contact_email(stack, number: str) -> str:
    system = context.CallContext(tenant_id=str(demo.tenant("volta").id), subject="test", subject_kind=context.SYSTEM)
    async with rpc.channel(stack.address("accounts")) as channel:
        with context.bound(system):
            resp = await AccountsServiceStub(channel).GetCustomer(
                accounts_pb2.GetCustomerRequest(customer_number=number)
            )
    return resp.customer.email


async def test_a_breaker_change_from_filing_to_resolution(stack, mailbox):
    async with signed_in(stack, VOLTA, JANA) as jana:
        form = await jana.get("/requests/new", params={"supply_point": str(JANA_ELECTRICITY.id)})
        assert form.status_code == 200
        assert 'data-type="breaker_change"' in form.text
        chosen = await jana.get(
            "/requests/new", params={"supply_point": str(JANA_ELECTRICITY.id), "type": "breaker_change"}
        )
        key = hidden(chosen.text, "idempotency_key")
        fields = {
            "supply_point": str(JANA_ELECTRICITY.id),
            "type": "breaker_change",
            "idempotency_key": key,
            "field_breaker_amps": "32",
            "field_phases": "3",
            "field_note": "The heat pump needs more.",
        }
        missing = await post(jana, "/requests/new", **{**fields, "field_phases": ""})
        assert missing.status_code == 400
        assert escape(i18n.reason_message("request.field_required", "cs"), quote=False) in missing.text
        filed = await post(jana, "/requests/new", **fields)
        assert filed.status_code in (302, 303)
        # the same form sent again (a double click, a reload) is the same request
        again = await post(jana, "/requests/new", **fields)
        assert again.headers["location"] == filed.headers["location"]
        detail_path = filed.headers["location"]
        listed = await jana.get("/requests")
        assert listed.text.count(f'href="{detail_path}"') == 1
        assert cs("Change of the main breaker") in listed.text and cs("Submitted") in listed.text

    request_id = detail_path.rsplit("/", 1)[1]
    async with signed_in(stack, VOLTA, AGENT) as agent:
        queue = await agent.get("/staff/requests", params={"type": "breaker_change"})
        assert f'href="/staff/requests/{request_id}"' in queue.text
        staff_path = f"/staff/requests/{request_id}"
        assert (await post(agent, f"{staff_path}/assign")).status_code in (302, 303)
        assert (await post(agent, f"{staff_path}/transition", action="accept")).status_code in (302, 303)
        no_reason = await post(agent, f"{staff_path}/transition", action="resolve")
        assert no_reason.status_code == 400
        assert escape(i18n.reason_message("request.reason_required", "cs"), quote=False) in no_reason.text
        noted = await post(agent, f"{staff_path}/comment", text="Meter box checked.", internal="yes")
        assert noted.status_code in (302, 303)
        done = await post(agent, f"{staff_path}/transition", action="resolve", reason="A 32 A breaker is fitted.")
        assert done.status_code in (302, 303)
        mine = await agent.get("/staff/requests", params={"assigned": "me", "state": "resolved"})
        assert f'href="/staff/requests/{request_id}"' in mine.text

    async with signed_in(stack, VOLTA, JANA) as jana:
        seen = await jana.get(detail_path)
    assert seen.status_code == 200
    assert cs("Resolved") in seen.text and "A 32 A breaker is fitted." in seen.text
    assert "Meter box checked." not in seen.text
    timeline = seen.text.split('id="timeline"', 1)[1]
    order = [cs("Filed"), cs("Accept"), cs("Resolve")]
    assert [timeline.index(step) for step in order] == sorted(timeline.index(step) for step in order)
    await mailbox.wait_for(await contact_email(stack, demo.JANA), subject_contains="vyřízeno")


async def test_a_supply_only_contract_is_never_offered_a_breaker_change(stack):
    async with signed_in(stack, ESCO, TOVARNA) as tovarna:
        form = await tovarna.get("/requests/new", params={"supply_point": str(TOVARNA_SUPPLY_ONLY.id)})
        assert form.status_code == 200
        assert 'data-type="breaker_change"' not in form.text and 'data-type="tariff_change"' not in form.text
        assert 'data-type="termination"' in form.text
        before = (await tovarna.get("/requests")).text.count('href="/requests/')
        forced = await post(
            tovarna,
            "/requests/new",
            supply_point=str(TOVARNA_SUPPLY_ONLY.id),
            type="breaker_change",
            idempotency_key="forced",
            field_breaker_amps="25",
            field_phases="3",
        )
        assert forced.status_code == 400
        assert escape(i18n.reason_message("forbidden.request_type", "cs"), quote=False) in forced.text
        assert (await tovarna.get("/requests")).text.count('href="/requests/') == before


async def test_staff_file_a_request_that_came_by_phone(stack):
    async with signed_in(stack, VOLTA, AGENT) as agent:
        form = await agent.get("/staff/requests/new", params={"customer": demo.JANA, "type": "free_text"})
        assert form.status_code == 200
        filed = await post(
            agent,
            "/staff/requests/new",
            customer=demo.JANA,
            type="free_text",
            channel="phone",
            idempotency_key=hidden(form.text, "idempotency_key"),
            field_subject="Call back about the advance",
            field_description="Asked on the phone to be called back.",
        )
        assert filed.status_code in (302, 303), filed.text[:500]
        request_id = filed.headers["location"].rsplit("/", 1)[1]
        unknown = await agent.get("/staff/requests/new", params={"customer": "1999999999"})
        assert unknown.status_code == 404
    async with signed_in(stack, VOLTA, JANA) as jana:
        listed = await jana.get("/requests")
        detail = await jana.get(f"/requests/{request_id}")
    assert f'href="/requests/{request_id}"' in listed.text
    assert cs("Phone") in detail.text and "Call back about the advance" in detail.text


async def test_a_complaint_goes_with_its_scanned_invoice(stack):
    async with signed_in(stack, VOLTA, JANA) as jana:
        form = await jana.get("/requests/new", params={"type": "invoice_complaint"})
        token = csrf(form.text)
        fields = {
            "_csrf_token": token,
            "type": "invoice_complaint",
            "supply_point": "",
            "idempotency_key": hidden(form.text, "idempotency_key"),
            "field_invoice_number": "2026109901",
            "field_description": "The advance is counted twice.",
        }
        too_large = await jana.post(
            "/requests/new", data=fields, files={"attachments": ("scan.pdf", b"%" * 1_000_001, "application/pdf")}
        )
        assert too_large.status_code == 400
        assert escape(i18n.reason_message("request.attachment_size", "cs"), quote=False) in too_large.text
        filed = await jana.post(
            "/requests/new", data=fields, files={"attachments": ("faktura.pdf", b"%PDF-1.7 scan", "application/pdf")}
        )
        assert filed.status_code in (302, 303), filed.text[:500]
        detail = await jana.get(filed.headers["location"])
        link = re.search(r'href="(/requests/[0-9a-f-]{36}/attachments/[0-9a-f-]{36})"', detail.text)
        assert link and "faktura.pdf" in detail.text
        got = await jana.get(link.group(1))
    assert got.status_code == 200 and got.content == b"%PDF-1.7 scan"
    assert got.headers["content-disposition"].startswith("attachment;")
    async with signed_in(stack, VOLTA, AGENT) as agent:
        staff_copy = await agent.get("/staff" + link.group(1))
    assert staff_copy.content == b"%PDF-1.7 scan"


async def file_extraordinary_settlement(stack, point: demo.SupplyPoint, day: str, key: str) -> str:
    """Jana's extraordinary settlement request for `day`, filed through the requests service as her portal does."""
    channel = rpc.channel(stack.address("requests"))
    try:
        with as_customer(point):
            filed = await RequestsServiceStub(channel).Submit(
                requests_pb2.SubmitRequest(
                    customer_number=point.customer_number,
                    supply_point_id=str(point.id),
                    type="extraordinary_settlement",
                    values=[requests_pb2.FieldValue(name="reading_day", value=day)],
                    idempotency_key=key,
                )
            )
    finally:
        await channel.close()
    return filed.request.id


def as_customer(point: demo.SupplyPoint) -> context.bound:
    return context.bound(
        context.CallContext(
            tenant_id=str(demo.tenant(point.tenant_slug).id),
            subject=f"user-of-{point.customer_number}",
            subject_kind=context.USER,
            customer_number=point.customer_number,
            customer_numbers=frozenset({point.customer_number}),
            capabilities=frozenset(authz.ALL_CAPABILITIES),
        )
    )


async def settled_state(stack, point: demo.SupplyPoint, request_id: str, leaving: str = "submitted") -> object:
    """The request once billing's answer moved it on (within a few seconds)."""
    channel = rpc.channel(stack.address("requests"))
    try:
        with as_customer(point):
            for _ in range(100):
                found = (await RequestsServiceStub(channel).Get(requests_pb2.GetRequest(request_id=request_id))).request
                if found.state not in (leaving, "in_progress"):
                    return found
                await asyncio.sleep(0.2)
    finally:
        await channel.close()
    return found


async def test_an_extraordinary_settlement_is_issued_by_billing_and_resolves_the_request(stack):
    """Billing settles the point to the reading on the day asked for and issues the invoice; the request is resolved
    with its number. A day without a reading comes back to the customer with what is missing."""
    point = next(p for p in demo.supply_points("volta", demo.JANA) if p.commodity == "gas")
    issued = await file_extraordinary_settlement(stack, point, "2026-11-01", "extraordinary-gas")
    request = await settled_state(stack, point, issued)
    assert request.state == "resolved", request
    channel = rpc.channel(stack.address("billing"))
    try:
        with as_customer(point):
            listed = await BillingServiceStub(channel).ListInvoices(
                billing_pb2.ListInvoicesRequest(customer_number=point.customer_number, supply_point_id=str(point.id))
            )
    finally:
        await channel.close()
    invoice = next(i for i in listed.invoices if i.kind == "extraordinary")
    assert invoice.period_to == "2026-10-31"
    assert invoice.number in request.timeline[-1].text

    missing = await file_extraordinary_settlement(stack, point, "2026-11-15", "extraordinary-no-reading")
    request = await settled_state(stack, point, missing)
    assert request.state == "waiting_for_customer", request
    assert "15" in request.timeline[-1].text and "samoodečet" in request.timeline[-1].text
