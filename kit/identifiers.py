"""Validated identifiers: pure functions that return the normalised value or raise `InvalidIdentifier`.

Every refusal carries a stable `code` (the reason the gateway translates) and the `field` at fault.
`MESSAGES` holds the English text per code, which doubles as the gettext msgid; nothing here formats a
message for a user. The rules follow `standards/README.md` ("Identifier rules"); python-stdnum does the
arithmetic where it covers it.
"""

from __future__ import annotations

import re
import unicodedata

from stdnum import ean as _gs1
from stdnum import iban as _iban
from stdnum import numdb
from stdnum.eu import eic as _eic
from stdnum.exceptions import ValidationError

from kit.errors import DomainError

MESSAGES: dict[str, str] = {
    "required": "This field is required.",
    "too_long": "This value is too long.",
    "text.invalid": "This text contains characters that are not allowed.",
    "ean.format": "An EAN consists of digits only.",
    "ean.length": "An EAN has 18 digits.",
    "ean.prefix": "A Czech supply point EAN starts with 859182400.",
    "ean.check_digit": "This EAN has a wrong check digit; please check for a typo.",
    "eic.format": "An EIC has 16 characters: digits, capital letters and hyphens.",
    "eic.prefix": "This EIC does not belong to a supply point of this kind.",
    "eic.check_char": "This EIC has a wrong check character; please check for a typo.",
    "commodity.invalid": "Unknown commodity.",
    "country.unsupported": "Supply points in this country are not supported.",
    "country.invalid": "Enter the country as a two-letter code.",
    "bank_account.format": "Enter the account as [prefix-]number/bank code, e.g. 19-2000145399/0800.",
    "bank_account.checksum": "This account number is not valid; please check for a typo.",
    "bank_account.bank_code": "Unknown bank code.",
    "iban.invalid": "This IBAN is not valid.",
    "email.invalid": "This e-mail address is not valid.",
    "postal_code.invalid": "This postal code is not valid.",
    "phone.invalid": "Enter a phone number with 9 to 15 digits, optionally starting with +.",
    "phone.country": "Enter the phone number with its country code, starting with +.",
    "customer_number.invalid": "A customer number has 6 to 12 digits.",
}

ELECTRICITY = "electricity"
GAS = "gas"
COMMODITIES = (ELECTRICITY, GAS)

EAN_PREFIX = "859182400"
EAN_LENGTH = 18
EIC_LENGTH = 16
EMAIL_MAX = 254
# which EIC prefixes a supply point of a country and commodity carries (Czech electricity uses EAN instead)
EIC_PREFIXES: dict[tuple[str, str], tuple[str, ...]] = {
    ("CZ", GAS): ("27ZG",),
    ("BG", ELECTRICITY): ("32",),
    ("BG", GAS): ("58",),
}

_MOD11_WEIGHTS = (6, 3, 7, 9, 10, 5, 8, 4, 2, 1)
_CZ_ACCOUNT = re.compile(r"(?:(?P<prefix>[0-9]{1,6})-)?(?P<number>[0-9]{2,10})/(?P<bank>[0-9]{4})")
_EIC = re.compile(r"[0-9A-Z-]{15}[0-9A-Z]")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PHONE = re.compile(r"\+?[0-9]{9,15}")
_POSTAL_OTHER = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,9}")


class InvalidIdentifier(DomainError):
    """A value failed its rule; a `DomainError`, so a service can let it through to the caller unchanged."""

    def __init__(self, code: str, field: str, params: dict[str, str] | None = None) -> None:
        super().__init__(code, MESSAGES.get(code, code), field=field, params=params)
        self.code = code


def _squeeze(value: str) -> str:
    """Without any whitespace: people paste identifiers grouped in blocks, with non-breaking spaces."""
    return "".join(value.split())


# --- supply points (odběrná místa) ----------------------------------------------------------------


