"""Payment matching, reversals, refunds, reminders and balance: examples, the statement fixtures end to end, and
properties of matching (money conserved, never more than outstanding, order independence)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from services.billing import payments, statements
from services.billing.payments import (
    ADVANCE,
    INVOICE,
    Allocation,
    OpenItem,
    Outcome,
    Overpayment,
    ReminderPolicy,
    SentReminder,
    Stage,
)
from services.billing.statements import CREDIT, DEBIT, StatementLine

PRAGUE = ZoneInfo("Europe/Prague")
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "statements"
DAY = date(2026, 11, 30)


def item(
    id: str,
    outstanding: str,
    vs: str = "2026100",
    due_on: date = date(2026, 11, 15),
    customer: str = "1003456789",
    currency: str = "CZK",
    kind: str = INVOICE,
) -> OpenItem:
    return OpenItem(id, kind, vs, customer, Decimal(outstanding), due_on, currency)


def line(
    amount: str,
    vs: str = "2026100",
    ref: str = "r1",
    currency: str = "CZK",
    reversal: bool = False,
    account: str = "19-2000145399/0800",
    booked_on: date = DAY,
) -> StatementLine:
    value = Decimal(amount)
    return StatementLine(
        ref=ref,
        booked_on=booked_on,
        value_on=booked_on,
        amount=value,
        currency=currency,
        direction=CREDIT if value > 0 else DEBIT,
        reversal=reversal,
        variable_symbol=vs,
        specific_symbol="",
        constant_symbol="",
        counterparty_account=account,
        counterparty_name="Jana Nováková",
        end_to_end_id="",
        remittance="",
    )


# --- matching ---------------------------------------------------------------------------------------


def test_exact_amount_pays_the_item() -> None:
    p = payments.match(line("1500.00"), [item("i1", "1500.00")])
    assert p.outcome is Outcome.PAID
    assert p.allocations == (Allocation("i1", Decimal("1500.00"), settled=True),)
    assert (p.unallocated, p.reason, p.needs_staff, p.customer_number) == (0, "", False, "1003456789")
    assert payments.settled_items(p) == ("i1",)
    assert p.overpayment is None


def test_less_leaves_the_rest_open_and_goes_to_staff() -> None:
    items = [item("i1", "1500.00")]
    p = payments.match(line("1000.00"), items)
    assert (p.outcome, p.reason) == (Outcome.PARTIAL, "payment.partial")
    assert p.allocations == (Allocation("i1", Decimal("1000.00"), settled=False),)
    assert payments.apply(items, p)[0].outstanding == Decimal("500.00")
    assert payments.settled_items(p) == ()


def test_more_pays_the_item_and_the_surplus_is_the_customers_overpayment() -> None:
    p = payments.match(line("2000.00"), [item("i1", "1500.00")])
    assert (p.outcome, p.reason) == (Outcome.OVERPAID, "payment.overpaid")
    assert p.allocated == Decimal("1500.00")
    assert p.overpayment == Overpayment("1003456789", Decimal("500.00"), "CZK", "r1")


def test_advances_of_one_symbol_are_paid_oldest_first() -> None:
    advances = [
        item("dec", "1500", due_on=date(2026, 12, 15), kind=ADVANCE),
        item("oct", "1500", due_on=date(2026, 10, 15), kind=ADVANCE),
        item("nov", "1500", due_on=date(2026, 11, 15), kind=ADVANCE),
    ]
    p = payments.match(line("3000"), advances)
    assert [(a.item_id, a.amount, a.settled) for a in p.allocations] == [
        ("oct", Decimal(1500), True),
        ("nov", Decimal(1500), True),
    ]
    # paying whole advances is no partial payment, even while later ones of the symbol stay open
    assert (p.outcome, p.reason) == (Outcome.PAID, "")
    p = payments.match(line("2000"), advances)
    assert p.outcome is Outcome.PARTIAL
    assert [(a.item_id, a.amount) for a in p.allocations] == [("oct", Decimal(1500)), ("nov", Decimal(500))]


def test_leading_zeros_of_the_symbol_do_not_count() -> None:
    assert payments.match(line("100", vs="0002026100"), [item("i1", "100", vs="2026100")]).outcome is Outcome.PAID
    assert payments.match(line("100", vs="2026100"), [item("i1", "100", vs="002026100")]).outcome is Outcome.PAID


def test_unmatched_payments_are_held_whole_for_staff() -> None:
    items = [item("i1", "100"), item("i2", "100", vs="777", currency="EUR"), item("a", "5", vs="42", customer="1")]
    items.append(item("b", "5", vs="42", customer="2"))
    for vs, currency, reason in [
        ("", "CZK", "payment.no_symbol"),
        ("555", "CZK", "payment.unknown_symbol"),
        ("777", "CZK", "payment.currency"),
        ("42", "CZK", "payment.ambiguous"),
    ]:
        p = payments.match(line("100", vs=vs, currency=currency), items)
        assert (p.outcome, p.reason, p.allocations, p.unallocated) == (Outcome.UNMATCHED, reason, (), Decimal(100))
        assert p.customer_number == ""
        assert p.overpayment is None


def test_a_second_payment_of_a_paid_invoice_is_an_overpayment() -> None:
    p = payments.match(line("100"), [item("i1", "0")])
    assert (p.outcome, p.allocations, p.overpayment) == (
        Outcome.OVERPAID,
        (),
        Overpayment("1003456789", Decimal(100), "CZK", "r1"),
    )


def test_money_out_is_no_payment_and_a_returned_order_is_held() -> None:
    assert payments.match(line("-25"), [item("i1", "25")]).outcome is Outcome.NOT_PAYMENT
    back = payments.match(line("100", reversal=True), [item("i1", "100")])
    assert (back.outcome, back.reason, back.unallocated) == (Outcome.HELD, "payment.returned_debit", Decimal(100))


def test_a_returned_payment_reopens_what_it_paid() -> None:
    items = [item("oct", "1000", due_on=date(2026, 10, 15)), item("nov", "1000")]
    paid = payments.match(line("2500", ref="in"), items)
    after = payments.apply(items, paid)
    assert [i.outstanding for i in after] == [0, 0]
    back = payments.match(line("-2500", ref="back", reversal=True), after, [paid])
    assert (back.outcome, back.reverses, back.reason) == (Outcome.REVERSED, "in", "")
    assert [i.outstanding for i in payments.apply(after, back)] == [Decimal(1000), Decimal(1000)]
    assert back.overpayment == Overpayment("1003456789", Decimal(-500), "CZK", "back")
    assert back.allocated + back.unallocated == back.amount


def test_a_returned_payment_finds_its_original() -> None:
    older = payments.match(line("100", ref="older", booked_on=DAY - timedelta(days=9)), [item("i1", "300")])
    newer = payments.match(line("100", ref="newer", booked_on=DAY - timedelta(days=2)), [item("i1", "200")])
    other = payments.match(line("100", ref="other", account="123/0100"), [item("i1", "100")])
    later = payments.match(line("100", ref="later", booked_on=DAY + timedelta(days=1)), [item("i1", "100")])
    wrong = payments.match(line("99", ref="wrong"), [item("i1", "100")])
    back = line("-100", ref="back", reversal=True)
    assert payments.find_reversed(back, [older, newer, other, later, wrong]).ref == "newer"
    assert payments.find_reversed(back, [older, other]).ref == "older"
    assert payments.find_reversed(back, [other]).ref == "other"
    assert payments.find_reversed(back, [later, wrong]) is None
    lost = payments.match(back, [], [later])
    assert (lost.outcome, lost.reason) == (Outcome.HELD, "payment.reversal_unknown")
    # money held for staff can be given back too; our own returned order cannot
    unmatched = payments.match(line("100", ref="unknown"), [])
    assert payments.find_reversed(back, [unmatched]) == unmatched
    assert payments.find_reversed(back, [payments.match(line("100", ref="ours", reversal=True), [])]) is None


def test_statement_fixtures_end_to_end() -> None:
    items = [
        item("adv-nov", "1500", vs="2026100", kind=ADVANCE),
        item("inv", "2500", vs="123456", customer="1002000180"),
        item("p1", "300", vs="555001", customer="1000000001"),
    ]
    for name in ("camt053_cz.xml", "abo_cz.gpc"):
        _, lines = statements.read((SAMPLES / name).read_bytes())
        got = {p.ref: (p.outcome, p.reason) for p in payments.match_all(lines, items)}
        assert got["26113000011" if name.endswith("xml") else "101"] == (Outcome.PAID, "")
        assert got["26113000012" if name.endswith("xml") else "102"] == (Outcome.PARTIAL, "payment.partial")
        assert got["26113000014" if name.endswith("xml") else "103"] == (Outcome.REVERSED, "")
        assert Outcome.NOT_PAYMENT in {o for o, _ in got.values()}
    assert got["105"] == (Outcome.HELD, "payment.returned_debit")


def test_a_statement_returns_a_payment_of_an_earlier_one() -> None:
    items = [item("i1", "100")]
    before = payments.match(line("100", ref="yesterday", booked_on=DAY - timedelta(days=1)), items)
    paid = payments.apply(items, before)
    [back] = payments.match_all([line("-100", ref="today", reversal=True)], paid, [before])
    assert (back.outcome, back.reverses) == (Outcome.REVERSED, "yesterday")
    assert payments.apply(paid, back) == items


def test_match_all_sees_what_earlier_lines_paid() -> None:
    items = [item("i1", "100")]
    first, second = payments.match_all([line("100", ref="a"), line("100", ref="b")], items)
    assert first.outcome is Outcome.PAID
    assert (second.outcome, second.overpayment.amount) == (Outcome.OVERPAID, Decimal(100))


# --- properties -------------------------------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
symbols = st.sampled_from(["11", "011", "22", "33", ""])
open_items = st.lists(
    st.builds(
        lambda n, vs, amount, days, ccy: item(
            f"i{n}", str(amount), vs=vs, due_on=DAY + timedelta(days=days), currency=ccy
        ),
        st.integers(0, 10_000),
        st.sampled_from(["11", "22", "0022"]),
        amounts,
        st.integers(-60, 60),
        st.sampled_from(["CZK", "CZK", "EUR"]),
    ),
    max_size=8,
    unique_by=lambda i: i.id,
)
incoming = st.lists(st.tuples(amounts, symbols, st.sampled_from(["CZK", "EUR"])), max_size=8).map(
    lambda rows: [line(str(a), vs=vs, ref=f"r{n}", currency=c) for n, (a, vs, c) in enumerate(rows)]
)


def outcome_of(lines: list[StatementLine], items: list[OpenItem]) -> tuple[dict[str, Decimal], Decimal]:
    """Each item's outstanding after the lines, and what was left unallocated altogether."""
    result = list(payments.match_all(lines, items))
    left = {i.id: i.outstanding for i in items}
    for p in result:
        for a in p.allocations:
            left[a.item_id] -= a.amount
    return left, sum((p.unallocated for p in result), Decimal(0))


