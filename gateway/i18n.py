"""Languages of the portal: message catalogs, language choice, locale-aware formatting and page rendering.

Catalogs are the gettext sources `gateway/locales/<locale>/LC_MESSAGES/messages.po`, read with Babel when this
module is imported; no compiled .mo file is kept in the repository. Message ids are English.

Refresh the catalogs after changing texts in templates or gateway code (extracts with babel.cfg into
gateway/locales/messages.pot and merges new ids into the three .po files, keeping translations):

    .venv/bin/python -m gateway.i18n

Rendering a page in a locale (autoescaped, undefined variables are errors):

    env = make_environment()                       # once per process
    html = render(env, "dashboard.html", "cs", page=page, view=view)
    css = render(env, "theme.css.j2", "cs", brand=brand)

`render` passes `locale` into the template context; `_`/`gettext`/`ngettext` and the formatting filters read
it from there, so templates rendered by another engine wrapper work the same when given `locale`.
Filters: money(currency), number, kwh, date, datetime(tz), label(kind), reason(**params);
css_color, on_color, ink and tint for theme.css.
"""

from __future__ import annotations

import copy
import functools
import io
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import pass_context
from markupsafe import Markup, escape

from gateway.web.views import LABELS, N_

SUPPORTED_LOCALES: tuple[str, ...] = ("cs", "bg", "en")
FALLBACK_LOCALE = "en"
# each language by its own name, so a reader finds theirs whatever the page is in now
LOCALE_NAMES: Mapping[str, str] = {"cs": "Čeština", "bg": "Български", "en": "English"}

ROOT = Path(__file__).resolve().parent
LOCALES_DIR = ROOT / "locales"
TEMPLATES_DIR = ROOT / "templates"
BABEL_CFG = ROOT.parent / "babel.cfg"

