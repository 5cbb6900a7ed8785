"""Personal access tokens end to end: made on /profile/tokens, shown once, used as a bearer token on the JSON API
within their scopes only, refused on another brand, and refused at once after being revoked on the page."""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import urlencode

import httpx

from kit import demo

from .portal_http import browser, csrf, sign_in

PATH = "/profile/tokens"
JANA = "jana@volta.example"
VALUE = re.compile(r"ep_pat_[A-Za-z0-9_-]{43}")
PROBLEM = "application/problem+json"


async def signed_in_english(c: httpx.AsyncClient) -> None:
    assert (await sign_in(c, JANA)).status_code in (302, 303)
    page = await c.get(PATH)
    await c.post("/locale", data={"_csrf_token": csrf(page.text), "locale": "en", "next": PATH})


async def create(
    c: httpx.AsyncClient, name: str, scopes: list[str], expires: str = "30", day: str = ""
) -> httpx.Response:
    page = await c.get(PATH)
    fields = [("_csrf_token", csrf(page.text)), ("name", name), ("expires_at", expires), ("expires_on", day)]
    fields += [("scopes", s) for s in scopes]
    # each ticked box sends its name once, as a browser does
    return await c.post(PATH, content=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"})


def revoke_forms(page: str) -> list[str]:
    return re.findall(r'action="/profile/tokens/([0-9a-f-]{36})/revoke"', page)


def row_of(page: str, name: str) -> str:
    match = re.search(rf'<th scope="row">{re.escape(html.escape(name))}.*?</tr>', page, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


async def test_a_token_made_on_the_page_works_within_its_scopes_until_revoked(stack):
    point = demo.supply_points("volta", demo.JANA)[0]
    hdo_point = next(p for p in demo.supply_points("volta", demo.JANA) if p.hdo_code)
    name = f"Home Assistant {secrets.token_hex(3)}"
    async with browser(stack, "volta.localhost") as web:
        await signed_in_english(web)
        made = await create(web, name, ["supply-points:read"])
        assert made.status_code == 200, made.text[:500]
        assert made.headers["cache-control"] == "no-store"
        (value,) = set(VALUE.findall(made.text))
        assert "Copy the token now" in made.text
        listed = await web.get(PATH)
        assert value not in listed.text
        row = row_of(listed.text, name)
        assert "See supply points and their technical data" in row and "Never" in row
        (token_id,) = revoke_forms(row)

        auth = {"Authorization": f"Bearer {value}"}
        async with browser(stack, "volta.localhost", headers=auth) as api:
            points = await api.get(f"/api/v1/customers/{demo.JANA}/supply-points")
            assert points.status_code == 200, points.text
            assert point.identifier in {p["identifier"] for p in points.json()["items"]}
            # the low-tariff times, what home automation asks most
            low_tariff = await api.get(f"/api/v1/supply-points/{hdo_point.id}/hdo/now")
            assert low_tariff.status_code == 200 and low_tariff.json()["code"] == hdo_point.hdo_code
            # consumption and readings need consumption:read, which the token was not given
            for path in (f"/api/v1/supply-points/{point.id}/consumption", f"/api/v1/supply-points/{point.id}/readings"):
                refused = await api.get(path)
                assert refused.status_code == 403, (path, refused.text)
                assert refused.headers["content-type"].startswith(PROBLEM) and refused.json()["reason"] == "forbidden"
            # nor may it choose how the customer's messages are delivered, which needs managing access
            prefs = await api.put(
                f"/api/v1/customers/{demo.JANA}/notification-preferences",
                json={"kinds": [{"kind": "outages", "channels": ["email"]}]},
            )
            assert prefs.status_code == 403, prefs.text
        assert "Never" not in row_of((await web.get(PATH)).text, name)

        # the brand that issued it is the only one it works on
        async with browser(stack, "esco.localhost", headers=auth) as elsewhere:
            assert (await elsewhere.get("/api/v1/me")).status_code == 401

        page = await web.get(PATH)
        revoked = await web.post(f"{PATH}/{token_id}/revoke", data={"_csrf_token": csrf(page.text)})
        assert revoked.status_code in (302, 303) and revoked.headers["location"] == PATH
        after = await web.get(PATH)
        assert "has been revoked" in html.unescape(after.text) and token_id not in revoke_forms(after.text)

        async with browser(stack, "volta.localhost", headers=auth) as api:
            gone = await api.get(f"/api/v1/customers/{demo.JANA}/supply-points")
            assert gone.status_code == 401 and gone.headers["www-authenticate"].lower().startswith("bearer")
            assert gone.headers["content-type"].startswith(PROBLEM)


async def test_bad_input_on_the_page_is_explained_and_stores_nothing(stack):
    async with browser(stack, "volta.localhost") as web:
        await signed_in_english(web)
        before = revoke_forms((await web.get(PATH)).text)
        cases = [
            ("", ["supply-points:read"], "30", "", "Give the token a name."),
            ("x" * 81, ["supply-points:read"], "30", "", "The name can have at most 80 characters."),
            ("bad", [], "30", "", "Choose at least one thing the token may do."),
            ("bad", ["access-manage"], "30", "", "This permission is not known."),
            ("bad", ["supply-points:read"], "7", "", "Choose when the token expires"),
            ("bad", ["supply-points:read"], "date", "2020-01-01", "Choose when the token expires"),
            ("bad", ["supply-points:read"], "date", "2099-01-01", "Choose when the token expires"),
            ("bad", ["supply-points:read"], "date", "1. 12. 2026", "Enter the day as YYYY-MM-DD"),
        ]
        for name, scopes, expires, day, message in cases:
            resp = await create(web, name, scopes, expires, day)
            what = (name[:10], scopes, expires, day)
            assert resp.status_code == 400, (what, resp.status_code)
            text = html.unescape(resp.text)
            assert message in text, (what, text[:2000])
            assert not VALUE.search(text), what
            # what was typed comes back
            assert f'value="{name}"' in resp.text or not name, what
        assert revoke_forms((await web.get(PATH)).text) == before
        # a form without its CSRF token is refused before anything happens
        refused = await web.post(PATH, data={"name": "no csrf", "scopes": "supply-points:read", "expires_at": "30"})
        assert refused.status_code == 403
        assert revoke_forms((await web.get(PATH)).text) == before
