"""Pure rules of the accounts service: tenant host names, supply-point search, page tokens, registration
proofs, contact data, immediate changes and the permission matrix. No I/O; the servicer calls these and the store
runs the SQL."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from kit import authz, identifiers
from kit.errors import DomainError
from kit.identifiers import InvalidIdentifier

# the commodities a supply point can be of
COMMODITIES = identifiers.COMMODITIES

# --- tenant by host -------------------------------------------------------------------------------------

_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")


def normalise_host(host_header: str) -> str:
    """The host name a Host header names: lowercase, without port and trailing dot.

    Tenants are matched on exact host names, so whatever cannot be a host name is refused here rather than
    looked up (`host.invalid`; the gateway answers it like an unknown host).
    """
    host = host_header.strip().lower()
    if host.startswith("["):
        # an IPv6 literal is a well-formed header that names no brand: let it reach "unknown host"
        literal, bracket, rest = host[1:].partition("]")
        if (
            not bracket
            or not re.fullmatch(r"[0-9a-f:.]+", literal)
            or (rest and not (rest.startswith(":") and _valid_port(rest[1:])))
        ):
            raise DomainError("host.invalid", field="host")
        return literal
    name, colon, port = host.partition(":")
    if colon and not _valid_port(port):
        raise DomainError("host.invalid", field="host")
    name = name.removesuffix(".")
    if not name or len(name) > 253 or not name.isascii():
        raise DomainError("host.invalid", field="host")
    if not all(_HOST_LABEL.fullmatch(label) for label in name.split(".")):
        raise DomainError("host.invalid", field="host")
    return name


def _valid_port(port: str) -> bool:
    return bool(_PORT.fullmatch(port)) and int(port) <= 65535


# --- supply-point search ---------------------------------------------------------------------------------

MAX_QUERY = 100
# LIKE wildcards and its escape occur in no identifier or address; dropped so a query cannot widen itself
_LIKE_SPECIAL = str.maketrans("", "", "%_\\")


@dataclass(frozen=True)
class SearchQuery:
    """What a free-text supply-point query can match.

    `text` goes to the street/city search (contains, case-insensitive); `identifier_prefix` is the query
    as the start of an EAN/EIC (spaces removed, uppercase) and `postal_code` as a postal code without
    spaces; either is empty when the query cannot be one.
    """

    text: str
    identifier_prefix: str
    postal_code: str

    def __bool__(self) -> bool:
        return bool(self.text)


def parse_search(query: str) -> SearchQuery:
    words = unicodedata.normalize("NFC", query).translate(_LIKE_SPECIAL).split()
    text = " ".join("".join(c for c in word if c.isprintable()) for word in words)
    if len(text) > MAX_QUERY:
        raise DomainError("query.too_long", field="query")
    squeezed = text.replace(" ", "")
    if squeezed.isascii() and squeezed.isdigit():
        # EANs and postal codes are typed in groups ("8591 8240 …", "266 01"); the groups mean nothing
        return SearchQuery(squeezed, squeezed, squeezed if len(squeezed) <= 5 else "")
    identifier_prefix = squeezed.upper() if re.fullmatch(r"[0-9A-Za-z-]+", squeezed) else ""
    return SearchQuery(text, identifier_prefix, "")


def search_text(query: str) -> str:
    """The normalised text the store matches against identifier (prefix), city, street and postal code."""
    return parse_search(query).text


def matches_search(query: SearchQuery, *, identifier: str, city: str, street: str, postal_code: str) -> bool:
    """The store's matching rule as a predicate, so the rule is written (and tested) in one place."""
    if not query:
        return True
    needle = query.text.casefold()
    return (
        bool(query.identifier_prefix and identifier.upper().startswith(query.identifier_prefix))
        or needle in city.casefold()
        or needle in street.casefold()
        or query.text.replace(" ", "") in postal_code.replace(" ", "")
    )


# --- page tokens -----------------------------------------------------------------------------------------

_TOKEN_VERSION = b"\x01"
_TOKEN_MAC_SIZE = 8
MAX_TOKEN = 512


def _token_mac(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_TOKEN_MAC_SIZE, person=b"portal.pagetok").digest()


