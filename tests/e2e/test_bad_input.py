"""Bad input over HTTP: each refusal is a clear message in the brand's language, and nothing changes.

The checks look at the result where it lives (the identity schema, the mailbox) rather than at the page alone.
Every response of every client here is recorded, and a test that got a 5xx anywhere fails.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from markupsafe import escape

from gateway import i18n
from kit import demo

from .portal_http import browser, cli_tokens, csrf, sign_in

VOLTA = "volta.localhost"
BALKAN = "balkan.localhost"
JANA = demo.customer("volta", demo.JANA)
PASSWORD = "Slunecna-Zahrada-2026"

RESPONSES: list[httpx.Response] = []


@pytest.fixture(autouse=True)
def no_server_errors() -> Iterator[None]:
    RESPONSES.clear()
    yield
    failed = [f"{r.request.method} {r.request.url.path}: {r.status_code}" for r in RESPONSES if r.status_code >= 500]
    assert not failed, f"server errors: {failed}"


async def _record(resp: httpx.Response) -> None:
    RESPONSES.append(resp)


def client(stack, host: str, source: str) -> httpx.AsyncClient:
    """A browser of its own loopback address, so the failures it provokes are throttled for it alone."""
    return browser(stack, host, source=source, event_hooks={"response": [_record]})


def says(resp: httpx.Response, reason: str, locale: str, **params: object) -> None:
    message = i18n.reason_message(reason, locale, **params)
    # "translated": the brand's language, not the English message id
    assert locale == "en" or message != i18n.reason_message(reason, "en", **params)
    assert str(escape(message)) in resp.text, f"{reason!r} not shown ({resp.status_code}): {resp.text[:3000]}"


def says_one_of(resp: httpx.Response, reason: str, locale: str, variants: list[dict[str, object]]) -> None:
    shown = [v for v in variants if str(escape(i18n.reason_message(reason, locale, **v))) in resp.text]
    assert shown, f"{reason!r} not shown ({resp.status_code}): {resp.text[:3000]}"


def error_summary(resp: httpx.Response) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', resp.text, re.S)
    assert match, resp.text[:2000]
    return match.group(0)


async def identity(stack, sql: str, **params: object):
    """A statement in the identity schema on a system connection (it sees every tenant)."""
    async with stack.services["identity"].runtime.db.system() as conn:
        return await conn.execute(sa.text(sql), params)


async def users_named(stack, email: str) -> int:
    return (await identity(stack, "SELECT count(*) FROM users WHERE lower(email) = lower(:e)", e=email)).scalar()


def registration(**changes: str) -> dict[str, str]:
    form = {
        "customer_number": JANA.customer_number,
        "proof": "invoice",
        "invoice_number": JANA.last_invoice.number,
        "invoice_amount": JANA.last_invoice.amount,
        "email": "nova.zakaznice@example.cz",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "terms": "yes",
    }
    form.update(changes)
    return form


async def register(c: httpx.AsyncClient, form: dict[str, str]) -> httpx.Response:
    page = await c.get("/register")
    return await c.post("/register", data={"_csrf_token": csrf(page.text), **form})


# --- registration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason", "params"),
    [
        ({"customer_number": "10012345O7"}, "customer_number.invalid", {}),
        ({"customer_number": "1" * 10_000}, "customer_number.invalid", {}),
        ({"customer_number": "100 123-4567 ; DROP TABLE users"}, "customer_number.invalid", {}),
        ({"email": "a" * 10_000 + "@example.cz"}, "too_long", {"max": 254}),
        ({"email": "nova.zakaznice(at)example.cz"}, "email.invalid", {}),
        ({"password": "Kratke-1", "password_confirm": "Kratke-1"}, "password.too_short", {"min": 10}),
        ({"password": "qwertzuiop", "password_confirm": "qwertzuiop"}, "password.too_common", {}),
        (
            {"password": "nova.zakaznice-2026", "password_confirm": "nova.zakaznice-2026"},
            "password.contains_email",
            {},
        ),
        ({"password_confirm": PASSWORD + "x"}, "password.mismatch", {}),
        ({"email": ""}, "required", {}),
        ({"terms": ""}, "required", {}),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_a_malformed_registration_field_gets_its_message_and_creates_nothing(stack, changes, reason, params):
    form = registration(**changes)
    async with client(stack, VOLTA, "127.0.1.1") as c:
        resp = await register(c, form)
    assert resp.status_code == 400
    says(resp, reason, "cs", **params)
    # the form keeps what was typed, but never a password
    assert PASSWORD not in resp.text
    assert await users_named(stack, form["email"][:256]) == 0


async def test_wrong_proofs_read_alike_create_nobody_and_are_throttled(stack, mailbox):
    email = "kdosi.cizi@example.cz"
    attempts = [
        registration(email=email, customer_number="1009999999"),
        registration(email=email, proof="code", authorization_code="ABCD2345"),
        registration(email=email, invoice_amount="2345.61"),
        registration(email=email, invoice_number="2026104712"),
    ]
    async with client(stack, VOLTA, "127.0.1.2") as c:
        refusals = [await register(c, form) for form in attempts]
        for resp in refusals:
            assert resp.status_code == 400
            says(resp, "proof.invalid", "cs")
        # one message for every wrong piece, so the proof cannot be guessed part by part
        assert len({error_summary(r) for r in refusals}) == 1
        throttled = await register(c, attempts[-1])
    assert throttled.status_code == 429
    says(throttled, "throttled", "cs", seconds=1)
    assert await users_named(stack, email) == 0
    await asyncio.sleep(0.5)
    assert not mailbox.to(email)


# --- e-mail links ---------------------------------------------------------------------------------


async def link_from(mailbox, to: str, path: str, seen: set[str]) -> str:
    """The token of the first link to `path` in a message to `to` that was not seen before."""
    for _ in range(150):
        for msg in mailbox.to(to):
            match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_\-]+)", msg.get_content())
            if match and match.group(1) not in seen:
                seen.add(match.group(1))
                return match.group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {path} link for {to}")


async def set_link_expiry(stack, email: str, purpose: str, offset: timedelta) -> None:
    await identity(
        stack,
        "UPDATE link_tokens SET expires_at = now() + :offset "
        "WHERE purpose = :purpose AND used_at IS NULL AND user_id = (SELECT id FROM users WHERE email = :e)",
        offset=offset,
        purpose=purpose,
        e=email,
    )


async def test_expired_and_replayed_links_are_refused_and_change_nothing(stack, mailbox):
    maria = demo.customer("balkan", demo.MARIA)
    email, seen = "maria.georgieva@example.bg", set()
    async with client(stack, BALKAN, "127.0.1.3") as c:
        resp = await register(
            c,
            registration(
                customer_number=maria.customer_number,
                proof="code",
                authorization_code=maria.authorization_code,
                email=email,
                password=PASSWORD,
                password_confirm=PASSWORD,
            ),
        )
        assert resp.status_code == 200, resp.text[:2000]
        token = await link_from(mailbox, email, "/verify-email", seen)

        async def verified() -> bool:
            row = await identity(stack, "SELECT email_verified_at FROM users WHERE email = :e", e=email)
            return row.scalar() is not None

        await set_link_expiry(stack, email, "verify_email", timedelta(minutes=-1))
        resp = await c.get("/verify-email", params={"token": token})
        assert resp.status_code == 400
        says(resp, "token.expired", "bg")
        assert not await verified()
        resp = await c.get("/verify-email", params={"token": token[:-2]})
        assert resp.status_code == 400
        says(resp, "token.invalid", "bg")

        await set_link_expiry(stack, email, "verify_email", timedelta(hours=1))
        assert (await c.get("/verify-email", params={"token": token})).status_code == 200
        assert await verified()
        resp = await c.get("/verify-email", params={"token": token})
        assert resp.status_code == 400
        says(resp, "token.used", "bg")

        page = await c.get("/password-reset")
        assert (
            await c.post("/password-reset", data={"_csrf_token": csrf(page.text), "email": email})
        ).status_code == 200
        reset = await link_from(mailbox, email, "/password-reset/new", seen)

        async def password_hash() -> str:
            return (await identity(stack, "SELECT password_hash FROM users WHERE email = :e", e=email)).scalar()

        async def reset_to(password: str) -> httpx.Response:
            page = await c.get("/password-reset/new", params={"token": reset})
            return await c.post(
                "/password-reset/new",
                data={
                    "_csrf_token": csrf(page.text),
                    "token": reset,
                    "new_password": password,
                    "new_password_confirm": password,
                },
            )

        before = await password_hash()
        await set_link_expiry(stack, email, "reset_password", timedelta(minutes=-1))
        resp = await reset_to("Novo-Silno-Parola-1")
        assert resp.status_code == 400
        says(resp, "token.expired", "bg")
        assert await password_hash() == before

        await set_link_expiry(stack, email, "reset_password", timedelta(hours=1))
        resp = await reset_to("Novo-Silno-Parola-1")
        assert resp.status_code in (302, 303) and resp.headers["location"] == "/login"
        changed = await password_hash()
        assert changed != before
        resp = await reset_to("Oshte-Edna-Parola-2")
        assert resp.status_code == 400
        says(resp, "token.used", "bg")
        assert await password_hash() == changed
        assert (await sign_in(c, email, "Novo-Silno-Parola-1")).status_code in (302, 303)


# --- signing in -----------------------------------------------------------------------------------


async def test_wrong_passwords_bring_growing_delays_that_hold_even_the_right_password(stack):
    email = "ucetni@volta.example"
    async with client(stack, VOLTA, "127.0.1.4") as c:

        async def attempt(password: str) -> httpx.Response:
            return await sign_in(c, email, password)

        for _ in range(4):
            # three mistakes are free; the fourth is heard too, and starts the delay
            resp = await attempt("Spatne-Heslo-123")
            assert resp.status_code == 400
            says(resp, "credentials.invalid", "cs")
        resp = await attempt(demo.DEMO_PASSWORD)
        assert resp.status_code == 429
        says(resp, "throttled", "cs", seconds=1)

        await asyncio.sleep(1.1)
        resp = await attempt("Spatne-Heslo-123")
        assert resp.status_code == 400
        resp = await attempt(demo.DEMO_PASSWORD)
        assert resp.status_code == 429
        # the 2 s delay counts from the failure; on a busy machine up to a second of it has passed already
        says_one_of(resp, "throttled", "cs", [{"seconds": 2}, {"seconds": 1}])
        assert (await c.get("/dashboard")).status_code in (302, 303)

        await asyncio.sleep(2.1)
        resp = await attempt(demo.DEMO_PASSWORD)
        assert resp.status_code in (302, 303), resp.text[:2000]
        assert (await c.get("/dashboard")).status_code == 200


async def test_a_code_without_the_password_step_is_refused_without_counting_a_failure(stack):
    source = "127.0.1.5"
    async with client(stack, VOLTA, source) as c:
        page = await c.get("/login")
        resp = await c.post("/login/totp", data={"_csrf_token": csrf(page.text), "code": "123456"})
    assert resp.status_code == 400
    says(resp, "token.expired", "cs")
    rows = await identity(stack, "SELECT count(*) FROM throttles WHERE key = :k", k=f"address:{source}")
    assert rows.scalar() == 0


# --- paging and API parameters --------------------------------------------------------------------


def tampered(token: str) -> str:
    i = len(token) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


async def test_a_tampered_page_token_is_a_clear_refusal(stack):
    async with client(stack, VOLTA, "127.0.1.6") as c:
        assert (await sign_in(c, "firma@volta.example")).status_code in (302, 303)
        first = await c.get("/supply-points")
        token = re.search(r'href="/supply-points\?[^"]*page=([^"&]+)', first.text).group(1)
        for bad in (tampered(token), "!!!", "A" * 600):
            resp = await c.get("/supply-points", params={"page": bad})
            assert 400 <= resp.status_code < 500
            says(resp, "page_token.invalid", "cs")

    tokens = await cli_tokens(stack, VOLTA, "firma@volta.example")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    base = f"/api/v1/customers/{demo.PEKARNY_A}/supply-points"
    async with client(stack, VOLTA, "127.0.1.6") as api:
        page = (await api.get(base, params={"page_size": 10}, headers=auth)).json()
        for bad in (tampered(page["next_page_token"]), "not a token", "A" * 199, "A" * 201):
            resp = await api.get(base, params={"page_size": 10, "page_token": bad}, headers=auth)
            assert 400 <= resp.status_code < 500, resp.text
            assert resp.headers["content-type"].startswith("application/problem+json")
            body = resp.json()
            assert body["status"] == resp.status_code
            assert body["reason"] == "page_token.invalid" or body["status"] == 400


@pytest.mark.parametrize(
    "params",
    [
        {"commodity": "water"},
        {"commodity": "electricity" * 5},
        {"page_size": "0"},
        {"page_size": "101"},
        {"page_size": "-5"},
        {"page_size": "ten"},
        {"q": "x" * 101},
    ],
    ids=lambda p: "-".join(f"{k}={v[:12]}" for k, v in p.items()),
)
async def test_bad_api_parameters_get_a_problem_document(stack, params, cli_token):
    async with client(stack, VOLTA, "127.0.1.7") as api:
        resp = await api.get(
            f"/api/v1/customers/{demo.JANA}/supply-points",
            params=params,
            headers={"Authorization": f"Bearer {cli_token}"},
        )
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == resp.status_code and body["title"]


@pytest.fixture(scope="module")
async def cli_token(stack) -> str:
    return (await cli_tokens(stack, VOLTA, "jana@volta.example"))["access_token"]


# --- forms without their CSRF token ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "form", "signed_in"),
    [
        ("/login", {"email": "jana@volta.example", "password": demo.DEMO_PASSWORD}, False),
        ("/register", registration(email="bez.tokenu@example.cz"), False),
        ("/password-reset", {"email": "jana@volta.example"}, False),
        (
            "/password-reset/new",
            {"token": "x", "new_password": PASSWORD, "new_password_confirm": PASSWORD},
            False,
        ),
        ("/locale", {"locale": "en"}, False),
        ("/logout", {}, True),
        (
            "/profile/password",
            {
                "current_password": demo.DEMO_PASSWORD,
                "new_password": PASSWORD,
                "new_password_confirm": PASSWORD,
            },
            True,
        ),
        ("/profile/email", {"email_password": demo.DEMO_PASSWORD, "new_email": "jina@example.cz"}, True),
    ],
)
async def test_a_form_without_its_csrf_token_gets_a_translated_403_and_changes_nothing(stack, path, form, signed_in):
    async with client(stack, VOLTA, "127.0.1.8") as c:
        if signed_in:
            assert (await sign_in(c, "jana@volta.example")).status_code in (302, 303)
        else:
            await c.get("/login")
        resp = await c.post(path, data=form)
        assert resp.status_code == 403
        assert '<html lang="cs"' in resp.text
        says(resp, "csrf.invalid", "cs")
        if signed_in:
            # still signed in, with the same password and e-mail
            profile = await c.get("/profile")
            assert profile.status_code == 200 and "jana@volta.example" in profile.text
        else:
            assert (await c.get("/dashboard")).status_code in (302, 303)
    assert await users_named(stack, "bez.tokenu@example.cz") == 0
    async with client(stack, VOLTA, "127.0.1.8") as c:
        assert (await sign_in(c, "jana@volta.example")).status_code in (302, 303)