@given(open_items, incoming)
def test_money_is_conserved_and_never_more_than_outstanding_is_allocated(
    items: list[OpenItem], lines: list[StatementLine]
) -> None:
    outstanding = {i.id: i.outstanding for i in items}
    for p in payments.match_all(lines, items):
        assert p.allocated + p.unallocated == p.amount
        assert p.unallocated >= 0
        assert p.needs_staff == (p.reason in payments.MESSAGES)
        for a in p.allocations:
            assert 0 < a.amount <= outstanding[a.item_id]
            outstanding[a.item_id] -= a.amount
            assert a.settled == (outstanding[a.item_id] == 0)
    assert all(v >= 0 for v in outstanding.values())


@given(open_items, incoming, st.randoms(use_true_random=False))
def test_order_of_payments_does_not_change_the_end_result(
    items: list[OpenItem], lines: list[StatementLine], rnd
) -> None:
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    assert outcome_of(lines, items) == outcome_of(shuffled, items)


@given(open_items, incoming)
def test_order_of_items_does_not_change_any_payment(items: list[OpenItem], lines: list[StatementLine]) -> None:
    assert list(payments.match_all(lines, items)) == list(payments.match_all(lines, list(reversed(items))))


@given(open_items, incoming)
def test_returning_every_payment_restores_every_item(items: list[OpenItem], lines: list[StatementLine]) -> None:
    returned = [
        line(str(-ln.amount), vs=ln.variable_symbol, ref=f"back-{ln.ref}", currency=ln.currency, reversal=True)
        for ln in lines
    ]
    left, unallocated = outcome_of(lines + returned, items)
    assert left == {i.id: i.outstanding for i in items}
    assert unallocated == 0


