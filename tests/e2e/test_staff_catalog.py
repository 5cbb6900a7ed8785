"""Issue 4's administration and the API's files, over HTTP against the whole stack: the tenant administrator edits
the request catalog and the permission matrix on their pages (bad input refused with its message and nothing
changed, what customers are offered follows at once), nobody else may; a customer's application files a request with
files through the JSON API, adds information with more and downloads them, with the pages' limits; a staff comment
the customer may read reaches them by e-mail, an internal one does not."""

from __future__ import annotations

import asyncio
import base64
import re
from html import escape
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from portal.accounts.v1 import accounts_pb2
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.hdo.v1 import hdo_pb2
from portal.hdo.v1.hdo_pb2_grpc import HdoServiceStub
from portal.identity.v1 import identity_pb2
from portal.identity.v1.identity_pb2_grpc import IdentityServiceStub
from portal.notifications.v1 import notifications_pb2
from portal.notifications.v1.notifications_pb2_grpc import NotificationsServiceStub
from portal.requests.v1 import requests_pb2
from portal.requests.v1.requests_pb2_grpc import RequestsServiceStub

from gateway import i18n
from gateway.staff import audit_pages
from kit import authz, context, demo, rpc
from kit.errors import DomainError

from .portal_http import browser, csrf
from .test_staff_console import reason, signed_in

HOST = "volta.localhost"
ADMIN, AGENT, JANA = "admin@volta.example", "agent@volta.example", "jana@volta.example"
CATALOG, MATRIX = "/staff/catalog", "/staff/matrix"
JANA_ELECTRICITY = demo.supply_points("volta", demo.JANA)[0]
VOLTA_MATRIX = demo.tenant("volta").permission_matrix
TOKEN = re.compile(r"ep_pat_[A-Za-z0-9_-]{43}")


async def post_form(c: httpx.AsyncClient, path: str, fields: list[tuple[str, str]]) -> httpx.Response:
    """Posts as a browser does, a ticked box once per value."""
    body = urlencode([("_csrf_token", csrf((await c.get("/login")).text)), *fields])
    return await c.post(path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})


def entry(code: str, deadline: str, position: str, *contract_types: str, offered: bool = True) -> list[tuple[str, str]]:
    fields = [("deadline_days", deadline), ("position", position), *(("contract_types", t) for t in contract_types)]
    return [("offered", "yes"), *fields] if offered else fields


def matrix_form(matrix: dict[str, frozenset[str]]) -> list[tuple[str, str]]:
    fields = [("contract_type", t) for t in sorted(matrix)]
    fields += [(f"caps-{t}", c) for t in sorted(matrix) for c in authz.PER_CONTRACT if c in matrix[t]]
    return fields


def card_of(page: str, code: str) -> str:
    start = page.index(f'id="entry-{code}"')
    return page[start : page.index("</section>", start)]


async def offered_types(c: httpx.AsyncClient) -> set[str]:
    page = await c.get("/requests/new", params={"supply_point": str(JANA_ELECTRICITY.id)})
    assert page.status_code == 200
    return set(re.findall(r'data-type="([a-z_]+)"', page.text))


