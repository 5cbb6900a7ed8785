"""Bank statement parsers on the hand-written fixtures (tests/fixtures/statements), the shipped camt.053 sample and
files broken on purpose."""

from __future__ import annotations

import dataclasses
import io
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kit.errors import DomainError
from services.billing import statements
from services.billing.statements import ABO, CAMT053, CREDIT, DEBIT

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "statements"
CAMT = (SAMPLES / "camt053_cz.xml").read_bytes()
GPC = (SAMPLES / "abo_cz.gpc").read_bytes()


def parsed(content: bytes) -> tuple[statements.Statement, list[statements.StatementLine]]:
    statement, lines = statements.read(content)
    return statement, list(lines)


def refusal(content: bytes) -> DomainError:
    with pytest.raises(DomainError) as exc:
        parsed(content)
    # every refusal has its text, and the text's parameters are given
    assert statements.MESSAGES[exc.value.reason] % defaultdict(str, exc.value.params)
    assert set(re.findall(r"%\((\w+)\)s", statements.MESSAGES[exc.value.reason])) <= exc.value.params.keys()
    return exc.value


def test_camt_fixtures_are_valid_against_the_schema() -> None:
    schema = etree.XMLSchema(etree.parse(str(SAMPLES / "camt.053.001.02.xsd")))
    for name in ("camt053_cz.xml", "camt053.v2.minimal.xml"):
        document = etree.parse(str(SAMPLES / name))
        assert schema.validate(document), (name, schema.error_log)


def test_detect_by_content() -> None:
    assert statements.detect(CAMT) == CAMT053
    assert statements.detect(b"\xef\xbb\xbf\r\n" + CAMT) == CAMT053
    assert statements.detect(GPC) == ABO
    for content in (b"", b"<html></html>", b"ID;AMOUNT\n1;2\n", b"%PDF-1.7"):
        with pytest.raises(DomainError) as exc:
            statements.detect(content)
        assert exc.value.reason == "statement.format_unknown"


@pytest.mark.parametrize(
    ("content", "header"),
    [
        (
            CAMT,
            (CAMT053, "CZ6508000000192000145399", "Volta Energie – inkaso", "2026-11-30-CZ6508000000192000145399")
            + (228, date(2026, 11, 30), "CZK", Decimal("10000.00"), Decimal("12675.00")),
        ),
        (
            GPC,
            (ABO, "19-2000145399", "VOLTA ENERGIE INKASO", "ABO-19-2000145399-20261130-228")
            + (228, date(2026, 11, 30), "CZK", Decimal("10000.00"), Decimal("12075.00")),
        ),
    ],
    ids=["camt", "abo"],
)
def test_header(content: bytes, header: tuple) -> None:
    statement, _ = parsed(content)
    assert dataclasses.astuple(statement) == header


def test_camt_lines() -> None:
    statement, lines = parsed(CAMT)
    by_ref = {line.ref: line for line in lines}
    # the pending entry is not part of the booked statement
    assert list(by_ref) == [
        "26113000011",
        "26113000012",
        "26113000013/1",
        "26113000013-B",
        "26113000014",
        "26113000015",
    ]
    assert statement.opening_balance + sum(line.amount for line in lines) == statement.closing_balance

    structured = by_ref["26113000011"]
    # the structured creditor reference wins over the end-to-end id's VS; KS from the end-to-end id
    assert (structured.variable_symbol, structured.specific_symbol, structured.constant_symbol) == (
        "2026100",
        "",
        "0308",
    )
    assert structured.counterparty_account == "19-2000145399/0800"
    assert structured.counterparty_name == "Jana Nováková"
    assert structured.remittance == "Záloha listopad"
    assert (structured.amount, structured.direction, structured.reversal) == (Decimal("1500.00"), CREDIT, False)

    text = by_ref["26113000012"]
    assert (text.variable_symbol, text.specific_symbol, text.constant_symbol) == ("123456", "77", "0558")
    assert text.end_to_end_id == ""  # NOTPROVIDED
    assert text.booked_on == date(2026, 11, 30)  # from a date-time
    assert text.counterparty_account == "CZ5508000000001234567899"

    first, second = by_ref["26113000013/1"], by_ref["26113000013-B"]
    assert (first.amount, first.variable_symbol, first.value_on) == (Decimal("300.00"), "555001", date(2026, 11, 29))
    assert (second.amount, second.variable_symbol, second.counterparty_name) == (
        Decimal("400.00"),
        "555002",
        "Eva Černá",
    )

    returned = by_ref["26113000014"]
    assert (returned.amount, returned.direction, returned.reversal) == (Decimal("-1500.00"), DEBIT, True)
    assert returned.variable_symbol == "2026100"
    assert returned.counterparty_account == "19-2000145399/0800"

    fee = by_ref["26113000015"]
    assert (fee.amount, fee.variable_symbol, fee.remittance) == (Decimal("-25.00"), "", "Poplatek za vedení účtu")