# --- balance and refunds ----------------------------------------------------------------------------


def test_balance_is_outstanding_minus_overpayments_per_currency() -> None:
    items = [item("a", "1000"), item("b", "250.50"), item("c", "40", currency="EUR"), item("x", "99", customer="2")]
    overs = [Overpayment("1003456789", Decimal("300"), "CZK", "r1"), Overpayment("2", Decimal("1"), "CZK", "r2")]
    assert payments.balance("1003456789", items, overs) == {"CZK": Decimal("950.50"), "EUR": Decimal(40)}
    assert payments.balance("3", items, overs) == {}


def test_refund_offsets_due_items_first_then_orders_the_rest() -> None:
    over = Overpayment("1003456789", Decimal("1000"), "CZK", "r1")
    items = [
        item("due", "300", due_on=DAY - timedelta(days=20)),
        item("future", "1500", due_on=DAY + timedelta(days=10)),
        item("euro", "50", due_on=DAY - timedelta(days=20), currency="EUR"),
    ]
    r = payments.refund(over, "19-2000145399/0800", items, DAY)
    assert r.offsets == (Allocation("due", Decimal(300), settled=True),)
    assert r.order == payments.PaymentOrder("1003456789", "19-2000145399/0800", Decimal(700), "CZK", "1003456789")
    assert (r.kept, r.reason) == (0, "")


