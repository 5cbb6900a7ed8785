"""Every page template, rendered from sample view models in every language: structure checks on the HTML,
then the same pages in a real Chromium under the production Content-Security-Policy, checked with axe-core."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gateway import i18n
from gateway.staff import views as staff
from gateway.web import hdo_pages
from gateway.web import views as v
from kit import authz

LOCALES = i18n.SUPPORTED_LOCALES
STATIC_DIR = i18n.ROOT / "static"
PAGE_TEMPLATES = sorted(
    p.relative_to(i18n.TEMPLATES_DIR).as_posix()
    for p in i18n.TEMPLATES_DIR.rglob("*.html")
    if not p.name.startswith("_") and p.name != "base.html"
)


@pytest.fixture(scope="module")
def env():
    return i18n.make_environment()


def _page(brand: v.Brand, locale: str, *, signed_in: bool = True, **kw: Any) -> v.Page:
    base = dict(
        brand=brand,
        locale=locale,
        path="/dashboard",
        csrf_token="csrf-sample-token",
        user="jana.novakova@example.com" if signed_in else None,
        customers=(
            v.CustomerChoice("1000234567", "Jana Nováková"),
            v.CustomerChoice("1000987654", "Nováková Bakery s.r.o."),
        )
        if signed_in
        else (),
        current_customer="1000234567" if signed_in else None,
    )
    base.update(kw)
    return v.Page(**base)


ROWS = (
    v.SupplyPointRow(
        "sp-1",
        "859182400100234567",
        "electricity",
        v.Address("Vinohradská", "12", "Praha 2", "120 00", "CZ"),
        "Volta Home",
        "D25d",
        "1000234567",
    ),
    v.SupplyPointRow(
        "sp-2",
        "27ZG100Z0012345A",
        "gas",
        v.Address("Lidická", "48", "Brno", "602 00", "CZ"),
        "Volta Gas Plus",
        "",
        "1000234567",
    ),
    v.SupplyPointRow(
        "sp-3",
        "859182400100987654",
        "electricity",
        v.Address("Nádražní", "3", "Ostrava", "702 00", "CZ"),
        "Volta Business",
        "C25d",
        "1000234567",
    ),
)

ALL_CAPS = frozenset(
    {
        v.SUPPLY_POINTS_READ,
        v.CONTRACTS_READ,
        v.CONSUMPTION_READ,
        v.INVOICES_READ,
        v.PAYMENTS_READ,
        v.READINGS_WRITE,
        v.CONTACT_WRITE,
    }
)


def _low_tariff_day(day: date, *, today: bool = False) -> v.LowTariffDay:
    """Two windows, the second up to the day's end (shown as 24:00)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    spans = (
        v.LowTariffSpan(
            start + timedelta(hours=1, minutes=40), start + timedelta(hours=6, minutes=45), "02:40", "07:45"
        ),
        v.LowTariffSpan(start + timedelta(hours=20), start + timedelta(hours=23), "21:00", "24:00"),
    )
    return v.LowTariffDay(day, spans, sum(int((s.end - s.start).total_seconds()) for s in spans), is_today=today)


def _low_tariff_view(locale: str, errors: str = "") -> v.LowTariffView:
    monday = date(2026, 11, 30)
    weeks = tuple(
        v.LowTariffWeek(
            key, title, tuple(_low_tariff_day(monday + timedelta(days=7 * w + i), today=w == i == 0) for i in range(7))
        )
        for w, (key, title) in enumerate((("this", "This week"), ("next", "Next week")))
    )
    return v.LowTariffView(
        supply_point=ROWS[0],
        code="A3B7DP6",
        time_zone="Europe/Prague",
        now=v.LowTariffNow(True, True, datetime(2026, 11, 30, 17, 5, tzinfo=UTC)),
        today=weeks[0].days[0],
        weeks=weeks,
        weeks_table=hdo_pages.weeks_table(locale, weeks),
        first_day=date(2026, 8, 30),
        last_day=date(2026, 12, 13),
        feed_url="https://volta.example/calendar/hdo/abc.ics",
        webcal_url="webcal://volta.example/calendar/hdo/abc.ics",
        picked=None if errors else _low_tariff_day(date(2026, 9, 14)),
        day_value="2026-13-01" if errors else "2026-09-14",
        day_error=errors,
    )


def _errors(*fields: str, form: str | None = None) -> v.FormErrors:
    return v.FormErrors(fields={f: (i18n.reason_message("required", "en"),) for f in fields}, form=form)