def test_shipped_camt_sample() -> None:
    statement, lines = parsed((SAMPLES / "camt053.v2.minimal.xml").read_bytes())
    assert (statement.account, statement.sequence, statement.currency) == ("NL26VAYB8060476890", 12312, "EUR")
    assert statement.opening_balance == Decimal("18.15")
    assert statement.closing_balance == Decimal("-27.00")
    [line] = lines
    # no bank reference at all: the statement id and the entry's position
    assert line.ref == "253EURNL26VAYB8060476890/1"
    assert (line.amount, line.currency, line.booked_on, line.value_on) == (
        Decimal("8.85"),
        "EUR",
        date(2014, 12, 31),
        date(2015, 1, 2),
    )
    assert (line.counterparty_name, line.counterparty_account) == ("NAME NAME", "NL56AGDH9619008421")
    # 16 digits are no variable symbol
    assert line.variable_symbol == ""


def test_camt_from_a_file_object() -> None:
    statement, lines = statements.read(io.BytesIO(CAMT))
    assert statement.sequence == 228
    assert len(list(lines)) == 6


# the statement element whole, to make a document of two
STMT = CAMT.decode()[CAMT.decode().index("    <Stmt>") : CAMT.decode().index("    </Stmt>") + len("    </Stmt>")]


def camt_with(old: str, new: str, count: int = 1) -> bytes:
    text = CAMT.decode()
    assert old in text
    return text.replace(old, new, count).encode()