def ean_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of the first 17 digits (`stdnum.ean.is_valid` refuses 18-digit codes)."""
    return _gs1.calc_check_digit(body)


def ean(value: str, field: str = "ean") -> str:
    """A Czech electricity supply point EAN (18 digits, prefix 859182400, GS1 check digit)."""
    code = _squeeze(value)
    if not code:
        raise InvalidIdentifier("required", field)
    if not (code.isascii() and code.isdigit()):
        raise InvalidIdentifier("ean.format", field)
    if len(code) != EAN_LENGTH:
        raise InvalidIdentifier("ean.length", field)
    if not code.startswith(EAN_PREFIX):
        raise InvalidIdentifier("ean.prefix", field)
    if ean_check_digit(code[:-1]) != code[-1]:
        raise InvalidIdentifier("ean.check_digit", field)
    return code


def eic_check_char(body: str) -> str:
    """The ENTSO-E check character of the first 15 characters (weighted sum mod 37, not ISO 7064)."""
    return _eic.calc_check_digit(body)


def eic(value: str, field: str = "eic") -> str:
    """An Energy Identification Code: 16 characters of [0-9A-Z-], the last one a check character."""
    code = _squeeze(value).upper()
    if not code:
        raise InvalidIdentifier("required", field)
    if not _EIC.fullmatch(code):
        raise InvalidIdentifier("eic.format", field)
    if eic_check_char(code[:-1]) != code[-1]:
        raise InvalidIdentifier("eic.check_char", field)
    return code


def supply_point_identifier(value: str, commodity: str, country: str = "CZ", field: str = "identifier") -> str:
    """A supply point identifier for this commodity and country: EAN, or EIC with the right prefix."""
    if commodity not in COMMODITIES:
        raise InvalidIdentifier("commodity.invalid", "commodity")
    country = country.strip().upper()
    if (country, commodity) == ("CZ", ELECTRICITY):
        return ean(value, field)
    prefixes = EIC_PREFIXES.get((country, commodity))
    if prefixes is None:
        raise InvalidIdentifier("country.unsupported", "country")
    code = eic(value, field)
    if not code.startswith(prefixes):
        raise InvalidIdentifier("eic.prefix", field)
    return code


# --- bank accounts --------------------------------------------------------------------------------


def _mod11(digits: str) -> bool:
    return sum(w * int(d) for w, d in zip(_MOD11_WEIGHTS, digits.zfill(10), strict=True)) % 11 == 0


def _known_bank(code: str) -> bool:
    # the ČNB code list as shipped with python-stdnum (cz/banks.dat); codes ČNB withdrew carry no bank name
    return any("bank" in info for _, info in numdb.get("cz/banks").info(code))


def _czech_parts(prefix: str, number: str, bank: str, field: str) -> str:
    # a number of zeros passes mod 11, hence the extra rule; a single non-zero digit can never pass it
    if sum(d != "0" for d in number) < 2:
        raise InvalidIdentifier("bank_account.format", field)
    if not (_mod11(prefix) and _mod11(number)):
        raise InvalidIdentifier("bank_account.checksum", field)
    if not _known_bank(bank):
        raise InvalidIdentifier("bank_account.bank_code", field)
    prefix = prefix.lstrip("0")
    number = number.lstrip("0").zfill(2)
    return f"{prefix}-{number}/{bank}" if prefix else f"{number}/{bank}"


def czech_bank_account(value: str, field: str = "bank_account") -> str:
    """A Czech account `[prefix-]number/bank code`, without leading zeros (e.g. `19-2000145399/0800`)."""
    text = _squeeze(value)
    if not text:
        raise InvalidIdentifier("required", field)
    match = _CZ_ACCOUNT.fullmatch(text)
    if match is None:
        raise InvalidIdentifier("bank_account.format", field)
    return _czech_parts(match["prefix"] or "", match["number"], match["bank"], field)


def iban(value: str, field: str = "bank_account") -> str:
    """An IBAN in its compact form; for a Czech one the embedded account must pass the Czech rules too."""
    text = _squeeze(value).upper()
    if not text:
        raise InvalidIdentifier("required", field)
    try:
        code = _iban.validate(text)
    except ValidationError:
        raise InvalidIdentifier("iban.invalid", field) from None
    if code.startswith("CZ"):
        # CZkk BBBB PPPPPP NNNNNNNNNN: stdnum checks mod 97 only
        _czech_parts(code[8:14], code[14:24], code[4:8], field)
    return code


def bank_account(value: str, field: str = "bank_account") -> str:
    """Either form people type: an IBAN (starts with two letters) or a Czech domestic account."""
    text = _squeeze(value)
    if len(text) >= 2 and text[:2].isalpha():
        return iban(text, field)
    return czech_bank_account(text, field)


def czech_iban(account: str) -> str:
    """The IBAN of a Czech domestic account (QR payments and SEPA need it)."""
    normalised = czech_bank_account(account)
    head, bank = normalised.split("/")
    prefix, _, number = head.rpartition("-")
    bban = f"{bank}{prefix.zfill(6)}{number.zfill(10)}"
    return f"CZ{_iban.calc_check_digits('CZ00' + bban)}{bban}"


def format_iban(value: str) -> str:
    """An IBAN in groups of four, as printed."""
    code = iban(value)
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


# --- contact data ---------------------------------------------------------------------------------


def email(value: str, field: str = "email") -> str:
    """A mailbox `local@domain` with the domain lowercased (and an internationalised domain in ASCII form)."""
    text = value.strip()
    if not text:
        raise InvalidIdentifier("required", field)
    if len(text) > EMAIL_MAX:
        raise InvalidIdentifier("too_long", field, {"max": str(EMAIL_MAX)})
    local, at, domain = text.rpartition("@")
    if not at or not local or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        raise InvalidIdentifier("email.invalid", field)
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidIdentifier("email.invalid", field) from None
    labels = domain.split(".")
    if (
        len(labels) < 2
        or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
        or len(domain) > 253
    ):
        raise InvalidIdentifier("email.invalid", field)
    result = f"{local}@{domain}"
    if len(result) > EMAIL_MAX:
        raise InvalidIdentifier("too_long", field, {"max": str(EMAIL_MAX)})
    return result


def postal_code(value: str, country: str, field: str = "postal_code") -> str:
    """CZ `123 45` (PSČ: five digits, first 1–7), BG four digits; elsewhere a loose alphanumeric check."""
    text = _squeeze(value).upper()
    country = country.strip().upper()
    if not text:
        raise InvalidIdentifier("required", field)
    if country == "CZ":
        if len(text) == 5 and text.isascii() and text.isdigit() and text[0] in "1234567":
            return f"{text[:3]} {text[3:]}"
    elif country == "BG":
        if len(text) == 4 and text.isascii() and text.isdigit() and text[0] != "0":
            return text
    elif len(country) == 2 and country.isalpha() and country.isascii():
        spaced = " ".join(value.upper().split())
        if _POSTAL_OTHER.fullmatch(spaced):
            return spaced
    raise InvalidIdentifier("postal_code.invalid", field)


def phone(value: str, field: str = "phone") -> str:
    """E.164-like: an optional +, then 9–15 digits; spaces people type in groups are dropped."""
    text = _squeeze(value)
    if not text:
        raise InvalidIdentifier("required", field)
    if not (text.isascii() and _PHONE.fullmatch(text)):
        raise InvalidIdentifier("phone.invalid", field)
    return text


# country calling codes of the countries whose national numbers a customer may give without one
CALLING_CODES = {"CZ": "420", "SK": "421", "BG": "359"}


def e164(value: str, country: str, field: str = "phone") -> str:
    """A phone number as SMS gateways take it (E.164: +, country code, number). A number without a country code is
    taken as one of `country`; 00 is the international prefix, and a national trunk 0 (Bulgaria's) is dropped."""
    text = phone(value, field)
    if text.startswith("+"):
        return text
    if text.startswith("00"):
        return "+" + text[2:]
    code = CALLING_CODES.get(country.upper())
    if code is None:
        raise InvalidIdentifier("phone.country", field)
    return f"+{code}{text.removeprefix('0')}"


def bounded_text(value: str, field: str, max_len: int, *, required: bool = False) -> str:
    """Free text trimmed, at most `max_len` characters, without control characters (line breaks excepted)."""
    text = value.strip()
    if not text:
        if required:
            raise InvalidIdentifier("required", field)
        return ""
    if len(text) > max_len:
        raise InvalidIdentifier("too_long", field, {"max": str(max_len)})
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") and c not in "\n\r\t" for c in text):
        raise InvalidIdentifier("text.invalid", field)
    return text


def customer_number(value: str, field: str = "customer_number") -> str:
    """Our customer number (zákaznické číslo): 6 to 12 digits."""
    text = _squeeze(value)
    if not text:
        raise InvalidIdentifier("required", field)
    if not (text.isascii() and text.isdigit() and 6 <= len(text) <= 12):
        raise InvalidIdentifier("customer_number.invalid", field)
    return text
