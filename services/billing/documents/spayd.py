"""Payment strings for QR codes: SPAYD ("QR Platba", Czech koruna) and the EPC "BCD" code (SEPA, euro).

SPAYD follows the Czech Banking Association's standard v1.2 as summarised in shared/standards/README.md: header
``SPD*1.0*``, ``KEY:VALUE`` pairs joined by ``*`` with the keys sorted, ``*`` inside a value written ``%2A``, and
no CRC32 (it is optional and its two public readings disagree). v1.2 admits only CZK, so a euro invoice — Balkan
Power's in Bulgaria — gets no SPAYD. It gets the European Payments Council's QR code for SEPA credit transfers
instead (EPC069-12, "BCD" version 002), which banking apps across the euro area read.

Texts in a SPAYD are folded to the QR alphanumeric set (capitals without diacritics, digits, space and
``$%*+-./:``): then every reader gets the same characters whatever charset it assumes, and the code stays small.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from stdnum import bic as _bic
from stdnum import iban as _iban
from stdnum.exceptions import ValidationError

HEADER = "SPD*1.0*"
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999.99")
SPAYD_CURRENCY = "CZK"
MESSAGE_MAX = 60
RECIPIENT_MAX = 35
SYMBOL_MAX = 10
ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
# what a folded text keeps: '%' goes too, or a literal "%2A" in a message would read back as '*'
_TEXT = ALPHANUMERIC - {"%"}

EPC_MAX_AMOUNT = Decimal("999999999.99")
EPC_NAME_MAX = 70
EPC_TEXT_MAX = 140
EPC_MAX_BYTES = 331
# ISO 20022 purpose codes of energy bills
EPC_PURPOSE = {"electricity": "ELEC", "gas": "GASB"}


class SpaydError(ValueError):
    """A payment string that cannot be built or does not follow the rules; `reason` names the rule."""

    def __init__(self, reason: str, key: str = "") -> None:
        super().__init__(f"{key}: {reason}" if key else reason)
        self.reason = reason
        self.key = key


# --- building -----------------------------------------------------------------------------------------------


def fold(text: str, limit: int) -> str:
    """`text` in the QR alphanumeric set without '%': diacritics dropped, capitals, other characters as spaces, cut
    to `limit` (counting a '*' as the three characters of its escape)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()
    kept = " ".join("".join(c if c in _TEXT else " " for c in ascii_text).split())
    while len(_escape(kept)) > limit:
        kept = kept[:-1].rstrip()
    return kept


def _escape(value: str) -> str:
    return value.replace("*", "%2A")


def _amount(amount: Decimal) -> str:
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise SpaydError("amount out of range", "AM")
    if amount != amount.quantize(Decimal("0.01")):
        raise SpaydError("more than two decimals", "AM")
    return f"{amount:.2f}"


def _valid_bic(bic: str, key: str) -> str:
    try:
        return _bic.validate(bic)
    except ValidationError as err:
        raise SpaydError("not a valid BIC", key) from err


def _digits(value: str, key: str, limit: int = SYMBOL_MAX) -> str:
    if not (value.isascii() and value.isdigit() and len(value) <= limit):
        raise SpaydError(f"up to {limit} digits", key)
    return value


def payment_string(
    *,
    iban: str,
    amount: Decimal,
    currency: str = SPAYD_CURRENCY,
    bic: str = "",
    variable_symbol: str = "",
    constant_symbol: str = "",
    due_date: date | None = None,
    message: str = "",
    recipient: str = "",
) -> str:
    """A SPAYD for paying `amount` CZK to `iban`; refuses what v1.2 does not allow (another currency, an amount
    outside 0.01 … 9,999,999.99, more than two decimals, a non-numeric symbol)."""
    if currency != SPAYD_CURRENCY:
        raise SpaydError("SPAYD v1.2 admits only CZK", "CC")
    account = "".join(iban.split()).upper()
    if not _iban.is_valid(account):
        raise SpaydError("not a valid IBAN", "ACC")
    if bic:
        account += "+" + _valid_bic(bic, "ACC")
    fields = {"ACC": account, "AM": _amount(amount), "CC": currency}
    if variable_symbol:
        fields["X-VS"] = _digits(variable_symbol, "X-VS")
    if constant_symbol:
        fields["X-KS"] = _digits(constant_symbol, "X-KS")
    if due_date:
        fields["DT"] = due_date.strftime("%Y%m%d")
    if msg := fold(message, MESSAGE_MAX):
        fields["MSG"] = msg
    if name := fold(recipient, RECIPIENT_MAX):
        fields["RN"] = name
    return HEADER + "*".join(f"{key}:{_escape(fields[key])}" for key in sorted(fields))