def test_refund_to_an_iban_with_the_settlements_symbol() -> None:
    over = Overpayment("100200030004", Decimal("80"), "EUR", "r1")
    r = payments.refund(over, "cz65 0800 0000 1920 0014 5399", [], DAY, variable_symbol="2026109901")
    assert r.order == payments.PaymentOrder(
        "100200030004", "CZ6508000000192000145399", Decimal(80), "EUR", "2026109901"
    )
    # a 12-digit customer number does not fit a variable symbol
    assert payments.refund(over, "CZ6508000000192000145399", [], DAY).order.variable_symbol == ""


def test_refund_without_a_usable_account_stays_on_the_balance_for_staff() -> None:
    over = Overpayment("1003456789", Decimal("500"), "CZK", "r1")
    for account, reason in [("", "refund.no_account"), ("19-2000145398/0800", "refund.account_invalid")]:
        r = payments.refund(over, account, [item("due", "100", due_on=DAY - timedelta(days=1))], DAY)
        assert (r.order, r.kept, r.reason) == (None, Decimal(400), reason)
        assert reason in payments.MESSAGES
        assert r.offsets == (Allocation("due", Decimal(100), settled=True),)


def test_an_overpayment_swallowed_by_debts_orders_nothing() -> None:
    over = Overpayment("1003456789", Decimal("100"), "CZK", "r1")
    r = payments.refund(over, "", [item("due", "400", due_on=DAY)], DAY)
    assert (r.offsets, r.order, r.kept, r.reason) == ((Allocation("due", Decimal(100)),), None, 0, "")


