"""The demo data set passes the same rules as real input, and every service derives the same ids from it."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections import Counter
from decimal import Decimal

import pytest
from babel import Locale
from stdnum.bg import vat as bg_vat
from stdnum.cz import dic as cz_dic

from kit import authz, demo
from kit import identifiers as ids

SLUGS = ("volta", "esco", "balkan")


def contrast_with_white(hex_colour: str) -> float:
    """WCAG 2 contrast ratio of white text on the colour."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (luminance + 0.05)


def test_ids_are_pinned() -> None:
    # other services derive these without asking; a changed namespace would split the demo world
    assert demo.DEMO_NAMESPACE == uuid.UUID("6f1c7a52-3d0e-5b8a-9c41-2e7d5f0a9b13")
    assert demo.tenant("volta").id == uuid.uuid5(demo.DEMO_NAMESPACE, "tenant/volta")
    jana_el = demo.supply_points("volta", demo.JANA)[0]
    assert jana_el.id == demo.demo_id("supply_point", "volta", jana_el.identifier)
    assert demo.user("volta", "jana@volta.example").id == demo.demo_id("user", "volta", "jana@volta.example")


def test_tenants() -> None:
    tenants = demo.tenants()
    assert tuple(t.slug for t in tenants) == SLUGS
    hosts = [h for t in tenants for h in t.hosts]
    assert hosts == ["volta.localhost", "esco.localhost", "balkan.localhost"]
    assert not {"localhost", "127.0.0.1"} & set(hosts)
    assert len({t.id for t in tenants}) == 3
    for t in tenants:
        assert t.default_locale in t.locales
        for code in t.locales:
            Locale.parse(code)
        zoneinfo.ZoneInfo(t.time_zone)
        assert t.theme.logo_path == f"/static/brands/{t.slug}/logo.svg"
        for colour in (t.theme.primary_color, t.theme.accent_color):
            assert re.fullmatch(r"#[0-9A-F]{6}", colour)
            assert contrast_with_white(colour) >= 4.5, (t.slug, colour)
        assert ids.email(t.contact_lines.email) == t.contact_lines.email
        ids.phone(t.contact_lines.customer_line)
        ids.phone(t.contact_lines.outage_line)
        assert set(t.features) <= set(demo.FEATURES)
        assert ids.iban(t.collection_iban) == t.collection_iban
        assert ids.postal_code(t.legal_entity.address.postal_code, t.country) == t.legal_entity.address.postal_code
        assert set(t.contract_types) == set(t.permission_matrix)
        assert all(set(caps) <= set(authz.ALL_CAPABILITIES) for caps in t.permission_matrix.values())


def test_tenant_settings() -> None:
    volta, esco, balkan = demo.tenants()
    assert (volta.country, volta.currency, volta.time_zone, volta.default_locale) == (
        "CZ",
        "CZK",
        "Europe/Prague",
        "cs",
    )
    assert volta.locales == ("cs", "en", "bg")
    assert (esco.country, esco.currency, esco.time_zone, esco.default_locale) == (
        "CZ",
        "CZK",
        "Europe/Prague",
        "cs",
    )
    assert (balkan.country, balkan.currency, balkan.time_zone, balkan.default_locale) == (
        "BG",
        "EUR",
        "Europe/Sofia",
        "bg",
    )
    assert balkan.locales == ("bg", "en", "cs")


def test_company_ids() -> None:
    volta, esco, balkan = demo.tenants()
    for t in (volta, esco):
        assert cz_dic.is_valid(t.legal_entity.company_id) and len(t.legal_entity.company_id) == 8
        assert t.legal_entity.vat_id == "CZ" + t.legal_entity.company_id
    assert bg_vat.is_valid(balkan.legal_entity.company_id) and len(balkan.legal_entity.company_id) == 9
    assert balkan.legal_entity.vat_id == "BG" + balkan.legal_entity.company_id
    for c in demo.customers():
        if c.kind == "business":
            assert cz_dic.is_valid(c.company_id) and len(c.company_id) == 8
        else:
            assert c.company_id == ""


def test_esco_supply_only_cannot_request_distribution_changes() -> None:
    matrix = demo.tenant("esco").permission_matrix
    assert set(matrix) == {demo.BUNDLED, demo.SUPPLY_ONLY}
    for cap in (authz.BREAKER_CHANGE_REQUEST, authz.TARIFF_CHANGE_REQUEST):
        assert cap in matrix[demo.BUNDLED]
        assert cap not in matrix[demo.SUPPLY_ONLY]