async def eventually(check, timeout: float = 15.0) -> None:
    """The requests service learns of a changed matrix by an event; waits for it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the change did not arrive"
        await asyncio.sleep(0.2)


async def test_the_administrator_edits_the_catalog_and_customers_are_offered_what_it_says(stack):
    async with signed_in(stack, ADMIN) as admin, signed_in(stack, JANA) as jana:
        page = await admin.get(CATALOG)
        assert page.status_code == 200 and 'id="entry-termination"' in page.text
        assert 'id="entry-contact_change"' not in page.text
        assert "termination" in await offered_types(jana)
        try:
            for fields, refusal, kept in (
                (entry("termination", "0", "3", demo.BUNDLED), reason("catalog.deadline_invalid", max=365), '"0"'),
                (entry("termination", "15", "x", demo.BUNDLED), reason("catalog.position_invalid", max=999), '"x"'),
                (entry("termination", "15", "3"), reason("catalog.contract_types_required"), '"15"'),
            ):
                refused = await post_form(admin, f"{CATALOG}/termination", fields)
                assert refused.status_code == 400 and refusal in refused.text
                # the card comes back as it was sent
                assert f"value={kept}" in card_of(refused.text, "termination")
            assert "termination" in await offered_types(jana)
            unknown = await post_form(admin, f"{CATALOG}/no_such_type", entry("x", "15", "3", demo.BUNDLED))
            assert unknown.status_code == 404

            saved = await post_form(
                admin, f"{CATALOG}/termination", entry("termination", "21", "3", demo.BUNDLED, offered=False)
            )
            assert saved.status_code in (302, 303) and saved.headers["location"] == f"{CATALOG}#entry-termination"
            card = card_of((await admin.get(CATALOG)).text, "termination")
            assert 'value="21"' in card and 'name="offered" value="yes" checked' not in card
            assert "termination" not in await offered_types(jana)
        finally:
            restored = await post_form(admin, f"{CATALOG}/termination", entry("termination", "15", "3", *VOLTA_MATRIX))
            assert restored.status_code in (302, 303)
        assert "termination" in await offered_types(jana)

    async with signed_in(stack, AGENT) as agent:
        assert f'href="{CATALOG}"' not in (await agent.get("/staff")).text
        assert (await agent.get(CATALOG)).status_code == 403
        refused = await post_form(agent, f"{CATALOG}/termination", entry("termination", "5", "0", demo.BUNDLED))
        assert refused.status_code == 403


async def test_the_administrator_edits_the_matrix_and_it_applies_at_once(stack):
    before = {t: frozenset(c) for t, c in VOLTA_MATRIX.items()}
    without_tariff = {**before, demo.BUNDLED: before[demo.BUNDLED] - {authz.TARIFF_CHANGE_REQUEST}}
    async with signed_in(stack, ADMIN) as admin, signed_in(stack, JANA) as jana:
        page = await admin.get(MATRIX)
        assert page.status_code == 200 and f'name="caps-{demo.BUNDLED}"' in page.text
        assert "tariff_change" in await offered_types(jana)
        try:
            blind = {**before, demo.BUNDLED: before[demo.BUNDLED] - {authz.SUPPLY_POINTS_READ}}
            refused = await post_form(admin, MATRIX, matrix_form(blind))
            assert refused.status_code == 400 and reason("matrix.view_required") in refused.text
            unknown = await post_form(admin, MATRIX, [*matrix_form(before), (f"caps-{demo.BUNDLED}", "root:write")])
            assert unknown.status_code == 400 and reason("matrix.capability_unknown") in unknown.text
            assert "tariff_change" in await offered_types(jana)

            saved = await post_form(admin, MATRIX, matrix_form(without_tariff))
            assert saved.status_code in (302, 303) and saved.headers["location"] == MATRIX

            async def withdrawn() -> bool:
                return "tariff_change" not in await offered_types(jana)

            await eventually(withdrawn)
        finally:
            assert (await post_form(admin, MATRIX, matrix_form(before))).status_code in (302, 303)

        async def back() -> bool:
            return "tariff_change" in await offered_types(jana)

        await eventually(back)
        log = await admin.get("/staff/audit", params={"entity": "permission_matrix"})
        assert log.status_code == 200 and authz.TARIFF_CHANGE_REQUEST in log.text

    async with signed_in(stack, AGENT) as agent:
        assert (await agent.get(MATRIX)).status_code == 403
        assert (await post_form(agent, MATRIX, matrix_form(without_tariff))).status_code == 403


def attachment(name: str, content_type: str, content: bytes) -> dict[str, str]:
    return {"file_name": name, "content_type": content_type, "content": base64.b64encode(content).decode()}


async def requests_token(stack) -> str:
    """A personal access token of Jana's that may read and file requests."""
    async with signed_in(stack, JANA) as web:
        page = await web.get("/profile/tokens")
        fields = [
            ("_csrf_token", csrf(page.text)),
            ("name", "requests by API"),
            ("expires_at", "30"),
            ("expires_on", ""),
        ]
        fields += [("scopes", s) for s in ("requests:read", "requests:write", "supply-points:read")]
        made = await web.post(
            "/profile/tokens", content=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert made.status_code == 200, made.text[:500]
        (value,) = set(TOKEN.findall(made.text))
    return value


async def as_staff_step(stack, request_id: str, action: str, reason_text: str = "") -> None:
    staff = context.CallContext(
        tenant_id=str(demo.tenant("volta").id),
        subject="agent-api",
        subject_kind=context.STAFF,
        capabilities=frozenset({authz.CUSTOMER_SERVICE}),
    )
    async with rpc.channel(stack.address("requests")) as channel:
        with context.bound(staff):
            await RequestsServiceStub(channel).Transition(
                requests_pb2.TransitionRequest(request_id=request_id, action=action, reason=reason_text)
            )


async def test_an_application_files_a_request_with_files_adds_more_and_downloads_them(stack):
    token = await requests_token(stack)
    base = f"/api/v1/customers/{demo.JANA}/requests"
    scan = attachment("C:\\scans\\faktura.pdf", "application/pdf", b"%PDF-1.7 complaint")
    body = {"type": "invoice_complaint", "values": {"invoice_number": "2026109901", "description": "Twice billed."}}
    async with browser(stack, HOST, headers={"Authorization": f"Bearer {token}"}) as api:
        before = (await api.get(base)).json()["total"]
        for files, code in (
            ([scan] * 4, "request.attachments_too_many"),
            ([attachment("a.exe", "application/x-msdownload", b"MZ")], "request.attachment_type"),
            ([attachment("big.pdf", "application/pdf", b"x" * 1_000_001)], "request.attachment_size"),
            ([attachment("empty.pdf", "application/pdf", b"")], "request.attachment_size"),
        ):
            refused = await api.post(base, json={**body, "attachments": files})
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["reason"] == code
        not_base64 = await api.post(base, json={**body, "attachments": [{**scan, "content": "%%%"}]})
        assert not_base64.status_code == 400
        assert (await api.get(base)).json()["total"] == before

        filed = await api.post(base, json={**body, "attachments": [scan]}, headers={"Idempotency-Key": "api-files"})
        assert filed.status_code == 201, filed.text
        request_id = filed.json()["id"]
        seen = (await api.get(f"{base}/{request_id}")).json()
        [listed] = seen["attachments"]
        assert (listed["file_name"], listed["content_type"], listed["size"]) == ("faktura.pdf", "application/pdf", 18)
        assert listed["href"] == f"{base}/{request_id}/attachments/{listed['id']}"
        got = await api.get(listed["href"])
        assert got.status_code == 200 and got.content == b"%PDF-1.7 complaint"
        assert got.headers["content-type"].startswith("application/pdf")
        assert got.headers["content-disposition"].startswith("attachment;")

        too_early = await api.post(f"{base}/{request_id}/steps", json={"action": "add_info", "reason": "More."})
        assert too_early.status_code == 409 and too_early.json()["reason"] == "precondition.request_state"
        await as_staff_step(stack, request_id, "accept")
        await as_staff_step(stack, request_id, "ask_customer", "Send the payment confirmation, please.")
        photo = attachment("platba.png", "image/png", b"\x89PNG payment")
        no_text = await api.post(f"{base}/{request_id}/steps", json={"action": "add_info", "attachments": [photo]})
        assert no_text.status_code == 422 and no_text.json()["reason"] == "request.reason_required"
        added = await api.post(
            f"{base}/{request_id}/steps",
            json={"action": "add_info", "reason": "Here it is.", "attachments": [photo]},
        )
        assert added.status_code == 200, added.text
        answered = added.json()
        assert answered["state"] == "in_progress" and len(answered["attachments"]) == 2
        assert answered["timeline"][-1]["action"] == "add_info"
        png = next(a for a in answered["attachments"] if a["file_name"] == "platba.png")
        assert (await api.get(png["href"])).content == b"\x89PNG payment"

        # another customer's request and file are not found
        other = f"/api/v1/customers/{demo.SVOBODA}/requests/{request_id}/attachments/{png['id']}"
        assert (await api.get(other)).status_code == 404
        assert (
            await api.get(f"{base}/{request_id}/attachments/00000000-0000-4000-8000-000000000000")
        ).status_code == 404

    spec = (await browser_json(stack, "/api/openapi.json"))["paths"]
    assert "post" in spec[base.replace(demo.JANA, "{customer_number}") + "/{request_id}/steps"]
    assert "attachments" in str(spec[base.replace(demo.JANA, "{customer_number}")]["post"])


async def contact_email(stack) -> str:
    system = context.CallContext(tenant_id=str(demo.tenant("volta").id), subject="test", subject_kind=context.SYSTEM)
    async with rpc.channel(stack.address("accounts")) as channel:
        with context.bound(system):
            found = await AccountsServiceStub(channel).GetCustomer(
                accounts_pb2.GetCustomerRequest(customer_number=demo.JANA)
            )
    return found.customer.email


async def browser_json(stack, path: str) -> dict:
    async with browser(stack, HOST) as c:
        return (await c.get(path)).json()


async def test_a_comment_for_the_customer_is_emailed_in_their_language_and_an_internal_one_not(stack, mailbox):
    """Jana chose English (as if she had registered in it), though volta speaks Czech by default."""
    marker = "The technician comes on Tuesday"
    async with signed_in(stack, JANA) as jana:
        path = await free_text(jana, "Visit", "When?")
    staff_path = "/staff" + path
    await jana_locale(stack, "en")
    try:
        async with signed_in(stack, AGENT) as agent:
            internal = await post_form(agent, f"{staff_path}/comment", [("text", "Only for us."), ("internal", "yes")])
            public = await post_form(agent, f"{staff_path}/comment", [("text", marker)])
            assert internal.status_code in (302, 303) and public.status_code in (302, 303)
        email = await contact_email(stack)
        message = await mailbox.wait_for(email, subject_contains="a message about your request")
    finally:
        await jana_locale(stack, "cs")
    body = message.get_body().get_content()
    assert marker in body and "Only for us." not in body
    await asyncio.sleep(1)
    assert not any("Only for us." in m.get_body().get_content() for m in mailbox.to(email))


async def free_text(c: httpx.AsyncClient, subject: str, description: str) -> str:
    """Files a free-text request on the page as the signed-in customer; its page's path."""
    form = await c.get("/requests/new", params={"type": "free_text"})
    key = re.search(r'name="idempotency_key" value="([^"]*)"', form.text).group(1)
    fields = [("type", "free_text"), ("idempotency_key", key), ("field_subject", subject)]
    filed = await post_form(c, "/requests/new", [*fields, ("field_description", description)])
    assert filed.status_code in (302, 303), filed.text[:500]
    return filed.headers["location"]


async def jana_locale(stack, locale: str) -> None:
    async with stack.services["identity"].runtime.db.system() as conn:
        await conn.execute(
            sa.text("UPDATE users SET locale = :locale WHERE email = :email"), {"locale": locale, "email": JANA}
        )


async def test_the_audit_log_merges_every_service_and_filters_by_customer_and_actor(stack):
    async with signed_in(stack, AGENT) as agent:
        # more than a page of the log: each search and each customer opened is recorded
        for n in range(audit_pages.PAGE_SIZE + 10):
            assert (await agent.get("/staff/customers", params={"q": f"hledam{n}"})).status_code == 200
        assert (await agent.get(f"/staff/customers/{demo.SVOBODA}")).status_code == 200
        form = await agent.get("/staff/requests/new", params={"customer": demo.SVOBODA, "type": "free_text"})
        key = re.search(r'name="idempotency_key" value="([^"]*)"', form.text).group(1)
        filed = await post_form(
            agent,
            "/staff/requests/new",
            [
                ("customer", demo.SVOBODA),
                ("type", "free_text"),
                ("channel", "phone"),
                ("idempotency_key", key),
                ("field_subject", "Audit"),
                ("field_description", "Called about the audit log."),
            ],
        )
        assert filed.status_code in (302, 303), filed.text[:500]
    request_id = filed.headers["location"].rsplit("/", 1)[1]
    async with signed_in(stack, ADMIN) as admin:
        log = await admin.get("/staff/audit", params={"customer": demo.SVOBODA})
        assert log.status_code == 200
        text = log.text
        # the customer opened (accounts) and the request filed (requests), in one list, newest first
        assert f"request {request_id}" in text and f"customer {demo.SVOBODA}" in text
        assert text.index(f"request {request_id}") < text.index(f"customer {demo.SVOBODA}")
        assert escape(i18n.gettext("Requests", "cs"), quote=False) in text
        assert escape(i18n.gettext("Customers and contracts", "cs"), quote=False) in text
        # staff by their login e-mail, linked to what they alone did
        assert AGENT in text
        agent_id = re.search(r'href="/staff/audit\?actor=([0-9a-f-]{36})"[^>]*>agent@volta\.example<', text).group(1)
        assert f'href="/staff/customers/{demo.JANA}"' not in text
        theirs = await admin.get("/staff/audit", params={"actor": agent_id, "source": "requests"})
        assert f"request {request_id}" in theirs.text and f"customer {demo.SVOBODA}" not in theirs.text
        forged = await admin.get("/staff/audit", params={"page": "not-a-token"})
        assert forged.status_code == 400 and reason("page_token.invalid") in forged.text
        # every entry once across the pages, each log's in its own order
        every = await entries_of(admin, "/staff/audit")
        assert len(every) > audit_pages.PAGE_SIZE and len(every) == len(set(every))
        accounts = [int(k.removeprefix("accounts-")) for k in every if k.startswith("accounts-")]
        assert accounts == sorted(accounts, reverse=True)
        assert [k for k in await entries_of(admin, "/staff/audit?source=accounts")] == [
            f"accounts-{i}" for i in accounts
        ]


async def entries_of(c: httpx.AsyncClient, url: str) -> list[str]:
    """The entries of every page of the audit log from `url` on, by log and id."""
    seen: list[str] = []
    for _ in range(100):
        page = (await c.get(url)).text
        seen += re.findall(r'<tr id="audit-([a-z]+-[0-9]+)"', page)
        found = re.search(r'rel="next" href="([^"]+)"', page)
        if not found:
            return seen
        url = found.group(1).replace("&amp;", "&")
    raise AssertionError("more than 100 pages")


async def test_the_new_lookups_and_trails_are_refused_to_whoever_may_not_have_them(stack):
    volta, esco = str(demo.tenant("volta").id), str(demo.tenant("esco").id)

    def caller(tenant: str, kind: str, roles: frozenset[str] = frozenset()) -> context.CallContext:
        return context.CallContext(tenant_id=tenant, subject="probe", subject_kind=kind, capabilities=roles)

    customer = caller(volta, context.USER, frozenset(authz.ALL_CAPABILITIES))
    agent = caller(volta, context.STAFF, frozenset({authz.CUSTOMER_SERVICE}))
    esco_admin = caller(esco, context.STAFF, frozenset({authz.TENANT_ADMIN}))
    volta_admin = caller(volta, context.STAFF, frozenset({authz.TENANT_ADMIN}))
    jana_user = str(demo.user("volta", JANA).id)
    async with rpc.channel(stack.address("identity")) as channel:
        identity = IdentityServiceStub(channel)
        for who in (customer, agent):
            with context.bound(who), pytest.raises(DomainError) as refused:
                await identity.GetCustomerLocale(identity_pb2.GetCustomerLocaleRequest(customer_number=demo.JANA))
            assert refused.value.reason == "forbidden"
        with context.bound(customer), pytest.raises(DomainError) as refused:
            await identity.ListUsers(identity_pb2.ListUsersRequest(user_ids=[jana_user]))
        assert refused.value.reason == "forbidden"
        with context.bound(caller(volta, context.SYSTEM)):
            found = await identity.GetCustomerLocale(identity_pb2.GetCustomerLocaleRequest(customer_number=demo.JANA))
        assert found.locale == "cs"
        # another brand's logins are nobody there
        with context.bound(esco_admin):
            assert not (await identity.ListUsers(identity_pb2.ListUsersRequest(user_ids=[jana_user, "x"]))).users
        with context.bound(volta_admin):
            [named] = (await identity.ListUsers(identity_pb2.ListUsersRequest(user_ids=[jana_user]))).users
        assert named.email == JANA
    for service, stub, request in (
        ("identity", IdentityServiceStub, identity_pb2.ListAuditRequest()),
        ("hdo", HdoServiceStub, hdo_pb2.ListAuditRequest()),
        ("notifications", NotificationsServiceStub, notifications_pb2.ListAuditRequest()),
    ):
        async with rpc.channel(stack.address(service)) as channel:
            for who in (customer, agent):
                with context.bound(who), pytest.raises(DomainError) as refused:
                    await stub(channel).ListAudit(request)
                assert refused.value.reason == "forbidden", service
            with context.bound(esco_admin):
                entries = (await stub(channel).ListAudit(request)).entries
            assert all(e.customer_number not in (demo.JANA, demo.SVOBODA) for e in entries), service


async def test_the_customer_adds_information_with_a_file_on_the_page(stack):
    async with signed_in(stack, JANA) as jana:
        path = await free_text(jana, "Meter", "?")
        request_id = path.rsplit("/", 1)[1]
        await as_staff_step(stack, request_id, "accept")
        await as_staff_step(stack, request_id, "ask_customer", "A photo of the meter, please.")
        page = await jana.get(path)
        assert 'enctype="multipart/form-data"' in page.text and 'id="f-attachments"' in page.text
        token = csrf(page.text)

        async def add(name: str, content_type: str) -> httpx.Response:
            return await jana.post(
                f"{path}/transition",
                data={"_csrf_token": token, "action": "add_info", "reason": "Here it is."},
                files={"attachments": (name, b"\xff\xd8\xff photo", content_type)},
            )

        refused = await add("meter.exe", "application/x-msdownload")
        assert refused.status_code == 400 and reason("request.attachment_type") in refused.text
        done = await add("meter.jpg", "image/jpeg")
        assert done.status_code in (302, 303)
        shown = (await jana.get(path)).text
        link = re.search(rf'href="({path}/attachments/[0-9a-f-]{{36}})"[^>]*>meter\.jpg<', shown)
        assert link and (await jana.get(link.group(1))).content == b"\xff\xd8\xff photo"