# Machine reason codes of domain errors → message ids; pages show `reason_message(code, locale, **params)`.
REASON_MESSAGES: Mapping[str, str] = {
    "credentials.invalid": N_("E-mail or password is incorrect."),
    "throttled": N_("Too many attempts. Try again in %(seconds)s seconds."),
    # deliberately silent about which part of the proof failed, so it cannot be guessed piece by piece
    "proof.invalid": N_("We could not verify the customer number with the details given."),
    "email.taken": N_("This e-mail address cannot be used. Sign in or reset your password if it is yours."),
    "email.invalid": N_("Enter a valid e-mail address, like name@example.com."),
    "token.invalid": N_("This link is not valid. Check that you copied it whole, or ask for a new one."),
    "token.expired": N_("This link has expired. Ask for a new one."),
    "token.used": N_("This link has already been used."),
    "password.too_short": N_("The password must have at least %(min)s characters."),
    "password.too_long": N_("The password can have at most %(max)s characters."),
    "password.contains_email": N_("The password must not contain your e-mail address."),
    "password.too_common": N_("This password is too common. Choose one that is harder to guess."),
    "password.mismatch": N_("The passwords do not match."),
    "totp.invalid": N_("The code is not correct. Enter the current 6-digit code from your authenticator app."),
    "ean.length": N_("An EAN has exactly 18 digits."),
    "ean.prefix": N_("An EAN of a supply point in this country starts with %(prefix)s."),
    "ean.check_digit": N_("This EAN is not valid. Check it against your invoice."),
    "eic.format": N_("An EIC has 16 characters: digits, capital letters and hyphens."),
    "eic.check_char": N_("This EIC is not valid. Check it against your invoice."),
    "bank_account.format": N_("Enter a valid Czech account number, like 19-2000145399/0800, or an IBAN."),
    "bank_account.checksum": N_("This account number is not valid. Check it again."),
    "bank_account.bank_code": N_("This bank code does not exist."),
    "iban.invalid": N_("This IBAN is not valid. Check it again."),
    "postal_code.invalid": N_("Enter a valid postal code."),
    "phone.invalid": N_("Enter a valid phone number, including the country code, e.g. +420 601 123 456."),
    "too_long": N_("This value is too long (at most %(max)s characters)."),
    "required": N_("This field is required."),
    "csrf.invalid": N_("Your session has expired. Submit the form again."),
    "customer.registered": N_(
        "This customer number already has an online account. Ask its owner for access, or sign in."
    ),
    "customer_number.invalid": N_("A customer number has 6 to 12 digits."),
    "email.unverified": N_("Confirm your e-mail address first: open the link we sent you."),
    "totp.not_started": N_("Start setting up two-step verification first."),
    "totp.not_enabled": N_("Two-step verification is not on."),
    "page_token.invalid": N_("This page link is not valid. Start from the first page."),
    "page_size.invalid": N_("Choose a page size from 1 to 100."),
    "customer_search.too_short": N_("Enter at least %(min)s characters to search for."),
    "query.too_long": N_("The search text is too long. Shorten it."),
    "audit.period_invalid": N_("The last day must not be before the first day."),
    "commodity.invalid": N_("Choose electricity or gas."),
    "contact.required": N_("Enter an e-mail address or a phone number."),
    "hdo.day.invalid": N_("Enter the day as YYYY-MM-DD, for example 2026-11-30."),
    "hdo.day.out_of_range": N_("Low-tariff times can be shown for days from %(first)s to %(last)s."),
    "hdo.span.invalid": N_("The end day must not be before the first day, and at most %(max)s days can be asked for."),
    "date.invalid": N_("Enter the day as YYYY-MM-DD, for example 2026-11-30."),
    "reading.date_in_future": N_("A reading cannot be dated in the future. Today is %(today)s."),
    "reading.before_last": N_("The last reading is from %(last_date)s. Enter a later day."),
    "reading.exists_for_date": N_("There is already a reading from %(last_date)s. Enter a later day."),
    "reading.lower_than_last": N_(
        "%(register)s is lower than at the last reading (%(last_value)s on %(last_date)s). Check the meter again."
    ),
    "reading.exceeds_breaker": N_(
        "That would be %(consumption_kwh)s kWh since %(last_date)s, more than your main circuit breaker lets "
        "through in that time (%(limit_kwh)s kWh). Check the values."
    ),
    "reading.implausible": N_(
        "That would be %(consumption_kwh)s kWh since %(last_date)s, far more than the %(expected_kwh)s kWh "
        "expected. Check the values."
    ),
    "reading.confirm_suspicious": N_(
        "That would be %(consumption_kwh)s kWh since %(last_date)s, while about %(expected_kwh)s kWh was "
        "expected. If the values are right, confirm them."
    ),
    "reading.registers_invalid": N_("Enter one value for each register of this meter: %(registers)s."),
    "reading.value_invalid": N_("Enter %(register)s as a number with at most three decimal places."),
    "reading.photo_too_large": N_("The photo is too large. It can have at most %(max_mb)s MB."),
    "reading.photo_type_invalid": N_("Attach the photo as a JPEG, PNG, WebP or HEIC image."),
    "reading.source_invalid": N_("This source of a reading is not known."),
    "history.days_invalid": N_(
        "The end must not be before the start, and at most %(max_years)s years can be shown at once."
    ),
    "too_large": N_("What you sent is larger than %(max_mb)s MB, the most this page takes."),
    # an operator's file refused as a whole; the staff console puts the line or record in front
    "hdo.import.too_large": N_("The file is larger than %(max_mb)s MB."),
    "hdo.import.empty": N_("The file is empty."),
    "hdo.import.encoding_invalid": N_("The file is not UTF-8 text, or its compression is damaged."),
    "hdo.import.format_unknown": N_("The file's format was not recognised. Choose the format."),
    "hdo.import.json_invalid": N_("The file is not valid JSON."),
    "hdo.import.shape_invalid": N_("The content does not have the structure of this format."),
    "hdo.import.status_invalid": N_("The file is not a successful answer of the operator's service."),
    "hdo.import.header_invalid": N_("The first line must be the header %(expected)s."),
    "hdo.import.columns_invalid": N_("A line must have %(expected)s columns."),
    "hdo.import.field_missing": N_("%(name)s is missing or empty."),
    "hdo.import.time_invalid": N_("%(value)s is not a time. Write H:MM, for example 6:30."),
    "hdo.import.window_invalid": N_("%(value)s is not a time window. Write H:MM-H:MM, for example 22:00-6:00."),
    "hdo.import.window_empty": N_("The window %(value)s ends when it starts."),
    "hdo.import.pair_incomplete": N_("Switch-on and switch-off time %(slot)s do not come as a pair."),
    "hdo.import.day_type_unknown": N_(
        "%(value)s is not a known day type (mon to sun, a range such as mon-fri, holidays)."
    ),
    "hdo.import.day_type_duplicate": N_("The same days are given twice for %(code)s."),
    "hdo.import.validity_invalid": N_(
        "The validity of %(code)s is not right: it must end after it starts, and a dated day has none."
    ),
    "hdo.import.date_invalid": N_("%(value)s is not a valid date."),
    "hdo.import.date_duplicate": N_("%(value)s is given twice for %(code)s."),
    "hdo.import.weekday_mismatch": N_("The day name %(value)s does not match the date."),
    "hdo.import.datetime_invalid": N_("%(value)s is not a date and time. Write YYYY-MM-DDTHH:MM."),
    "hdo.import.period_invalid": N_("The outage must end after it starts."),
    "hdo.import.places_missing": N_("The outage names no supply points (eans) and no areas."),
    "hdo.import.ean_invalid": N_("%(value)s is not a valid EAN."),
    "hdo.import.area_invalid": N_("An area needs a postal code, a city or a street."),
    "hdo.import.house_number_invalid": N_("%(value)s is not a house number."),
    "hdo.import.outage_duplicate": N_("The outage %(value)s is given twice."),
    "idempotency_key.invalid": N_("This form has expired. Reload the page and enter the reading again."),
    "preferences.kind_unknown": N_("This kind of message is not known. Reload the page and try again."),
    "preferences.channel_unknown": N_("Choose e-mail or SMS."),
    "preferences.channel_required": N_(
        "Choose at least one way: we must be able to tell you about planned outages of your electricity."
    ),
    "preferences.sms_unavailable": N_("Messages by SMS are not offered at the moment. Choose e-mail."),
    "preferences.phone_missing": N_(
        "There is no phone number in your contact details, so SMS cannot be chosen. Call our customer line to add one."
    ),
    "personal_token.name_required": N_("Give the token a name."),
    "personal_token.name_too_long": N_("The name can have at most %(max)s characters."),
    "personal_token.name_taken": N_("You already have an active token with this name. Choose another one."),
    "personal_token.scopes_required": N_("Choose at least one thing the token may do."),
    "personal_token.scope_unknown": N_("This permission is not known. Reload the page and try again."),
    "personal_token.customer_number_unknown": N_("Choose only customer numbers linked to your login."),
    "personal_token.expiry_invalid": N_("Choose when the token expires: a day in the future, at most a year ahead."),
    "personal_token.limit": N_("You can have at most %(max)s active tokens. Revoke one you no longer need first."),
    "forbidden.request_type": N_(
        "The contract of this supply point does not allow this request. Call our customer line."
    ),
    "request.type_unknown": N_("This kind of request is not offered. Choose one from the list."),
    "request.type_immediate": N_("This change is made on its own page and takes effect at once; it is not filed."),
    "payment_method.invalid": N_("Choose one of the payment methods offered."),
    "address.kind_invalid": N_("This form has changed. Reload the page and fill it in again."),
    "advance.invalid": N_("Enter the advance as an amount, e.g. 1500."),
    "advance.out_of_bounds": N_(
        "The advance must be from %(minimum)s to %(maximum)s. We propose %(proposal)s for your expected consumption."
    ),
    "precondition.advance_unpriced": N_(
        "The advance of this contract cannot be changed online. Call our customer line."
    ),
    "request.field_unknown": N_("This form has changed. Reload the page and fill it in again."),
    "request.field_required": N_("This field is required."),
    "request.field_too_long": N_("This value is too long (at most %(max)s characters)."),
    "request.field_choice": N_("Choose one of the values offered."),
    "request.supply_point_required": N_("Choose the supply point the request is about."),
    "request.channel_invalid": N_("Choose how the request came in: portal, phone, letter, branch or e-mail."),
    "request.action_unknown": N_("This step is not known. Reload the page and try again."),
    "request.reason_required": N_("Write the reason or the information for the other side."),
    "request.reason_too_long": N_("The text is too long (at most %(max)s characters)."),
    "request.comment_required": N_("Write the comment."),
    "request.comment_too_long": N_("The text is too long (at most %(max)s characters)."),
    "request.state_invalid": N_("Choose a state from the list."),
    "request.attachments_too_many": N_("Attach at most %(max)s files."),
    "request.attachment_size": N_("Each file can have at most 1 MB, and an empty file cannot be sent."),
    "request.attachment_type": N_("Attach PDF documents, images (JPEG, PNG, WebP, HEIC) or plain text only."),
    "request.assignee_conflict": N_("Filter by one assignee or by unassigned requests, not both."),
    "request.attachments_not_allowed": N_("Files can be sent only with the information you add."),
    "request.attachments_full": N_("This request already holds %(max)s files; no more can be added."),
    "catalog.immediate": N_("Changes made online at once are not edited in the catalog."),
    "catalog.deadline_invalid": N_("Enter a deadline from 1 to %(max)s days."),
    "catalog.position_invalid": N_("Enter a position from 0 to %(max)s."),
    "catalog.contract_type_unknown": N_("This contract type does not exist. Reload the page."),
    "catalog.contract_types_required": N_("Choose at least one contract type, or stop offering the request."),
    "matrix.contract_type_unknown": N_("This contract type does not exist. Reload the page."),
    "matrix.capability_unknown": N_("This capability is not known. Reload the page."),
    "matrix.view_required": N_(
        "Every contract type must let customers see their supply points and contracts; those boxes stay ticked."
    ),
    "precondition.request_state": N_("This step is not possible in the request's present state. Reload the page."),
    "precondition.request_closed": N_("The request is closed and can no longer be assigned."),
    "invoice.number_invalid": N_("Enter an invoice number or variable symbol (digits only, at most 10)."),
    "invoice.amount_invalid": N_("Enter the amount as a number with at most two decimals, for example 1234,50."),
    "invoice.status_invalid": N_("Choose a status from the list."),
    "advances.days_invalid": N_("Choose a span of at most two years, the first day before the last."),
    "statement.too_large": N_("The file is larger than %(max_mb)s MB."),
    "statement.format_unknown": N_("The file is neither a camt.053 statement nor an ABO/GPC statement."),
    "statement.xml_invalid": N_("The file is not well-formed XML: %(value)s."),
    "statement.camt_version": N_("Only camt.053.001.02 statements can be read; this one is %(value)s."),
    "statement.field_missing": N_("%(name)s is missing."),
    "statement.field_invalid": N_("%(name)s is not valid: %(value)s."),
    "statement.amount_invalid": N_("%(name)s is not an amount: %(value)s."),
    "statement.date_invalid": N_("%(name)s is not a date: %(value)s."),
    "statement.currency_mismatch": N_("%(name)s is in another currency than its entry."),
    "statement.batch_sum": N_("The transactions of a batch add up to %(value)s, not to the entry's %(expected)s."),
    "statement.several": N_("The file holds more than one statement. Export one statement per file."),
    "statement.ref_duplicate": N_("The reference %(value)s is given twice."),
    "statement.encoding_invalid": N_("The line is not windows-1250 text."),
    "statement.record_orphan": N_("A %(value)s record must follow a 075 transaction."),
    "statement.record_unknown": N_("Unknown record type %(value)s."),
    "statement.currency_unknown": N_("Unknown currency code %(value)s."),
    "statement.account_mismatch": N_("The transaction is of account %(value)s, not of the statement's %(expected)s."),
    "statement.balance_mismatch": N_(
        "The opening balance and the transactions make %(value)s, not the closing balance %(expected)s: "
        "the file may be cut off."
    ),
    "customer_number.required": N_("Enter the customer number."),
    "conflict": N_("This was already submitted for something else. Reload the page and try again."),
    "not_found": N_("The page or item was not found."),
    "forbidden": N_("You do not have permission to do this."),
    "unavailable": N_("The service is temporarily unavailable. Please try again shortly."),
    "internal": N_("Something went wrong on our side. Please try again later."),
}


