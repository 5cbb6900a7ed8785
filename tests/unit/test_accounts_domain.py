"""Pure rules of the accounts service."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit import demo
from kit.errors import DomainError
from services.accounts import domain

KEY = b"k" * 32


def reason_of(fn, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as exc:
        fn(*args, **kwargs)
    return exc.value.reason


# --- tenant by host --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("volta.localhost", "volta.localhost"),
        ("Volta.LocalHost", "volta.localhost"),
        ("volta.localhost:8000", "volta.localhost"),
        ("volta.localhost.", "volta.localhost"),
        ("volta.localhost.:443", "volta.localhost"),
        ("  esco.localhost ", "esco.localhost"),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
    ],
)
def test_normalise_host(header: str, host: str) -> None:
    assert domain.normalise_host(header) == host


@pytest.mark.parametrize(
    "header",
    [
        "",
        " ",
        ":8000",
        ".",
        "volta..localhost",
        "volta.localhost:",
        "volta.localhost:99999",
        "volta.localhost:80a",
        "volta localhost",
        "volta_x.localhost",
        "-volta.localhost",
        "volta-.localhost",
        "vólta.localhost",
        "volta.localhost/evil",
        "user@volta.localhost",
        "[::1",
        "[zz]:80",
        "[::1]x",
        "a" * 64 + ".localhost",
        "volta.localhost:80:80",
    ],
)
def test_garbage_hosts_are_refused(header: str) -> None:
    assert reason_of(domain.normalise_host, header) == "host.invalid"


def test_every_demo_host_normalises_to_itself() -> None:
    for tenant in demo.tenants():
        for host in tenant.hosts:
            assert domain.normalise_host(host.upper() + ":8443") == host


# --- supply-point search ---------------------------------------------------------------------------------


def test_search_query_parsing() -> None:
    assert domain.parse_search("") == domain.SearchQuery("", "", "")
    assert not domain.parse_search("   ")
    q = domain.parse_search(" 8591 8240 0102 ")
    assert (q.text, q.identifier_prefix, q.postal_code) == ("859182400102", "859182400102", "")
    q = domain.parse_search("266 01")
    assert (q.text, q.identifier_prefix, q.postal_code) == ("26601", "26601", "26601")
    q = domain.parse_search("27zg600")
    assert (q.text, q.identifier_prefix) == ("27zg600", "27ZG600")
    q = domain.parse_search("  Na\u00a0Příkopě   12 ")
    assert (q.text, q.identifier_prefix, q.postal_code) == ("Na Příkopě 12", "", "")
    assert domain.parse_search("100%_\\").text == "100"
    assert domain.parse_search("a\x00b").text == "ab"
    assert domain.search_text("  Beroun ") == "Beroun"
    assert reason_of(domain.parse_search, "x" * 101) == "query.too_long"


POINT = {"identifier": "859182400102345677", "city": "Beroun", "street": "Plzeňská", "postal_code": "266 01"}


@pytest.mark.parametrize(
    ("query", "hit"),
    [
        ("", True),
        ("8591 8240 0102", True),
        ("859182400102345677", True),
        ("102345677", False),  # identifiers match from the start only
        ("beroun", True),
        ("BER", True),
        ("plzeň", True),
        ("266 01", True),
        ("26601", True),
        ("266", True),
        ("Kolín", False),
        ("27ZG", False),
    ],
)
def test_matches_search(query: str, hit: bool) -> None:
    assert domain.matches_search(domain.parse_search(query), **POINT) is hit


def test_search_finds_demo_points_by_city() -> None:
    points = demo.supply_points("volta", demo.PEKARNY_A)
    query = domain.parse_search("olomouc")
    found = [
        p
        for p in points
        if domain.matches_search(
            query,
            identifier=p.identifier,
            city=p.address.city,
            street=p.address.street,
            postal_code=p.address.postal_code,
        )
    ]
    assert found and all(p.address.city == "Olomouc" for p in found)


# --- page tokens -----------------------------------------------------------------------------------------


@given(st.text(max_size=100))
def test_page_token_round_trip(key: str) -> None:
    token = domain.encode_page_token(key)
    assert "=" not in token and "+" not in token and "/" not in token
    assert domain.decode_page_token(token) == key


def test_page_token_is_opaque() -> None:
    assert "859182400" not in domain.encode_page_token("859182400102345677")


@given(st.text(min_size=1, max_size=40), st.data())
def test_a_tampered_token_is_refused(key: str, data: st.DataObject) -> None:
    token = domain.encode_page_token(key)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert reason_of(domain.decode_page_token, tampered) == "page_token.invalid"


@pytest.mark.parametrize(
    "token", ["", "!!!!", "a", "abc", "é", "A" * 600, base64.urlsafe_b64encode(b"\x01abc").decode()]
)
def test_garbage_tokens_are_refused(token: str) -> None:
    assert reason_of(domain.decode_page_token, token) == "page_token.invalid"


def test_forged_key_needs_the_checksum() -> None:
    payload = b"\x01" + b"zzz"
    forged = base64.urlsafe_b64encode(payload + b"\x00" * 8).rstrip(b"=").decode()
    assert reason_of(domain.decode_page_token, forged) == "page_token.invalid"


# --- registration proof ----------------------------------------------------------------------------------


def record(code: str = "JN7K4QXP", number: str = "2026104711", amount: Decimal | None = Decimal("1234.50")):
    return domain.ProofRecord(
        authorization_code_hash=domain.hash_authorization_code(code, KEY) if code else "",
        last_invoice_number=number,
        last_invoice_amount=amount,
    )


@pytest.mark.parametrize("given_code", ["JN7K4QXP", "jn7k4qxp", " JN7K-4QXP ", "JN7K 4QXP"])
def test_authorization_code_matches(given_code: str) -> None:
    assert domain.proof_matches(record(), KEY, authorization_code=given_code)


@pytest.mark.parametrize("given_code", ["JN7K4QXQ", "", "   ", "JN7K4QX", "JN7K4QXPP"])
def test_wrong_authorization_code(given_code: str) -> None:
    assert not domain.proof_matches(record(), KEY, authorization_code=given_code)


def test_code_hash_is_keyed() -> None:
    assert domain.hash_authorization_code("JN7K4QXP", KEY) != domain.hash_authorization_code("JN7K4QXP", b"other")
    assert not domain.proof_matches(record(), b"other", authorization_code="JN7K4QXP")
    assert not domain.proof_matches(record(code=""), KEY, authorization_code="")


@pytest.mark.parametrize(
    "amount",
    ["1234.50", "1234.5", "1 234,50", "1\u00a0234,50", "1.234,50", "1,234.50", "1 234,50 Kč", "CZK 1234.50"],
)
def test_invoice_proof_matches_however_the_amount_is_written(amount: str) -> None:
    assert domain.proof_matches(record(), KEY, invoice_number="2026104711", amount=amount)
    assert domain.proof_matches(record(), KEY, invoice_number=" 2026 104711 ", amount=amount)


@pytest.mark.parametrize(
    ("number", "amount"),
    [
        ("2026104711", "1234.51"),
        ("2026104711", "1234"),
        ("2026104712", "1234.50"),
        ("", "1234.50"),
        ("2026104711", ""),
        ("2026104711", "abc"),
        ("2026104711", "1234.500"),
        ("2026104711", "-1234.50"),
    ],
)
def test_wrong_invoice_proof(number: str, amount: str) -> None:
    assert not domain.proof_matches(record(), KEY, invoice_number=number, amount=amount)


def test_proof_needs_exactly_one_complete_kind() -> None:
    r = record()
    assert not domain.proof_matches(r, KEY)
    assert not domain.proof_matches(r, KEY, invoice_number="2026104711")
    assert not domain.proof_matches(r, KEY, amount="1234.50")
    assert not domain.proof_matches(
        r, KEY, authorization_code="JN7K4QXP", invoice_number="2026104711", amount="1234.50"
    )


def test_no_stored_invoice_never_matches() -> None:
    assert not domain.proof_matches(record(number="", amount=None), KEY, invoice_number="", amount="0")


def test_demo_customers_prove_with_their_printed_data() -> None:
    for c in demo.customers():
        r = domain.ProofRecord(
            domain.hash_authorization_code(c.authorization_code, KEY),
            c.last_invoice.number,
            Decimal(c.last_invoice.amount),
        )
        assert domain.proof_matches(r, KEY, authorization_code=c.authorization_code.lower())
        assert domain.proof_matches(r, KEY, invoice_number=c.last_invoice.number, amount=c.last_invoice.amount)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 234,50", Decimal("1234.50")),
        ("1234.5", Decimal("1234.5")),
        ("1234.50", Decimal("1234.50")),
        ("1,234", Decimal("1234")),
        ("1.234.567,89", Decimal("1234567.89")),
        ("64,35 €", Decimal("64.35")),
        ("38,90 лв.", Decimal("38.90")),
        ("0,5", Decimal("0.5")),
        ("-12,50", Decimal("-12.50")),
        ("1,2,3", None),
        ("1,234,56", None),
        ("1.2345", None),
        (",50", None),
        ("12 Kč 50", None),
        ("", None),
        ("NaN", None),
        ("1e3", None),
    ],
)
def test_parse_amount(text: str, value: Decimal | None) -> None:
    assert domain.parse_amount(text) == value


@given(st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False))
def test_amount_round_trips_in_czech_and_english_formats(amount: Decimal) -> None:
    from babel.numbers import format_decimal

    for locale in ("cs", "en", "bg"):
        assert domain.parse_amount(format_decimal(amount, format="#,##0.00", locale=locale)) == amount
    assert domain.parse_amount(str(amount)) == amount


# --- contact data ----------------------------------------------------------------------------------------


def test_validate_contact() -> None:
    assert domain.validate_contact(" Jana@Volta.EXAMPLE ", "+420 601 234 567") == (
        "Jana@volta.example",
        "+420601234567",
    )
    assert domain.validate_contact("jana@volta.example", "") == ("jana@volta.example", "")
    assert domain.validate_contact("", "601234567") == ("", "601234567")
    assert reason_of(domain.validate_contact, "", " ") == "contact.required"
    assert reason_of(domain.validate_contact, "jana@", "") == "email.invalid"
    assert reason_of(domain.validate_contact, "jana@volta.example", "12") == "phone.invalid"


def test_contact_errors_name_the_field() -> None:
    with pytest.raises(DomainError) as exc:
        domain.validate_contact("jana@volta.example", "abc")
    assert exc.value.field == "phone"


def test_validate_address() -> None:
    assert domain.validate_address(
        street=" Plzeňská ", house_number="1187", city="Beroun", postal_code="26601", country="cz"
    ) == {
        "street": "Plzeňská",
        "house_number": "1187",
        "city": "Beroun",
        "postal_code": "266 01",
        "country": "CZ",
    }
    assert (
        reason_of(
            domain.validate_address,
            street="",
            house_number="1",
            city="Beroun",
            postal_code="26601",
            country="CZ",
        )
        == "required"
    )
    assert (
        reason_of(
            domain.validate_address,
            street="x",
            house_number="1",
            city="София",
            postal_code="26601",
            country="BG",
        )
        == "postal_code.invalid"
    )
    assert (
        reason_of(
            domain.validate_address,
            street="x",
            house_number="1",
            city="x",
            postal_code="1000",
            country="Bulgaria",
        )
        == "country.invalid"
    )


# --- staff customer search -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "words", "prefix", "digits"),
    [
        ("  Jana   Nováková ", ("Jana", "Nováková"), "", ""),
        # an EAN or a postal code in groups is one run of digits: a prefix, and digits a phone number could contain
        ("8591 8240 01", ("8591824001",), "8591824001", "8591824001"),
        ("27zg600z", ("27zg600z",), "27ZG600Z", ""),
        # a phone number written any way: its digits, without an international 00
        ("+420 (777) 123-456", ("+420", "(777)", "123-456"), "", "420777123456"),
        ("00420777123456", ("00420777123456",), "00420777123456", "420777123456"),
        # too few digits to look for in phone numbers
        ("12", ("12",), "12", ""),
        # LIKE wildcards cannot widen the search
        ("50%_x", ("50x",), "50X", ""),
        ("jana@volta.example", ("jana@volta.example",), "", ""),
    ],
)
def test_a_customer_query_is_read_for_each_kind_of_match(query, words, prefix, digits):
    assert domain.parse_customer_query(query) == domain.CustomerQuery(words, prefix, digits)


@pytest.mark.parametrize("query", ["", "   ", "x", "%_"])
def test_a_customer_query_needs_two_characters(query):
    assert reason_of(domain.parse_customer_query, query) == "customer_search.too_short"
