"""The customer journeys in a real Chromium against the whole in-process stack: every brand in every language
it offers, registration confirmed by the e-mail that arrived over SMTP, two-step sign-in, the business
switching customer numbers, axe-core on each page, and the security headers and cookies a browser gets."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pyotp
import pytest
import sqlalchemy as sa
from portal.billing.v1 import billing_pb2
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub

from kit import context, demo, rpc
from services.notifications import domain as notices

from .browser import (
    BROWSER_LOCALE,
    LAUNCH_ARGS,
    SESSION_COOKIE,
    Watch,
    axe_violations,
    chromium,
    error_summary,
    facts,
    fill,
    h1,
    host,
    labelled,
    lang,
    number,
    open_brand,
    reason,
    row_identifiers,
    sign_in,
    sign_out,
    switch_language,
    t,
    tab_to,
)

CHROMIUM = chromium()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM, reason="no Chromium binary (set PORTAL_CHROMIUM or install Debian's chromium)"),
]

SLUGS = ("volta", "esco", "balkan")
# each brand's demo login with a single customer number
LOGINS = {"volta": "jana@volta.example", "esco": "tovarna@esco.example", "balkan": "ivan@balkan.example"}
BUSINESS = "firma@volta.example"


@dataclass(frozen=True)
class Registration:
    slug: str
    customer_number: str
    # the language the customer picks before registering; together the three cover every language
    locale: str
    proof: str  # "code" (authorization code) or "invoice" (number and amount of the last invoice)
    email: str
    password: str

    @property
    def customer(self) -> demo.Customer:
        return demo.customer(self.slug, self.customer_number)


REGISTRATIONS = {
    "volta": Registration("volta", demo.SVOBODA, "bg", "invoice", "svoboda.browser@example.cz", "Kvetinova-Louka-78"),
    "esco": Registration("esco", demo.MLYNY, "en", "code", "mlyny.browser@example.cz", "Mlynske-Kolo-Browser-26"),
    "balkan": Registration("balkan", demo.MARIA, "cs", "invoice", "maria.browser@example.bg", "Rozova-Dolina-2026"),
}
WITHOUT_LOGIN = tuple((r.slug, r.customer_number) for r in REGISTRATIONS.values())


# --- fixtures -----------------------------------------------------------------------------------------------


async def _identity_sql(stack, sql: str, **params: object):
    """A statement in the identity schema on a system connection (it sees every tenant)."""
    async with stack.services["identity"].runtime.db.system() as conn:
        return await conn.execute(sa.text(sql), params)


async def _release_customers(stack) -> None:
    """Revokes every owner grant on the customers the demo leaves without a login, and forgets failed proofs
    for them: other modules of the suite register the same three, and each module starts from the demo's
    state, whatever ran before it."""
    tenants = {slug: str(demo.tenant(slug).id) for slug in SLUGS}
    for slug, customer_number in WITHOUT_LOGIN:
        await _identity_sql(
            stack,
            "UPDATE grants SET revoked_at = now() WHERE tenant_id = :tenant AND customer_number = :number "
            "AND role = 'owner' AND revoked_at IS NULL",
            tenant=tenants[slug],
            number=customer_number,
        )
        await _identity_sql(
            stack,
            "DELETE FROM throttles WHERE tenant_id = :tenant AND key IN (:number_key, 'proof:127.0.0.1')",
            tenant=tenants[slug],
            number_key=f"proof-number:{customer_number}",
        )


@pytest.fixture(scope="module")
async def browser(stack) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    await _release_customers(stack)
    pw = await async_playwright().start()
    chrome = await pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    try:
        yield chrome
    finally:
        await chrome.close()
        await pw.stop()
        await _release_customers(stack)


@dataclass
class Tab:
    page: object
    context: object
    watch: Watch


@pytest.fixture
async def tab(browser) -> AsyncIterator[Tab]:
    context = await browser.new_context(locale=BROWSER_LOCALE, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = await context.new_page()
    watch = Watch()
    watch.attach(page)
    try:
        yield Tab(page, context, watch)
    finally:
        await context.close()
    # every page of every test was served under the strict policy and broke none of it
    assert not watch.problems(), "\n".join(watch.problems())


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.async_playwright import Axe

    return Axe()


# --- what a customer sees once signed in --------------------------------------------------------------------


async def see_overview_and_supply_points(page, slug: str, customer_number: str) -> None:
    """The overview with the customer's name and counts, the supply point list, the first point's detail."""
    loc = await lang(page)
    customer = demo.customer(slug, customer_number)
    points = sorted(demo.supply_points(slug, customer_number), key=lambda p: p.identifier)
    await page.wait_for_url(re.compile(r"/dashboard(#main)?$"))
    assert await h1(page) == t("Overview", loc)
    await page.get_by_text(
        t("%(name)s, customer number %(number)s", loc, name=customer.name, number=customer_number), exact=True
    ).wait_for()
    stats = await facts(page, ".stat-grid")
    assert stats == {
        t("Supply points", loc): number(len(points), loc),
        t("Electricity", loc): number(sum(p.commodity == "electricity" for p in points), loc),
        t("Gas", loc): number(sum(p.commodity == "gas" for p in points), loc),
    }

    nav = page.get_by_role("navigation", name=t("Main navigation", loc), exact=True)
    await nav.get_by_role("link", name=t("Supply points", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/supply-points$"))
    assert await h1(page) == t("Supply points", loc)
    assert await row_identifiers(page) == [p.identifier for p in points]
    showing = t(
        "Showing %(first)s–%(last)s of %(total)s",
        loc,
        first="1",
        last=number(len(points), loc),
        total=number(len(points), loc),
    )
    assert (await page.get_by_role("status").inner_text()).strip() == showing

    first = points[0]
    await page.get_by_role("link", name=first.identifier, exact=True).click()
    await page.wait_for_url(re.compile(r"/supply-points/[^/]+$"))
    a = first.address
    assert await h1(page) == f"{a.street} {a.house_number}, {a.postal_code} {a.city}"
    technical = await facts(page, "section[aria-labelledby=technical-title]")
    identifier_term = t("EAN", loc) if first.commodity == "electricity" else t("EIC", loc)
    assert technical[identifier_term] == first.identifier
    assert technical[t("Meter number", loc)] == first.meter_number
    contract = await facts(page, "section[aria-labelledby=contract-title]")
    assert contract[t("Contract number", loc)] == first.contract.number
    assert await lang(page) == loc


# --- registration -------------------------------------------------------------------------------------------


async def fill_registration(page, reg: Registration, *, code: str = "", invoice: tuple[str, str] = ("", "")) -> None:
    loc = await lang(page)
    brand = demo.tenant(reg.slug)
    await fill(page, t("Customer number", loc), reg.customer_number)
    if reg.proof == "code":
        await page.get_by_label(t("With the authorization code printed on your invoice", loc)).check()
        await fill(page, t("Authorization code", loc), code)
    else:
        await page.get_by_label(t("With the number and amount of your last invoice", loc)).check()
        await fill(page, t("Last invoice number", loc), invoice[0])
        await fill(page, f"{t('Amount of the last invoice', loc)} ({brand.currency})", invoice[1])
    await fill(page, t("Login e-mail", loc), reg.email)
    await fill(page, t("Password", loc), reg.password)
    await fill(page, t("Password again", loc), reg.password)
    await page.get_by_role("checkbox").check()
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Create account", loc), exact=True).click()


def amount_as_typed(amount: str, locale: str) -> str:
    """The invoice amount the way a reader of this language writes it: 1234,50 or 1234.50."""
    return amount if locale == "en" else amount.replace(".", ",")


async def users_named(stack, email: str) -> int:
    return (await _identity_sql(stack, "SELECT count(*) FROM users WHERE lower(email) = lower(:e)", e=email)).scalar()


async def register_and_confirm(page, stack, mailbox, reg: Registration, *, wrong_first: bool) -> None:
    """From the brand's landing page: pick the language, register with the proof, open the e-mailed link."""
    customer = reg.customer
    await open_brand(page, stack, reg.slug)
    assert await lang(page) == demo.tenant(reg.slug).default_locale
    await switch_language(page, reg.locale)
    loc = reg.locale
    await page.get_by_role("main").get_by_role("link", name=t("Create an account", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/register$"))
    assert await h1(page) == t("Create an account", loc)

    if wrong_first:
        # two different parts wrong, one answer: the page must not reveal which part a guesser got right
        if reg.proof == "code":
            wrong = [{"code": customer.authorization_code[::-1]}, {"code": "ABCD2345"}]
        else:
            right_amount = amount_as_typed(customer.last_invoice.amount, loc)
            wrong = [
                {"invoice": (customer.last_invoice.number, amount_as_typed("1.00", loc))},
                {"invoice": (str(int(customer.last_invoice.number) + 1), right_amount)},
            ]
        for attempt in wrong:
            await fill_registration(page, reg, **attempt)
            assert await h1(page) == t("Create an account", loc)
            assert await error_summary(page) == [reason("proof.invalid", loc)]
            # no field is singled out, neither by a message nor by its state
            assert await page.locator("[aria-invalid=true]").count() == 0
            assert await page.locator(".field-error").count() == 0
        assert await users_named(stack, reg.email) == 0

    if reg.proof == "code":
        await fill_registration(page, reg, code=customer.authorization_code)
    else:
        invoice = (customer.last_invoice.number, amount_as_typed(customer.last_invoice.amount, loc))
        await fill_registration(page, reg, invoice=invoice)
    assert await h1(page) == t("Check your e-mail", loc), await error_summary(page)

    message = await mailbox.wait_for(reg.email)
    assert len(mailbox.to(reg.email)) == 1
    # in the language the customer registered in
    expected = notices.render("email_verification", loc, brand=demo.tenant(reg.slug).name)
    assert message["Subject"] == expected.subject
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/verify-email\?token=[\w\-.~%]+", body).group(0)
    assert link.startswith(f"http://{host(reg.slug)}:{stack.http_port}/")
    response = await page.goto(link)
    assert response is not None and response.status == 200
    assert await lang(page) == loc
    assert await h1(page) == t("Your e-mail address is confirmed", loc)
    await page.get_by_role("main").get_by_role("link", name=t("Sign in", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/login"))


async def sign_in_here(page, email: str, password: str) -> None:
    """On the sign-in page already open: type both fields, send with Enter."""
    loc = await lang(page)
    await fill(page, t("E-mail", loc), email)
    await fill(page, t("Password", loc), password)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


@pytest.mark.parametrize("slug", SLUGS)
async def test_a_customer_registers_with_a_proof_confirms_by_email_and_signs_in(tab, stack, mailbox, slug):
    reg = REGISTRATIONS[slug]
    await register_and_confirm(tab.page, stack, mailbox, reg, wrong_first=True)
    await sign_in_here(tab.page, reg.email, reg.password)
    await see_overview_and_supply_points(tab.page, slug, reg.customer_number)


# --- every brand in every language it offers ----------------------------------------------------------------


@pytest.mark.parametrize(("slug", "locale"), [(slug, loc) for slug in SLUGS for loc in demo.tenant(slug).locales])
async def test_a_customer_signs_in_and_sees_the_supply_points_in_each_language(tab, stack, slug, locale):
    page = tab.page
    await open_brand(page, stack, slug)
    switcher = page.get_by_role("group", name=t("Language", await lang(page)), exact=True)
    assert await switcher.get_by_role("button").count() == len(demo.tenant(slug).locales)
    await switch_language(page, locale, keyboard=True)
    assert await h1(page) == t("%(name)s customer portal", locale, name=demo.tenant(slug).name)
    await sign_in(page, LOGINS[slug])
    await page.wait_for_url(re.compile(r"/dashboard$"))
    # the first Tab reaches the skip link, and it takes the focus past the header into the page's content
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name=t("Skip to main content", locale), exact=True)
    assert await skip.evaluate("el => el === document.activeElement")
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
    user = demo.user(slug, LOGINS[slug])
    await see_overview_and_supply_points(page, slug, user.grants[0].customer_number)


# --- accessibility ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
async def test_every_page_passes_axe(tab, stack, axe, slug):
    page, found = tab.page, []
    loc = demo.tenant(slug).default_locale
    await open_brand(page, stack, slug)
    found += await axe_violations(axe, page, "landing")
    await page.get_by_role("main").get_by_role("link", name=t("Create an account", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/register$"))
    found += await axe_violations(axe, page, "register")
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Create account", loc), exact=True).click()
    assert await error_summary(page), "an empty registration form was accepted"
    found += await axe_violations(axe, page, "register with errors")
    await open_brand(page, stack, slug, "/login")
    found += await axe_violations(axe, page, "login")
    await sign_in_here(page, LOGINS[slug], demo.DEMO_PASSWORD)
    await page.wait_for_url(re.compile(r"/dashboard$"))
    found += await axe_violations(axe, page, "dashboard")
    nav = page.get_by_role("navigation", name=t("Main navigation", loc), exact=True)
    await nav.get_by_role("link", name=t("Supply points", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/supply-points$"))
    found += await axe_violations(axe, page, "supply points")
    await page.locator("table tbody th[scope=row] a").first.click()
    await page.wait_for_url(re.compile(r"/supply-points/[^/]+$"))
    found += await axe_violations(axe, page, "supply point")
    await nav.get_by_role("link", name=t("Planned outages", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/outages$"))
    found += await axe_violations(axe, page, "planned outages")
    await nav.get_by_role("link", name=t("Overview", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/dashboard$"))
    # the dashboard's low-tariff line, where the customer has a supply point with an HDO code
    low_tariff = page.get_by_role("main").locator('a[href$="/hdo"]')
    if await low_tariff.count():
        await low_tariff.first.click()
        await page.wait_for_url(re.compile(r"/hdo$"))
        found += await axe_violations(axe, page, "low tariff")
    await nav.get_by_role("link", name=t("Profile", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/profile$"))
    found += await axe_violations(axe, page, "profile")
    assert not found, "\n".join(found)


# --- two-step verification ----------------------------------------------------------------------------------


async def test_two_step_verification_is_turned_on_and_asked_for_at_the_next_sign_in(tab, stack, mailbox):
    page = tab.page
    reg = REGISTRATIONS["balkan"]
    if await users_named(stack, reg.email):
        await open_brand(page, stack, reg.slug, "/login")
    else:
        # run on its own, before the registration test: the customer has no login yet
        await register_and_confirm(page, stack, mailbox, reg, wrong_first=False)
    await sign_in_here(page, reg.email, reg.password)
    await page.wait_for_url(re.compile(r"/dashboard$"))
    # signed in, the pages speak the language the customer registered in
    loc = await lang(page)
    assert loc == reg.locale

    nav = page.get_by_role("navigation", name=t("Main navigation", loc), exact=True)
    await nav.get_by_role("link", name=t("Profile", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/profile$"))
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Set up two-step verification", loc), exact=True).click()
    setup = await facts(page, "section[aria-labelledby=totp-title]")
    secret = setup[t("Key", loc)]
    assert setup[t("Setup link", loc)].startswith("otpauth://totp/")
    totp = pyotp.TOTP(secret)
    await fill(page, t("Verification code", loc), totp.now())
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Turn on two-step verification", loc), exact=True).click()
    turned_on = t("Two-step verification is on.", loc)
    await page.get_by_role("status").get_by_text(turned_on, exact=True).wait_for()

    await sign_out(page)
    loc = await lang(page)
    await sign_in(page, reg.email, reg.password)
    assert await h1(page) == t("Two-step verification", loc)
    code = labelled(page, t("Verification code", loc))
    near = {totp.at(time.time() + drift) for drift in (-totp.interval, 0, totp.interval)}
    await code.fill(next(c for c in ("000000", "111111", "222222", "333333") if c not in near))
    async with page.expect_navigation():
        await code.press("Enter")
    assert await error_summary(page) == [f"{t('Verification code', loc)}: {reason('totp.invalid', loc)}"]
    # the code of the next period: the one used to turn it on cannot be used twice, and the service allows
    # one period of clock drift
    await code.fill(totp.at(time.time() + totp.interval))
    async with page.expect_navigation():
        await code.press("Enter")
    await see_overview_and_supply_points(page, reg.slug, reg.customer_number)


# --- the business with two customer numbers -----------------------------------------------------------------


async def test_the_business_switches_customer_numbers_and_pages_through_the_list(tab, stack):
    page = tab.page
    await open_brand(page, stack, "volta")
    loc = await lang(page)
    await sign_in(page, BUSINESS)
    await page.wait_for_url(re.compile(r"/dashboard$"))
    switcher = labelled(page, t("Customer", loc))
    current = await switcher.input_value()
    numbers = {demo.PEKARNY_A, demo.PEKARNY_B}
    assert {await o.get_attribute("value") for o in await switcher.locator("option").all()} == numbers
    other = (numbers - {current}).pop()

    nav = page.get_by_role("navigation", name=t("Main navigation", loc), exact=True)
    await nav.get_by_role("link", name=t("Supply points", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/supply-points$"))
    theirs = sorted(p.identifier for p in demo.supply_points("volta", current))
    assert (await row_identifiers(page))[0] == theirs[0]

    # by keyboard: to the list, the arrow key to the other number, on to the button, Enter
    await tab_to(page, switcher)
    await page.keyboard.press("ArrowDown" if current == demo.PEKARNY_A else "ArrowUp")
    assert await switcher.input_value() == other
    await tab_to(page, page.get_by_role("button", name=t("Switch", loc), exact=True))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/supply-points$"))
    assert await switcher.input_value() == other

    expected = sorted(p.identifier for p in demo.supply_points("volta", other))
    total = number(len(expected), loc)
    seen: list[str] = []
    pager = page.get_by_role("navigation", name=t("Pages of results", loc), exact=True)
    while True:
        rows = await row_identifiers(page)
        first = len(seen) + 1
        showing = t(
            "Showing %(first)s–%(last)s of %(total)s",
            loc,
            first=number(first, loc),
            last=number(first + len(rows) - 1, loc),
            total=total,
        )
        assert (await page.get_by_role("status").inner_text()).strip() == showing
        seen += rows
        following = pager.get_by_role("link", name=re.escape(t("Next", loc)))
        if not await following.count():
            break
        await following.click()
        await page.wait_for_url(re.compile(r"page="))
    assert seen == expected, "the pages together are not the other number's supply points, each once"
    assert not set(seen) & set(theirs)

    async with page.expect_navigation():
        await pager.get_by_role("link", name=re.escape(t("Previous", loc))).click()
    assert await row_identifiers(page) == expected[:25]

    # another language while signed in: the same page (its address and query kept) and the same customer number,
    # in the new words
    shown = page.url
    loc = "en" if loc != "en" else "cs"
    await switch_language(page, loc)
    await page.wait_for_url(shown)
    assert await h1(page) == t("Supply points", loc)
    assert await labelled(page, t("Customer", loc)).input_value() == other
    assert await row_identifiers(page) == expected[:25]
    nav = page.get_by_role("navigation", name=t("Main navigation", loc), exact=True)

    await nav.get_by_role("link", name=t("Overview", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/dashboard$"))
    customer = demo.customer("volta", other)
    await page.get_by_text(
        t("%(name)s, customer number %(number)s", loc, name=customer.name, number=other), exact=True
    ).wait_for()
    assert (await facts(page, ".stat-grid"))[t("Supply points", loc)] == number(len(expected), loc)


# --- security headers and cookies ---------------------------------------------------------------------------


async def test_pages_come_with_a_strict_policy_and_the_session_cookie_is_out_of_scripts_reach(tab, stack):
    page = tab.page
    await open_brand(page, stack, "esco")
    await sign_in(page, LOGINS["esco"])
    await page.wait_for_url(re.compile(r"/dashboard$"))
    loc = await lang(page)
    await (
        page.get_by_role("navigation", name=t("Main navigation", loc), exact=True)
        .get_by_role("link", name=t("Supply points", loc), exact=True)
        .click()
    )
    await page.wait_for_url(re.compile(r"/supply-points$"))

    documents = tab.watch.documents
    assert len(documents) >= 4
    for url, headers in documents:
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "unsafe-inline" not in policy, (url, policy)
        assert headers["x-content-type-options"] == "nosniff"

    cookies = {c["name"]: c for c in await tab.context.cookies()}
    session = cookies[SESSION_COOKIE]
    assert session["httpOnly"] and session["sameSite"] in ("Lax", "Strict")
    assert session["domain"] == host("esco")
    assert all(c["httpOnly"] for c in cookies.values()), [n for n, c in cookies.items() if not c["httpOnly"]]
    assert SESSION_COOKIE not in await page.evaluate("document.cookie")

    # the watcher does notice a violation: an injected inline script is refused and reported
    await page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1'; "
        "document.body.append(s); }"
    )
    for _ in range(40):
        if tab.watch.csp_messages:
            break
        await page.wait_for_timeout(50)
    assert await page.evaluate("window.pwned === undefined")
    assert tab.watch.csp_messages, "no CSP report for an inline script"
    tab.watch.csp_messages.clear()


# --- requests (žádosti) -------------------------------------------------------------------------------------


async def test_a_breaker_change_is_filed_resolved_by_an_agent_and_followed_to_its_end(tab, stack, axe):
    """Jana files a breaker change, an agent assigns, accepts and resolves it, Jana sees it resolved with its
    timeline; on esco the supply-only contract does not offer the breaker change at all."""
    page, found = tab.page, []
    loc = demo.tenant("volta").default_locale
    point = demo.supply_points("volta", demo.JANA)[0]
    await open_brand(page, stack, "volta")
    await sign_in(page, LOGINS["volta"])
    nav = page.get_by_role("navigation", name=t("Main navigation", loc), exact=True)
    await nav.get_by_role("link", name=t("Requests", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/requests$"))
    await page.get_by_role("link", name=t("File a new request", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/requests/new$"))
    await labelled(page, t("Supply point", loc)).select_option(str(point.id))
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Show the requests offered", loc), exact=True).click()
    async with page.expect_navigation():
        await page.get_by_role("link", name=t("Change of the main breaker", loc), exact=True).click()
    await labelled(page, t("Main breaker (A)", loc)).select_option("32")
    await labelled(page, t("Phases", loc)).select_option("3")
    found += await axe_violations(axe, page, "new request")
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("File the request", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/requests/[0-9a-f-]{36}$"))
    request_id = page.url.rsplit("/", 1)[1]
    found += await axe_violations(axe, page, "request")
    await sign_out(page)

    await sign_in(page, "agent@volta.example")
    await open_brand(page, stack, "volta", "/staff/requests")
    found += await axe_violations(axe, page, "staff queue")
    async with page.expect_navigation():
        await page.locator(f'a[href="/staff/requests/{request_id}"]').click()
    for step in ("Assign to me", "Accept"):
        async with page.expect_navigation():
            await page.get_by_role("button", name=t(step, loc), exact=True).click()
    await fill(page, t("Reason or information", loc), "A 32 A breaker is fitted.")
    found += await axe_violations(axe, page, "staff request")
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Resolve", loc), exact=True).click()
    await sign_out(page)

    await sign_in(page, LOGINS["volta"])
    await open_brand(page, stack, "volta", f"/requests/{request_id}")
    shown = await facts(page, "#request-facts")
    assert shown[t("State", loc)] == t("Resolved", loc)
    timeline = await page.locator("#timeline li").all_inner_texts()
    assert [t(a, loc) in line for a, line in zip(("Filed", "Accept", "Resolve"), timeline, strict=True)] == [True] * 3
    assert "A 32 A breaker is fitted." in timeline[-1]
    await sign_out(page)

    supply_only = next(
        p
        for p in demo.supply_points("esco", demo.TOVARNA)
        if p.contract.contract_type == demo.SUPPLY_ONLY and p.commodity == "electricity"
    )
    esco = demo.tenant("esco").default_locale
    await open_brand(page, stack, "esco")
    await sign_in(page, LOGINS["esco"])
    await open_brand(page, stack, "esco", f"/requests/new?supply_point={supply_only.id}")
    offered = page.locator("#request-types")
    await offered.get_by_role("link", name=t("Termination of the contract", esco), exact=True).wait_for()
    assert await offered.get_by_role("link", name=t("Change of the main breaker", esco), exact=True).count() == 0
    assert not found, "\n".join(found)


async def test_a_customer_changes_the_bank_account_and_the_advance(tab, stack, axe):
    """Jana opens her contract from the supply point, a wrong account is refused with a clear message and changes
    nothing, a right one is saved at once; an advance outside its bounds is refused with them, one within them is
    saved; both are then listed among her requests. Everything is put back."""
    page, found = tab.page, []
    loc = demo.tenant("volta").default_locale
    point = demo.supply_points("volta", demo.JANA)[0]
    contract = point.contract
    await open_brand(page, stack, "volta")
    await sign_in(page, LOGINS["volta"])
    await open_brand(page, stack, "volta", f"/supply-points/{point.id}")
    async with page.expect_navigation():
        await page.get_by_role("link", name=t("Change payment, advance or e-invoice", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/contract$"))
    found += await axe_violations(axe, page, "contract settings")
    save_payment = page.get_by_role("button", name=t("Save payment details", loc), exact=True)
    try:
        await fill(page, t("Bank account", loc), "19-2000145398/0800")
        async with page.expect_navigation():
            await save_payment.click()
        assert t("This account number is not valid. Check it again.", loc) in " ".join(await error_summary(page))
        found += await axe_violations(axe, page, "contract settings refused")
        await fill(page, t("Bank account", loc), "19-2000145399/0800")
        async with page.expect_navigation():
            await save_payment.click()
        assert t("The payment method and bank account have been changed.", loc) in await page.inner_text("main")
        assert await labelled(page, t("Bank account", loc)).input_value() == "19-2000145399/0800"

        await fill(page, t("New advance payment", loc), "99000")
        change_advance = page.get_by_role("button", name=t("Change the advance", loc), exact=True)
        async with page.expect_navigation():
            await change_advance.click()
        bounds = {"minimum": "787 CZK", "maximum": "3150 CZK", "proposal": "1575 CZK"}
        assert reason("advance.out_of_bounds", loc, **bounds) in " ".join(await error_summary(page))
        await fill(page, t("New advance payment", loc), "1600")
        async with page.expect_navigation():
            await change_advance.click()
        assert t("The advance payment has been changed.", loc) in await page.inner_text("main")

        # recorded by the requests service from accounts' events, a moment after the change
        deadline = time.monotonic() + 15
        while True:
            await open_brand(page, stack, "volta", "/requests")
            listed = await page.inner_text("main")
            if t("Change of the advance payment", loc) in listed or time.monotonic() > deadline:
                break
            await page.wait_for_timeout(300)
        assert t("Change of payment method or bank account", loc) in listed
        assert t("Change of the advance payment", loc) in listed
    finally:
        await open_brand(page, stack, "volta", f"/supply-points/{point.id}/contract")
        await fill(page, t("Bank account", loc), contract.bank_account)
        async with page.expect_navigation():
            await save_payment.click()
        await fill(page, t("New advance payment", loc), str(contract.advance_amount))
        async with page.expect_navigation():
            await page.get_by_role("button", name=t("Change the advance", loc), exact=True).click()
    assert not found, "\n".join(found)


# --- invoices -----------------------------------------------------------------------------------------------


async def run_bill_runs(stack, slug: str, periods: tuple[str, ...]) -> None:
    """The brand's bill runs as `portal billing run` makes them (a run made before issues nothing again)."""
    system = context.CallContext(tenant_id=str(demo.tenant(slug).id), subject="test", subject_kind=context.SYSTEM)
    channel = rpc.channel(stack.address("billing"), deadline_seconds=300)
    try:
        with context.bound(system):
            for period in periods:
                stub = BillingServiceStub(channel)
                while not (await stub.RunBilling(billing_pb2.RunBillingRequest(period=period))).finished:
                    pass
    finally:
        await channel.close()


async def test_a_customer_finds_an_unpaid_invoice_by_amount_and_pays_by_qr(tab, stack, axe):
    """Jana finds her settlement by its amount as she would type it, a wrong amount is refused with a clear
    message, the invoice shows what to pay with the QR code, and its PDF opens."""
    await run_bill_runs(stack, "volta", ("2025",))
    page, found = tab.page, []
    loc = demo.tenant("volta").default_locale
    await open_brand(page, stack, "volta")
    await sign_in(page, LOGINS["volta"])
    nav = page.get_by_role("navigation", name=t("Main navigation", loc), exact=True)
    await nav.get_by_role("link", name=t("Invoices and payments", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/invoices$"))
    found += await axe_violations(axe, page, "invoices")
    numbers = [n.strip() for n in await page.locator("#invoices tbody th[scope=row]").all_inner_texts()]
    assert numbers, "Jana's settlements of 2025 are listed"
    unpaid = page.locator("#invoices tbody tr").first
    invoice_number = (await unpaid.locator("th").inner_text()).strip()
    amount = (await unpaid.locator("td.num").nth(1).inner_text()).replace("Kč", "").replace("CZK", "").strip()

    await fill(page, t("Amount", loc), "12,345,6")
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Find", loc), exact=True).click()
    assert reason("invoice.amount_invalid", loc) in await page.locator("#filter-error").inner_text()
    found += await axe_violations(axe, page, "invoices refused")

    await fill(page, t("Amount", loc), amount)
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Find", loc), exact=True).click()
    assert invoice_number in [n.strip() for n in await page.locator("#invoices tbody th[scope=row]").all_inner_texts()]
    async with page.expect_navigation():
        await page.get_by_role("link", name=invoice_number, exact=True).click()
    await page.wait_for_url(re.compile(r"/invoices/[^/]+$"))
    found += await axe_violations(axe, page, "invoice")
    pay = page.locator("#pay")
    assert await pay.locator("svg").count() == 1
    assert (await pay.locator("#pay-vs").inner_text()).strip() == invoice_number
    assert (await pay.locator("#pay-account").inner_text()).strip()
    pdf_href = await page.locator("#invoice-pdf").get_attribute("href")
    # fetched by the page itself, with the signed-in session, as a click on the link would
    status, kind, start = await page.evaluate(
        """async (href) => {
            const r = await fetch(href);
            const head = new Uint8Array(await r.arrayBuffer()).slice(0, 4);
            return [r.status, r.headers.get("content-type"), String.fromCharCode(...head)];
        }""",
        pdf_href,
    )
    assert (status, kind, start) == (200, "application/pdf", "%PDF")
    assert not found, "\n".join(found)


async def test_the_administrator_edits_the_catalog_and_the_matrix_with_their_refusals(tab, stack, axe):
    """The tenant administrator's catalog and matrix pages: a deadline of no days and a matrix row that would hide
    customers' own supply points are refused with their messages beside the form; a saved entry says so. Every
    state of both pages passes axe."""
    page, found = tab.page, []
    loc = demo.tenant("volta").default_locale
    await open_brand(page, stack, "volta")
    await sign_in(page, "admin@volta.example")
    nav = page.get_by_role("navigation", name=t("Main navigation", loc), exact=True)
    await nav.get_by_role("link", name=t("Request catalog", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/staff/catalog$"))
    assert await h1(page) == t("Request catalog", loc)
    found += await axe_violations(axe, page, "catalog")

    def card():
        return page.get_by_role("region", name=t("Termination of the contract", loc), exact=True)

    deadline = card().get_by_label(t("Processing deadline (days)", loc), exact=True)
    await deadline.fill("0")
    async with page.expect_navigation():
        await deadline.press("Enter")
    alert = card().get_by_role("alert")
    assert reason("catalog.deadline_invalid", loc, max=365) in await alert.inner_text()
    assert await card().get_by_label(t("Processing deadline (days)", loc), exact=True).input_value() == "0"
    found += await axe_violations(axe, page, "catalog refused")

    await card().get_by_label(t("Processing deadline (days)", loc), exact=True).fill("15")
    save = card().get_by_role("button", name=t("Save %(type)s", loc, type=t("Termination of the contract", loc)))
    async with page.expect_navigation():
        await save.click()
    assert t("The request catalog has been saved.", loc) in await page.get_by_role("main").inner_text()

    await nav.get_by_role("link", name=t("Permission matrix", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/staff/matrix$"))
    found += await axe_violations(axe, page, "matrix")
    see_points = t("See supply points and their technical data", loc)
    bundled = t("Bundled supply and distribution", loc)
    box = page.get_by_role("checkbox", name=f"{see_points} – {bundled}", exact=True)
    assert await box.is_checked()
    await box.uncheck()
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Save the matrix", loc), exact=True).click()
    assert reason("matrix.view_required", loc) in await page.get_by_role("alert").inner_text()
    # the boxes come back as they were ticked, and nothing was stored
    assert not await page.get_by_role("checkbox", name=f"{see_points} – {bundled}", exact=True).is_checked()
    found += await axe_violations(axe, page, "matrix refused")
    await open_brand(page, stack, "volta", "/staff/matrix")
    assert await page.get_by_role("checkbox", name=f"{see_points} – {bundled}", exact=True).is_checked()
    async with page.expect_navigation():
        await page.get_by_role("button", name=t("Save the matrix", loc), exact=True).click()
    assert t("The permission matrix has been saved. It applies everywhere within a minute.", loc) in (
        await page.get_by_role("main").inner_text()
    )
    assert not found, "\n".join(found)