def test_customers() -> None:
    for slug in SLUGS:
        customers = demo.customers(slug)
        numbers = [c.customer_number for c in customers]
        assert len(set(numbers)) == len(numbers)
        assert sum(not c.has_login for c in customers) == 1, slug
        for c in customers:
            assert ids.customer_number(c.customer_number) == c.customer_number
            assert c.kind in ("person", "business")
            assert ids.email(c.email) == c.email
            assert ids.phone(c.phone) == c.phone
            for a in (c.permanent_address, c.mailing_address):
                assert a.country == demo.tenant(slug).country
                assert ids.postal_code(a.postal_code, a.country) == a.postal_code
                assert a.street and a.house_number and a.city
            assert len(c.authorization_code) == 8
            assert set(c.authorization_code) <= set(demo.AUTHORIZATION_CODE_ALPHABET)
            assert not set("01ILO") & set(demo.AUTHORIZATION_CODE_ALPHABET)
            amount = Decimal(c.last_invoice.amount)
            assert amount > 0 and amount == amount.quantize(Decimal("0.01"))
            assert c.last_invoice.currency == demo.tenant(slug).currency
    codes = [c.authorization_code for c in demo.customers()]
    assert len(set(codes)) == len(codes)


def test_bulgarian_addresses_are_in_cyrillic() -> None:
    for c in demo.customers("balkan"):
        assert re.search("[а-яА-Я]", c.name + c.permanent_address.city + c.permanent_address.street)


def test_supply_points_are_valid_and_unique() -> None:
    for slug in SLUGS:
        tenant = demo.tenant(slug)
        points = demo.supply_points(slug)
        assert len({p.identifier for p in points}) == len(points)
        assert len({p.id for p in points}) == len(points)
        numbers = {c.customer_number for c in demo.customers(slug)}
        for p in points:
            assert ids.supply_point_identifier(p.identifier, p.commodity, tenant.country) == p.identifier
            assert p.customer_number in numbers
            assert p.address.country == tenant.country
            assert ids.postal_code(p.address.postal_code, p.address.country) == p.address.postal_code
            assert p.reading_schedule in demo.READING_SCHEDULES
            assert p.annual_consumption_kwh > 0 and p.meter_number
            if p.commodity == "gas":
                assert (p.breaker_amps, p.phases, p.hdo_code) == (0, 0, "")
            else:
                assert p.phases in (1, 3)
            if p.hdo_code:
                assert p.commodity == "electricity" and re.fullmatch(r"A\dB\dDP\d", p.hdo_code)
                assert p.distribution_tariff in (
                    "D25d",
                    "D26d",
                    "D27d",
                    "D35d",
                    "D45d",
                    "D56d",
                    "D57d",
                    "C25d",
                    "C26d",
                    "C35d",
                    "C45d",
                    "C56d",
                )
            c = p.contract
            assert c.customer_number == p.customer_number and c.tenant_slug == slug
            assert c.contract_type in tenant.permission_matrix
            assert c.currency == tenant.currency
            assert c.payment_method in demo.PAYMENT_METHODS and c.advance_cycle in demo.ADVANCE_CYCLES
            assert c.advance_amount == c.advance_amount.quantize(Decimal("0.01")) and c.advance_amount > 0
            if c.bank_account:
                assert ids.bank_account(c.bank_account) == c.bank_account
        all_meters = [p.meter_number for p in points]
        assert len(set(all_meters)) == len(all_meters)
        contracts = demo.contracts(slug)
        assert len({c.number for c in contracts}) == len(contracts) == len({p.contract.id for p in points})


def test_jana() -> None:
    jana = demo.customer("volta", demo.JANA)
    assert jana.name == "Jana Nováková" and jana.kind == "person"
    electricity, gas = demo.supply_points("volta", demo.JANA)
    assert electricity.commodity == "electricity" and electricity.identifier.startswith("859182400")
    assert (electricity.distribution_tariff, electricity.breaker_amps, electricity.phases) == ("D25d", 25, 3)
    assert electricity.hdo_code == "A3B7DP6"
    assert gas.commodity == "gas" and gas.identifier.startswith("27ZG")


def test_bakery_has_250_supply_points_under_two_numbers() -> None:
    a = demo.supply_points("volta", demo.PEKARNY_A)
    b = demo.supply_points("volta", demo.PEKARNY_B)
    assert (len(a), len(b)) == (180, 70)
    everything = a + b
    kinds = Counter(p.commodity for p in everything)
    assert kinds["electricity"] > 200 and kinds["gas"] > 0
    assert len({p.address.city for p in everything}) >= 10
    assert demo.customer("volta", demo.PEKARNY_A).name == demo.customer("volta", demo.PEKARNY_B).name


def test_esco_has_a_bundled_and_a_supply_only_contract() -> None:
    points = demo.supply_points("esco", demo.TOVARNA)
    types = Counter(p.contract.contract_type for p in points)
    assert types[demo.BUNDLED] >= 1 and types[demo.SUPPLY_ONLY] >= 1
    assert {c.contract_type for c in demo.contracts("esco", demo.TOVARNA)} == {demo.BUNDLED, demo.SUPPLY_ONLY}