def _load(locale: str) -> Translations:
    po = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    # fuzzy entries are left out, so an unreviewed guess never reaches a customer
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf)


_TRANSLATIONS: dict[str, Translations] = {loc: _load(loc) for loc in SUPPORTED_LOCALES}


def translations(locale: str) -> Translations | NullTranslations:
    return _TRANSLATIONS.get(_base(locale)) or _TRANSLATIONS.get(FALLBACK_LOCALE) or NullTranslations()


def gettext(message: str, locale: str, **params: Any) -> str:
    text = translations(locale).gettext(message)
    return text % params if params else text


def reason_message(code: str, locale: str, **params: Any) -> str:
    """The translated message for a service's reason code; unknown codes read as an internal error."""
    fallback = REASON_MESSAGES["internal"]
    text = translations(locale).gettext(REASON_MESSAGES.get(code, fallback))
    try:
        return text % params if "%(" in text else text
    except (KeyError, ValueError, TypeError):
        # a reason that arrived without its parameter still deserves a readable sentence
        return translations(locale).gettext(fallback)


def _base(tag: str) -> str:
    return tag.strip().replace("_", "-").split("-")[0].lower()


def _accept_language(header: str) -> list[str]:
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip()
        if not tag or tag == "*":
            continue
        q = 1.0
        for b in bits[1:]:
            b = b.strip()
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, i, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(
    requested: str | None,
    accept_language_header: str | None,
    tenant_locales: Iterable[str],
    default: str,
) -> str:
    """The page language: the user's explicit choice, else the browser's preference, else the tenant default.

    Only languages the tenant offers and the portal has catalogs for are chosen.
    """
    offered = [loc for loc in tenant_locales if loc in SUPPORTED_LOCALES]
    if requested and _base(requested) in offered:
        return _base(requested)
    for tag in _accept_language(accept_language_header or ""):
        if _base(tag) in offered:
            return _base(tag)
    if default in offered or not offered:
        return default if default in SUPPORTED_LOCALES else FALLBACK_LOCALE
    return offered[0]


