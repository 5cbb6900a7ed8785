"""Incoming payments (platby) matched to open items, their reversals, refunds (vratky), reminders (upomínky) and a
customer number's balance. Pure rules, no I/O: the store loads what they need and records what they decide.

Matching a statement line (`match`, or `match_all` for a whole statement):

- Only money in counts. A debit is `NOT_PAYMENT` (our own refunds and fees go out that way). A credit booked as a
  storno of a debit (one of our payment orders came back) is held for staff: ``payment.returned_debit``.
- A debit booked as a reversal (a returned incoming payment) undoes the earlier payment it returns: that payment is
  found among the `earlier` ones by currency, amount and variable symbol — the same counter-account preferred, then
  the latest — and its allocations are taken back (negative amounts reopen the items) and its overpayment removed
  from the customer's balance. Without such a payment it is held for staff (``payment.reversal_unknown``).
- A credit is matched by variable symbol (variabilní symbol; leading zeros do not count) and currency:
  no symbol (``payment.no_symbol``), a symbol no item has (``payment.unknown_symbol``), items with the symbol but in
  other currencies only (``payment.currency``) or of several customer numbers (``payment.ambiguous``): `UNMATCHED`,
  the whole amount held for staff.
- Items with the symbol are paid oldest due date first (advances of one contract share a symbol). An amount that
  settles every item it touches is `PAID`; one that leaves an item partly paid is `PARTIAL` (``payment.partial``; the
  item stays open with the rest); what is left once every item with the symbol is paid is `OVERPAID`
  (``payment.overpaid``): an overpayment (přeplatek) on the customer number's balance, to be refunded or offset.
  Items already paid (outstanding zero) may be passed too: a second payment of a paid invoice then counts as the
  customer's overpayment rather than an unknown symbol.
- Partial, over- and unmatched payments and the two held cases above go to the staff queue: `Payment.reason` is the
  reason (its English text in `MESSAGES`, the gettext msgid), empty when nothing needs a person.

Every payment conserves money: the line's amount equals what it allocates plus what it leaves unallocated (the
overpayment, or the amount held for staff), with the signs of the line. A reversal's allocations are the negated
allocations of the payment it undoes, so applying both leaves every item as it was. To make that possible the store
keeps each payment's allocations (item id and amount) with it, and hands `apply` the items a reversal names even when
they are paid and closed by then; a reopened item is overdue again and its reminders continue from the stage reached.

What the store does with a `Payment`: `apply` its allocations to the items; record `overpayment` on the customer
number's balance; close the open reminders of `settled_items`; put it in the staff queue when `needs_staff`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from kit import identifiers
from services.billing.pricing import next_business_day
from services.billing.statements import StatementLine, symbol

INVOICE = "invoice"  # faktura (vyúčtování)
ADVANCE = "advance"  # záloha

MESSAGES: dict[str, str] = {
    "payment.partial": "The payment is less than the amount due; the rest stays open.",
    "payment.overpaid": "The payment is more than the amount due; the surplus is an overpayment of the customer.",
    "payment.no_symbol": "The payment has no variable symbol.",
    "payment.unknown_symbol": "No open invoice or advance has this variable symbol.",
    "payment.currency": "The payment's currency differs from that of the invoices with this variable symbol.",
    "payment.ambiguous": "Invoices of several customers have this variable symbol.",
    "payment.reversal_unknown": "A returned payment for which no earlier payment was found.",
    "payment.returned_debit": "One of our outgoing payments came back.",
    "refund.no_account": "The customer has no bank account for the refund.",
    "refund.account_invalid": "The customer's bank account for the refund is not valid.",
}


class Outcome(StrEnum):
    PAID = "paid"
    PARTIAL = "partial"
    OVERPAID = "overpaid"
    UNMATCHED = "unmatched"
    HELD = "held"  # money in that is no payment of ours to match (see the reason)
    REVERSED = "reversed"  # a returned payment, undoing an earlier one
    NOT_PAYMENT = "not_payment"


# OpenItem, Allocation and Payment are named tuples, immutable like the frozen dataclasses here, because an import
# makes one of each per statement line and a frozen dataclass's `__init__` costs several times a tuple's


class OpenItem(NamedTuple):
    """An invoice or advance as far as payments are concerned."""

    id: str
    kind: str
    variable_symbol: str
    customer_number: str
    outstanding: Decimal
    due_on: date
    currency: str


class Allocation(NamedTuple):
    item_id: str
    # positive pays the item, negative reopens it (a reversal)
    amount: Decimal
    # the item has nothing left to pay: its open reminders close
    settled: bool = False


@dataclass(frozen=True, slots=True)
class Overpayment:
    """Money of a customer number not allocated to any item (negative: an overpayment taken back)."""

    customer_number: str
    amount: Decimal
    currency: str
    source_ref: str


class Payment(NamedTuple):
    """A statement line as the ledger records it: what it paid, what is left, and whether staff must look."""

    ref: str
    booked_on: date
    amount: Decimal
    currency: str
    variable_symbol: str
    counterparty_account: str
    outcome: Outcome
    customer_number: str = ""
    allocations: tuple[Allocation, ...] = ()
    # the overpayment (with a customer number) or the amount held for staff (without)
    unallocated: Decimal = Decimal(0)
    reason: str = ""
    # the ref of the payment a reversal undoes
    reverses: str = ""

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), Decimal(0))

    @property
    def needs_staff(self) -> bool:
        return bool(self.reason)

    @property
    def overpayment(self) -> Overpayment | None:
        if not self.customer_number or not self.unallocated:
            return None
        return Overpayment(self.customer_number, self.unallocated, self.currency, self.ref)


def _payment(line: StatementLine, outcome: Outcome, **rest: object) -> Payment:
    return Payment(
        ref=line.ref,
        booked_on=line.booked_on,
        amount=line.amount,
        currency=line.currency,
        variable_symbol=symbol(line.variable_symbol),
        counterparty_account=line.counterparty_account,
        outcome=outcome,
        **rest,  # type: ignore[arg-type]
    )


def _held(line: StatementLine, outcome: Outcome, reason: str) -> Payment:
    return _payment(line, outcome, unallocated=line.amount, reason=reason)


def match(line: StatementLine, items: Iterable[OpenItem], earlier: Iterable[Payment] = ()) -> Payment:
    """What one statement line pays. `items`: the tenant's open items (those with other symbols are passed over);
    `earlier`: payments not yet reversed that a returned payment may undo (only read for a reversal)."""
    if line.reversal and not line.is_credit:
        original = find_reversed(line, earlier)
        return reverse(line, original) if original else _held(line, Outcome.HELD, "payment.reversal_unknown")
    if line.reversal:
        return _held(line, Outcome.HELD, "payment.returned_debit")
    if not line.is_credit or line.amount <= 0:
        return _payment(line, Outcome.NOT_PAYMENT)
    vs = symbol(line.variable_symbol)
    if not vs:
        return _held(line, Outcome.UNMATCHED, "payment.no_symbol")
    with_symbol = [i for i in items if symbol(i.variable_symbol) == vs]
    if not with_symbol:
        return _held(line, Outcome.UNMATCHED, "payment.unknown_symbol")
    candidates = [i for i in with_symbol if i.currency == line.currency]
    if not candidates:
        return _held(line, Outcome.UNMATCHED, "payment.currency")
    customers = {i.customer_number for i in candidates}
    if len(customers) > 1:
        return _held(line, Outcome.UNMATCHED, "payment.ambiguous")
    allocations, left = _allocate(line.amount, candidates)
    if left > 0:
        outcome, reason = Outcome.OVERPAID, "payment.overpaid"
    elif allocations[-1].settled:  # oldest first, so only the last item can be left partly paid
        outcome, reason = Outcome.PAID, ""
    else:
        outcome, reason = Outcome.PARTIAL, "payment.partial"
    return _payment(
        line,
        outcome,
        customer_number=customers.pop(),
        allocations=allocations,
        unallocated=left,
        reason=reason,
    )


def _allocate(amount: Decimal, items: Iterable[OpenItem]) -> tuple[tuple[Allocation, ...], Decimal]:
    """`amount` spread over the items oldest due date first; what is left over."""
    left = amount
    allocations = []
    for item in sorted(items, key=lambda i: (i.due_on, i.id)):
        if left <= 0:
            break
        if item.outstanding > 0:
            take = min(left, item.outstanding)
            allocations.append(Allocation(item.id, take, settled=take == item.outstanding))
            left -= take
    return tuple(allocations), left


# what a returned payment can give back: money that came in as a payment (held money of ours is not)
_REVERSIBLE = frozenset({Outcome.PAID, Outcome.PARTIAL, Outcome.OVERPAID, Outcome.UNMATCHED})


def find_reversed(line: StatementLine, earlier: Iterable[Payment]) -> Payment | None:
    """The payment a returned payment (a reversed debit) gives back."""
    vs = symbol(line.variable_symbol)
    candidates = [
        p
        for p in earlier
        if p.amount == -line.amount
        and p.currency == line.currency
        and p.variable_symbol == vs
        and p.outcome in _REVERSIBLE
        and p.booked_on <= line.booked_on
    ]
    best: Payment | None = None
    for p in candidates:
        # >= so that of equals the later one in `earlier` wins
        if best is None or _closeness(p, line) >= _closeness(best, line):
            best = p
    return best


def _closeness(p: Payment, line: StatementLine) -> tuple[bool, date]:
    return p.counterparty_account == line.counterparty_account, p.booked_on


def reverse(line: StatementLine, original: Payment) -> Payment:
    """The returned payment `line` undoing `original`: its items reopened, its overpayment taken back."""
    return _payment(
        line,
        Outcome.REVERSED,
        customer_number=original.customer_number,
        allocations=tuple(Allocation(a.item_id, -a.amount) for a in original.allocations),
        unallocated=-original.unallocated,
        reverses=original.ref,
    )


def apply(items: Iterable[OpenItem], payment: Payment) -> list[OpenItem]:
    """The items as they stand after `payment`: what it allocated taken off (a reversal's negative amounts add)."""
    taken: dict[str, Decimal] = defaultdict(Decimal)
    for a in payment.allocations:
        taken[a.item_id] += a.amount
    return [i._replace(outstanding=i.outstanding - taken[i.id]) if i.id in taken else i for i in items]


def match_all(
    lines: Iterable[StatementLine], items: Iterable[OpenItem], earlier: Iterable[Payment] = ()
) -> Iterator[Payment]:
    """`match` over a statement's lines in order, each seeing what the ones before it paid and able to undo them,
    as returned payments may also undo the `earlier` ones (of past statements, not reversed yet; with the items
    they paid among `items` so that those can reopen). The items are indexed once by symbol, so a statement of n
    lines against m items costs O(n + m)."""
    by_symbol: dict[str, list[OpenItem]] = defaultdict(list)
    for item in items:
        by_symbol[symbol(item.variable_symbol)].append(item)
    paid: dict[str, list[Payment]] = defaultdict(list)
    for p in earlier:
        paid[p.variable_symbol].append(p)
    for line in lines:
        vs = symbol(line.variable_symbol)
        payment = match(line, by_symbol.get(vs, ()), paid.get(vs, ()))
        if payment.allocations:
            by_symbol[vs] = apply(by_symbol[vs], payment)
        if payment.reverses:
            paid[vs] = [p for p in paid[vs] if p.ref != payment.reverses]
        elif payment.outcome in _REVERSIBLE:
            paid[vs].append(payment)
        yield payment


# --- balance --------------------------------------------------------------------------------------


def balance(customer_number: str, items: Iterable[OpenItem], overpayments: Iterable[Overpayment]) -> dict[str, Decimal]:
    """Per currency, what the customer number owes (positive) or has to its credit (negative): its items'
    outstanding amounts minus its overpayments not yet refunded or offset."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        if item.customer_number == customer_number:
            totals[item.currency] += item.outstanding
    for over in overpayments:
        if over.customer_number == customer_number:
            totals[over.currency] -= over.amount
    return dict(totals)


# --- refunds (vratky) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    """A domestic or SEPA credit transfer (platební příkaz) for the bank."""

    customer_number: str
    account: str  # as normalised by kit.identifiers: IBAN, or a Czech `[prefix-]number/bank code`
    amount: Decimal
    currency: str
    variable_symbol: str


@dataclass(frozen=True, slots=True)
class Refund:
    """What becomes of an overpayment: open due items paid from it first, the rest sent to the customer's account
    (or kept on the balance, for staff, when there is no account to send it to)."""

    offsets: tuple[Allocation, ...]
    order: PaymentOrder | None
    kept: Decimal
    reason: str = ""


def refund(
    over: Overpayment, bank_account: str, items: Iterable[OpenItem], today: date, variable_symbol: str = ""
) -> Refund:
    """An overpayment's refund. It first pays (započtení, an offset) the customer number's items of its currency
    that are due by `today`, oldest first — a supplier does not send money back to a customer who owes it; items not
    yet due are left to be paid as usual. The rest goes to `bank_account` (validated when the customer gave it;
    normalised here) with `variable_symbol` (e.g. the settlement's number; default the customer number when it fits
    the 10 digits a symbol has)."""
    offsets, left = _allocate(
        over.amount,
        (
            i
            for i in items
            if i.customer_number == over.customer_number and i.currency == over.currency and i.due_on <= today
        ),
    )
    if left <= 0:
        return Refund(offsets, None, Decimal(0))
    if not bank_account.strip():
        return Refund(offsets, None, left, "refund.no_account")
    try:
        account = identifiers.bank_account(bank_account)
    except identifiers.InvalidIdentifier:
        return Refund(offsets, None, left, "refund.account_invalid")
    vs = variable_symbol or (over.customer_number if len(over.customer_number) <= 10 else "")
    return Refund(offsets, PaymentOrder(over.customer_number, account, left, over.currency, vs), Decimal(0))


# --- reminders (upomínky) -------------------------------------------------------------------------


class Stage(IntEnum):
    """The reminder level an item has reached (`Invoice.reminder_level`)."""

    FIRST = 1
    SECOND = 2
    # the notice before supply is interrupted (výzva před přerušením dodávky)
    FINAL = 3


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """When reminders go out, in calendar days after the due date.

    The defaults follow what Czech suppliers' terms commonly say: a first, friendly reminder about a week after the
    due date (long enough for a payment made on the due day to reach the account, with a weekend in between), a
    second about three weeks after, and — some five weeks after — a final notice giving 15 more days, after which
    the supplier may ask the distribution operator to interrupt supply for non-payment. A tenant with other terms
    sets its own. A due date on a weekend or public holiday moves to the next working day, as a payment deadline
    does under Czech law, before days are counted.
    """

    first_after_days: int = 7
    second_after_days: int = 21
    final_after_days: int = 35
    # the deadline a first or second reminder gives
    pay_within_days: int = 7
    # the deadline of the final notice, after which supply may be interrupted
    final_notice_days: int = 15

    def after_days(self, stage: Stage) -> int:
        return (self.first_after_days, self.second_after_days, self.final_after_days)[stage - 1]

    def deadline_days(self, stage: Stage) -> int:
        return self.final_notice_days if stage is Stage.FINAL else self.pay_within_days


@dataclass(frozen=True, slots=True)
class SentReminder:
    item_id: str
    stage: Stage
    sent_on: date
    deadline: date


@dataclass(frozen=True, slots=True)
class ReminderDue:
    item: OpenItem
    stage: Stage
    # pay by this day; after a final notice's, supply may be interrupted
    deadline: date


def local_day(now: datetime, zone: ZoneInfo) -> date:
    """The tenant's calendar day at `now` (an aware instant)."""
    return now.astimezone(zone).date()


def days_overdue(item: OpenItem, today: date, country: str = "CZ") -> int:
    return (today - next_business_day(item.due_on, country)).days


def reminders_due(
    items: Iterable[OpenItem],
    sent: Iterable[SentReminder],
    now: datetime,
    zone: ZoneInfo,
    policy: ReminderPolicy = ReminderPolicy(),
    country: str = "CZ",
) -> list[ReminderDue]:
    """The next reminder of every open item whose time has come. Stages go in order, one at a time: a stage is due
    once the item is that many days overdue and the stage before was sent at least the difference of their days
    ago, so an item found late still gets its first reminder first and time to pay before the next."""
    today = local_day(now, zone)
    last: dict[str, SentReminder] = {}
    for s in sent:
        if s.item_id not in last or s.stage > last[s.item_id].stage:
            last[s.item_id] = s
    due = []
    for item in items:
        if item.outstanding <= 0:
            continue
        before = last.get(item.id)
        if before is not None and before.stage is Stage.FINAL:
            continue
        stage = Stage(before.stage + 1) if before else Stage.FIRST
        if days_overdue(item, today, country) < policy.after_days(stage):
            continue
        if before is not None:
            gap = policy.after_days(stage) - policy.after_days(before.stage)
            if (today - before.sent_on).days < gap:
                continue
        due.append(ReminderDue(item, stage, today + timedelta(days=policy.deadline_days(stage))))
    return due


def interruptible(
    items: Iterable[OpenItem], sent: Iterable[SentReminder], now: datetime, zone: ZoneInfo
) -> list[OpenItem]:
    """Items still unpaid after the deadline of their final notice: supply may be interrupted for them."""
    today = local_day(now, zone)
    deadlines = {s.item_id: s.deadline for s in sent if s.stage is Stage.FINAL}
    return [i for i in items if i.outstanding > 0 and i.id in deadlines and today > deadlines[i.id]]


def settled_items(payment: Payment) -> tuple[str, ...]:
    """The items a payment paid off: their open reminders close."""
    return tuple(a.item_id for a in payment.allocations if a.settled)