# --- the strict reader -------------------------------------------------------------------------------------

_KEY = re.compile(r"[A-Z](?:[A-Z-]*[A-Z])?")
_AMOUNT = re.compile(r"[0-9]{1,7}(?:\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_CRC = re.compile(r"[0-9A-F]{8}")


def _account(value: str, key: str) -> None:
    iban, _, bic = value.partition("+")
    if not _iban.is_valid(iban):
        raise SpaydError("not a valid IBAN", key)
    if bic:
        _valid_bic(bic, key)


def _check_acc(value: str) -> None:
    if len(value) > 46:
        raise SpaydError("longer than 46", "ACC")
    _account(value, "ACC")


def _check_alt_acc(value: str) -> None:
    if len(value) > 93:
        raise SpaydError("longer than 93", "ALT-ACC")
    for account in value.split(","):
        _account(account, "ALT-ACC")


def _check_am(value: str) -> None:
    if len(value) > 10 or not _AMOUNT.fullmatch(value):
        raise SpaydError("a decimal with '.' and at most two decimals", "AM")
    if Decimal(value) > MAX_AMOUNT:
        raise SpaydError("amount out of range", "AM")


def _check_cc(value: str) -> None:
    if not _CURRENCY.fullmatch(value):
        raise SpaydError("an ISO 4217 code", "CC")
    if value != SPAYD_CURRENCY:
        raise SpaydError("SPAYD v1.2 admits only CZK", "CC")


def _check_date(key: str):
    def check(value: str) -> None:
        try:
            if len(value) != 8:
                raise ValueError
            datetime.strptime(value, "%Y%m%d")
        except ValueError as err:
            raise SpaydError("a date YYYYMMDD", key) from err

    return check


def _check_max(key: str, limit: int):
    def check(value: str) -> None:
        if len(value) > limit:
            raise SpaydError(f"longer than {limit}", key)

    return check


def _check_digits(key: str, limit: int):
    def check(value: str) -> None:
        _digits(value, key, limit)

    return check


def _check_choice(key: str, allowed: frozenset[str]):
    def check(value: str) -> None:
        if value not in allowed:
            raise SpaydError(f"one of {', '.join(sorted(allowed))}", key)

    return check


def _check_per(value: str) -> None:
    if not (value.isascii() and value.isdigit() and 0 <= int(value) <= 30 and len(value) <= 2):
        raise SpaydError("retry days 0..30", "X-PER")


_RULES = {
    "ACC": _check_acc,
    "ALT-ACC": _check_alt_acc,
    "AM": _check_am,
    "CC": _check_cc,
    "RF": _check_digits("RF", 16),
    "RN": _check_max("RN", 35),
    "DT": _check_date("DT"),
    "DL": _check_date("DL"),
    "PT": _check_max("PT", 3),
    "MSG": _check_max("MSG", MESSAGE_MAX),
    "NT": _check_choice("NT", frozenset({"P", "E"})),
    "NTA": _check_max("NTA", 320),
    "FRQ": _check_choice("FRQ", frozenset({"1D", "1W", "1M", "3M", "6M", "1Y"})),
    "DH": _check_choice("DH", frozenset({"0", "1"})),
    "X-VS": _check_digits("X-VS", 10),
    "X-SS": _check_digits("X-SS", 10),
    "X-KS": _check_digits("X-KS", 10),
    "X-PER": _check_per,
    "X-ID": _check_max("X-ID", 20),
    "X-URL": _check_max("X-URL", 140),
    "X-SELF": _check_max("X-SELF", 60),
}


def _crc_candidates(pairs: list[str]) -> set[str]:
    """CRC32 as either public reading computes it (see the standards README): over the sorted pairs, or over the
    string with its trailing '*'."""
    body = HEADER + "*".join(sorted(pairs))
    return {f"{zlib.crc32(text.encode()):08X}" for text in (body, body + "*")}


def parse(text: str) -> Mapping[str, str]:
    """The fields of a SPAYD (values unescaped), or `SpaydError` naming the first rule it breaks."""
    if not text.startswith(HEADER):
        raise SpaydError("no SPD*1.0* header")
    body = text[len(HEADER) :]
    body = body.removesuffix("*")
    if not body:
        raise SpaydError("no fields")
    fields: dict[str, str] = {}
    pairs: list[str] = []
    crc = ""
    for pair in body.split("*"):
        key, colon, raw = pair.partition(":")
        if not colon or not (key == "CRC32" or _KEY.fullmatch(key)):
            raise SpaydError(f"not a KEY:VALUE pair: {pair!r}")
        if key in fields or (key == "CRC32" and crc):
            raise SpaydError("given twice", key)
        if key == "CRC32":
            if not _CRC.fullmatch(raw):
                raise SpaydError("eight hexadecimal capitals", key)
            crc = raw
            continue
        value = raw.replace("%2A", "*")
        rule = _RULES.get(key)
        if rule is None and not key.startswith("X-"):
            raise SpaydError("unknown key; custom keys start with X-", key)
        if rule:
            rule(value)
        fields[key] = value
        pairs.append(pair)
    if "ACC" not in fields:
        raise SpaydError("missing", "ACC")
    if crc and crc not in _crc_candidates(pairs):
        raise SpaydError("does not match the fields", "CRC32")
    return fields


# --- EPC (SEPA) ---------------------------------------------------------------------------------------------


def epc_payload(
    *, iban: str, bic: str, name: str, amount: Decimal, text: str = "", purpose: str = "", currency: str = "EUR"
) -> str:
    """The EPC069-12 (version 002, UTF-8) payload of a SEPA credit transfer of `amount` euro.

    An unstructured remittance text (≤ 140) carries the payment reference; the structured one is for ISO 11649
    creditor references, which our variable symbols are not."""
    if currency != "EUR":
        raise SpaydError("an EPC QR code pays euro only", "currency")
    if not MIN_AMOUNT <= amount <= EPC_MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise SpaydError("amount out of range", "amount")
    account = "".join(iban.split()).upper()
    if not _iban.is_valid(account):
        raise SpaydError("not a valid IBAN", "iban")
    beneficiary = " ".join(name.split())[:EPC_NAME_MAX]
    if not beneficiary:
        raise SpaydError("missing", "name")
    lines = [
        "BCD",
        "002",
        "1",  # UTF-8
        "SCT",
        _valid_bic(bic, "bic") if bic else "",
        beneficiary,
        account,
        f"EUR{amount:.2f}",
        purpose,
        "",  # structured creditor reference (ISO 11649)
        " ".join(text.split())[:EPC_TEXT_MAX],
    ]
    payload = "\n".join(lines).rstrip("\n")
    if len(payload.encode()) > EPC_MAX_BYTES:
        raise SpaydError(f"longer than {EPC_MAX_BYTES} bytes", "payload")
    return payload


def parse_epc(payload: str) -> Mapping[str, str]:
    """The fields of an EPC payload of version 002 in UTF-8, checked against the EPC069-12 limits."""
    lines = payload.split("\n")
    if lines[:4] != ["BCD", "002", "1", "SCT"] or not 7 <= len(lines) <= 12:
        raise SpaydError("not a version 002 UTF-8 SCT payload")
    lines += [""] * (12 - len(lines))
    fields = dict(
        zip(("bic", "name", "iban", "amount", "purpose", "reference", "text", "info"), lines[4:], strict=True)
    )
    if fields["bic"] and not _bic.is_valid(fields["bic"]):
        raise SpaydError("not a valid BIC", "bic")
    if not 0 < len(fields["name"]) <= EPC_NAME_MAX:
        raise SpaydError(f"1 to {EPC_NAME_MAX} characters", "name")
    if not _iban.is_valid(fields["iban"]):
        raise SpaydError("not a valid IBAN", "iban")
    try:
        amount = Decimal(fields["amount"].removeprefix("EUR"))
    except InvalidOperation as err:
        raise SpaydError("EUR and a decimal", "amount") from err
    if not fields["amount"].startswith("EUR") or not MIN_AMOUNT <= amount <= EPC_MAX_AMOUNT:
        raise SpaydError("EUR0.01 to EUR999999999.99", "amount")
    if fields["reference"] and fields["text"]:
        raise SpaydError("a structured reference or a text, not both", "text")
    if len(fields["text"]) > EPC_TEXT_MAX:
        raise SpaydError(f"longer than {EPC_TEXT_MAX}", "text")
    if len(payload.encode()) > EPC_MAX_BYTES:
        raise SpaydError(f"longer than {EPC_MAX_BYTES} bytes", "payload")
    return fields