# --- formatting ---------------------------------------------------------------------------------------------

NBSP = "\u00a0"


@functools.cache
def _babel_locale(locale: str) -> Locale:
    # parsing a locale identifier is a good part of formatting one number, and pages format many
    return Locale.parse(locale)


# pure and asked for the same few amounts on page after page; Babel's formatting is a visible share of a render
@functools.lru_cache(maxsize=4096)
def format_money(amount: Decimal | int | str, currency: str, locale: str) -> str:
    return babel_numbers.format_currency(Decimal(amount), currency, locale=_babel_locale(locale))


@functools.lru_cache(maxsize=4096)
def format_number(value: Decimal | int | float, locale: str, decimals: int | None = None) -> str:
    if decimals is not None:
        pattern = copy.copy(_babel_locale(locale).decimal_formats[None])
        pattern.frac_prec = (decimals, decimals)
        return pattern.apply(Decimal(str(value)), _babel_locale(locale))
    return babel_numbers.format_decimal(value, locale=_babel_locale(locale))


def format_kwh(value: Decimal | int | float, locale: str) -> str:
    return f"{format_number(value, locale)}{NBSP}kWh"


@functools.lru_cache(maxsize=4096)
@functools.lru_cache(maxsize=4096)
def format_date(value: date, locale: str, fmt: str = "medium") -> str:
    return babel_dates.format_date(value, format=fmt, locale=_babel_locale(locale))


