"""The first customer journey over HTTP against the whole stack: register with a proof, confirm by the e-mail
that arrived over SMTP, sign in, see the dashboard and the supply points."""

from __future__ import annotations

import re

import httpx

from kit import demo


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
