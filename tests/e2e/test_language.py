"""The language a visitor chose stays with them: across a language switch on a searched page, and after signing out."""

from __future__ import annotations

from .test_http_journey import client, csrf, sign_in


async def test_switching_the_language_keeps_the_search(stack):
    async with client(stack, "volta.localhost") as c:
        await sign_in(c, "firma@volta.example")
        page = await c.get("/supply-points?q=Praha&commodity=electricity")
        assert 'name="next" value="/supply-points?q=Praha&amp;commodity=electricity"' in page.text
        switched = await c.post(
            "/locale",
            data={
                "_csrf_token": csrf(page.text),
                "locale": "en",
                "next": "/supply-points?q=Praha&commodity=electricity",
            },
        )
        assert switched.headers["location"] == "/supply-points?q=Praha&commodity=electricity"
        again = await c.get(switched.headers["location"])
        assert '<html lang="en"' in again.text and 'value="Praha"' in again.text


async def test_signing_out_keeps_the_language_the_pages_were_shown_in(stack):
    async with client(stack, "volta.localhost") as c:
        await sign_in(c, "jana@volta.example")
        page = await c.get("/dashboard")
        switched = await c.post("/locale", data={"_csrf_token": csrf(page.text), "locale": "en", "next": "/dashboard"})
        page = await c.get(switched.headers["location"])
        assert '<html lang="en"' in page.text
        out = await c.post("/logout", data={"_csrf_token": csrf(page.text)})
        assert out.status_code in (302, 303)
        landing = await c.get(out.headers["location"])
        assert '<html lang="en"' in landing.text
        # signed out for real: the dashboard sends to the login page
        assert (await c.get("/dashboard")).status_code in (302, 303)
