"""Helpers for driving the portal in Debian's Chromium through Playwright's async API.

Pages are reached the way a person reaches them: by the brand's host name, by links and buttons named with the
texts of the page's own language (taken from the message catalogs, so a translation change does not break a
test and a missing translation does), and by typing into fields found by their labels.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, Response

from gateway import i18n
from kit import demo

LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# a language none of the brands offers, so each brand first speaks its own default
BROWSER_LOCALE = "de-DE"
SERIOUS = frozenset({"serious", "critical"})
SESSION_COOKIE = "portal_session"


def chromium() -> str | None:
    for candidate in (os.environ.get("PORTAL_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def t(msgid: str, locale: str, **params: Any) -> str:
    return i18n.gettext(msgid, locale, **params)


def reason(code: str, locale: str, **params: Any) -> str:
    return i18n.reason_message(code, locale, **params)


def number(value: int, locale: str) -> str:
    return i18n.format_number(value, locale)


def host(slug: str) -> str:
    return demo.tenant(slug).hosts[0]


@dataclass
class Watch:
    """What a tab saw besides its pages: Content-Security-Policy complaints, script errors, and the security
    headers of each HTML page."""

    csp_messages: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    documents: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_messages.append(message.text)

    def _response(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.documents.append((response.url, response.headers))

    def problems(self) -> list[str]:
        found = [f"CSP: {m}" for m in self.csp_messages] + [f"script error: {e}" for e in self.page_errors]
        for url, headers in self.documents:
            policy = headers.get("content-security-policy", "")
            if "default-src 'self'" not in policy or "unsafe-inline" in policy or "unsafe-eval" in policy:
                found.append(f"{url}: Content-Security-Policy {policy!r}")
        return found


async def lang(page: Page) -> str:
    return await page.locator("html").get_attribute("lang") or ""


async def h1(page: Page) -> str:
    return (await page.get_by_role("heading", level=1).inner_text()).strip()


async def tab_to(page: Page, target: Locator, limit: int = 40) -> None:
    """Presses Tab until `target` has the focus, as a keyboard user gets there; fails if it never does."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{target} cannot be reached with the Tab key")


async def switch_language(page: Page, locale: str, *, keyboard: bool = False) -> None:
    """Presses the language's button in the header's switcher, with the mouse or from the keyboard."""
    current = await lang(page)
    switcher = page.get_by_role("group", name=t("Language", current), exact=True)
    button = switcher.get_by_role("button", name=i18n.LOCALE_NAMES[locale], exact=True)
    async with page.expect_navigation():
        if keyboard:
            await tab_to(page, button)
            await page.keyboard.press("Enter")
        else:
            await button.click()
    assert await lang(page) == locale, f"the page stayed in {await lang(page)} after choosing {locale}"


async def open_brand(page: Page, stack: Any, slug: str, path: str = "/") -> None:
    response = await page.goto(stack.url(host(slug), path))
    assert response is not None and response.ok, f"{path} on {slug}: {response and response.status}"


def labelled(page: Page, label: str) -> Any:
    """The input a label names; the label's text may end with the required-field asterisk, which screen
    readers skip but Playwright's label matching reads."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}(\s*\*)?$"))


async def fill(page: Page, label: str, value: str) -> None:
    await labelled(page, label).fill(value)


async def sign_in(page: Page, email: str, password: str = demo.DEMO_PASSWORD) -> None:
    """From any public page: the header's sign-in link, the two fields, Enter."""
    loc = await lang(page)
    await page.get_by_role("banner").get_by_role("link", name=t("Sign in", loc), exact=True).click()
    await page.wait_for_url(re.compile(r"/login"))
    await fill(page, t("E-mail", loc), email)
    await fill(page, t("Password", loc), password)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def sign_out(page: Page) -> None:
    loc = await lang(page)
    async with page.expect_navigation():
        await page.get_by_role("banner").get_by_role("button", name=t("Sign out", loc), exact=True).click()


async def facts(page: Page, scope: str) -> dict[str, str]:
    """The term → description pairs of the description lists under `scope`, as they read on screen."""
    return await page.eval_on_selector_all(
        f"{scope} dt",
        "els => Object.fromEntries(els.map(dt => [dt.innerText.trim(), dt.nextElementSibling.innerText.trim()]))",
    )


async def error_summary(page: Page) -> list[str]:
    summary = page.get_by_role("alert").filter(has=page.locator("#error-summary-title"))
    return [s.strip() for s in await summary.get_by_role("listitem").all_inner_texts()]


async def row_identifiers(page: Page) -> list[str]:
    """The EAN/EIC of each row of the supply point table, in order."""
    return [s.strip() for s in await page.locator("table tbody th[scope=row]").all_inner_texts()]


async def axe_violations(axe: Any, page: Page, label: str) -> list[str]:
    results = await axe.run(page)
    return [
        f"{label}: {v['id']} ({v.get('impact')}) at {'; '.join(str(n.get('target')) for n in v['nodes'][:3])}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
