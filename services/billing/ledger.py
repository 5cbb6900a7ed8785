"""Where an invoice stands (pure): what it asks for, what of it was paid or refunded, whether it is overdue.

An invoice's `amount_due` is what the settlement asks for after the advances: positive to pay, negative an
overpayment (přeplatek) the supplier refunds, zero when the advances covered it exactly. `settled` is how much of
that was paid, or refunded, so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from kit.errors import DomainError

from .documents import spayd

UNPAID = "unpaid"
PARTIALLY_PAID = "partially_paid"
PAID = "paid"
REFUND_DUE = "refund_due"
REFUNDED = "refunded"
SETTLED = "settled"  # nothing to pay and nothing to refund

# the reminder (upomínka) after which supply may be disconnected for what is still unpaid
FINAL_NOTICE = 3


def invoice_status(amount_due: Decimal, settled: Decimal) -> str:
    if amount_due > 0:
        return PAID if settled >= amount_due else PARTIALLY_PAID if settled > 0 else UNPAID
    if amount_due < 0:
        return REFUNDED if settled >= -amount_due else REFUND_DUE
    return SETTLED


def outstanding(amount_due: Decimal, settled: Decimal) -> Decimal:
    """Still to pay (positive) or still to refund (negative)."""
    if amount_due >= 0:
        return amount_due - settled
    return amount_due + settled


def overdue(status: str, due_date: date, today: date) -> bool:
    return status in (UNPAID, PARTIALLY_PAID) and due_date < today


def advance_status(amount: Decimal, paid: Decimal) -> str:
    return PAID if paid >= amount else PARTIALLY_PAID if paid > 0 else UNPAID


# --- bill runs -------------------------------------------------------------------------------------

MONTHLY_SCHEDULES = ("monthly", "continuous")


def parse_period(text: str) -> tuple[date, date]:
    """A bill run's period, `YYYY` or `YYYY-MM`, as [first day, day after the last)."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 4 and cleaned.isdigit():
            year = int(cleaned)
            return date(year, 1, 1), date(year + 1, 1, 1)
        if len(cleaned) == 7 and cleaned[4] == "-" and cleaned[:4].isdigit() and cleaned[5:].isdigit():
            year, month = int(cleaned[:4]), int(cleaned[5:])
            first = date(year, month, 1)
            return first, date(year + (month == 12), month % 12 + 1, 1)
    except ValueError:
        pass
    raise DomainError("bill_run.period_invalid", field="period")


def monthly_period(text: str) -> bool:
    return len(text.strip()) == 7


def settlement_window(
    *,
    monthly_run: bool,
    schedule: str,
    period: tuple[date, date],
    actual_days: Sequence[date],
    settled_until: date | None,
) -> tuple[date, date] | None:
    """The days [start, end) a regular settlement of one supply point covers in a bill run, or None when the point
    is not due in it.

    A monthly run settles the points read monthly (or metered continuously) for the month; a yearly run settles the
    others from where their last settlement ended (or, for the first one, from their oldest reading within a year)
    to their last actual reading (odečet) inside the period. `actual_days` are the days of the point's actual
    readings (no estimates), oldest first; both ends must be readings, so the consumption between them is measured.
    """
    if monthly_run != (schedule in MONTHLY_SCHEDULES):
        return None
    days = set(actual_days)
    if monthly_run:
        start, end = period
    else:
        inside = [d for d in actual_days if period[0] <= d < period[1]]
        if not inside:
            return None
        end = inside[-1]
        if settled_until is not None:
            start = settled_until + timedelta(days=1)
        else:
            year_before = date(end.year - 1, end.month, min(end.day, 28))
            earlier = [d for d in actual_days if year_before <= d < end]
            if not earlier:
                return None
            start = earlier[0]
    if start >= end or (settled_until is not None and settled_until >= start):
        return None
    if start not in days or end not in days:
        raise DomainError("bill_run.reading_missing", params={"day": (start if start not in days else end).isoformat()})
    return start, end


def payment_code(
    *,
    iban: str,
    bic: str,
    recipient: str,
    amount: Decimal,
    currency: str,
    variable_symbol: str,
    due_date: date | None,
    commodity: str = "",
) -> str:
    """What a QR code for paying `amount` says: a SPAYD (QR Platba) in Czech crowns, the EPC (SEPA) code in euro;
    empty when there is nothing to pay."""
    if amount <= 0:
        return ""
    if currency == spayd.SPAYD_CURRENCY:
        return spayd.payment_string(
            iban=iban, bic=bic, amount=amount, variable_symbol=variable_symbol, due_date=due_date, recipient=recipient
        )
    return spayd.epc_payload(
        iban=iban,
        bic=bic,
        name=recipient,
        amount=amount,
        currency=currency,
        text=variable_symbol,
        purpose=spayd.EPC_PURPOSE.get(commodity, ""),
    )


def extraordinary_window(actual_days: Sequence[date], settled_until: date | None, day: date) -> tuple[date, date]:
    """The days [start, day) an extraordinary settlement (mimořádné vyúčtování) asked for `day` covers: from where
    the last settlement ended (or the point's oldest reading within a year) to the actual reading on `day`.
    Refused with a reason when there is no reading on that day or nothing left to settle before it."""
    if day not in set(actual_days):
        raise DomainError("settlement.reading_missing", field="reading_day", params={"day": day.isoformat()})
    if settled_until is not None:
        start = settled_until + timedelta(days=1)
    else:
        year_before = date(day.year - 1, day.month, min(day.day, 28))
        earlier = [d for d in actual_days if year_before <= d < day]
        if not earlier:
            raise DomainError("settlement.nothing_to_settle", field="reading_day", params={"day": day.isoformat()})
        start = earlier[0]
    if start >= day or start not in set(actual_days):
        raise DomainError("settlement.nothing_to_settle", field="reading_day", params={"day": day.isoformat()})
    return start, day