# --- reminders --------------------------------------------------------------------------------------


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PRAGUE).astimezone(UTC)


def test_first_reminder_a_week_after_the_due_date() -> None:
    # due Monday 16 November 2026
    invoice = item("i1", "100", due_on=date(2026, 11, 16))
    assert payments.reminders_due([invoice], [], at(date(2026, 11, 22)), PRAGUE) == []
    [due] = payments.reminders_due([invoice], [], at(date(2026, 11, 23)), PRAGUE)
    assert (due.item, due.stage, due.deadline) == (invoice, Stage.FIRST, date(2026, 11, 30))
    assert payments.reminders_due([item("paid", "0", due_on=date(2026, 1, 1))], [], at(DAY), PRAGUE) == []


def test_a_due_date_on_a_weekend_or_holiday_moves_to_the_next_working_day() -> None:
    # Saturday 26 December 2026 (a holiday too): the payment is due on Monday 28 December
    invoice = item("i1", "100", due_on=date(2026, 12, 26))
    assert payments.days_overdue(invoice, date(2027, 1, 4)) == 7
    assert payments.reminders_due([invoice], [], at(date(2027, 1, 3)), PRAGUE) == []
    assert len(payments.reminders_due([invoice], [], at(date(2027, 1, 4)), PRAGUE)) == 1


def test_the_day_is_the_tenants() -> None:
    invoice = item("i1", "100", due_on=date(2026, 11, 16))
    # 23:30 UTC on the 22nd is already the 23rd in Prague
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert payments.local_day(late, PRAGUE) == date(2026, 11, 23)
    assert len(payments.reminders_due([invoice], [], late, PRAGUE)) == 1
    assert payments.reminders_due([invoice], [], late, ZoneInfo("UTC")) == []


def test_stages_follow_one_another_with_their_gaps() -> None:
    invoice = item("i1", "100", due_on=date(2026, 9, 1))
    first = SentReminder("i1", Stage.FIRST, date(2026, 11, 20), date(2026, 11, 27))
    # long overdue, but the second reminder waits 14 days after the first
    assert payments.reminders_due([invoice], [first], at(date(2026, 12, 3)), PRAGUE) == []
    [second] = payments.reminders_due([invoice], [first], at(date(2026, 12, 4)), PRAGUE)
    assert second.stage is Stage.SECOND
    sent = [first, SentReminder("i1", Stage.SECOND, date(2026, 12, 4), date(2026, 12, 11))]
    [final] = payments.reminders_due([invoice], sent, at(date(2026, 12, 18)), PRAGUE)
    assert (final.stage, final.deadline) == (Stage.FINAL, date(2027, 1, 2))
    sent.append(SentReminder("i1", Stage.FINAL, date(2026, 12, 18), final.deadline))
    assert payments.reminders_due([invoice], sent, at(date(2027, 3, 1)), PRAGUE) == []
    assert payments.interruptible([invoice], sent, at(date(2027, 1, 2)), PRAGUE) == []
    assert payments.interruptible([invoice], sent, at(date(2027, 1, 3)), PRAGUE) == [invoice]
    assert payments.interruptible([item("i1", "0")], sent, at(date(2027, 1, 3)), PRAGUE) == []


def test_thresholds_are_the_tenants_to_set() -> None:
    policy = ReminderPolicy(first_after_days=3, pay_within_days=10)
    [due] = payments.reminders_due(
        [item("i1", "1", due_on=date(2026, 11, 16))], [], at(date(2026, 11, 19)), PRAGUE, policy
    )
    assert due.deadline == date(2026, 11, 29)


def test_stage_thresholds_never_fall() -> None:
    policy = ReminderPolicy()
    days = [policy.after_days(s) for s in Stage]
    assert days == sorted(days) and all(b - a >= policy.pay_within_days for a, b in itertools.pairwise(days))