@pytest.mark.parametrize(
    ("content", "reason", "params"),
    [
        (CAMT[: len(CAMT) // 2], "statement.xml_invalid", {}),
        (camt_with("camt.053.001.02", "camt.053.001.08"), "statement.camt_version", {}),
        (camt_with('<Amt Ccy="CZK">400.00</Amt>', '<Amt Ccy="CZK">450.00</Amt>'), "statement.batch_sum", {}),
        (
            camt_with('<AmtDtls><TxAmt><Amt Ccy="CZK">300.00</Amt></TxAmt></AmtDtls>', ""),
            "statement.field_missing",
            {"name": "TxDtls/AmtDtls/TxAmt"},
        ),
        (camt_with('<Amt Ccy="CZK">2000.00</Amt>', '<Amt Ccy="CZK">2 000</Amt>'), "statement.amount_invalid", {}),
        (camt_with("<Dt>2026-11-30</Dt></BookgDt>", "<Dt>2026-11-31</Dt></BookgDt>"), "statement.date_invalid", {}),
        (
            camt_with("<AcctSvcrRef>26113000012</AcctSvcrRef>", "<AcctSvcrRef>26113000011</AcctSvcrRef>"),
            "statement.ref_duplicate",
            {"value": "26113000011"},
        ),
        (camt_with("    </Stmt>", "    </Stmt>\n" + STMT), "statement.several", {}),
    ],
    ids=["truncated", "other-version", "batch-sum", "batch-amount", "amount", "date", "duplicate-ref", "several"],
)
def test_camt_refusals(content: bytes, reason: str, params: dict[str, str]) -> None:
    err = refusal(content)
    assert err.reason == reason
    assert err.field == "file"
    assert int(err.params["line"]) > 0
    assert params.items() <= err.params.items()


def test_refusal_after_lines_were_read_comes_from_the_iterator() -> None:
    """The header is read first and the lines lazily: the caller's transaction covers the whole iteration."""
    statement, lines = statements.read(CAMT[: CAMT.index(b"<AcctSvcrRef>26113000015")])
    assert statement.sequence == 228
    first = next(lines)
    assert first.ref == "26113000011"
    with pytest.raises(DomainError) as exc:
        list(lines)
    assert exc.value.reason == "statement.xml_invalid"


# --- ABO/GPC ---------------------------------------------------------------------------------------


def test_abo_lines() -> None:
    statement, lines = parsed(GPC)
    assert [(line.ref, line.amount, line.direction, line.reversal) for line in lines] == [
        ("101", Decimal("1500.00"), CREDIT, False),
        ("102", Decimal("2000.00"), CREDIT, False),
        ("103", Decimal("-1500.00"), DEBIT, True),  # storno of a credit
        ("ABO-19-2000145399-20261130-228/7", Decimal("-25.00"), DEBIT, False),  # no transaction id
        ("105", Decimal("100.00"), CREDIT, True),  # storno of a debit
    ]
    payment, company = lines[0], lines[1]
    assert (payment.variable_symbol, payment.constant_symbol, payment.specific_symbol) == ("2026100", "0308", "")
    assert payment.counterparty_account == "123456789/0100"
    assert payment.counterparty_name == "Jana Nováková"
    assert payment.remittance == "Záloha listopad"  # the 078 record
    assert (payment.booked_on, payment.value_on, payment.currency, payment.line) == (
        date(2026, 11, 30),
        date(2026, 11, 30),
        "CZK",
        2,
    )
    assert (company.variable_symbol, company.specific_symbol, company.constant_symbol) == ("123456", "77", "0558")
    assert (company.end_to_end_id, company.remittance) == ("E2E-FIRMA-2026-11", "faktura 2026109901")  # the 076
    assert company.value_on == date(2026, 11, 29)
    assert lines[3].counterparty_account == ""


def test_abo_with_lf_and_trimmed_records() -> None:
    records = [r.rstrip() for r in GPC.decode("cp1250").split("\r\n")]
    statement, lines = parsed("\n".join(records).encode("cp1250"))
    assert statement.sequence == 228
    assert len(lines) == 5


def gpc_records() -> list[str]:
    return GPC.decode("cp1250").split("\r\n")


def gpc_with(record: int, first: int, text: str) -> bytes:
    """The fixture with record `record` (1-based) overwritten at position `first` (1-based)."""
    records = gpc_records()
    r = records[record - 1]
    records[record - 1] = r[: first - 1] + text + r[first - 1 + len(text) :]
    return "\r\n".join(records).encode("cp1250")


def gpc_without(record: int) -> bytes:
    records = gpc_records()
    del records[record - 1]
    return "\r\n".join(records).encode("cp1250")


@pytest.mark.parametrize(
    ("content", "reason", "params"),
    [
        (gpc_with(2, 61, "3"), "statement.field_invalid", {"line": "2", "name": "accounting_code"}),
        (gpc_with(2, 92, "311126"), "statement.date_invalid", {"line": "2", "name": "value_date"}),
        (gpc_with(2, 49, "0000001500x0"), "statement.field_invalid", {"line": "2", "name": "amount"}),
        (gpc_with(2, 119, "0999"), "statement.currency_unknown", {"line": "2", "value": "999"}),
        (gpc_with(4, 4, "0000192000145398"), "statement.account_mismatch", {"line": "4"}),
        (gpc_with(1, 109, "xx1126"), "statement.field_invalid", {"line": "1", "name": "statement_date"}),
        (gpc_with(1, 60, "*"), "statement.field_invalid", {"line": "1", "name": "opening_balance_sign"}),
        (gpc_with(6, 1, "077"), "statement.record_unknown", {"line": "6", "value": "077"}),
        (gpc_with(7, 36, "103"), "statement.ref_duplicate", {"line": "7", "value": "103"}),
        (gpc_without(8), "statement.balance_mismatch", {"expected": "12075.00", "value": "11975.00"}),
        (gpc_without(2), "statement.record_orphan", {"line": "2", "value": "078"}),
        (GPC + GPC, "statement.several", {"line": "9"}),
        (GPC.replace(b"VOLTA", b"VOLT\x98"), "statement.encoding_invalid", {"line": "1"}),
    ],
    ids=[
        "accounting-code",
        "value-date",
        "amount",
        "currency",
        "other-account",
        "statement-date",
        "balance-sign",
        "record-type",
        "duplicate-ref",
        "cut-off",
        "orphan-message",
        "several",
        "encoding",
    ],
)
def test_abo_refusals(content: bytes, reason: str, params: dict[str, str]) -> None:
    err = refusal(content)
    assert err.reason == reason
    assert params.items() <= err.params.items()
    assert "line" in err.params


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=10),
    st.text(alphabet="0123456789", min_size=1, max_size=10),
    st.sampled_from(
        ["VS{vs}/SS{ss}", "/VS/{vs}/SS/{ss}", "VS:{vs} SS:{ss}", "platba VS {vs}, SS {ss}", "vs{vs}/ss{ss}"]
    ),
)
def test_czech_symbol_forms(vs: str, ss: str, form: str) -> None:
    found = statements.symbols(form.format(vs=vs, ss=ss))
    assert (statements.symbol(found["VS"]), statements.symbol(found["SS"])) == (
        statements.symbol(vs),
        statements.symbol(ss),
    )
