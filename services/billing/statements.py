"""Incoming bank statements (bankovní výpisy): ISO 20022 camt.053.001.02 and the Czech ABO/GPC text format.

`read(source)` recognises the format from the content (`detect`) and returns the `Statement` (the header) and a
lazy iterator of its `StatementLine`s, so that a 100,000-line statement is never held in memory whole: camt is read
with lxml's `iterparse`, clearing every entry once it has been turned into lines, ABO one record at a time. Pass
an open file rather than bytes to keep the file itself out of memory too. No I/O besides reading `source`. What
grows with the file is only the set of line references seen (about 10 MB per 100,000 lines).

Refusals. A malformed file raises `DomainError` with reason ``statement.<problem>`` and, in `params`, where:
``line`` (the XML line of the element at fault, or the ABO record number, which is its line) and what (``name`` of
the field, ``value``, ``expected``). Because the lines are produced lazily, a refusal may come from the iterator
after some lines were handed out: the caller consumes the iterator inside one transaction and a refusal rolls the
whole statement back — there is never a partial import. A line reference that repeats within the file is refused
too (``statement.ref_duplicate``), since the importer stores lines once per reference and would drop the second.

One statement per file: a camt document with several ``Stmt`` or an ABO file with several ``074`` headers is
refused (``statement.several``); banks export one statement per account and day when asked to.

camt.053.001.02
---------------
- Only booked entries (``Sts`` BOOK) become lines; pending and information-only entries come again as booked later.
- An entry with several ``NtryDtls/TxDtls`` (a batch) gives one line per transaction, its amount from
  ``AmtDtls/TxAmt/Amt``; a single transaction without its own amount takes the entry's. The transactions of a batch
  must add up to the entry (``statement.batch_sum``).
- Line reference, the first present of: the transaction's ``Refs/AcctSvcrRef``; the entry's ``AcctSvcrRef``;
  the entry's ``NtryRef``; the statement ``Id`` with the entry's position. A batch adds ``/<n>`` (1-based) to an
  entry-level reference so each transaction has its own.
- Reversals: ``RvslInd`` true marks the line; its direction is as booked (a returned incoming payment is DBIT).
- Balances: the opening one is ``OPBD`` (else ``PRCD``), the closing one ``CLBD``, as reported; they are not checked
  against the entries (pending entries and other currencies' balances make that unreliable; XML that is cut off
  is refused by the parser anyway).
- Counterparty: the debtor of a credit, the creditor of a debit — ``Nm`` and the account's ``IBAN`` or ``Othr/Id``;
  with ``Othr/Id`` the agent's clearing member or ``Othr/Id`` (a Czech 4-digit bank code) is appended as ``/code``.
- Symbols (variabilní, specifický, konstantní symbol), the first source that has them:
  1. the variable symbol from ``RmtInf/Strd/CdtrRefInf/Ref`` when it is 1–10 digits (how Czech banks carry it);
  2. ``Refs/EndToEndId`` in the Czech forms ``VS123/SS456/KS0308``, ``/VS/123/SS/456/KS/0308`` or ``VS:123``;
  3. ``RmtInf/Ustrd`` in the same forms (``/VS/123``, ``VS 123`` …).
  Leading zeros are dropped from variable and specific symbols (``0000012345`` is ``12345``); a constant symbol
  keeps its four digits (``0308``). An ``EndToEndId`` of NOTPROVIDED counts as none.

ABO/GPC
-------
Fixed-width records of 128 characters in windows-1250, one per line (CRLF or LF); records cut short of their
trailing spaces are padded. Positions are 1-based and inclusive, amounts are in hellers (haléře), dates DDMMYY
(years 00–99 read as 2000–2099). Accounts are 16 digits, prefix (6) and number (10), in the standard order (not the
"internal" digit order some banks offer as an option). Header ``074`` (výpis):

====== ====== ============================================================
 1–3    3      ``074``
 4–19   16     the account (přidělené číslo účtu)
 20–39  20     the account's short name
 40–45  6      date of the opening balance
 46–59  14     opening balance (starý zůstatek), hellers
 60     1      its sign, ``+`` or ``-``
 61–74  14     closing balance (nový zůstatek), hellers
 75     1      its sign
 76–89  14     debit turnover (obrat debet), hellers
 90     1      its sign
 91–104 14     credit turnover (obrat kredit), hellers
 105    1      its sign
 106–108 3     statement number (pořadové číslo výpisu)
 109–114 6     statement date (datum účtování)
====== ====== ============================================================

Transaction ``075`` (obratová položka):

====== ====== ============================================================
 1–3    3      ``075``
 4–19   16     the account
 20–35  16     counter-account (protiúčet); zeros when there is none (a fee)
 36–48  13     transaction id (číslo dokladu)
 49–60  12     amount, hellers
 61     1      accounting code: 1 debit, 2 credit, 4 storno of a debit, 5 storno of a credit
 62–71  10     variable symbol
 72–81  10     ``00``, the counter-account's bank code (4), the constant symbol (4)
 82–91  10     specific symbol
 92–97  6      value date (datum valuty)
 98–117 20     counterparty's short name
 118    1      ``0``
 119–122 4     currency, ISO 4217 numeric (``0203`` CZK)
 123–128 6     booking date; blank or zeros: the statement date
====== ====== ============================================================

Optional records after a ``075`` belong to it: ``076`` positions 4–29 a transaction reference (kept as the
end-to-end id), 36–128 a message; ``078`` and ``079`` two 35-character message fields each (AV1–AV4, zpráva pro
příjemce). Their message text becomes the line's remittance text. An ABO file carries neither the account's bank
code (so `Statement.account` is ``prefix-number`` only) nor a statement currency (the first transaction's is taken,
CZK for an empty statement) nor an id (``ABO-<account>-<YYYYMMDD>-<number>`` is made up). The line reference is the
transaction id, or ``<statement id>/<record>`` when it is blank. The closing balance must equal the opening one plus
the lines (``statement.balance_mismatch``): that is how a file cut off between records is noticed.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import BinaryIO, NamedTuple

from lxml import etree

from kit.errors import DomainError

CAMT053 = "camt053"
ABO = "abo"
FORMATS = (CAMT053, ABO)

CREDIT = "credit"
DEBIT = "debit"

CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
_NS_LEN = len(CAMT_NS) + 2  # "{namespace}" before every tag
ABO_ENCODING = "cp1250"
ABO_WIDTH = 128
# how much of the beginning `detect` looks at: an XML prolog, comments and the root element fit easily
HEAD_BYTES = 4096

# the currencies Czech accounts are kept in (ISO 4217 numeric → alphabetic); Babel has no numeric codes
ABO_CURRENCIES = {
    "203": "CZK",
    "978": "EUR",
    "840": "USD",
    "826": "GBP",
    "756": "CHF",
    "985": "PLN",
    "348": "HUF",
}

# the English text of every refusal (``statement.<problem>``), the gettext msgid; the line goes in front of it
MESSAGES: dict[str, str] = {
    "statement.format_unknown": "The file is neither a camt.053 statement nor an ABO/GPC statement.",
    "statement.xml_invalid": "The file is not well-formed XML: %(value)s.",
    "statement.camt_version": "Only camt.053.001.02 statements can be read; this one is %(value)s.",
    "statement.field_missing": "%(name)s is missing.",
    "statement.field_invalid": "%(name)s is not valid: %(value)s.",
    "statement.amount_invalid": "%(name)s is not an amount: %(value)s.",
    "statement.date_invalid": "%(name)s is not a date: %(value)s.",
    "statement.currency_mismatch": "%(name)s is in another currency than its entry.",
    "statement.batch_sum": "The transactions of a batch add up to %(value)s, not to the entry's %(expected)s.",
    "statement.several": "The file holds more than one statement. Export one statement per file.",
    "statement.ref_duplicate": "The reference %(value)s is given twice.",
    "statement.encoding_invalid": "The line is not windows-1250 text.",
    "statement.record_orphan": "A %(value)s record must follow a 075 transaction.",
    "statement.record_unknown": "Unknown record type %(value)s.",
    "statement.currency_unknown": "Unknown currency code %(value)s.",
    "statement.account_mismatch": "The transaction is of account %(value)s, not of the statement's %(expected)s.",
    "statement.balance_mismatch": (
        "The opening balance and the transactions make %(value)s, not the closing balance %(expected)s: "
        "the file may be cut off."
    ),
}

_HELLER = Decimal("0.01")
_SYMBOL = re.compile(r"(?<![A-Z0-9])(VS|SS|KS)[/:\s]*([0-9]{1,10})(?![0-9])", re.IGNORECASE)
_DIGITS_10 = re.compile(r"[0-9]{1,10}")
_BANK_CODE = re.compile(r"[0-9]{4}")


@dataclass(frozen=True, slots=True)
class Statement:
    format: str
    # camt: the IBAN (or ``Othr/Id``); ABO: ``prefix-number`` without the bank code, which the file lacks
    account: str
    account_name: str
    statement_id: str
    # camt ``ElctrncSeqNb`` (else ``LglSeqNb``); ABO the statement number; None when not given
    sequence: int | None
    issued_on: date
    currency: str
    opening_balance: Decimal | None
    closing_balance: Decimal | None


class StatementLine(NamedTuple):
    """One booked movement. A named tuple rather than a frozen dataclass: as immutable, and a statement makes
    100,000 of them, which a frozen dataclass's field-by-field `__init__` makes several times slower."""

    # unique within the account: what makes a re-imported statement change nothing
    ref: str
    booked_on: date
    value_on: date
    # signed: positive for money in (credit), negative for money out
    amount: Decimal
    currency: str
    direction: str
    # a storno / returned payment; `direction` is as booked
    reversal: bool
    variable_symbol: str
    specific_symbol: str
    constant_symbol: str
    counterparty_account: str
    counterparty_name: str
    end_to_end_id: str
    remittance: str
    # where in the file (XML line of the entry, ABO record number), for staff looking at an unmatched payment
    line: int = 0

    @property
    def is_credit(self) -> bool:
        return self.direction == CREDIT