def sample_contexts(brand: v.Brand, locale: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, template, context) for every page template, covering its main states."""
    money = v.Money(Decimal("1850.00"), brand.currency)
    dashboard = v.DashboardView(
        customer_name="Jana Nováková",
        customer_number="1000234567",
        electricity_count=2,
        gas_count=1,
        supply_points=ROWS[:2],
        contracts=(
            v.ContractRow("2023-001234", "bundled", 2, "direct_debit", money, "monthly", True),
            v.ContractRow("2023-004321", "supply_only", 1, "bank_transfer", None, "", False),
        ),
        capabilities=ALL_CAPS,
        low_tariff=v.LowTariffCard(
            ROWS[0], "A3B7DP6", v.LowTariffNow(True, False, datetime(2026, 11, 30, 14, tzinfo=UTC))
        ),
        outages=v.OutageCard(
            v.OutageRow(
                datetime(2026, 12, 14, 7, tzinfo=UTC), datetime(2026, 12, 14, 13, tzinfo=UTC), "", "changed", ROWS[:2]
            ),
            more=2,
        ),
    )
    detail = v.SupplyPointDetailView(
        id="sp-1",
        identifier="859182400100234567",
        commodity="electricity",
        address=ROWS[0].address,
        capabilities=ALL_CAPS,
        customer_number="1000234567",
        meter_number="12345678",
        breaker_amps=25,
        phases=3,
        distribution_tariff="D25d",
        product="Volta Home",
        annual_consumption_kwh=3500,
        reading_schedule="yearly",
        hdo_code="A1B4DP6",
        contract=v.ContractDetail(
            "2023-001234",
            "bundled",
            "direct_debit",
            "19-2000145399/0800",
            money,
            "monthly",
            True,
            brand.legal_name,
            date(2023, 4, 1),
        ),
    )
    public = _page(brand, locale, signed_in=False, path="/")
    signed = _page(brand, locale)
    yield "landing", "landing.html", {"page": public}
    yield "landing-signed-in", "landing.html", {"page": signed}
    yield (
        "login",
        "login.html",
        {
            "page": replace(public, path="/login"),
            "errors": v.NO_ERRORS,
            "values": {},
            "step": "password",
            "next": "",
        },
    )
    yield (
        "login-error",
        "login.html",
        {
            "page": replace(public, path="/login"),
            "errors": v.FormErrors(form=i18n.reason_message("credentials.invalid", locale)),
            "values": {"email": "jana@example.com"},
            "step": "password",
            "next": "/dashboard",
        },
    )
    yield (
        "login-totp",
        "login.html",
        {
            "page": replace(public, path="/login"),
            "errors": _errors("code"),
            "values": {},
            "step": "totp",
            "next": "",
        },
    )
    yield (
        "register",
        "register.html",
        {"page": replace(public, path="/register"), "errors": v.NO_ERRORS, "values": {}},
    )
    yield (
        "register-errors",
        "register.html",
        {
            "page": replace(public, path="/register"),
            "errors": v.FormErrors(
                fields={
                    "customer_number": (i18n.reason_message("required", locale),),
                    "proof": (i18n.reason_message("proof.invalid", locale),),
                    "email": (i18n.reason_message("email.invalid", locale),),
                    "password": (i18n.reason_message("password.too_short", locale, min=12),),
                    "password_confirm": (i18n.reason_message("password.mismatch", locale),),
                    "terms": (i18n.reason_message("required", locale),),
                }
            ),
            "values": {
                "customer_number": "1000234567",
                "proof": "invoice",
                "invoice_number": "2400012345",
                "invoice_amount": "1234,50",
                "email": "jana@",
            },
        },
    )
    yield "register_sent", "register_sent.html", {"page": public, "email": "jana@example.com"}
    yield "verify_email-ok", "verify_email.html", {"page": public, "result": "verified"}
    yield "verify_email-expired", "verify_email.html", {"page": public, "result": "token.expired"}
    yield (
        "password_reset_request",
        "password_reset_request.html",
        {
            "page": public,
            "errors": v.NO_ERRORS,
            "values": {},
            "sent": False,
        },
    )
    yield (
        "password_reset_request-sent",
        "password_reset_request.html",
        {
            "page": public,
            "errors": v.NO_ERRORS,
            "values": {},
            "sent": True,
        },
    )
    yield (
        "password_reset",
        "password_reset.html",
        {
            "page": public,
            "errors": _errors("password_confirm"),
            "token": "tok-123",
            "email": "jana@example.com",
        },
    )
    yield (
        "dashboard",
        "dashboard.html",
        {
            "page": replace(signed, nav_active="dashboard", flashes=(v.Flash("Saved.", "success"),)),
            "view": dashboard,
        },
    )
    yield (
        "dashboard-limited",
        "dashboard.html",
        {
            "page": replace(signed, nav_active="dashboard", customers=signed.customers[:1]),
            "view": replace(dashboard, capabilities=frozenset({v.SUPPLY_POINTS_READ}), supply_points=(), contracts=()),
        },
    )
    yield (
        "supply_points",
        "supply_points.html",
        {
            "page": replace(signed, path="/supply-points", nav_active="supply_points"),
            "view": v.SupplyPointListView(
                rows=ROWS,
                total=240,
                query="",
                commodity="",
                next_href="/supply-points?page=2",
                prev_href=None,
            ),
        },
    )
    yield (
        "supply_points-empty",
        "supply_points.html",
        {
            "page": replace(signed, path="/supply-points", nav_active="supply_points"),
            "view": v.SupplyPointListView(rows=(), total=0, query="Nonexistent 99", commodity="gas"),
        },
    )
    yield (
        "supply_point",
        "supply_point.html",
        {
            "page": replace(signed, path="/supply-points/sp-1", nav_active="supply_points"),
            "view": detail,
        },
    )
    yield (
        "supply_point-delegate",
        "supply_point.html",
        {
            "page": replace(signed, path="/supply-points/sp-2", nav_active="supply_points"),
            "view": replace(
                detail,
                commodity="gas",
                identifier="27ZG100Z0012345A",
                capabilities=frozenset({v.SUPPLY_POINTS_READ}),
            ),
        },
    )
    profile = v.ProfileView(
        email="jana.novakova@example.com",
        totp_enabled=False,
        customers=signed.customers,
    )
    yield (
        "profile",
        "profile.html",
        {
            "page": replace(signed, path="/profile", nav_active="profile"),
            "view": profile,
            "errors": v.NO_ERRORS,
            "values": {},
        },
    )
    yield (
        "profile-enrol",
        "profile.html",
        {
            "page": replace(signed, path="/profile", nav_active="profile"),
            "view": replace(
                profile,
                totp_enrolment=v.TotpEnrolment(
                    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                    "otpauth://totp/Portal:jana.novakova%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Portal",
                ),
                pending_email="jana.new@example.com",
            ),
            "errors": v.FormErrors(fields={"code": (i18n.reason_message("totp.invalid", locale),)}),
            "values": {},
        },
    )
    yield (
        "profile-totp-on",
        "profile.html",
        {
            "page": replace(signed, path="/profile", nav_active="profile"),
            "view": replace(profile, totp_enabled=True, customers=()),
            "errors": _errors("new_email", "current_password"),
            "values": {"new_email": "x"},
        },
    )
    yield from preference_samples(replace(signed, path="/profile/notifications", nav_active="profile"), locale)
    yield from token_samples(replace(signed, path="/profile/tokens", nav_active="profile"), locale)
    hdo_page = replace(signed, path="/supply-points/sp-1/hdo", nav_active="supply_points")
    yield "supply_point_hdo", "supply_point_hdo.html", {"page": hdo_page, "view": _low_tariff_view(locale)}
    yield (
        "supply_point_hdo-bad-day",
        "supply_point_hdo.html",
        {
            "page": hdo_page,
            "view": replace(
                _low_tariff_view(locale, i18n.reason_message("hdo.day.invalid", locale)),
                now=v.LowTariffNow(False, False),
            ),
        },
    )
    readings_page = replace(signed, path="/supply-points/sp-1/readings", nav_active="supply_points")
    reading_rows = (
        v.ReadingRow(date(2026, 11, 1), "operator", False, {"vt": Decimal("23456"), "nt": Decimal("31020")}, None),
        v.ReadingRow(
            date(2026, 10, 14),
            "customer",
            True,
            {"vt": Decimal("23110.5"), "nt": Decimal("30612")},
            Decimal("1203.5"),
            has_photo=True,
        ),
        v.ReadingRow(date(2026, 9, 1), "estimate", False, {"vt": Decimal("22800")}, Decimal("310")),
    )
    reading_form = v.ReadingForm(
        registers=("vt", "nt"),
        unit="kWh",
        read_on="2026-11-30",
        today=date(2026, 11, 30),
        idempotency_key="form-key-1",
    )
    readings_view = v.ReadingsView(
        supply_point=ROWS[0],
        registers=("vt", "nt"),
        unit="kWh",
        rows=reading_rows,
        total=25,
        form=reading_form,
        next_href="/supply-points/sp-1/readings?page=abc",
    )
    yield "supply_point_readings", "supply_point_readings.html", {"page": readings_page, "view": readings_view}

    def readings_with(**form: Any) -> dict[str, Any]:
        first_href = form.pop("first_href", None)
        view = replace(readings_view, form=replace(reading_form, **form), first_href=first_href)
        return {"page": readings_page, "view": view}

    refusal = i18n.reason_message(
        "reading.lower_than_last", locale, register="VT", last_value="23 456", last_date="1. 11. 2026"
    )
    too_large = i18n.reason_message("reading.photo_too_large", locale, max_mb="4")
    yield (
        "supply_point_readings-refused",
        "supply_point_readings.html",
        readings_with(
            values={"vt": "23000", "nt": "31100"},
            errors=v.FormErrors(fields={"value_vt": (refusal,), "photo": (too_large,)}),
            photo_dropped=True,
            first_href="/supply-points/sp-1/readings",
        ),
    )
    yield (
        "supply_point_readings-confirm",
        "supply_point_readings.html",
        readings_with(
            values={"vt": "25000", "nt": "33000"},
            suspicious=v.Suspicious(Decimal("3088"), Decimal("412"), date(2026, 11, 1)),
        ),
    )
    yield (
        "supply_point_readings-gas-read-only",
        "supply_point_readings.html",
        {
            "page": readings_page,
            "view": v.ReadingsView(supply_point=ROWS[1], registers=("gas",), unit="m³", rows=(), total=0, form=None),
        },
    )

    def period(month: int, kwh: str, *, estimated: bool = False, covered: int = 30) -> v.ConsumptionPeriodRow:
        first = date(2026, month, 1)
        last = date(2026 + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        total = Decimal(kwh)
        return v.ConsumptionPeriodRow(
            f"2026-{month:02d}",
            first,
            last,
            total,
            {"vt": total * Decimal("0.45"), "nt": total * Decimal("0.55")},
            None,
            min(covered, (last - first).days + 1),
            (last - first).days + 1,
            estimated,
        )

    consumption_page = replace(signed, path="/supply-points/sp-1/consumption", nav_active="supply_points")
    consumption = v.ConsumptionView(
        supply_point=ROWS[0],
        by="month",
        commodity="electricity",
        registers=("vt", "nt"),
        periods=tuple(period(m, str(250 + 20 * m)) for m in range(1, 11))
        + (period(11, "410", estimated=True, covered=12),),
    )
    yield "supply_point_consumption", "supply_point_consumption.html", {"page": consumption_page, "view": consumption}
    gas_year = v.ConsumptionView(
        supply_point=ROWS[1],
        by="year",
        commodity="gas",
        registers=("gas",),
        periods=(
            v.ConsumptionPeriodRow(
                "2025",
                date(2025, 1, 1),
                date(2025, 12, 31),
                Decimal("12480.512"),
                {"gas": Decimal("12480.512")},
                Decimal("1190.4"),
                365,
                365,
                False,
            ),
        ),
    )
    yield (
        "supply_point_consumption-gas-year",
        "supply_point_consumption.html",
        {"page": consumption_page, "view": gas_year},
    )
    yield (
        "supply_point_consumption-empty",
        "supply_point_consumption.html",
        {"page": consumption_page, "view": replace(gas_year, periods=())},
    )
    outage = v.OutageRow(
        datetime(2026, 12, 10, 6, 30, tzinfo=UTC),
        datetime(2026, 12, 10, 13, 0, tzinfo=UTC),
        "Výměna sloupu",
        "planned",
        ROWS[::2],
    )
    outages_page = replace(signed, path="/outages", nav_active="outages")
    yield (
        "outages",
        "outages.html",
        {
            "page": outages_page,
            "view": v.OutagesView(
                rows=(outage, replace(outage, state="changed", reason=""), replace(outage, state="cancelled")),
                electricity_count=2,
            ),
        },
    )
    yield "outages-none", "outages.html", {"page": outages_page, "view": v.OutagesView(rows=(), electricity_count=0)}
    yield from staff_samples(replace(signed, user="admin@volta.example", customers=(), current_customer=None))
    yield from request_samples(signed, locale)
    yield from invoice_samples(signed)
    yield from change_samples(signed, locale, money)
    yield "error-404", "error.html", {"page": public, "status": 404}
    yield (
        "error-503",
        "error.html",
        {"page": signed, "status": 503, "message": i18n.reason_message("unavailable", locale)},
    )
    yield "error-500", "error.html", {"page": signed, "status": 500}
    yield "unknown_host", "unknown_host.html", {}


def preference_samples(page: v.Page, locale: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    prefs = v.PreferencesView(
        rows=(v.PreferenceRow("outages", frozenset({"email", "sms"})),),
        channels=("email", "sms"),
        phone="+420601234567",
        sms_available=True,
        can_change=True,
    )
    template = "notification_preferences.html"
    yield "preferences", template, {"page": page, "view": prefs, "errors": v.NO_ERRORS}
    refused = v.FormErrors(fields={"outages": (i18n.reason_message("preferences.channel_required", locale),)})
    no_sms = replace(prefs, rows=(v.PreferenceRow("outages", frozenset()),), channels=("email",), sms_available=False)
    yield "preferences-refused", template, {"page": page, "view": no_sms, "errors": refused}
    delegate = replace(prefs, phone="", can_change=False)
    yield "preferences-delegate", template, {"page": page, "view": delegate, "errors": v.NO_ERRORS}
    yield "preferences-no-customer", template, {"page": page, "view": None, "errors": v.NO_ERRORS}


def change_samples(page: v.Page, locale: str, money: v.Money) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Immediate changes: contact data and addresses, a contract's payment, advance and e-invoice."""
    home = v.Address("Dlouhá", "5", "Praha 1", "110 00", "CZ")
    contact = v.ContactDetailsView("1000234567", "jana@example.com", "+420601234567", home, home, can_change=True)
    yield "contact", "contact_details.html", {"page": page, "view": contact, "errors": v.NO_ERRORS}
    refused = v.FormErrors(
        fields={
            "email": (i18n.reason_message("email.invalid", locale),),
            "mailing_postal_code": (i18n.reason_message("postal_code.invalid", locale),),
        }
    )
    posted = replace(contact, posted={"mailing": {"mailing_postal_code": "99 <b>"}})
    yield "contact-refused", "contact_details.html", {"page": page, "view": posted, "errors": refused}
    read_only = replace(contact, can_change=False, phone="")
    yield "contact-read-only", "contact_details.html", {"page": page, "view": read_only, "errors": v.NO_ERRORS}
    yield "contact-no-customer", "contact_details.html", {"page": page, "view": None, "errors": v.NO_ERRORS}

    def price(amount: str) -> v.Money:
        return v.Money(Decimal(amount), money.currency)

    settings = v.ContractSettingsView(
        supply_point=ROWS[0],
        contract=v.ContractDetail(
            "2023-001234", "bundled", "direct_debit", "19-2000145399/0800", money, "monthly", True
        ),
        capabilities=frozenset(authz.ALL_CAPABILITIES),
        bounds=v.AdvanceBounds(price("900"), price("3600"), price("1800"), price("21600"), 4200),
    )
    template = "contract_settings.html"
    yield "contract", template, {"page": page, "view": settings, "errors": v.NO_ERRORS}
    wrong = v.FormErrors(fields={"bank_account": (i18n.reason_message("bank_account.format", locale),)})
    typed = replace(settings, posted={"payment": {"payment_method": "direct_debit", "bank_account": "12345"}})
    yield "contract-refused", template, {"page": page, "view": typed, "errors": wrong}
    bounds = {"minimum": "900 CZK", "maximum": "3600 CZK", "proposal": "1800 CZK"}
    too_high = v.FormErrors(fields={"amount": (i18n.reason_message("advance.out_of_bounds", locale, **bounds),)})
    high = replace(settings, posted={"advance": {"amount": "9000"}})
    yield "contract-advance-refused", template, {"page": page, "view": high, "errors": too_high}
    # a supply-only contract's advance is not changed online, and this grant may only change the account
    limited = replace(settings, capabilities=frozenset({authz.BANK_ACCOUNT_WRITE}), bounds=None)
    yield "contract-limited", template, {"page": page, "view": limited, "errors": v.NO_ERRORS}
    read_only_contract = replace(settings, capabilities=frozenset())
    yield "contract-read-only", template, {"page": page, "view": read_only_contract, "errors": v.NO_ERRORS}


