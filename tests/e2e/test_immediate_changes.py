"""Immediate changes on the pages over HTTP: a wrong bank account refused with a clear message and nothing changed,
a right one applied at once, confirmed on the page and by e-mail and listed among the requests; an advance outside
its bounds refused with them, one inside applied; contact data and addresses refused with the field's message."""

from __future__ import annotations

import asyncio
import html

from kit import demo

from .portal_http import browser, csrf, sign_in

JANA = demo.customer("volta", demo.JANA)
POINT = demo.supply_points("volta", demo.JANA)[0]
CONTRACT = POINT.contract
PAGE = f"/supply-points/{POINT.id}/contract"


async def send(c, path: str, **form: str):
    return await c.post(path, data={"_csrf_token": csrf((await c.get(path)).text), **form})


async def eventually(c, path: str, text: str, timeout: float = 15.0) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        page = html.unescape((await c.get(path)).text)
        if text in page:
            return page
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{text!r} not on {path} within {timeout}s")
        await asyncio.sleep(0.3)


async def test_the_bank_account_and_the_advance_are_changed_on_the_contract_page(stack, mailbox):
    async with browser(stack, "volta.localhost") as c:
        assert (await sign_in(c, "jana@volta.example")).status_code in (302, 303)
        await c.post("/locale", data={"_csrf_token": csrf((await c.get(PAGE)).text), "locale": "en", "next": PAGE})
        page = html.unescape((await c.get(PAGE)).text)
        # 4,200 kWh a year at the brand's estimate of 4.50 CZK/kWh over twelve advances
        assert "Our proposal" in page and "1,575" in page and "787" in page and "3,150" in page
        try:
            wrong = await send(
                c, PAGE, change="payment", payment_method="direct_debit", bank_account="19-2000145398/0800"
            )
            assert wrong.status_code == 400
            text = html.unescape(wrong.text)
            assert "This account number is not valid. Check it again." in text and "19-2000145398/0800" in text
            malformed = await send(c, PAGE, change="payment", payment_method="direct_debit", bank_account="12345")
            assert malformed.status_code == 400
            assert "Enter a valid Czech account number, like 19-2000145399/0800, or an IBAN." in html.unescape(
                malformed.text
            )
            assert CONTRACT.bank_account in (await c.get(PAGE)).text

            saved = await send(c, PAGE, change="payment", payment_method="direct_debit", bank_account="2000145399/0800")
            assert saved.status_code in (302, 303) and saved.headers["location"] == PAGE
            page = html.unescape((await c.get(PAGE)).text)
            assert "The payment method and bank account have been changed." in page and "2000145399/0800" in page
            mail = await mailbox.wait_for(JANA.email, subject_contains="změna – platební údaje")
            assert "2000145399/0800" in mail.get_content()

            too_high = await send(c, PAGE, change="advance", amount="9000")
            assert too_high.status_code == 400
            assert "The advance must be from 787 CZK to 3150 CZK" in html.unescape(too_high.text)
            saved = await send(c, PAGE, change="advance", amount="1600")
            assert saved.status_code in (302, 303)
            assert "The advance payment has been changed." in html.unescape((await c.get(PAGE)).text)

            requests = await eventually(c, "/requests", "Change of the advance payment")
            assert "Change of payment method or bank account" in requests
        finally:
            await send(
                c, PAGE, change="payment", payment_method=CONTRACT.payment_method, bank_account=CONTRACT.bank_account
            )
            await send(c, PAGE, change="advance", amount=str(CONTRACT.advance_amount))
        assert CONTRACT.bank_account in (await c.get(PAGE)).text


async def test_contact_data_and_addresses_are_refused_field_by_field(stack):
    async with browser(stack, "volta.localhost") as c:
        assert (await sign_in(c, "jana@volta.example")).status_code in (302, 303)
        path = "/profile/contact"
        await c.post("/locale", data={"_csrf_token": csrf((await c.get(path)).text), "locale": "cs", "next": path})
        page = await c.get(path)
        assert page.status_code == 200 and JANA.email in page.text
        bad = await send(c, path, change="contact", email="jana@", phone="")
        assert bad.status_code == 400 and "jana@" in bad.text
        address = {f"mailing_{k}": v for k, v in JANA.mailing_address.as_dict().items()}
        bad = await send(c, path, change="mailing", **{**address, "mailing_postal_code": "999"})
        assert bad.status_code == 400 and 'id="f-mailing_postal_code-error"' in bad.text
        assert "Zadejte platné PSČ." in html.unescape(bad.text)
        assert JANA.email in (await c.get(path)).text


async def test_a_delegate_is_offered_no_contract_changes_and_is_refused_when_posting(stack):
    path = f"/supply-points/{demo.supply_points('volta', demo.PEKARNY_A)[0].id}/contract"
    async with browser(stack, "volta.localhost") as c:
        assert (await sign_in(c, "ucetni@volta.example")).status_code in (302, 303)
        page = await c.get(path)
        assert page.status_code == 200
        assert 'name="change"' not in page.text
        refused = await c.post(path, data={"_csrf_token": csrf(page.text), "change": "e_invoice", "e_invoice": "off"})
        assert refused.status_code == 403
