"""Identifier rules from standards/README.md, with the examples given there and property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum.cz import bankaccount as stdnum_bankaccount

from kit import identifiers as ids
from kit.errors import DomainError
from kit.identifiers import InvalidIdentifier


def code_of(fn, *args, **kwargs) -> str:
    with pytest.raises(InvalidIdentifier) as exc:
        fn(*args, **kwargs)
    return exc.value.code


# --- EAN ---------------------------------------------------------------------------------------------


def test_ean_examples_from_the_standards() -> None:
    assert ids.ean("859182400123456789") == "859182400123456789"
    assert code_of(ids.ean, "859182400123456784") == "ean.check_digit"


def test_ean_is_typed_in_groups() -> None:
    assert ids.ean(" 8591824 00123 456789 ") == "859182400123456789"
    assert ids.ean("859182400\u00a0123456789") == "859182400123456789"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("85918240012345678", "ean.length"),
        ("8591824001234567890", "ean.length"),
        ("859182500123456789", "ean.prefix"),
        ("85918240012345678X", "ean.format"),
        ("８５９１８２４００１２３４５６７８９", "ean.format"),
    ],
)
def test_ean_refusals(value: str, code: str) -> None:
    assert code_of(ids.ean, value) == code


def test_refusal_is_a_domain_error_with_field_and_message() -> None:
    with pytest.raises(DomainError) as exc:
        ids.ean("859182400123456784", field="identifier")
    assert exc.value.reason == "ean.check_digit"
    assert exc.value.field == "identifier"
    assert str(exc.value) == ids.MESSAGES["ean.check_digit"]


bodies = st.text(alphabet="0123456789", min_size=8, max_size=8).map(lambda s: ids.EAN_PREFIX + s)


@given(bodies)
def test_any_body_with_its_check_digit_is_valid(body: str) -> None:
    code = body + ids.ean_check_digit(body)
    assert ids.ean(code) == code


@given(bodies, st.integers(min_value=1, max_value=9))
def test_changing_the_check_digit_fails(body: str, shift: int) -> None:
    check = ids.ean_check_digit(body)
    wrong = str((int(check) + shift) % 10)
    assert code_of(ids.ean, body + wrong) == "ean.check_digit"


@given(bodies, st.integers(min_value=9, max_value=16), st.integers(min_value=1, max_value=9))
def test_a_single_wrong_data_digit_is_caught(body: str, position: int, shift: int) -> None:
    code = body + ids.ean_check_digit(body)
    typo = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1 :]
    assert code_of(ids.ean, typo) == "ean.check_digit"


# --- EIC ---------------------------------------------------------------------------------------------


def test_eic_example_from_the_standards() -> None:
    assert ids.eic("27ZG600Z0424987D") == "27ZG600Z0424987D"
    assert ids.eic(" 27zg600z0424987d ") == "27ZG600Z0424987D"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("27ZG600Z0424987E", "eic.check_char"),
        ("27ZG600Z0424987", "eic.format"),
        ("27ZG600Z0424987DD", "eic.format"),
        ("27ZG600Z04249_7D", "eic.format"),
        ("27ZG600Z042498D-", "eic.format"),
        ("", "required"),
    ],
)
def test_eic_refusals(value: str, code: str) -> None:
    assert code_of(ids.eic, value) == code


def test_eic_check_is_the_entsoe_one_not_iso7064() -> None:
    from stdnum.iso7064 import mod_37_36

    body = "27ZG600Z0424987"
    assert ids.eic_check_char(body) == "D"
    assert mod_37_36.calc_check_digit(body) != "D"


eic_bodies = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=15, max_size=15)


@given(eic_bodies)
def test_any_eic_body_with_its_check_char_is_valid(body: str) -> None:
    check = ids.eic_check_char(body)
    if check == "-":
        assert code_of(ids.eic, body + check) == "eic.format"
    else:
        assert ids.eic(body + check) == body + check


# --- supply point identifier by commodity and country -------------------------------------------------


def test_supply_point_identifier_dispatch() -> None:
    bg_el = "32Z140" + "000710001"
    bg_el += ids.eic_check_char(bg_el)
    bg_gas = "58Z000000000123"
    bg_gas += ids.eic_check_char(bg_gas)
    assert ids.supply_point_identifier("859182400123456789", "electricity") == "859182400123456789"
    assert ids.supply_point_identifier("27ZG600Z0424987D", "gas", "cz") == "27ZG600Z0424987D"
    assert ids.supply_point_identifier(bg_el, "electricity", "BG") == bg_el
    assert ids.supply_point_identifier(bg_gas, "gas", "BG") == bg_gas
    assert code_of(ids.supply_point_identifier, "27ZG600Z0424987D", "electricity", "CZ") == "ean.format"
    assert code_of(ids.supply_point_identifier, bg_el, "gas", "CZ") == "eic.prefix"
    assert code_of(ids.supply_point_identifier, "27ZG600Z0424987D", "electricity", "BG") == "eic.prefix"
    assert code_of(ids.supply_point_identifier, "27ZG600Z0424987D", "water", "CZ") == "commodity.invalid"
    assert code_of(ids.supply_point_identifier, "27ZG600Z0424987D", "gas", "DE") == "country.unsupported"


# --- Czech bank accounts and IBAN -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("19-2000145399/0800", "19-2000145399/0800"),
        ("000019-2000145399/0800", "19-2000145399/0800"),
        ("2900184713/2010", "2900184713/2010"),
        ("0000000035-2900184713/0800".lstrip("0"), "35-2900184713/0800"),
        (" 670100238 / 0600 ", "670100238/0600"),
        ("000000-0670100238/0600", "670100238/0600"),
    ],
)
def test_czech_bank_account_valid(value: str, normalised: str) -> None:
    assert ids.czech_bank_account(value) == normalised
    # agrees with stdnum on what stdnum checks
    assert stdnum_bankaccount.is_valid(normalised)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2000145399", "bank_account.format"),
        ("1234567-2000145399/0800", "bank_account.format"),
        ("19-12345678901/0800", "bank_account.format"),
        ("19-2000145399/800", "bank_account.format"),
        ("1/0800", "bank_account.format"),
        ("19-2000145398/0800", "bank_account.checksum"),
        ("18-2000145399/0800", "bank_account.checksum"),
        ("19-2000145399/0000", "bank_account.bank_code"),
        ("", "required"),
    ],
)
def test_czech_bank_account_refusals(value: str, code: str) -> None:
    assert code_of(ids.czech_bank_account, value) == code


def test_number_of_zeros_is_refused_though_stdnum_accepts_it() -> None:
    assert stdnum_bankaccount.is_valid("0000000000/0800")
    assert code_of(ids.czech_bank_account, "0000000000/0800") == "bank_account.format"
    assert code_of(ids.czech_bank_account, "00/0800") == "bank_account.format"


@given(st.integers(min_value=10, max_value=9_999_999_999))
def test_mod11_agrees_with_stdnum(number: int) -> None:
    account = f"{number}/0100"
    ours = True
    try:
        ids.czech_bank_account(account)
    except InvalidIdentifier:
        ours = False
    assert ours == stdnum_bankaccount.is_valid(account)


def test_iban_and_czech_iban() -> None:
    assert ids.czech_iban("19-2000145399/0800") == "CZ6508000000192000145399"
    assert ids.iban("CZ65 0800 0000 1920 0014 5399") == "CZ6508000000192000145399"
    assert ids.iban("bg80bnbg96611020345678") == "BG80BNBG96611020345678"
    assert ids.format_iban("CZ6508000000192000145399") == "CZ65 0800 0000 1920 0014 5399"
    assert code_of(ids.iban, "CZ6608000000192000145399") == "iban.invalid"


def test_czech_iban_applies_the_mod11_check_stdnum_skips() -> None:
    bban = "0800" + "000019" + "2000145398"
    bad = "CZ" + stdnum_iban.calc_check_digits("CZ00" + bban) + bban
    assert stdnum_iban.is_valid(bad)
    assert code_of(ids.iban, bad) == "bank_account.checksum"
    zeros = "0800" + "000000" + "0000000000"
    assert code_of(ids.iban, "CZ" + stdnum_iban.calc_check_digits("CZ00" + zeros) + zeros) == "bank_account.format"


def test_bank_account_accepts_either_form() -> None:
    assert ids.bank_account("19-2000145399/0800") == "19-2000145399/0800"
    assert ids.bank_account("CZ65 0800 0000 1920 0014 5399") == "CZ6508000000192000145399"


# --- contact data -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("jana@volta.example", "jana@volta.example"),
        ("  Jana.Novakova+portal@Volta.EXAMPLE ", "Jana.Novakova+portal@volta.example"),
        ("x@příklad.cz", "x@xn--pklad-zsa96e.cz"),
    ],
)
def test_email_valid(value: str, normalised: str) -> None:
    assert ids.email(value) == normalised


@pytest.mark.parametrize(
    "value",
    [
        "jana",
        "jana@",
        "@volta.example",
        "jana@volta",
        "jana@@volta.example",
        "ja na@volta.example",
        "jana.@volta.example",
        "jana..n@volta.example",
        "jana@-volta.example",
        "jana@volta..example",
        "jana@volta.example.",
        "jana@1.2.3.4",
    ],
)
def test_email_invalid(value: str) -> None:
    assert code_of(ids.email, value) == "email.invalid"


def test_email_length() -> None:
    domain = ".".join(["b" * 60] * 3) + "." + "c" * 6 + ".cz"
    longest = "a" * (254 - len(domain) - 1) + "@" + domain
    assert len(longest) == 254 and ids.email(longest) == longest
    assert code_of(ids.email, "a" + longest) == "too_long"


@pytest.mark.parametrize(
    ("value", "country", "normalised"),
    [
        ("26601", "CZ", "266 01"),
        ("266 01", "cz", "266 01"),
        ("1000", "BG", "1000"),
        ("sw1a 1aa", "GB", "SW1A 1AA"),
    ],
)
def test_postal_code_valid(value: str, country: str, normalised: str) -> None:
    assert ids.postal_code(value, country) == normalised


@pytest.mark.parametrize(
    ("value", "country"), [("2660", "CZ"), ("866 01", "CZ"), ("2660a", "CZ"), ("10000", "BG"), ("0100", "BG")]
)
def test_postal_code_invalid(value: str, country: str) -> None:
    assert code_of(ids.postal_code, value, country) == "postal_code.invalid"


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("+420 601 234 567", "+420601234567"),
        ("601234567", "601234567"),
        ("+359 88 712 3456", "+359887123456"),
    ],
)
def test_phone_valid(value: str, normalised: str) -> None:
    assert ids.phone(value) == normalised


@pytest.mark.parametrize("value", ["12345678", "+1234567890123456", "601-234-567", "++420601234567", "tel 601234567"])
def test_phone_invalid(value: str) -> None:
    assert code_of(ids.phone, value) == "phone.invalid"


def test_bounded_text() -> None:
    assert ids.bounded_text("  Na Příkopě  ", "street", 20) == "Na Příkopě"
    assert ids.bounded_text("", "note", 20) == ""
    assert code_of(ids.bounded_text, " ", "street", 20, required=True) == "required"
    assert code_of(ids.bounded_text, "x" * 21, "street", 20) == "too_long"
    assert code_of(ids.bounded_text, "a\x00b", "street", 20) == "text.invalid"
    assert ids.bounded_text("line 1\nline 2", "note", 20) == "line 1\nline 2"


@pytest.mark.parametrize(
    ("value", "ok"),
    [("100123", True), ("123456789012", True), ("12345", False), ("1234567890123", False), ("12a456", False)],
)
def test_customer_number(value: str, ok: bool) -> None:
    if ok:
        assert ids.customer_number(value) == value
    else:
        assert code_of(ids.customer_number, value) == "customer_number.invalid"


def test_every_code_raised_has_a_message() -> None:
    import inspect
    import re

    source = inspect.getsource(ids)
    raised = set(re.findall(r'InvalidIdentifier\("([a-z_.]+)"', source))
    assert raised <= set(ids.MESSAGES)
