"""A finished invoice as a document: what the PDF, the ISDOC file and the QR payment string are made from.

The billing service settles, numbers and stores; it hands these frozen values over already computed. Nothing here
computes a price. `inconsistencies` checks that the figures add up the way the document presents them, so a wrong
sum is refused before it is printed, signed and sent.

Signs. A credit note (dobropis / кредитно известие) shows positive amounts, as ISDOC requires: being a credit note
is what says they are taken off. `amount_due` is always from the customer's side: positive to pay, negative for
what the supplier pays back (přeplatek, an overpayment; a credit note's refund).

Totals of a settlement (vyúčtování):

    total = Σ VAT breakdown totals                   (celkem s DPH)
    amount_due = total + rounding − Σ advances paid   (k úhradě; nedaňové zálohy, haléřové vyrovnání)

and of a credit note, which nets no advances: amount_due = −(total + rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# kinds of document
INVOICE = "invoice"  # regular settlement (vyúčtování)
EXTRAORDINARY = "extraordinary"  # mimořádné vyúčtování: on a change of price, tariff, supplier or on request
CREDIT_NOTE = "credit_note"  # dobropis (opravný daňový doklad)
ADVANCE_SCHEDULE = "advance_schedule"  # rozpis záloh / платежен план: not a tax document
INVOICE_KINDS = (INVOICE, EXTRAORDINARY, CREDIT_NOTE)
KINDS = (*INVOICE_KINDS, ADVANCE_SCHEDULE)

CURRENCIES = ("CZK", "EUR")
LOCALES = ("cs", "en", "bg")

# units of a line: our code → UN/ECE Recommendation 20 code, which ISDOC carries
UNITS = {"kWh": "KWH", "MWh": "MWH", "m3": "MTQ", "month": "MON", "day": "DAY", "piece": "H87"}

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Address:
    street: str
    building_number: str  # číslo popisné/orientační as written, e.g. "2405/190"
    city: str
    postal_code: str
    country: str  # ISO 3166 alpha-2

    def lines(self) -> tuple[str, str]:
        """Two printed lines, in the order both Czech and Bulgarian post expect."""
        return f"{self.street} {self.building_number}".strip(), f"{self.postal_code} {self.city}".strip()


@dataclass(frozen=True)
class BankAccount:
    iban: str
    bic: str
    bank_name: str = ""
    # Czech domestic form "[prefix-]number/bank code", printed beside the IBAN for Czech payers
    local_number: str = ""

    @property
    def bank_code(self) -> str:
        return self.local_number.rpartition("/")[2] if self.local_number else ""

    @property
    def number_without_bank(self) -> str:
        return self.local_number.rpartition("/")[0] if self.local_number else self.iban


def czech_account_number(iban: str) -> str:
    """The domestic form of a Czech IBAN (CZkk BBBB PPPPPP NNNNNNNNNN): bank code, prefix and number."""
    compact = "".join(iban.split()).upper()
    if not compact.startswith("CZ") or len(compact) != 24:
        raise ValueError("not a Czech IBAN")
    bank, prefix, number = compact[4:8], compact[8:14].lstrip("0"), compact[14:].lstrip("0")
    return f"{prefix}-{number}/{bank}" if prefix else f"{number}/{bank}"


@dataclass(frozen=True)
class Supplier:
    legal_name: str
    address: Address
    company_id: str  # IČO / ЕИК
    vat_id: str  # DIČ / ДДС номер
    account: BankAccount
    brand_name: str
    brand_color: str  # "#RRGGBB"
    contact_phone: str = ""
    contact_email: str = ""
    # where the company is registered (spisová značka), printed in the footer as Czech law asks
    register_entry: str = ""


@dataclass(frozen=True)
class Customer:
    name: str
    address: Address
    customer_number: str
    company_id: str = ""
    vat_id: str = ""


@dataclass(frozen=True)
class SupplyPoint:
    identifier: str  # EAN (Czech electricity) or EIC (gas, Bulgaria)
    address: Address
    commodity: str  # kit.identifiers.ELECTRICITY | GAS
    distribution_tariff: str = ""  # distribuční sazba, e.g. "D25d"


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit: str  # a key of UNITS
    unit_price: Decimal  # without VAT
    vat_rate: Decimal  # percent, e.g. Decimal("21")
    base: Decimal  # without VAT
    vat: Decimal
    total: Decimal  # with VAT


@dataclass(frozen=True)
class VatRate:
    """One row of the VAT breakdown (rekapitulace DPH): the law asks for base and tax per rate."""

    rate: Decimal
    base: Decimal
    vat: Decimal
    total: Decimal


@dataclass(frozen=True)
class PaidAdvance:
    """An advance (záloha) paid during the period and netted on the settlement."""

    reference: str  # the advance's identifier in billing (payment or schedule item)
    variable_symbol: str
    amount: Decimal


@dataclass(frozen=True)
class ScheduledAdvance:
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    kind: str
    number: str
    uuid: str  # the document's UUID, stable across re-renders: ISDOC importers recognise a document by it
    variable_symbol: str
    issue_date: date
    due_date: date
    period_from: date
    period_to: date  # inclusive
    currency: str
    locale: str
    supplier: Supplier
    customer: Customer
    supply_point: SupplyPoint
    # DUZP (datum uskutečnění zdanitelného plnění); not stated on a credit note, whose tax point is its receipt
    taxable_supply_date: date | None = None
    lines: tuple[Line, ...] = ()
    vat_breakdown: tuple[VatRate, ...] = ()
    advances_paid: tuple[PaidAdvance, ...] = ()
    rounding: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")
    amount_due: Decimal = Decimal("0.00")
    original_invoice_number: str = ""  # what a credit note corrects
    original_invoice_date: date | None = None
    credit_reason: str = ""  # důvod opravy, printed on a credit note
    schedule: tuple[ScheduledAdvance, ...] = ()  # the advance schedule's payments

    @property
    def advances_total(self) -> Decimal:
        return sum((a.amount for a in self.advances_paid), Decimal("0.00"))

    @property
    def base_total(self) -> Decimal:
        return sum((r.base for r in self.vat_breakdown), Decimal("0.00"))

    @property
    def vat_total(self) -> Decimal:
        return sum((r.vat for r in self.vat_breakdown), Decimal("0.00"))

    def next_advance(self, today: date) -> ScheduledAdvance | None:
        """The first scheduled advance due on or after `today`: the one a payment QR is printed for."""
        return next((a for a in sorted(self.schedule, key=lambda a: a.due_date) if a.due_date >= today), None)


def _sums(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal("0.00"))


def inconsistencies(doc: InvoiceDocument) -> list[str]:
    """Every way the document's figures fail to add up or a required part is missing; empty when it is sound."""
    problems: list[str] = []
    if doc.kind not in KINDS:
        problems.append(f"unknown kind {doc.kind!r}")
    if doc.currency not in CURRENCIES:
        problems.append(f"unsupported currency {doc.currency!r}")
    if doc.locale not in LOCALES:
        problems.append(f"unsupported locale {doc.locale!r}")
    if doc.period_to < doc.period_from:
        problems.append("period ends before it starts")
    if doc.kind == ADVANCE_SCHEDULE:
        if not doc.schedule:
            problems.append("an advance schedule without advances")
        problems += [f"advance due {a.due_date} is not positive" for a in doc.schedule if a.amount <= 0]
        return problems
    if not doc.lines:
        problems.append("no lines")
    if doc.kind == CREDIT_NOTE and not doc.original_invoice_number:
        problems.append("a credit note names no original invoice")
    for n, line in enumerate(doc.lines, 1):
        if line.unit not in UNITS:
            problems.append(f"line {n}: unknown unit {line.unit!r}")
        if line.base + line.vat != line.total:
            problems.append(f"line {n}: base + VAT != total")
    rates = [r.rate for r in doc.vat_breakdown]
    if len(set(rates)) != len(rates):
        problems.append("a VAT rate appears twice in the breakdown")
    for rate in doc.vat_breakdown:
        of_rate = [line for line in doc.lines if line.vat_rate == rate.rate]
        if _sums([line.base for line in of_rate]) != rate.base:
            problems.append(f"VAT {rate.rate} %: the lines' bases do not add up to the breakdown's")
        if rate.base + rate.vat != rate.total:
            problems.append(f"VAT {rate.rate} %: base + VAT != total")
        if abs(rate.vat - (rate.base * rate.rate / 100).quantize(CENT)) > CENT:
            problems.append(f"VAT {rate.rate} %: the tax is not the rate of the base")
    if {line.vat_rate for line in doc.lines} - set(rates):
        problems.append("a line's VAT rate is missing from the breakdown")
    if _sums([r.total for r in doc.vat_breakdown]) != doc.total:
        problems.append("the breakdown does not add up to the total")
    if doc.kind == CREDIT_NOTE:
        if doc.advances_paid:
            problems.append("a credit note nets no advances")
        if -(doc.total + doc.rounding) != doc.amount_due:
            problems.append("a credit note's amount due is not minus its total")
    elif doc.total + doc.rounding - doc.advances_total != doc.amount_due:
        problems.append("total + rounding - advances paid != amount due")
    return problems