@functools.lru_cache(maxsize=4096)
def format_datetime(utc_dt: datetime, tz: str, locale: str, fmt: str = "medium") -> str:
    """A stored UTC instant as the tenant's wall-clock time; naive values are taken as UTC."""
    if utc_dt.tzinfo is None:
        utc_dt = utc_dt.replace(tzinfo=UTC)
    local = utc_dt.astimezone(ZoneInfo(tz))
    return babel_dates.format_datetime(local, format=fmt, tzinfo=ZoneInfo(tz), locale=_babel_locale(locale))


# --- colours for theme.css: tenant data, so checked and made readable here ----------------------------------

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
DEFAULT_PRIMARY = "#1d4ed8"


def css_color(value: str | None, default: str = DEFAULT_PRIMARY) -> str:
    """Only a hex colour passes into the stylesheet, so tenant data cannot inject CSS."""
    if value and _HEX.match(value.strip()):
        v = value.strip().lower()
        return "#" + "".join(c * 2 for c in v[1:]) if len(v) == 4 else v
    return default


def _rgb(color: str) -> tuple[float, float, float]:
    c = css_color(color)
    return int(c[1:3], 16) / 255, int(c[3:5], 16) / 255, int(c[5:7], 16) / 255


def _luminance(color: str) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = _rgb(color)
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def on_color(background: str) -> str:
    """Text colour for a brand-coloured surface: whichever of near-black and white reads better."""
    return "#ffffff" if contrast(background, "#ffffff") >= contrast(background, "#111827") else "#111827"


def ink(color: str, background: str = "#ffffff", minimum: float = 4.5) -> str:
    """The brand colour, darkened just enough to be readable as text on `background` (WCAG AA)."""
    r, g, b = _rgb(color)
    for _ in range(40):
        candidate = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
        if contrast(candidate, background) >= minimum:
            return candidate
        r, g, b = r * 0.92, g * 0.92, b * 0.92
    return "#111827"


def tint(color: str, amount: float) -> str:
    """The colour mixed into white (`amount` of the colour), for soft brand backgrounds behind dark text."""
    r, g, b = _rgb(color)
    return "#{:02x}{:02x}{:02x}".format(*(round((1 - amount + amount * c) * 255) for c in (r, g, b)))