def encode_page_token(last_key: str) -> str:
    """An opaque token for the page after `last_key` (the sort key of the last row shown).

    The checksum catches edited or truncated tokens. It is not a secret: a forged token can only move the
    start of a page within rows the caller may see anyway, since every filter is applied again.
    """
    payload = _TOKEN_VERSION + last_key.encode()
    return base64.urlsafe_b64encode(payload + _token_mac(payload)).rstrip(b"=").decode("ascii")


def decode_page_token(token: str) -> str:
    if len(token) > MAX_TOKEN or not token.isascii():
        raise DomainError("page_token.invalid", field="page_token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise DomainError("page_token.invalid", field="page_token") from None
    payload, mac = raw[:-_TOKEN_MAC_SIZE], raw[-_TOKEN_MAC_SIZE:]
    if not payload.startswith(_TOKEN_VERSION) or not hmac.compare_digest(mac, _token_mac(payload)):
        raise DomainError("page_token.invalid", field="page_token")
    try:
        return payload[len(_TOKEN_VERSION) :].decode()
    except UnicodeDecodeError:
        raise DomainError("page_token.invalid", field="page_token") from None


# --- registration proof ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofRecord:
    """What the customer's row holds to check a proof against; the authorization code only as a keyed hash."""

    authorization_code_hash: str
    last_invoice_number: str
    last_invoice_amount: Decimal | None


def normalise_authorization_code(code: str) -> str:
    # printed in groups on invoices and typed in any case
    return "".join(code.split()).replace("-", "").upper()


def hash_authorization_code(code: str, key: bytes) -> str:
    """Keyed, so a leaked table does not give away codes that are short enough to enumerate."""
    return hmac.new(key, normalise_authorization_code(code).encode(), hashlib.sha256).hexdigest()


_CURRENCY_MARKS = ("czk", "kč", "kc", "eur", "€", "bgn", "лв.", "лв")
# digits, grouped by thousands or not, then up to two decimals after the other separator
_AMOUNT = re.compile(
    r"(?P<sign>-?)(?P<int>[0-9]+|[0-9]{1,3}(?P<group>[.,])[0-9]{3}(?:(?P=group)[0-9]{3})*)"
    r"(?:(?P<point>[.,])(?P<dec>[0-9]{1,2}))?"
)


def parse_amount(text: str) -> Decimal | None:
    """An amount as people write it: `1 234,50`, `1234.5`, `1.234,50`, `1,234.50`, `1 234,50 Kč`.

    Three digits after the only separator group thousands (`1,234` is 1234): invoices have two decimals at
    most. None when the text is not such an amount.
    """
    s = "".join(text.split()).lower().replace("'", "")
    for mark in _CURRENCY_MARKS:
        if s.endswith(mark) or s.startswith(mark):
            s = s.removesuffix(mark) if s.endswith(mark) else s.removeprefix(mark)
            break
    match = _AMOUNT.fullmatch(s)
    if match is None or (match["group"] and match["group"] == match["point"]):
        return None
    integer = match["sign"] + match["int"].replace(",", "").replace(".", "")
    return Decimal(f"{integer}.{match['dec']}" if match["dec"] else integer)


def _same_amount(stored: Decimal | None, given: str) -> bool:
    parsed = parse_amount(given)
    if stored is None or parsed is None:
        return False
    return hmac.compare_digest(f"{stored:.2f}", f"{parsed:.2f}")


def _same_invoice_number(stored: str, given: str) -> bool:
    return bool(stored) and hmac.compare_digest(
        "".join(stored.split()).upper().encode(), "".join(given.split()).upper().encode()
    )


def proof_matches(
    record: ProofRecord,
    key: bytes,
    *,
    authorization_code: str | None = None,
    invoice_number: str | None = None,
    amount: str | None = None,
) -> bool:
    """Whether one proof holds: the authorization code, or the last invoice's number together with its amount.

    Says only yes or no, never which part failed, and compares in constant time. Giving both kinds, or half of
    the invoice proof, is no proof.
    """
    by_code = authorization_code is not None
    by_invoice = invoice_number is not None or amount is not None
    if by_code == by_invoice:
        return False
    if by_code:
        assert authorization_code is not None
        if not record.authorization_code_hash or not normalise_authorization_code(authorization_code):
            return False
        given = hash_authorization_code(authorization_code, key)
        return hmac.compare_digest(given.encode(), record.authorization_code_hash.encode())
    if invoice_number is None or amount is None:
        return False
    # both compared every time, so the time taken does not tell which one was wrong
    number_ok = _same_invoice_number(record.last_invoice_number, invoice_number)
    amount_ok = _same_amount(record.last_invoice_amount, amount)
    return number_ok and amount_ok


# --- contact data ----------------------------------------------------------------------------------------


def validate_contact(email: str, phone: str) -> tuple[str, str]:
    """The normalised e-mail and phone of a contact change; either may be empty (removed), not both."""
    email, phone = email.strip(), phone.strip()
    if not email and not phone:
        raise DomainError("contact.required", field="email")
    return (
        identifiers.email(email) if email else "",
        identifiers.phone(phone) if phone else "",
    )


def validate_address(*, street: str, house_number: str, city: str, postal_code: str, country: str) -> dict[str, str]:
    """A postal address (mailing address changes), normalised; shaped like `common.v1.Address`."""
    country = country.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise InvalidIdentifier("country.invalid", "country")
    return {
        "street": identifiers.bounded_text(street, "street", 100, required=True),
        "house_number": identifiers.bounded_text(house_number, "house_number", 20, required=True),
        "city": identifiers.bounded_text(city, "city", 100, required=True),
        "postal_code": identifiers.postal_code(postal_code, country),
        "country": country,
    }


# --- immediate changes: payment and advance ---------------------------------------------------------------

PAYMENT_METHODS = ("bank_transfer", "direct_debit", "sipo", "postal_order")
DIRECT_DEBIT = "direct_debit"
ADVANCES_PER_YEAR = {"monthly": 12, "quarterly": 4}
# how far an advance may be set from the proposal: enough for a customer expecting more or less consumption, not so
# far that a year's settlement becomes a large debt or a large overpayment
ADVANCE_FLOOR = Decimal("0.5")
ADVANCE_CEILING = Decimal("2")
_WHOLE = Decimal(1)
MAX_AMOUNT_TEXT = 32


def validate_payment(method: str, bank_account: str) -> tuple[str, str]:
    """The payment method and the normalised account: a Czech account (mod 11, a known bank code) or an IBAN.
    Direct debit draws from the account, so it needs one; the other methods keep one (if given) for refunds."""
    method = method.strip()
    if method not in PAYMENT_METHODS:
        raise DomainError("payment_method.invalid", field="payment_method")
    if bank_account.strip():
        return method, identifiers.bank_account(bank_account)
    if method == DIRECT_DEBIT:
        raise InvalidIdentifier("required", "bank_account")
    return method, ""


@dataclass(frozen=True)
class AdvanceBounds:
    minimum: Decimal
    maximum: Decimal
    proposal: Decimal
    yearly_cost: Decimal
    annual_kwh: int


def advance_bounds(consumption: dict[str, int], unit_prices: dict[str, str], cycle: str) -> AdvanceBounds:
    """What an advance may be: the expected yearly cost (each commodity's expected consumption × the brand's unit
    price estimate) spread over the advances of a year is the proposal; half of it to twice it, in whole currency
    units, are the bounds. A contract whose consumption cannot be priced gets no bounds (`precondition`)."""
    per_year = ADVANCES_PER_YEAR.get(cycle)
    if per_year is None or not consumption or any(c not in unit_prices for c in consumption):
        raise DomainError("precondition.advance_unpriced", field="amount")
    yearly = sum((Decimal(kwh) * Decimal(unit_prices[c]) for c, kwh in consumption.items()), Decimal(0))
    proposal = (yearly / per_year).quantize(_WHOLE, rounding=ROUND_HALF_UP)
    return AdvanceBounds(
        minimum=max((proposal * ADVANCE_FLOOR).quantize(_WHOLE, rounding=ROUND_FLOOR), _WHOLE),
        maximum=max((proposal * ADVANCE_CEILING).quantize(_WHOLE, rounding=ROUND_CEILING), _WHOLE),
        proposal=max(proposal, _WHOLE),
        yearly_cost=yearly.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        annual_kwh=sum(consumption.values()),
    )


def validate_advance(text: str, bounds: AdvanceBounds, currency: str) -> Decimal:
    """The advance asked for, in whole currency units or with cents, within the bounds (told with the currency)."""
    amount = parse_amount(text[:MAX_AMOUNT_TEXT]) if text.strip() else None
    if amount is None or amount <= 0:
        raise DomainError("advance.invalid", field="amount")
    if not bounds.minimum <= amount <= bounds.maximum:
        raise DomainError(
            "advance.out_of_bounds",
            field="amount",
            params={k: f"{getattr(bounds, k)} {currency}" for k in ("minimum", "maximum", "proposal")},
        )
    return amount.quantize(Decimal("0.01"))


ADDRESS_KINDS = {"mailing": "mailing_address", "permanent": "permanent_address"}


def address_line(address: dict[str, str] | None) -> str:
    """An address on one line, as events and e-mails show it."""
    if not address:
        return ""
    street = " ".join(p for p in (address.get("street", ""), address.get("house_number", "")) if p)
    town = " ".join(p for p in (address.get("postal_code", ""), address.get("city", "")) if p)
    return ", ".join(p for p in (street, town, address.get("country", "")) if p)


# --- staff customer search -----------------------------------------------------------------------------------

MIN_CUSTOMER_QUERY = 2
# a phone number is looked for from this many digits on; fewer would match nearly every number
MIN_PHONE_DIGITS = 3
_PHONE_TEXT = re.compile(r"[0-9+()/ -]+")


@dataclass(frozen=True)
class CustomerQuery:
    """A staff member's free-text query as each kind of match reads it.

    Every one of `words` must occur in the name, or in the e-mail, or in an address (the store folds case and
    accents on both sides); `prefix` is the start of a customer number or an EAN/EIC (spaces removed, upper case;
    empty when the query cannot be one); `digits` are a phone number's digits without an international "00",
    empty unless the query is written like a phone number.
    """

    words: tuple[str, ...]
    prefix: str
    digits: str


def parse_customer_query(query: str) -> CustomerQuery:
    words = tuple(parse_search(query).text.split())
    squeezed = "".join(words)
    if len(squeezed) < MIN_CUSTOMER_QUERY:
        raise DomainError("customer_search.too_short", field="query", params={"min": str(MIN_CUSTOMER_QUERY)})
    prefix = squeezed.upper() if re.fullmatch(r"[0-9A-Za-z-]+", squeezed) else ""
    digits = ""
    if _PHONE_TEXT.fullmatch(" ".join(words)):
        digits = "".join(c for c in squeezed if c.isdigit()).removeprefix("00")
    return CustomerQuery(words, prefix, digits if len(digits) >= MIN_PHONE_DIGITS else "")


# --- the permission matrix --------------------------------------------------------------------------------


def new_matrix(
    current: Mapping[str, frozenset[str]], rows: Iterable[tuple[str, Iterable[str]]]
) -> dict[str, frozenset[str]]:
    """The rows of `current` that `rows` change, as they are to be stored; refuses the whole change for a contract
    type the tenant does not have, one named twice, an unknown or customer-level capability, or a row without
    what a contract type needs to show the customer their own data. Customer-level capabilities are decided by
    the grant alone (kit.authz), so a row keeps those it had."""
    changed: dict[str, frozenset[str]] = {}
    for contract_type, capabilities in rows:
        if contract_type not in current or contract_type in changed:
            raise DomainError("matrix.contract_type_unknown", field="contract_type")
        wanted = frozenset(capabilities)
        if not wanted <= frozenset(authz.PER_CONTRACT):
            raise DomainError("matrix.capability_unknown", field=contract_type)
        if not authz.TO_VIEW_OWN_DATA <= wanted:
            raise DomainError("matrix.view_required", field=contract_type)
        row = wanted | (current[contract_type] & authz.CUSTOMER_LEVEL)
        if row != current[contract_type]:
            changed[contract_type] = row
    return changed