def refused(problem: str, **where: object) -> DomainError:
    return DomainError(
        f"statement.{problem}", f"{problem} at {where}", field="file", params={k: str(v) for k, v in where.items()}
    )


def symbol(text: str) -> str:
    """A variable or specific symbol as compared: digits without leading zeros ("" for none or only zeros)."""
    return text.strip().lstrip("0")


def constant_code(text: str) -> str:
    """A constant symbol is a code from a published list, written with four digits (0308)."""
    digits = symbol(text)
    return digits.zfill(4) if digits else ""


def detect(content: bytes) -> str:
    """`CAMT053` or `ABO` from the beginning of the file (`HEAD_BYTES` are enough)."""
    head = content[:HEAD_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if b"camt.053." in head:
            return CAMT053
        raise refused("format_unknown", line=1)
    if head.startswith(b"074"):
        return ABO
    raise refused("format_unknown", line=1)


def read(source: bytes | BinaryIO, fmt: str = "") -> tuple[Statement, Iterator[StatementLine]]:
    """The statement header and its lines; `fmt` empty means recognise it. A file object must be seekable."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    if not fmt:
        fmt = detect(stream.read(HEAD_BYTES))
        stream.seek(0)
    if fmt == CAMT053:
        statement, lines = _read_camt(stream)
    elif fmt == ABO:
        statement, lines = _read_abo(stream)
    else:
        raise refused("format_unknown", line=1, value=fmt)
    return statement, _unique_refs(lines)


def _unique_refs(lines: Iterator[StatementLine]) -> Iterator[StatementLine]:
    seen: set[str] = set()
    for line in lines:
        if line.ref in seen:
            raise refused("ref_duplicate", line=line.line, value=line.ref)
        seen.add(line.ref)
        yield line


def _amount(text: str | None, where: dict[str, object], name: str) -> Decimal:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        raise refused("amount_invalid", name=name, value=text, **where) from None
    if not value.is_finite() or value < 0:
        raise refused("amount_invalid", name=name, value=text, **where)
    return value


def symbols(*texts: str) -> dict[str, str]:
    """VS, SS and KS from Czech-convention texts, the first text that has a symbol winning for that symbol."""
    found: dict[str, str] = {}
    for text in texts:
        for kind, digits in _SYMBOL.findall(text):
            found.setdefault(kind.upper(), digits)
    return found


# --- camt.053 -----------------------------------------------------------------------------------------


@cache
def _q(path: str) -> str:
    """An ElementPath with every step in the camt namespace: `_q("Refs/EndToEndId")`."""
    return "/".join(f"{{{CAMT_NS}}}{step}" for step in path.split("/"))


def _text(elem: etree._Element, path: str) -> str:
    return (elem.findtext(_q(path)) or "").strip()


def _events(stream: BinaryIO) -> Iterator[tuple[str, etree._Element]]:
    """The elements the reader needs by local name, each once complete; XML errors refused with their line."""
    names = {_q(t): t for t in ("Acct", "Bal", "Ntry", "Stmt")}
    try:
        for _event, elem in etree.iterparse(stream, tag=list(names), resolve_entities=False, no_network=True):
            yield names[elem.tag], elem
    except etree.XMLSyntaxError as err:
        raise _xml_refused(err) from None


def _xml_refused(err: etree.XMLSyntaxError) -> DomainError:
    return refused("xml_invalid", line=err.position[0] if err.position else 0, value=err.msg)


def _check_root(stream: BinaryIO) -> None:
    """camt.053 of another version shares most paths but not all; refused rather than half read."""
    for _event, root in etree.iterparse(stream, events=("start",), resolve_entities=False, no_network=True):
        namespace = etree.QName(root).namespace or ""
        if namespace != CAMT_NS:
            raise refused("camt_version", line=root.sourceline or 1, value=namespace, expected=CAMT_NS)
        break
    stream.seek(0)


def _read_camt(stream: BinaryIO) -> tuple[Statement, Iterator[StatementLine]]:
    try:
        _check_root(stream)
    except etree.XMLSyntaxError as err:
        raise _xml_refused(err) from None
    events = _events(stream)
    balances: dict[str, Decimal] = {}
    acct: etree._Element | None = None
    for tag, elem in events:
        if tag == "Acct":
            acct = elem
        elif tag == "Bal":
            code = _text(elem, "Tp/CdOrPrtry/Cd")
            amount = _amount(_text(elem, "Amt"), {"line": elem.sourceline}, "Bal/Amt")
            balances.setdefault(code, -amount if _text(elem, "CdtDbtInd") == "DBIT" else amount)
        elif tag in ("Ntry", "Stmt"):
            if acct is None:
                raise refused("field_missing", name="Stmt/Acct", line=elem.sourceline)
            statement = _camt_statement(acct, balances)
            return statement, _camt_lines(statement, itertools.chain([(tag, elem)], events))
    raise refused("field_missing", name="Stmt", line=1)


def _camt_statement(acct: etree._Element, balances: dict[str, Decimal]) -> Statement:
    stmt = acct.getparent()
    where: dict[str, object] = {"line": stmt.sourceline}
    sequence = _text(stmt, "ElctrncSeqNb") or _text(stmt, "LglSeqNb")
    created = _text(stmt, "CreDtTm")
    try:
        issued_on = datetime.fromisoformat(created).date()
    except ValueError:
        raise refused("date_invalid", name="Stmt/CreDtTm", value=created, **where) from None
    statement_id = _text(stmt, "Id")
    account = _text(acct, "Id/IBAN") or _text(acct, "Id/Othr/Id")
    if not statement_id or not account:
        raise refused("field_missing", name="Stmt/Id" if not statement_id else "Stmt/Acct/Id", **where)
    first_balance = stmt.find(_q("Bal/Amt"))
    return Statement(
        format=CAMT053,
        account=account,
        account_name=_text(acct, "Nm"),
        statement_id=statement_id,
        sequence=int(sequence) if sequence.isdigit() else None,
        issued_on=issued_on,
        currency=_text(acct, "Ccy") or (first_balance.get("Ccy", "") if first_balance is not None else ""),
        # a previous closing balance (PRCD) is the opening one when the bank gives no OPBD
        opening_balance=balances.get("OPBD", balances.get("PRCD")),
        closing_balance=balances.get("CLBD"),
    )


def _camt_lines(statement: Statement, events: Iterator[tuple[str, etree._Element]]) -> Iterator[StatementLine]:
    entry_no = 0
    statements = 0
    for tag, elem in events:
        if tag == "Stmt":
            statements += 1
            elem.clear()
        elif tag == "Acct" or (tag == "Ntry" and statements):
            raise refused("several", line=elem.sourceline)
        elif tag == "Ntry":
            entry_no += 1
            yield from _entry_lines(statement, elem, entry_no)
            # what iterparse has built so far stays in the tree unless dropped: keep memory flat
            elem.clear()
            parent = elem.getparent()
            while elem.getprevious() is not None:
                del parent[0]


@dataclass(frozen=True)
class _Fields:
    """Paths of local names to read below an element (``RltdPties/Dbtr/Nm``), as a walk wants them: per path walked
    so far, its children's namespaced tags and the paths they make, and whether each path is a field or a way on."""

    children: dict[str, dict[str, str]]
    fields: frozenset[str]

    @classmethod
    def of(cls, paths: set[str]) -> _Fields:
        children: dict[str, dict[str, str]] = {}
        for path in paths:
            steps = path.split("/")
            for i, step in enumerate(steps):
                children.setdefault("/".join(steps[:i]), {})[f"{{{CAMT_NS}}}{step}"] = "/".join(steps[: i + 1])
        return cls(children, frozenset(paths))


_AMOUNTS = frozenset({"Amt", "AmtDtls/TxAmt/Amt"})
_ENTRY = _Fields.of(
    {"Amt", "CdtDbtInd", "RvslInd", "Sts", "AcctSvcrRef", "NtryRef", "AddtlNtryInf"}
    | {f"{d}/{kind}" for d in ("BookgDt", "ValDt") for kind in ("Dt", "DtTm")}
)
_TX = _Fields.of(
    {"Refs/AcctSvcrRef", "Refs/EndToEndId", "AmtDtls/TxAmt/Amt", "RmtInf/Ustrd", "RmtInf/Strd/CdtrRefInf/Ref"}
    | {f"RltdPties/{p}/Nm" for p in ("Dbtr", "Cdtr")}
    | {f"RltdPties/{p}Acct/Id/{kind}" for p in ("Dbtr", "Cdtr") for kind in ("IBAN", "Othr/Id")}
    | {f"RltdAgts/{a}/FinInstnId/{kind}" for a in ("DbtrAgt", "CdtrAgt") for kind in ("ClrSysMmbId/MmbId", "Othr/Id")}
)


def _leaves(elem: etree._Element, wanted: _Fields) -> dict[str, str]:
    """The texts of the `wanted` fields below `elem` by path, an amount's currency as ``path@Ccy``, a repeated
    element's texts joined by a space (``RmtInf/Ustrd``). One walk into only the branches that lead to a field,
    instead of a path search per field: that is what makes 100,000 entries quick."""
    out: dict[str, str] = {}
    fields, ways = wanted.fields, wanted.children
    stack = [(elem, ways[""])]
    while stack:
        node, children = stack.pop()
        for child in node:
            path = children.get(child.tag)
            if path is None:
                continue
            if path not in fields:
                stack.append((child, ways[path]))
                continue
            text = (child.text or "").strip()
            out[path] = f"{out[path]} {text}" if path in out else text
            if path in _AMOUNTS:
                out[path + "@Ccy"] = child.get("Ccy", "")
    return out


def _camt_day(leaves: dict[str, str], path: str, where: dict[str, object]) -> date | None:
    day, moment = leaves.get(path + "/Dt", ""), leaves.get(path + "/DtTm", "")
    try:
        # a bank's local time of booking: its calendar day is the day, without converting zones
        return date.fromisoformat(day) if day else datetime.fromisoformat(moment).date() if moment else None
    except ValueError:
        raise refused("date_invalid", name=path, value=day or moment, **where) from None


def _entry_lines(statement: Statement, ntry: etree._Element, entry_no: int) -> Iterator[StatementLine]:
    where: dict[str, object] = {"line": ntry.sourceline}
    entry = _leaves(ntry, _ENTRY)
    if entry.get("Sts") != "BOOK":
        return
    amount = _amount(entry.get("Amt"), where, "Ntry/Amt")
    currency = entry.get("Amt@Ccy", "")
    indicator = entry.get("CdtDbtInd", "")
    if indicator not in ("CRDT", "DBIT"):
        raise refused("field_invalid", name="Ntry/CdtDbtInd", value=indicator, **where)
    booked_on = _camt_day(entry, "BookgDt", where) or statement.issued_on
    value_on = _camt_day(entry, "ValDt", where) or booked_on
    entry_ref = entry.get("AcctSvcrRef") or entry.get("NtryRef") or f"{statement.statement_id}/{entry_no}"
    txs = [tx for details in ntry.iterchildren(_q("NtryDtls")) for tx in details.iterchildren(_q("TxDtls"))]
    batch = len(txs) > 1
    parts: list[tuple[etree._Element, dict[str, str], Decimal]] = []
    for elem in txs or [ntry]:
        tx = _leaves(elem, _TX) if elem is not ntry else {}
        tx_amount = tx.get("AmtDtls/TxAmt/Amt")
        if tx_amount is None and batch:
            raise refused("field_missing", name="TxDtls/AmtDtls/TxAmt", line=elem.sourceline)
        if tx.get("AmtDtls/TxAmt/Amt@Ccy", currency) != currency:
            raise refused("currency_mismatch", name="TxDtls/AmtDtls/TxAmt", line=elem.sourceline)
        parts.append((elem, tx, amount if tx_amount is None else _amount(tx_amount, where, "TxAmt/Amt")))
    if sum(part for _, _, part in parts) != amount:
        raise refused("batch_sum", value=sum(part for _, _, part in parts), expected=amount, **where)
    debit = indicator == "DBIT"
    reversal = entry.get("RvslInd", "").lower() in ("true", "1")
    party = "Cdtr" if debit else "Dbtr"
    for n, (elem, tx, part) in enumerate(parts, start=1):
        e2e = tx.get("Refs/EndToEndId", "")
        e2e = "" if e2e.upper() == "NOTPROVIDED" else e2e
        ustrd = tx.get("RmtInf/Ustrd", "")
        cdtr_ref = tx.get("RmtInf/Strd/CdtrRefInf/Ref", "")
        found = symbols(e2e, ustrd)
        yield StatementLine(
            ref=tx.get("Refs/AcctSvcrRef") or (f"{entry_ref}/{n}" if batch else entry_ref),
            booked_on=booked_on,
            value_on=value_on,
            amount=-part if debit else part,
            currency=currency,
            direction=DEBIT if debit else CREDIT,
            reversal=reversal,
            variable_symbol=symbol(cdtr_ref if _DIGITS_10.fullmatch(cdtr_ref) else found.get("VS", "")),
            specific_symbol=symbol(found.get("SS", "")),
            constant_symbol=constant_code(found.get("KS", "")),
            counterparty_account=_camt_party_account(tx, party),
            counterparty_name=tx.get(f"RltdPties/{party}/Nm", ""),
            end_to_end_id=e2e,
            remittance=ustrd or cdtr_ref or entry.get("AddtlNtryInf", ""),
            line=elem.sourceline or 0,
        )


def _camt_party_account(tx: dict[str, str], party: str) -> str:
    iban = tx.get(f"RltdPties/{party}Acct/Id/IBAN")
    if iban:
        return iban
    other = tx.get(f"RltdPties/{party}Acct/Id/Othr/Id", "")
    if not other or "/" in other:
        return other
    # a domestic account number alone: its bank code is with the party's agent
    agent = f"RltdAgts/{party}Agt/FinInstnId"
    bank = tx.get(f"{agent}/ClrSysMmbId/MmbId") or tx.get(f"{agent}/Othr/Id", "")
    return f"{other}/{bank}" if _BANK_CODE.fullmatch(bank) else other


# --- ABO/GPC --------------------------------------------------------------------------------------------


def _field(record: str, first: int, last: int) -> str:
    """Positions `first`…`last`, 1-based and inclusive as the format's tables give them."""
    return record[first - 1 : last]


def _abo_digits(record: str, first: int, last: int, name: str, where: dict[str, object]) -> str:
    value = _field(record, first, last)
    if not (value.isascii() and value.isdigit()):
        raise refused("field_invalid", name=name, value=value.strip(), **where)
    return value


def _abo_date(record: str, first: int, name: str, where: dict[str, object]) -> date:
    value = _abo_digits(record, first, first + 5, name, where)
    try:
        return date(2000 + int(value[4:6]), int(value[2:4]), int(value[0:2]))
    except ValueError:
        raise refused("date_invalid", name=name, value=value, **where) from None


def _abo_money(record: str, first: int, name: str, where: dict[str, object]) -> Decimal:
    """14 digits of hellers and a sign character after them."""
    hellers = Decimal(_abo_digits(record, first, first + 13, name, where)) * _HELLER
    sign = _field(record, first + 14, first + 14)
    if sign not in "+-0":
        raise refused("field_invalid", name=name + "_sign", value=sign, **where)
    return -hellers if sign == "-" else hellers


def _abo_account(digits: str) -> str:
    prefix, number = digits[:6].lstrip("0"), digits[6:].lstrip("0")
    if not number:
        return ""
    number = number.zfill(2)
    return f"{prefix}-{number}" if prefix else number


@dataclass
class _AboTransaction:
    """A 075 record and the message records after it, which make its reference and remittance text."""

    line: StatementLine
    reference: str = ""
    messages: list[str] = field(default_factory=list)

    def add(self, record: str) -> None:
        if record.startswith("076"):
            self.reference = self.reference or _field(record, 4, 29).strip()
            self.messages.append(_field(record, 36, 128))
        else:
            self.messages += [_field(record, 4, 38), _field(record, 39, 73)]

    def done(self) -> StatementLine:
        text = " ".join(m for m in (m.strip() for m in self.messages) if m)
        return self.line._replace(remittance=text, end_to_end_id=self.reference)


def _abo_records(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """Non-blank records with their line numbers, decoded one line at a time (so a bad byte names its line and a
    large file is never held whole), padded to the full width."""
    for n, raw in enumerate(stream, start=1):
        try:
            record = raw.rstrip(b"\r\n").decode(ABO_ENCODING)
        except UnicodeDecodeError:
            raise refused("encoding_invalid", line=n) from None
        if record.strip():
            yield n, record.ljust(ABO_WIDTH)


def _read_abo(stream: BinaryIO) -> tuple[Statement, Iterator[StatementLine]]:
    records = _abo_records(stream)
    line, header = next(records, (1, ""))
    if not header.startswith("074"):
        raise refused("field_missing", name="074", line=line)
    where: dict[str, object] = {"line": line}
    account = _abo_account(_abo_digits(header, 4, 19, "account", where))
    issued_on = _abo_date(header, 109, "statement_date", where)
    number = int(_abo_digits(header, 106, 108, "statement_number", where))
    # the statement's currency is its first transaction's: read ahead to it
    ahead: list[tuple[int, str]] = []
    for n, record in records:
        ahead.append((n, record))
        if record.startswith("075"):
            break
    first = ahead[-1] if ahead and ahead[-1][1].startswith("075") else None
    statement = Statement(
        format=ABO,
        account=account,
        account_name=_field(header, 20, 39).strip(),
        statement_id=f"ABO-{account}-{issued_on:%Y%m%d}-{number:03d}",
        sequence=number,
        issued_on=issued_on,
        currency=_abo_currency(first[1], {"line": first[0]}) if first else "CZK",
        opening_balance=_abo_money(header, 46, "opening_balance", where),
        closing_balance=_abo_money(header, 61, "closing_balance", where),
    )
    return statement, _abo_lines(statement, itertools.chain(ahead, records), line)


def _abo_currency(record: str, where: dict[str, object]) -> str:
    code = _abo_digits(record, 119, 122, "currency", where)[1:]
    if code not in ABO_CURRENCIES:
        raise refused("currency_unknown", name="currency", value=code, **where)
    return ABO_CURRENCIES[code]


def _abo_lines(statement: Statement, records: Iterator[tuple[int, str]], header: int) -> Iterator[StatementLine]:
    total = Decimal(0)
    current: _AboTransaction | None = None
    line = header
    for line, record in records:
        where = {"line": line}
        kind = record[:3]
        if kind == "075":
            if current is not None:
                yield current.done()
            current = _AboTransaction(_abo_transaction(statement, record, line))
            total += current.line.amount
        elif kind in ("076", "078", "079"):
            if current is None:
                raise refused("record_orphan", value=kind, **where)
            current.add(record)
        elif kind == "074":
            raise refused("several", **where)
        else:
            raise refused("record_unknown", value=kind, **where)
    if current is not None:
        yield current.done()
    opening, closing = statement.opening_balance or Decimal(0), statement.closing_balance or Decimal(0)
    if opening + total != closing:
        raise refused("balance_mismatch", value=opening + total, expected=closing, line=line)


# accounting code → (direction, reversal, sign of the amount)
_ABO_CODES = {"1": (DEBIT, False, -1), "2": (CREDIT, False, 1), "4": (CREDIT, True, 1), "5": (DEBIT, True, -1)}


def _abo_transaction(statement: Statement, record: str, line: int) -> StatementLine:
    where: dict[str, object] = {"line": line}
    if _abo_account(_abo_digits(record, 4, 19, "account", where)) != statement.account:
        raise refused("account_mismatch", value=_field(record, 4, 19), expected=statement.account, **where)
    code = _field(record, 61, 61)
    if code not in _ABO_CODES:
        raise refused("field_invalid", name="accounting_code", value=code, **where)
    direction, reversal, sign = _ABO_CODES[code]
    hellers = Decimal(_abo_digits(record, 49, 60, "amount", where)) * _HELLER
    counter = _abo_account(_abo_digits(record, 20, 35, "counter_account", where))
    bank = _field(record, 74, 77)
    booked = _field(record, 123, 128)
    booked_on = statement.issued_on if booked.strip("0 ") == "" else _abo_date(record, 123, "booking_date", where)
    transaction_id = _field(record, 36, 48).strip()
    return StatementLine(
        ref=transaction_id if transaction_id.strip("0") else f"{statement.statement_id}/{line}",
        booked_on=booked_on,
        value_on=_abo_date(record, 92, "value_date", where),
        amount=sign * hellers,
        currency=_abo_currency(record, where),
        direction=direction,
        reversal=reversal,
        variable_symbol=symbol(_field(record, 62, 71)),
        specific_symbol=symbol(_field(record, 82, 91)),
        constant_symbol=constant_code(_field(record, 78, 81)),
        counterparty_account=f"{counter}/{bank}" if counter and _BANK_CODE.fullmatch(bank) else counter,
        counterparty_name=_field(record, 98, 117).strip(),
        end_to_end_id="",
        remittance="",
        line=line,
    )