# --- Jinja --------------------------------------------------------------------------------------------------


def _locale_of(ctx: jinja2.runtime.Context) -> str:
    loc = ctx.get("locale")
    if not loc:
        page = ctx.get("page")
        loc = getattr(page, "locale", None)
    return loc or FALLBACK_LOCALE


@pass_context
def _gettext(ctx: jinja2.runtime.Context, message: str) -> str:
    return translations(_locale_of(ctx)).gettext(message)


@pass_context
def _ngettext(ctx: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
    return translations(_locale_of(ctx)).ngettext(singular, plural, n)


@pass_context
def _money_filter(ctx: jinja2.runtime.Context, amount: Any, currency: str | None = None) -> str:
    if hasattr(amount, "currency") and currency is None:
        amount, currency = amount.amount, amount.currency
    return format_money(amount, currency or "EUR", _locale_of(ctx))


@pass_context
def _number_filter(ctx: jinja2.runtime.Context, value: Any, decimals: int | None = None) -> str:
    return format_number(value, _locale_of(ctx), decimals)


@pass_context
def _kwh_filter(ctx: jinja2.runtime.Context, value: Any) -> str:
    return format_kwh(value, _locale_of(ctx))


@pass_context
def _date_filter(ctx: jinja2.runtime.Context, value: date, fmt: str = "medium") -> str:
    return format_date(value, _locale_of(ctx), fmt)


@pass_context
def _datetime_filter(ctx: jinja2.runtime.Context, value: datetime, tz: str, fmt: str = "medium") -> str:
    return format_datetime(value, tz, _locale_of(ctx), fmt)


# a length of time as the HDO page shows it: a filter, not a template macro, as the page shows it for every day
HOURS_MINUTES = N_("%(hours)s h %(minutes)s min")


@pass_context
def _duration_filter(ctx: jinja2.runtime.Context, value: Any) -> Markup:
    text = translations(_locale_of(ctx)).gettext(HOURS_MINUTES) % {"hours": value.hours, "minutes": value.minutes}
    return Markup(f'<time datetime="{value.iso}">{escape(text)}</time>')


@pass_context
def _label_filter(ctx: jinja2.runtime.Context, code: str, kind: str) -> str:
    msgid = LABELS.get(kind, {}).get(code)
    return translations(_locale_of(ctx)).gettext(msgid) if msgid else code


@pass_context
def _reason_filter(ctx: jinja2.runtime.Context, code: str, **params: Any) -> str:
    return reason_message(code, _locale_of(ctx), **params)


def make_environment(templates_dir: Path | str = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # templates ship with the code; checking their files' times on every render costs more than it is worth
        auto_reload=False,
    )
    # msgids without the template's indentation; babel.cfg extracts with the same setting
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        money=_money_filter,
        number=_number_filter,
        kwh=_kwh_filter,
        date=_date_filter,
        datetime=_datetime_filter,
        duration=_duration_filter,
        label=_label_filter,
        reason=_reason_filter,
        css_color=css_color,
        on_color=on_color,
        ink=ink,
        tint=tint,
    )
    from gateway.web.views import PATHS

    env.globals.update(paths=PATHS, locale_names=LOCALE_NAMES)
    return env


def render(env: jinja2.Environment, name: str, locale: str, **context: Any) -> str:
    return env.get_template(name).render(locale=locale, **context)


# --- catalog maintenance ------------------------------------------------------------------------------------


def refresh_catalogs() -> None:
    from babel.messages.frontend import CommandLineInterface

    pot = LOCALES_DIR / "messages.pot"
    root = str(ROOT.parent)
    cli = CommandLineInterface()
    cli.run(
        [
            "pybabel",
            "extract",
            "-F",
            str(BABEL_CFG),
            "--no-location",
            "--sort-output",
            "--project",
            "energy-portal",
            "--version",
            "1",
            "-o",
            str(pot),
            root,
        ]
    )
    for loc in SUPPORTED_LOCALES:
        cli.run(
            [
                "pybabel",
                "update",
                "-i",
                str(pot),
                "-d",
                str(LOCALES_DIR),
                "-l",
                loc,
                "--no-wrap",
                "--ignore-obsolete",
                "--no-fuzzy-matching",
            ]
        )


if __name__ == "__main__":
    refresh_catalogs()
    sys.exit(0)