def test_balkan_household() -> None:
    ivan = demo.customer("balkan", demo.IVAN)
    assert ivan.name == "Иван Петров"
    (point,) = demo.supply_points("balkan", demo.IVAN)
    assert point.identifier.startswith("32Z") and ids.eic(point.identifier) == point.identifier
    assert point.contract.currency == "EUR"


def test_users() -> None:
    emails = {(u.tenant_slug, u.email) for u in demo.users()}
    assert {
        ("volta", "jana@volta.example"),
        ("volta", "firma@volta.example"),
        ("esco", "tovarna@esco.example"),
        ("balkan", "ivan@balkan.example"),
        ("volta", "agent@volta.example"),
        ("volta", "admin@volta.example"),
    } <= emails
    assert demo.DEMO_PASSWORD == "Demo-Portal-2026"
    assert demo.user("volta", "agent@volta.example").staff_roles == (demo.CUSTOMER_SERVICE,)
    assert demo.user("volta", "admin@volta.example").staff_roles == (demo.TENANT_ADMIN,)
    firma = demo.user("volta", "firma@volta.example")
    assert {g.customer_number for g in firma.grants} == {demo.PEKARNY_A, demo.PEKARNY_B}
    assert all(g.role == authz.OWNER for g in firma.grants)
    assert demo.user("balkan", "ivan@balkan.example").locale == "bg"


def test_grants_cover_only_customers_with_a_login() -> None:
    for u in demo.users():
        assert (u.kind == demo.STAFF) == bool(u.staff_roles)
        if u.kind == demo.STAFF:
            assert u.grants == ()
        for g in u.grants:
            customer = demo.customer(u.tenant_slug, g.customer_number)
            assert customer.has_login
            grant = g.as_grant()
            assert authz.visible_customer_numbers([grant], _now()) == {g.customer_number}
    with_login = {(c.tenant_slug, c.customer_number) for c in demo.customers() if c.has_login}
    granted = {(u.tenant_slug, g.customer_number) for u in demo.users() for g in u.grants if g.role == authz.OWNER}
    assert with_login == granted
    grant_ids = [g.id for u in demo.users() for g in u.grants]
    assert len(set(grant_ids)) == len(grant_ids)


def test_the_delegate_sees_a_subset_until_expiry() -> None:
    (grant,) = demo.user("volta", "ucetni@volta.example").grants
    assert grant.role == authz.DELEGATE and grant.expires_at is not None
    own = {str(p.id) for p in demo.supply_points("volta", demo.PEKARNY_A)}
    assert grant.supply_point_ids and grant.supply_point_ids < own
    point = next(p for p in demo.supply_points("volta", demo.PEKARNY_A) if str(p.id) in grant.supply_point_ids)
    matrix = demo.tenant("volta").permission_matrix
    got = authz.effective_capabilities(
        [grant.as_grant()], demo.PEKARNY_A, str(point.id), point.contract.contract_type, matrix, _now()
    )
    assert authz.INVOICES_READ in got and authz.READINGS_WRITE not in got


def test_oauth_clients() -> None:
    clients = demo.oauth_clients()
    assert len(clients) == 2 * len(SLUGS)
    for slug in SLUGS:
        by_id = {c.client_id: c for c in demo.oauth_clients(slug)}
        cli, web = by_id[demo.CLI_CLIENT_ID], by_id[demo.WEB_CLIENT_ID]
        assert cli.public and cli.require_pkce and cli.token_endpoint_auth_method == "none"
        assert set(cli.redirect_uris) == {"http://127.0.0.1/callback", "http://localhost/callback"}
        assert cli.redirect_any_port
        assert set(cli.scopes) == {
            "openid",
            "profile",
            "email",
            "offline_access",
            "supply-points:read",
            "contracts:read",
            "consumption:read",
            "invoices:read",
            "payments:read",
        }
        assert not (set(cli.scopes) - {"openid", "profile", "email", "offline_access"}) - set(authz.SCOPE_CAPABILITIES)
        assert not web.public and web.first_party
        for host in demo.tenant(slug).hosts:
            assert f"https://{host}/auth/callback" in web.redirect_uris
    assert len({c.id for c in clients}) == len(clients)


def test_accessors() -> None:
    assert len(demo.customers()) == sum(len(demo.customers(s)) for s in SLUGS)
    assert len(demo.supply_points()) == sum(len(demo.supply_points(s)) for s in SLUGS)
    assert demo.supply_points("esco", demo.JANA) == ()
    with pytest.raises(KeyError):
        demo.tenant("nope")
    with pytest.raises(KeyError):
        demo.customer("balkan", demo.JANA)


def test_make_identifiers() -> None:
    assert demo.make_ean(12345678) == "859182400123456789"
    assert ids.eic(demo.make_eic("27ZG600Z", 424987, 7)) == "27ZG600Z0424987D"


def _now():
    from datetime import UTC, datetime

    return datetime(2026, 11, 22, tzinfo=UTC)