def token_samples(page: v.Page, locale: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    token = v.PersonalTokenRow(
        id="7d4f7a52-0a52-4a8e-9d36-5b0e1c8f2a10",
        name="Home Assistant <script>",
        scopes=("supply-points:read", "consumption:read"),
        customer_numbers=(),
        created_at=at,
        expires_at=at + timedelta(days=90),
        last_used_at=at + timedelta(hours=3),
        expired=False,
    )
    expired = replace(
        token,
        id="0b8e2c1d-3f4a-4b5c-8d6e-7f8091a2b3c4",
        name="Old script",
        customer_numbers=("1000987654",),
        expires_at=at - timedelta(days=2),
        last_used_at=None,
        expired=True,
    )
    view = v.TokensView(
        tokens=(token, expired),
        scopes=tuple(authz.SCOPE_CAPABILITIES),
        customers=page.customers,
        max_active=20,
        first_day=date(2026, 12, 1),
        last_day=date(2027, 12, 1),
    )
    template = "personal_tokens.html"
    yield "tokens", template, {"page": page, "view": view, "errors": v.NO_ERRORS}
    created = v.NewPersonalToken(
        "Home Assistant", "ep_pat_" + "A" * 43, at + timedelta(days=30), "http://volta.localhost:8000/api/v1/me"
    )
    yield "tokens-created", template, {"page": page, "view": replace(view, created=created), "errors": v.NO_ERRORS}
    refused = v.FormErrors(
        fields={
            "name": (i18n.reason_message("personal_token.name_taken", locale),),
            "scopes": (i18n.reason_message("personal_token.scopes_required", locale),),
            "customer_numbers": (i18n.reason_message("personal_token.customer_number_unknown", locale),),
            "expires_at": (i18n.reason_message("personal_token.expiry_invalid", locale),),
            "expires_on": (i18n.reason_message("date.invalid", locale),),
        },
        form=i18n.reason_message("personal_token.limit", locale, max=20),
    )
    form = v.TokenForm(name="Home Assistant", expires="date", expires_on="2027-13-01")
    yield "tokens-refused", template, {"page": page, "view": replace(view, form=form), "errors": refused}
    alone = replace(page, customers=page.customers[:1])
    empty = replace(view, tokens=(), customers=alone.customers)
    yield "tokens-none", template, {"page": alone, "view": empty, "errors": v.NO_ERRORS}


def invoice_samples(signed: v.Page) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Invoices and payments: the list with a balance and the next advance, a refused filter, nothing yet; one
    invoice to pay by QR code and one overpaid."""
    page = replace(signed, path="/invoices", nav_active="invoices")
    czk = lambda amount: v.Money(Decimal(amount), "CZK")  # noqa: E731 - a sample's shorthand
    row = v.InvoiceRow(
        id="i-1",
        href="/invoices/i-1",
        number="2026000123",
        kind="regular",
        supply_point="859182400100234567",
        issue_date=date(2026, 11, 5),
        due_date=date(2026, 11, 19),
        total=czk("14820.00"),
        amount_due=czk("1234.00"),
        outstanding=czk("1234.00"),
        status="unpaid",
        overdue=True,
        reminder_level=1,
    )
    overpaid = replace(
        row, id="i-2", number="2025000077", amount_due=czk("-850.00"), status="refund_due", overdue=False
    )
    qr = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><title>2026000123</title></svg>'
    pay = v.PaymentInstructions(
        "19-2000145399/0800",
        "CZ6508000000192000145399",
        "2026000123",
        czk("1234.00"),
        date(2026, 11, 19),
        "SPD*1.0*AM:1234.00",
        qr,
    )
    advance = v.AdvanceRow("859182400100234567", date(2026, 12, 15), czk("1200.00"), czk("1200.00"), "unpaid", False)
    listed = v.InvoicesView(
        rows=(row, overpaid),
        total=2,
        filters={"status": "unpaid"},
        statuses=("unpaid", "overdue", "paid", "refund_due", "refunded"),
        points=(v.RequestPointChoice("p-1", "859182400100234567"), v.RequestPointChoice("p-2", "27ZG600Z0424987D")),
        advances=(advance,),
        next_advance=replace(pay, variable_symbol="5100104711", amount=czk("1200.00")),
        balance=czk("1234.00"),
        overdue=czk("1234.00"),
        disconnection_from=date(2027, 1, 10),
        next_href="/invoices?page=x",
    )
    yield "invoices", "invoices.html", {"page": page, "view": listed}
    yield (
        "invoices-refused",
        "invoices.html",
        {
            "page": page,
            "view": replace(listed, rows=(), total=0, filter_error="Choose a status from the list.", next_href=None),
        },
    )
    yield (
        "invoices-none",
        "invoices.html",
        {
            "page": page,
            "view": v.InvoicesView(rows=(), total=0, filters={}, statuses=(), points=(), balance=czk("-300.00")),
        },
    )
    line = v.InvoiceLineRow(
        "Electricity – high tariff",
        Decimal("2.4"),
        "MWh",
        Decimal("2950"),
        Decimal("7080.00"),
        Decimal("21"),
        Decimal("8566.80"),
    )
    detail = v.InvoiceView(
        row=row,
        variable_symbol="2026000123",
        period_from=date(2025, 11, 1),
        period_to=date(2026, 10, 31),
        commodity="electricity",
        advances=czk("13586.00"),
        rounding=czk("0.20"),
        original_number="",
        lines=(line,),
        vat=(v.VatRow(Decimal("21"), Decimal("7080.00"), Decimal("1486.80"), Decimal("8566.80")),),
        payment=pay,
        pdf_href="/invoices/i-1/pdf",
        isdoc_href="/invoices/i-1/isdoc",
    )
    yield "invoice", "invoice.html", {"page": page, "view": detail}
    yield (
        "invoice-overpaid",
        "invoice.html",
        {
            "page": page,
            "view": replace(detail, row=overpaid, payment=None, original_number="2025000011"),
        },
    )


def request_samples(signed: v.Page, locale: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The customer's request pages and the staff console's, in their main states."""
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    row = v.RequestRow(
        id="r-1",
        type="breaker_change",
        state="waiting_for_customer",
        channel="portal",
        customer_number="1000234567",
        supply_point="859182400100234567",
        created_at=at,
        deadline_at=at + timedelta(days=30),
        overdue=False,
        escalated=False,
        href="/requests/r-1",
    )
    late = replace(row, id="r-2", type="free_text", state="in_progress", channel="phone", supply_point="", overdue=True)
    page = replace(signed, path="/requests", nav_active="requests")
    yield "requests", "requests.html", {"page": page, "view": v.RequestsView((row, late), 2, True, "/requests?page=x")}
    yield "requests-none", "requests.html", {"page": page, "view": v.RequestsView((), 0, False)}
    points = (v.RequestPointChoice("sp-1", "859182400100234567 – Dlouhá 5, 110 00 Praha 1"),)
    fields = (
        v.RequestField("breaker_amps", "choice", True, ("16", "25", "32"), 200, "25"),
        v.RequestField("phases", "choice", True, ("1", "3"), 200),
        v.RequestField("wanted_from", "date", False, (), 200, "2027-01-01"),
        v.RequestField("note", "long_text", False, (), 4000, "Heat pump"),
    )
    new = v.NewRequestView(
        "/requests/new", points, "sp-1", ("breaker_change", "termination"), "breaker_change", fields, 30, "key-1"
    )
    new_page = replace(signed, path="/requests/new", nav_active="requests")
    yield "request-new", "request_new.html", {"page": new_page, "view": new}
    refused = v.FormErrors(
        fields={
            "field_phases": (i18n.reason_message("request.field_required", locale),),
            "attachments": (i18n.reason_message("request.attachment_type", locale),),
        },
        form=i18n.reason_message("forbidden.request_type", locale),
    )
    yield "request-new-refused", "request_new.html", {"page": new_page, "view": replace(new, errors=refused)}
    timeline = (
        v.TimelineRow(at, "submitted", "submitted", "", "user"),
        v.TimelineRow(at + timedelta(hours=2), "ask_customer", "waiting_for_customer", "Which day suits you?", "staff"),
        v.TimelineRow(at + timedelta(hours=3), "comment", "", "Checked the meter box.", "staff", internal=True),
    )
    detail = v.RequestDetailView(
        row,
        (("breaker_amps", "25"), ("phases", "3")),
        timeline,
        ("add_info", "cancel"),
        "/requests/r-1/transition",
        attachments=(v.AttachmentRow("jistic.jpg", "image/jpeg", 123_456, "/requests/r-1/attachments/a-1"),),
    )
    detail_page = replace(signed, path="/requests/r-1", nav_active="requests")
    yield "request", "request.html", {"page": detail_page, "view": detail}
    reason = v.FormErrors(fields={"reason": (i18n.reason_message("request.reason_required", locale),)})
    yield "request-refused", "request.html", {"page": detail_page, "view": replace(detail, errors=reason, actions=())}
    agent = authz.staff_capabilities([authz.CUSTOMER_SERVICE])
    console = replace(signed, customers=(), current_customer=None, nav=staff.nav(agent), nav_active="staff_requests")
    staff_row = replace(row, href="/staff/requests/r-1", assignee="u-1", assignee_name="agent@volta.example")
    yield (
        "staff-request",
        "request.html",
        {
            "page": replace(console, path="/staff/requests/r-1"),
            "view": replace(
                detail,
                request=staff_row,
                actions=("resolve", "reject"),
                staff=True,
                me="u-2",
                errors=v.FormErrors(fields={"text": (i18n.reason_message("request.comment_required", locale),)}),
            ),
        },
    )
    queue = staff.QueueView(
        (staff_row, replace(late, href="/staff/requests/r-2")),
        {"state": "", "type": "", "assigned": "me", "overdue": "yes"},
        "/staff/requests?page=x",
    )
    yield "staff-requests", "staff/requests.html", {"page": replace(console, path="/staff/requests"), "view": queue}
    filing = replace(
        new,
        action="/staff/requests/new",
        customer_number="1000234567",
        channel="phone",
        channels=("phone", "letter", "branch", "email", "portal"),
    )
    new_console = replace(console, path="/staff/requests/new")
    yield "staff-request-new", "staff/request_new.html", {"page": new_console, "view": filing}


def staff_samples(signed: v.Page) -> Iterator[tuple[str, str, dict[str, Any]]]:
    admin = authz.staff_capabilities([authz.TENANT_ADMIN])
    agent = authz.staff_capabilities([authz.CUSTOMER_SERVICE])
    home = replace(signed, path="/staff", nav=staff.nav(admin), nav_active="staff")
    yield (
        "staff-home",
        "staff/home.html",
        {
            "page": home,
            "view": staff.HomeView("admin@volta.example", (staff.ROLES[authz.TENANT_ADMIN],), staff.SECTIONS),
        },
    )
    yield (
        "staff-home-no-sections",
        "staff/home.html",
        {
            "page": replace(home, nav=staff.nav(frozenset())),
            "view": staff.HomeView("x@volta.example", ("auditor",), ()),
        },
    )
    hdo_page = replace(signed, path="/staff/hdo/import", nav=staff.nav(admin), nav_active="staff_hdo")
    form = staff.ImportForm("/staff/hdo/import", 32, staff.FORMATS)
    yield "staff-hdo-import", "staff/hdo_import.html", {"page": hdo_page, "view": staff.ImportView(form)}
    for label, outcome in (
        ("imported", staff.ScheduleResult("dip.json", "cez-dip", 3, ("A3B4DP1", "A3B4DP2"))),
        ("unchanged", staff.ScheduleResult("dip.json", "cez-dip", 3, ())),
        ("refused", staff.Refusal("nt.csv", "Line 3", "24:01 is not a time.")),
        ("outages", staff.OutagesResult("odstavky.json", 4, 1, 1, 1, 1)),
    ):
        yield (
            f"staff-hdo-import-{label}",
            "staff/hdo_import.html",
            {"page": hdo_page, "view": staff.ImportView(form, outcome)},
        )
    payments_page = replace(signed, path="/staff/payments", nav=staff.nav(admin), nav_active="staff_payments")
    queued = staff.QueuedPaymentRow(
        date(2026, 11, 30),
        v.Money(Decimal("1500.00"), "CZK"),
        v.Money(Decimal("500.00"), "CZK"),
        "2026000123",
        "Jana Nováková 19-2000145399/0800",
        "Záloha listopad",
        "overpaid",
        "1001234567",
    )
    for label, outcome, rows in (
        ("queue", None, (queued, replace(queued, status="unmatched", customer_number="", message=""))),
        ("imported", staff.StatementResult("vypis.xml", 120, 117, 3, 0), (queued,)),
        ("refused", staff.Refusal("vypis.gpc", "Line 12", "Unknown record type 099."), ()),
    ):
        yield (
            f"staff-payments-{label}",
            "staff/payments.html",
            {"page": payments_page, "view": staff.PaymentsView(rows, outcome, v.FormErrors(), 32)},
        )
    yield (
        "staff-payments-no-file",
        "staff/payments.html",
        {
            "page": payments_page,
            "view": staff.PaymentsView((), None, v.FormErrors(fields={"file": ("Choose the file to import.",)}), 32),
        },
    )
    errors = v.FormErrors(fields={"file": ("Choose the file to import.",), "valid_from": ("Enter the day.",)})
    yield (
        "staff-hdo-import-errors",
        "staff/hdo_import.html",
        {"page": hdo_page, "view": staff.ImportView(replace(form, chosen_format="csv", valid_from="x", errors=errors))},
    )
    outage = staff.StaffOutageRow(
        "ČEZ Distribuce",
        "110004711",
        datetime(2026, 12, 10, 6, 30, tzinfo=UTC),
        datetime(2026, 12, 10, 13, 0, tzinfo=UTC),
        "Výměna sloupu",
        "planned",
        ("859182400100000016",),
        (
            staff.OutageArea("503 41 Hradec Králové Pražská", 1, 40),
            staff.OutageArea("503 41 Hradec Králové", None, None),
        ),
    )
    outages_page = replace(signed, path="/staff/outages", nav=staff.nav(admin), nav_active="staff_outages")
    upload = staff.ImportView(
        staff.ImportForm("/staff/outages", 32), staff.OutagesResult("odstavky.json", 2, 0, 0, 0, 2)
    )
    yield (
        "staff-outages",
        "staff/outages.html",
        {
            "page": outages_page,
            "view": staff.OutagesView((outage, replace(outage, state="cancelled", reason="")), upload),
        },
    )
    yield (
        "staff-outages-read-only",
        "staff/outages.html",
        {"page": replace(outages_page, nav=staff.nav(agent)), "view": staff.OutagesView((), None)},
    )
    yield from customer_samples(signed, admin, agent)


def customer_samples(
    signed: v.Page, admin: frozenset[str], agent: frozenset[str]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    search_page = replace(signed, path="/staff/customers", nav=staff.nav(agent), nav_active="staff_customers")
    found = staff.CustomerRow(
        "1003456789",
        "Petr Svoboda",
        "petr@mail.example",
        "+420777123456",
        "Havlíčkova 412, 280 02 Kolín",
        1,
        "/staff/customers/1003456789",
    )
    yield (
        "staff-customers",
        "staff/customers.html",
        {
            "page": search_page,
            "view": staff.CustomerSearchView(
                "svoboda",
                (found, replace(found, email="", phone="", address="")),
                True,
                next_href="/staff/customers?q=svoboda&page=x",
            ),
        },
    )
    yield (
        "staff-customers-form",
        "staff/customers.html",
        {"page": search_page, "view": staff.CustomerSearchView("", (), False)},
    )
    yield (
        "staff-customers-none",
        "staff/customers.html",
        {"page": search_page, "view": staff.CustomerSearchView("nikdo", (), True)},
    )
    too_short = v.FormErrors(fields={"q": ("Enter at least 2 characters to search for.",)})
    yield (
        "staff-customers-refused",
        "staff/customers.html",
        {"page": search_page, "view": staff.CustomerSearchView("x", (), False, errors=too_short)},
    )
    point = staff.StaffPointRow(
        "859182400102990174", "electricity", "Havlíčkova 412, 280 02 Kolín", "Volta Domov", "5100209901"
    )
    contract = staff.StaffContractRow("5100209901", "bundled", "bank_transfer", "990.00", "CZK", "monthly", True)
    request = v.RequestRow(
        "r-1",
        "free_text",
        "submitted",
        "phone",
        "1003456789",
        "",
        datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        datetime(2026, 12, 31, 9, 30, tzinfo=UTC),
        False,
        False,
        "/staff/requests/r-1",
    )
    customer = staff.CustomerView(
        "1003456789",
        "Petr Svoboda",
        "person",
        "",
        "petr@mail.example",
        "+420777123456",
        "Havlíčkova 412, 280 02 Kolín",
        "",
        30,
        1,
        (point, replace(point, identifier="27ZG600Z11047115", commodity="gas", contract_number="")),
        (contract,),
        (request, replace(request, state="resolved")),
        "/staff/requests/new?customer=1003456789",
        next_href="/staff/customers/1003456789?page=x",
        first_href="/staff/customers/1003456789",
        more_requests=True,
    )
    customer_page = replace(search_page, path="/staff/customers/1003456789")
    yield "staff-customer", "staff/customer.html", {"page": customer_page, "view": customer}
    yield (
        "staff-customer-empty",
        "staff/customer.html",
        {
            "page": customer_page,
            "view": replace(
                customer,
                kind="business",
                company_id="26188040",
                supply_point_count=0,
                contract_count=0,
                points=(),
                contracts=(),
                requests=(),
                next_href=None,
                first_href=None,
                more_requests=False,
            ),
        },
    )
    audit_page = replace(signed, path="/staff/audit", nav=staff.nav(admin), nav_active="staff_audit")
    filters = {
        "source": "",
        "customer": "1003456789",
        "actor": "",
        "entity": "customer",
        "since": "2026-11-01",
        "until": "",
    }
    logs = (("", "Every log"), ("accounts", "Customers and contracts"), ("requests", "Requests"))
    entry = staff.AuditRow(
        datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        "u-1",
        "staff",
        True,
        "portal",
        "customer",
        "1003456789",
        "contact.changed",
        (("email", "petr.svoboda@mail.example"),),
        (("email", "petr@mail.example"),),
        source="Customers and contracts",
        actor_name="admin@volta.example",
        customer_number="1003456789",
        customer_href="/staff/customers/1003456789",
    )
    yield (
        "staff-audit",
        "staff/audit.html",
        {
            "page": audit_page,
            "view": staff.AuditView(
                filters,
                (
                    entry,
                    replace(entry, me=False, entity_id="", before=(), after=(), actor_name="", customer_number=""),
                ),
                next_href="/staff/audit?page=1",
                sources=logs,
            ),
        },
    )
    bad_day = v.FormErrors(fields={"since": ("Enter the day as YYYY-MM-DD, for example 2026-11-30.",)})
    yield (
        "staff-audit-refused",
        "staff/audit.html",
        {"page": audit_page, "view": staff.AuditView({**filters, "since": "x"}, (), errors=bad_day, sources=logs)},
    )
    catalog_page = replace(signed, path="/staff/catalog", nav=staff.nav(admin), nav_active="staff_catalog")
    card = staff.CatalogCard(
        code="breaker_change",
        capability="Ask for a main circuit breaker change",
        offered=True,
        deadline_days="30",
        position="0",
        contract_types=(
            staff.ContractTypeChoice("bundled", True, True),
            staff.ContractTypeChoice("supply_only", False, False),
        ),
        effective=("bundled",),
        action="/staff/catalog/breaker_change",
    )
    refused_card = replace(
        card,
        code="free_text",
        offered=False,
        deadline_days="0",
        effective=(),
        action="/staff/catalog/free_text",
        errors=v.FormErrors(fields={"deadline_days": ("Enter a deadline from 1 to 365 days.",)}),
    )
    yield (
        "staff-catalog",
        "staff/catalog.html",
        {"page": catalog_page, "view": staff.CatalogView((card, refused_card), 365, 999)},
    )
    matrix_page = replace(signed, path="/staff/matrix", nav=staff.nav(admin), nav_active="staff_matrix")
    columns = tuple((c, v.LABELS["scope"][authz.scope_of(c)]) for c in authz.PER_CONTRACT)
    matrix_rows = (
        staff.MatrixRow("bundled", tuple((c, True) for c in authz.PER_CONTRACT)),
        staff.MatrixRow("supply_only", tuple((c, c != authz.BREAKER_CHANGE_REQUEST) for c in authz.PER_CONTRACT)),
    )
    yield (
        "staff-matrix",
        "staff/matrix.html",
        {"page": matrix_page, "view": staff.MatrixView(columns, matrix_rows, ("See contracts",))},
    )


BRANDS = tuple(v.DEMO_BRANDS.values())


def all_renders(env) -> Iterator[tuple[v.Brand, str, str, str, str]]:
    for brand in BRANDS:
        for locale in LOCALES:
            for label, template, ctx in sample_contexts(brand, locale):
                yield brand, locale, label, template, i18n.render(env, template, locale, **ctx)


# --- a small HTML model for the structural checks -----------------------------------------------------------


class Doc(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.h1 = 0
        self.forms: list[dict[str, Any]] = []
        self.labels_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.inline_script_or_style = False
        self._open: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "h1":
            self.h1 += 1
        if tag in ("script", "style"):
            self.inline_script_or_style = True
        if tag == "form":
            self.forms.append({"attrs": a, "inputs": []})
        if tag == "label" and a.get("for"):
            self.labels_for.add(a["for"] or "")
        if tag in ("input", "select", "textarea"):
            self.controls.append({"tag": tag, **a})
            if self.forms:
                self.forms[-1]["inputs"].append(a)


def _id_unique(doc: Doc) -> list[str]:
    ids = [a["id"] for _, a in doc.tags if a.get("id")]
    return sorted({i for i in ids if ids.count(i) > 1})  # type: ignore[misc]


def test_every_page_template_has_samples() -> None:
    covered = {t for _, t, _ in sample_contexts(BRANDS[0], "en")}
    assert covered == set(PAGE_TEMPLATES)


def test_pages_are_well_formed_and_accessible_in_structure(env) -> None:
    seen = 0
    for brand, locale, label, template, html in all_renders(env):
        where = f"{brand.slug}/{locale}/{label}"
        seen += 1
        assert not re.search(r"\sstyle\s*=", html, re.I), f"{where}: style attribute"
        doc = Doc(html)
        assert not doc.inline_script_or_style, f"{where}: <script> or <style> in a page"
        assert doc.h1 == 1, f"{where}: {doc.h1} h1 elements"
        html_tag = next(a for t, a in doc.tags if t == "html")
        assert html_tag.get("lang") == locale, where
        assert not _id_unique(doc), f"{where}: duplicate ids {_id_unique(doc)}"
        assert any(t == "main" and a.get("id") == "main" for t, a in doc.tags), where
        for form in doc.forms:
            if (form["attrs"].get("method") or "get").lower() == "post":
                assert any(
                    i.get("type") == "hidden" and i.get("name") == "_csrf_token" and i.get("value")
                    for i in form["inputs"]
                ), f"{where}: POST form to {form['attrs'].get('action')} without _csrf_token"
        for control in doc.controls:
            if control.get("type") in ("hidden", "submit", "button"):
                continue
            assert control.get("id") in doc.labels_for or control.get("aria-label"), f"{where}: {control} has no label"
            described = (control.get("aria-describedby") or "").split()
            for ref in described:
                assert f'id="{ref}"' in html, f"{where}: aria-describedby points to missing {ref}"
        if template == "unknown_host.html":
            for b in BRANDS:
                assert b.name not in html and b.slug not in html.replace("unbranded", ""), where
            assert "theme.css" not in html
        else:
            footer = html[html.index("<footer") :]
            for line in (brand.customer_line, brand.outage_line, brand.email, brand.postal_address):
                assert str(line) in footer or str(line).replace("„", "&#34;") in footer, f"{where}: {line}"
    assert seen == len(BRANDS) * len(LOCALES) * sum(1 for _ in sample_contexts(BRANDS[0], "en"))


def test_invalid_fields_are_marked_and_described(env) -> None:
    ctx = dict(next(c for label, _, c in sample_contexts(BRANDS[0], "cs") if label == "register-errors"))
    html = i18n.render(env, "register.html", "cs", **ctx)
    assert 'href="#f-customer_number"' in html and 'href="#f-proof"' in html
    field = re.search(r"<input[^>]*id=\"f-email\"[^>]*>", html)
    assert field and 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="f-email-hint f-email-error"' in field.group(0)
    # the typed values come back, the passwords never do
    assert 'value="1000234567"' in html and "jana@" in html
    assert not re.search(r"type=\"password\"[^>]*value=", html)


def test_capabilities_decide_what_is_shown(env) -> None:
    contexts = {label: c for label, _, c in sample_contexts(BRANDS[0], "en")}
    full = i18n.render(env, "dashboard.html", "en", **contexts["dashboard"])
    limited = i18n.render(env, "dashboard.html", "en", **contexts["dashboard-limited"])
    assert "Submit a meter reading" in full and "Submit a meter reading" not in limited
    assert "Contracts" in full and "Your contracts" not in limited
    assert "customer-switch" in full and "customer-switch" not in limited  # one customer number: no switcher
    detail = i18n.render(env, "supply_point.html", "en", **contexts["supply_point"])
    delegate = i18n.render(env, "supply_point.html", "en", **contexts["supply_point-delegate"])
    assert "19-2000145399/0800" in detail and "19-2000145399/0800" not in delegate
    assert "3 × 25 A" in detail and "A1B4DP6" in detail
    assert "HDO" not in delegate  # gas has no low-tariff signal
    assert 'href="/supply-points/sp-1/hdo"' in detail and "/hdo" not in delegate
    assert 'href="/supply-points/sp-1/hdo"' in full  # the dashboard's low-tariff line
    outage = re.search(r'<section class="card outage-card".*?</section>', full, re.S).group(0)
    assert '<time datetime="2026-12-14T07:00:00+00:00">' in outage and "2 supply points affected" in outage
    assert "badge-changed" in outage and "and 2 more planned outages" in outage


def test_pages_speak_the_locale(env) -> None:
    ctx = {label: c for label, _, c in sample_contexts(BRANDS[2], "bg")}
    bg = i18n.render(env, "dashboard.html", "bg", **ctx["dashboard"])
    assert "Общ преглед" in bg and "Електроенергия" in bg and "1\u00a0850,00\u00a0€" in bg
    ctx = {label: c for label, _, c in sample_contexts(BRANDS[0], "cs")}
    cs = i18n.render(env, "supply_point.html", "cs", **ctx["supply_point"])
    assert "Odběrné místo" in cs and "3\u00a0500\u00a0kWh" in cs and "1\u00a0850,00\u00a0Kč" in cs
    assert re.search(r'<button[^>]*lang="bg"[^>]*>Български</button>', cs)
    assert re.search(r'<button[^>]*lang="cs"[^>]*aria-current="true"[^>]*>Čeština</button>', cs)


def test_theme_stylesheet_only_takes_colours(env) -> None:
    css = i18n.render(env, "theme.css.j2", "en", brand=BRANDS[0])
    assert "--brand-primary: #0b57a4;" in css and "--brand-accent: #f2b705;" in css
    assert "--brand-on-accent: #111827;" in css  # yellow wants dark text
    hostile = replace(BRANDS[0], primary_color="red;}</style><script>", accent_color="#ABC")
    css = i18n.render(env, "theme.css.j2", "en", brand=hostile)
    assert "script" not in css and "--brand-accent: #aabbcc;" in css
    for brand in BRANDS:
        css = i18n.render(env, "theme.css.j2", "en", brand=brand)
        ink = re.search(r"--brand-primary-ink: (#[0-9a-f]{6})", css).group(1)  # type: ignore[union-attr]
        assert i18n.contrast(ink, "#ffffff") >= 4.5


def test_brand_logos_exist_with_a_title() -> None:
    for brand in BRANDS:
        svg = (STATIC_DIR / "brands" / brand.slug / "logo.svg").read_text()
        assert f'<title id="t">{brand.name}</title>' in svg
        assert "style" not in svg and "<script" not in svg


# --- in a real browser --------------------------------------------------------------------------------------

SERIOUS = {"serious", "critical"}


def _chromium() -> str | None:
    for candidate in (os.environ.get("PORTAL_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        from gateway.security import CSP

        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.browser
# every sample in every brand and language, some 850 pages through axe: longer than the suite's 300 s on a busy machine
@pytest.mark.timeout(900)
def test_pages_in_chromium_pass_axe(env, tmp_path: Path) -> None:
    chromium = _chromium()
    if not chromium:
        pytest.skip("no Chromium binary (set PORTAL_CHROMIUM or install Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    axe_mod = pytest.importorskip("axe_playwright_python.sync_playwright")

    # one document root per brand, because each brand's pages link the same /theme.css
    roots: dict[str, Path] = {}
    pages: list[tuple[str, str, str]] = []
    for brand in BRANDS:
        root = tmp_path / brand.slug
        shutil.copytree(STATIC_DIR, root / "static")
        (root / "theme.css").write_text(i18n.render(env, "theme.css.j2", brand.default_locale, brand=brand))
        roots[brand.slug] = root
    for brand, locale, label, _template, html in all_renders(env):
        out = roots[brand.slug] / locale / f"{label}.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
        pages.append((brand.slug, locale, label))

    servers = {slug: _serve(root) for slug, root in roots.items()}
    shots = os.environ.get("PORTAL_SCREENSHOTS")
    failures: list[str] = []
    axe = axe_mod.Axe()
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                tab = context.new_page()
                csp_errors: list[str] = []
                tab.on(
                    "console",
                    lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
                )
                for slug, locale, label in pages:
                    url = f"{servers[slug][1]}/{locale}/{label}.html"
                    response = tab.goto(url)
                    assert response and response.ok, url
                    tab.wait_for_load_state("load")
                    # the stylesheets really applied: a themed page, not unstyled HTML
                    assert tab.evaluate("getComputedStyle(document.body).display") == "flex", url
                    if shots and label in ("landing", "dashboard", "register-errors", "supply_point"):
                        tab.screenshot(path=f"{shots}/{slug}-{locale}-{label}.png", full_page=True)
                    results = axe.run(tab)
                    for violation in results.response["violations"]:
                        if violation.get("impact") in SERIOUS:
                            nodes = "; ".join(n.get("target", [""])[0] for n in violation["nodes"][:3])
                            failures.append(f"{slug}/{locale}/{label}: {violation['id']} ({nodes})")
                    if csp_errors:
                        failures.append(f"{slug}/{locale}/{label}: CSP {csp_errors[:2]}")
                        csp_errors.clear()
                # narrow screen: the header and tables must not overflow the page sideways
                mobile = browser.new_context(viewport={"width": 360, "height": 740})
                phone = mobile.new_page()
                for slug in servers:
                    for label in ("dashboard", "supply_points", "register-errors", "profile-enrol"):
                        phone.goto(f"{servers[slug][1]}/cs/{label}.html")
                        overflow = phone.evaluate(
                            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                        )
                        if overflow > 0:
                            failures.append(f"{slug}/cs/{label}: {overflow}px wider than a 360px screen")
                    if shots:
                        phone.screenshot(path=f"{shots}/{slug}-mobile-dashboard.png", full_page=True)
                # keyboard: the first Tab reaches the skip link, and it moves focus into main
                tab.goto(f"{servers['volta'][1]}/cs/dashboard.html")
                tab.keyboard.press("Tab")
                assert tab.evaluate("document.activeElement.className") == "skip-link"
                tab.keyboard.press("Enter")
                assert tab.evaluate("document.activeElement.id") == "main"
            finally:
                browser.close()
    finally:
        for server, _ in servers.values():
            server.shutdown()
    assert not failures, "\n".join(failures)
