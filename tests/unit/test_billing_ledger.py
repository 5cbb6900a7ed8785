"""Where an invoice stands, which days a bill run settles, and the QR payment code of what is still to pay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kit.errors import DomainError
from services.billing import ledger
from services.billing.documents import spayd

D = Decimal


@pytest.mark.parametrize(
    ("amount_due", "settled", "status", "outstanding"),
    [
        (D("100.00"), D("0"), ledger.UNPAID, D("100.00")),
        (D("100.00"), D("40.00"), ledger.PARTIALLY_PAID, D("60.00")),
        (D("100.00"), D("100.00"), ledger.PAID, D("0.00")),
        (D("-250.00"), D("0"), ledger.REFUND_DUE, D("-250.00")),
        (D("-250.00"), D("250.00"), ledger.REFUNDED, D("0.00")),
        (D("0.00"), D("0"), ledger.SETTLED, D("0.00")),
    ],
)
def test_an_invoice_stands_by_what_it_asks_and_what_was_settled(amount_due, settled, status, outstanding) -> None:
    assert ledger.invoice_status(amount_due, settled) == status
    assert ledger.outstanding(amount_due, settled) == outstanding


def test_only_what_is_still_to_pay_after_the_due_day_is_overdue() -> None:
    due = date(2026, 11, 20)
    assert ledger.overdue(ledger.UNPAID, due, date(2026, 11, 21))
    assert ledger.overdue(ledger.PARTIALLY_PAID, due, date(2026, 11, 21))
    assert not ledger.overdue(ledger.UNPAID, due, due)
    assert not ledger.overdue(ledger.PAID, due, date(2027, 1, 1))
    assert not ledger.overdue(ledger.REFUND_DUE, due, date(2027, 1, 1))


def test_periods_are_years_or_months() -> None:
    assert ledger.parse_period("2025") == (date(2025, 1, 1), date(2026, 1, 1))
    assert ledger.parse_period("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert ledger.monthly_period("2026-02") and not ledger.monthly_period("2026")
    for wrong in ("", "25", "2025-13", "2025-1", "2025/11", "abcd", "2025-00"):
        with pytest.raises(DomainError) as refused:
            ledger.parse_period(wrong)
        assert refused.value.reason == "bill_run.period_invalid"


YEARLY_READINGS = [date(2024, 11, 1), date(2025, 11, 1), date(2026, 11, 1)]
MONTHLY_READINGS = [date(2026, m, 1) for m in range(1, 13)]


def window(**given):
    base = {
        "monthly_run": False,
        "schedule": "yearly",
        "period": ledger.parse_period("2025"),
        "actual_days": YEARLY_READINGS,
        "settled_until": None,
    }
    return ledger.settlement_window(**(base | given))


def test_a_yearly_run_settles_from_the_last_settlement_to_the_last_reading_in_the_year() -> None:
    assert window() == (date(2024, 11, 1), date(2025, 11, 1))
    assert window(period=ledger.parse_period("2026"), settled_until=date(2025, 10, 31)) == (
        date(2025, 11, 1),
        date(2026, 11, 1),
    )


def test_what_is_settled_or_not_read_is_not_due() -> None:
    assert window(settled_until=date(2025, 10, 31)) is None
    assert window(period=ledger.parse_period("2027")) is None
    assert window(actual_days=[date(2025, 11, 1)]) is None  # no earlier reading to measure from
    assert window(schedule="monthly") is None  # a monthly point waits for a monthly run
    assert window(monthly_run=True) is None


def test_a_monthly_run_needs_both_readings_of_the_month() -> None:
    monthly = {"monthly_run": True, "schedule": "continuous", "actual_days": MONTHLY_READINGS}
    assert window(**monthly, period=ledger.parse_period("2026-03")) == (date(2026, 3, 1), date(2026, 4, 1))
    assert window(**monthly, period=ledger.parse_period("2026-03"), settled_until=date(2026, 3, 31)) is None
    with pytest.raises(DomainError) as refused:
        window(**monthly, period=ledger.parse_period("2026-12"))
    assert refused.value.reason == "bill_run.reading_missing"
    assert refused.value.params == {"day": "2027-01-01"}


def test_the_payment_code_is_a_spayd_in_crowns_and_an_epc_code_in_euro() -> None:
    czk = ledger.payment_code(
        iban="CZ6508000000192000145399",
        bic="",
        recipient="Volta Energie a.s.",
        amount=D("1234.50"),
        currency="CZK",
        variable_symbol="2026000001",
        due_date=date(2026, 11, 20),
    )
    fields = spayd.parse(czk)
    assert (fields["AM"], fields["CC"], fields["X-VS"], fields["DT"]) == ("1234.50", "CZK", "2026000001", "20261120")
    eur = ledger.payment_code(
        iban="BG80BNBG96611020345678",
        bic="",
        recipient="Балкан Пауър ЕАД",
        amount=D("81.20"),
        currency="EUR",
        variable_symbol="2026000002",
        due_date=date(2026, 11, 20),
        commodity="electricity",
    )
    assert spayd.parse_epc(eur)["amount"] == "EUR81.20"
    nothing = dict(iban="CZ6508000000192000145399", bic="", recipient="x", currency="CZK", variable_symbol="1")
    assert ledger.payment_code(**nothing, amount=D("0"), due_date=None) == ""
    assert ledger.payment_code(**nothing, amount=D("-5"), due_date=None) == ""


def test_an_extraordinary_settlement_runs_from_the_last_one_to_the_reading_on_the_day() -> None:
    days = [date(2025, 11, 1), date(2026, 3, 14), date(2026, 11, 1)]
    assert ledger.extraordinary_window(days, None, date(2026, 3, 14)) == (date(2025, 11, 1), date(2026, 3, 14))
    assert ledger.extraordinary_window(days, date(2026, 3, 13), date(2026, 11, 1)) == (
        date(2026, 3, 14),
        date(2026, 11, 1),
    )
    for settled, day, reason in (
        (None, date(2026, 3, 15), "settlement.reading_missing"),
        (date(2026, 3, 13), date(2026, 3, 14), "settlement.nothing_to_settle"),
        (date(2026, 3, 20), date(2026, 11, 1), "settlement.nothing_to_settle"),
        (None, date(2025, 11, 1), "settlement.nothing_to_settle"),
    ):
        with pytest.raises(DomainError) as refused:
            ledger.extraordinary_window(days, settled, day)
        assert refused.value.reason == reason
