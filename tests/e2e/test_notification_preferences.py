"""The notifications page over HTTP: the owner chooses e-mail, SMS or both for outage notices; a refused choice is
explained in the page's language and changes nothing; a delegate sees the choice and cannot change it."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from kit import demo

from .portal_http import browser, cli_tokens, csrf, sign_in

PATH = "/profile/notifications"
JANA = demo.customer("volta", demo.JANA)


def ticked(page: str, channel: str) -> bool:
    return f'name="outages" value="{channel}" checked' in page


async def choose(c, *channels: str, kind: str = "outages"):
    page = await c.get(PATH)
    form = [("_csrf_token", csrf(page.text)), ("kind", kind), *((kind, ch) for ch in channels)]
    # a name given once per ticked box, as a browser sends it
    return await c.post(PATH, content=urlencode(form), headers={"Content-Type": "application/x-www-form-urlencoded"})


async def test_the_owner_chooses_sms_and_email_and_is_told_it_is_saved(stack):
    async with browser(stack, "volta.localhost") as c:
        assert (await sign_in(c, "jana@volta.example")).status_code in (302, 303)
        await c.post("/locale", data={"_csrf_token": csrf((await c.get(PATH)).text), "locale": "cs", "next": PATH})
        page = await c.get(PATH)
        assert page.status_code == 200 and "Oznámení" in page.text
        assert JANA.phone in page.text
        try:
            saved = await choose(c, "email", "sms")
            assert saved.status_code in (302, 303) and saved.headers["location"] == PATH
            page = await c.get(PATH)
            assert "Vaše volba byla uložena." in page.text
            assert ticked(page.text, "email") and ticked(page.text, "sms")

            refused = await choose(c)
            assert refused.status_code == 400
            message = "Zvolte alespoň jeden způsob"
            assert message in html.unescape(refused.text)
            # what was posted is shown again (nothing ticked), and nothing was stored
            assert not ticked(refused.text, "email") and not ticked(refused.text, "sms")
            page = await c.get(PATH)
            assert ticked(page.text, "email") and ticked(page.text, "sms") and "uložena" not in page.text

            unknown = await choose(c, "email", kind="invoices")
            assert unknown.status_code == 400 and "Tento druh zpráv neznáme" in html.unescape(unknown.text)
        finally:
            await choose(c, "email")
        assert not ticked((await c.get(PATH)).text, "sms")


async def test_a_delegate_sees_the_choice_but_cannot_change_it(stack):
    async with browser(stack, "volta.localhost") as c:
        assert (await sign_in(c, "ucetni@volta.example")).status_code in (302, 303)
        await c.post("/locale", data={"_csrf_token": csrf((await c.get(PATH)).text), "locale": "en", "next": PATH})
        page = await c.get(PATH)
        assert page.status_code == 200
        assert "Only the customer can change" in page.text and 'name="outages"' not in page.text
        posted = await c.post(PATH, data={"_csrf_token": csrf(page.text), "kind": "outages", "outages": "sms"})
        assert posted.status_code == 403


async def test_the_api_shows_the_choice_and_refuses_a_third_party_change(stack):
    tokens = await cli_tokens(stack, "volta.localhost", "jana@volta.example")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    url = f"/api/v1/customers/{demo.JANA}/notification-preferences"
    async with browser(stack, "volta.localhost", headers=auth) as api:
        got = await api.get(url)
        assert got.status_code == 200
        body = got.json()
        assert body["customer_number"] == demo.JANA and body["phone"] == JANA.phone and body["sms_available"]
        assert {k["kind"] for k in body["kinds"]} == {"outages"}
        changed = await api.put(url, json={"kinds": [{"kind": "outages", "channels": ["sms"]}]})
        assert changed.status_code == 403
        assert changed.headers["content-type"].startswith("application/problem+json")
        assert changed.json()["reason"] == "forbidden"
        malformed = await api.put(url, json={"kinds": "outages"})
        assert malformed.status_code == 400
