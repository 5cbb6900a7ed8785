"""The catalogs cover every text the portal shows, in Czech, Bulgarian and English; formats follow locales."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from gateway import i18n

NBSP_LIKE = str.maketrans({"\u00a0": " ", "\u202f": " "})
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w+)\}")


def _extracted() -> dict[str, list[str]]:
    """msgid → where it is used, extracted now with the same mapping as the catalog refresh."""
    with i18n.BABEL_CFG.open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(i18n.BABEL_CFG.parent), method_map, options_map
    ):
        # a plural message is catalogued under its singular; its forms are checked together
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    return _extracted()


@pytest.fixture(scope="module", params=i18n.SUPPORTED_LOCALES)
def catalog(request):
    path = i18n.LOCALES_DIR / request.param / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return read_po(f, locale=request.param)


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_extraction_finds_templates_and_code(extracted) -> None:
    assert "Skip to main content" in extracted  # a template
    assert "Supply points" in extracted  # views.py nav labels
    assert i18n.REASON_MESSAGES["throttled"] in extracted  # reason codes


def test_every_used_message_is_translated(extracted, catalog) -> None:
    problems = []
    for msgid, where in sorted(extracted.items()):
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r} (used at {where[0]})")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif not (all(message.string) if isinstance(message.string, tuple) else message.string):
            problems.append(f"empty: {msgid!r}")
    assert not problems, f"{catalog.locale}:\n" + "\n".join(problems)


def test_placeholders_match(catalog) -> None:
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = _placeholders(ids[-1])
        for s in strings:
            assert _placeholders(s) == expected, f"{catalog.locale}: {message.id!r} → {s!r}"
        # markup inside a message must survive translation unchanged
        assert re.findall(r"<[^>]+>", ids[0]) == re.findall(r"<[^>]+>", strings[0]) or not strings[0], message.id


def test_no_obsolete_or_unused_entries(extracted, catalog) -> None:
    singular = (m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog)
    unused = sorted(msgid for msgid in singular if msgid and msgid not in extracted)
    assert not unused, f"{catalog.locale}: run `python -m gateway.i18n` to drop {unused}"
    assert not catalog.obsolete


def test_catalogs_really_translate() -> None:
    assert i18n.translations("cs").gettext("Supply points") == "Odběrná místa"
    assert i18n.translations("bg").gettext("Supply points") == "Точки на потребление"
    assert i18n.translations("en").gettext("Supply points") == "Supply points"
    # an unknown locale falls back to English rather than failing
    assert i18n.translations("de").gettext("Supply points") == "Supply points"


def test_every_reason_code_is_translated() -> None:
    expected = {
        "credentials.invalid",
        "throttled",
        "proof.invalid",
        "email.taken",
        "email.invalid",
        "token.invalid",
        "token.expired",
        "token.used",
        "password.too_short",
        "password.too_long",
        "password.contains_email",
        "password.too_common",
        "password.mismatch",
        "totp.invalid",
        "ean.length",
        "ean.prefix",
        "ean.check_digit",
        "eic.format",
        "eic.check_char",
        "bank_account.format",
        "bank_account.checksum",
        "bank_account.bank_code",
        "iban.invalid",
        "postal_code.invalid",
        "phone.invalid",
        "too_long",
        "required",
        "csrf.invalid",
        "not_found",
        "forbidden",
        "unavailable",
        "internal",
    }
    assert expected <= set(i18n.REASON_MESSAGES)
    for locale in ("cs", "bg"):
        for code, msgid in i18n.REASON_MESSAGES.items():
            translated = i18n.translations(locale).gettext(msgid)
            assert translated and translated != msgid, f"{locale}: {code}"
    assert i18n.REASON_MESSAGES["credentials.invalid"] == "E-mail or password is incorrect."
    assert i18n.REASON_MESSAGES["unavailable"] == "The service is temporarily unavailable. Please try again shortly."
    assert i18n.reason_message("throttled", "cs", seconds=30) == "Příliš mnoho pokusů. Zkuste to znovu za 30 s."
    assert i18n.reason_message("throttled", "en", seconds=30) == "Too many attempts. Try again in 30 seconds."
    assert i18n.reason_message("no.such.code", "bg") == i18n.reason_message("internal", "bg")
    # a code whose parameter is missing still yields a sentence
    assert "%(" not in i18n.reason_message("password.too_short", "cs")


def test_proof_message_does_not_say_which_part_failed() -> None:
    for locale in i18n.SUPPORTED_LOCALES:
        text = i18n.reason_message("proof.invalid", locale).lower()
        for word in ("code", "kód", "код", "amount", "částk", "сума", "invoice number", "číslo faktury"):
            assert word not in text, (locale, text)


def test_negotiate() -> None:
    tenant = ("cs", "bg", "en")
    assert i18n.negotiate("bg", "en-US,en;q=0.9", tenant, "cs") == "bg"
    assert i18n.negotiate(None, "de-DE,en-GB;q=0.8,cs;q=0.9", tenant, "cs") == "cs"
    assert i18n.negotiate(None, "de-DE,en-GB;q=0.8", tenant, "cs") == "en"
    assert i18n.negotiate(None, "", tenant, "cs") == "cs"
    assert i18n.negotiate("de", "fr", ("bg", "en"), "bg") == "bg"
    assert i18n.negotiate("cs", "cs", ("bg", "en"), "bg") == "bg"  # not offered by this tenant
    assert i18n.negotiate(None, "bg;q=0, en", tenant, "cs") == "en"  # q=0 means "not this one"
    assert i18n.negotiate(None, "garbage;;q=x,,", tenant, "cs") == "cs"


def test_money_formats() -> None:
    assert i18n.format_money(Decimal("1234.5"), "CZK", "cs").translate(NBSP_LIKE) == "1 234,50 Kč"
    assert i18n.format_money(Decimal("1234567.89"), "EUR", "bg").translate(NBSP_LIKE) == "1 234 567,89 €"
    assert i18n.format_money(Decimal("-80"), "EUR", "bg").translate(NBSP_LIKE) == "-80,00 €"
    assert i18n.format_money(Decimal("1234.5"), "EUR", "en") == "€1,234.50"


def test_number_and_energy_formats() -> None:
    assert i18n.format_number(12345.5, "cs").translate(NBSP_LIKE) == "12 345,5"
    assert i18n.format_number(Decimal("2.5"), "bg", decimals=2) == "2,50"
    assert i18n.format_kwh(3500, "cs").translate(NBSP_LIKE) == "3 500 kWh"
    assert i18n.format_kwh(3500, "en").translate(NBSP_LIKE) == "3,500 kWh"


def test_dates_in_the_tenant_zone() -> None:
    assert i18n.format_date(date(2026, 3, 29), "cs") == "29. 3. 2026"
    assert i18n.format_date(date(2026, 3, 29), "bg", "long").translate(NBSP_LIKE) == "29 март 2026 г."
    # 22:30 UTC is already the next day in Prague (summer time) and in Sofia
    instant = datetime(2026, 6, 30, 22, 30, tzinfo=UTC)
    assert i18n.format_datetime(instant, "Europe/Prague", "cs", "short").translate(NBSP_LIKE) == "01.07.26 0:30"
    assert "1:30" in i18n.format_datetime(instant, "Europe/Sofia", "bg", "short")
    naive = datetime(2026, 1, 15, 12, 0)
    assert "13:00" in i18n.format_datetime(naive, "Europe/Prague", "cs", "short")


def test_colour_helpers() -> None:
    assert i18n.css_color("#ABC") == "#aabbcc"
    assert i18n.css_color("red; background: url(x)") == i18n.DEFAULT_PRIMARY
    assert i18n.on_color("#f2b705") == "#111827"
    assert i18n.on_color("#0b57a4") == "#ffffff"
    assert i18n.contrast(i18n.ink("#f2b705"), "#ffffff") >= 4.5
    assert i18n.ink("#0b57a4") == "#0b57a4"  # already readable: unchanged
