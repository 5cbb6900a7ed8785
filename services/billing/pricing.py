"""Pure rules of prices: price lists (ceníky), settlement (vyúčtování), credit notes (dobropisy), advance plans
(zálohy), invoice numbers. No I/O; money is `Decimal`, quantities of energy are kWh in and MWh on the lines.

Price list. A product's prices for a stretch of days, `valid_from` inclusive to `valid_to` exclusive (None: open).
The product's price lists must not overlap. A price list holds the supplier's own prices (energy per MWh per
register, a fixed monthly fee — stálý měsíční plat) and the regulated ones it passes through: distribution per
distribution tariff (distribuční sazba) — per MWh per register and a monthly charge, either by the main breaker
(jistič: phases and amperes) or, for gas and points without a breaker, by the annual consumption band — then system
services, support of renewables (POZE) per MWh, the market operator's (OTE) monthly fee and the energy tax per MWh.
Bulgarian electricity fills the same slots and names its lines after its own components (`LINE_CODES`):
transmission (пренос и достъп през електропреносната мрежа) in the system services' slot, public obligations
(задължения към обществото) in the renewables' slot, excise (акциз) in the tax's.

Settlement of a period `[start, end)`:

* The period is cut where price lists change ("slices"); every line belongs to one slice.
* Consumption follows the month split: each month's consumption (the caller's, or `domain.apportion` by the seasonal
  profile) goes to the slices by that month's days, since the profile spreads a month evenly over its days. Parts
  are rounded to Wh with the remainder in the last slice, so they add up to the register's consumption.
* Monthly fees are pro rata by days: a month counts days-in-period / days-of-month, so a price change on the 17th
  or a period starting mid-month is charged exactly for the days supplied; the quantity is rounded to 4 decimals
  and shown on the line, and the base is computed from the shown figures.
* A line's base is quantity × unit price rounded to cents, half up. VAT is computed per rate from the summed bases
  (the Czech VAT act, §37, lets the tax be computed from the total base) and rounded to cents half up; it is then
  spread over that rate's lines in proportion to their bases, the cent left over going to the largest line, so the
  lines add up exactly to the breakdown.
* The advances paid (incl. VAT) are netted against the total. In CZK the amount due is rounded to whole crowns,
  half up, and the difference is a separate rounding figure (`Settlement.rounding`) outside VAT (haléřové
  vyrovnání); in EUR it stays in cents. A negative amount due is an overpayment (přeplatek) returned to the
  customer.

Components whose unit price is zero give no line (e.g. POZE in a year the state pays it).

An extraordinary settlement (mimořádné vyúčtování) is the same computation up to the day the customer asks for
(exclusive: the reading on a day is the meter's state at its start). A credit note (dobropis) negates every figure
of the original, advances and rounding included, so it cancels it completely; a corrected settlement nets the
advances anew.

Advance plan. The expected yearly cost is a settlement of the year ahead: the expected consumption
(`domain.expected_kwh`, seasonal profile), split into registers by `NT_SHARES` on two-tariff points, priced with
the price list valid on the first day for the whole year, VAT included. It is spread over 12 or 4 advances, each
rounded up to whole currency units: whole amounts suit standing orders and SIPO, and rounding up means the year's
advances cover the expected cost, overshooting it by less than one unit per advance. An advance is due on the 15th
(`DUE_DAY`) of its month, or on the next business day when that is a weekend or a public holiday of the supply
point's country (`holidays`).

Invoice numbers. Ten digits: the year, then the tenant's series prefix (0–5 digits, e.g. the demo's "1" for
households) and the sequence zero-padded to fill the rest, e.g. 2026 + "1" + 04711 = 2026104711. Ten digits are the
most a Czech variable symbol holds, so the number is the invoice's variable symbol as it is; and the year in front
keeps numbers unique across years without a series register per year.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cache

import holidays

from kit.errors import DomainError
from kit.identifiers import COMMODITIES, ELECTRICITY

from . import domain
from .domain import NT, VT

CURRENCIES = ("CZK", "EUR")
COUNTRIES = ("CZ", "BG")
# what the amount to pay is rounded to: whole crowns (haléřové vyrovnání) in CZK, cents in EUR
CASH_UNIT = {"CZK": Decimal(1), "EUR": Decimal("0.01")}

CENT = Decimal("0.01")
WHOLE = Decimal(1)
MONTHS_PLACES = Decimal("0.0001")
KWH_PER_MWH = Decimal(1000)

MWH = "MWh"
MONTH = "month"

REGULAR = "regular"
EXTRAORDINARY = "extraordinary"  # mimořádné vyúčtování
CREDIT_NOTE = "credit_note"  # dobropis
KINDS = (REGULAR, EXTRAORDINARY)

# components of a price list; a line's code is the component's name in the price list's country (LINE_CODES)
ENERGY = "energy"
SUPPLY_FIXED = "supply.fixed"  # stálý měsíční plat
DISTRIBUTION = "distribution"
BREAKER = "distribution.breaker"  # měsíční plat za příkon podle jističe
BAND = "distribution.band"  # stálý plat za distribuci podle pásma ročního odběru (gas, high voltage)
SYSTEM_SERVICES = "system_services"  # systémové služby
RENEWABLES = "renewables"  # podpora obnovitelných zdrojů (POZE)
MARKET_OPERATOR = "market_operator"  # činnost operátora trhu (OTE)
TAX = "tax"  # daň z elektřiny / daň ze zemního plynu

LINE_CODES: Mapping[str, Mapping[str, str]] = {
    "CZ": {},
    "BG": {SYSTEM_SERVICES: "transmission", RENEWABLES: "public_obligations", TAX: "excise", BAND: "network.access"},
}

# the key of the distribution rates for points without a named distribution tariff (Czech gas)
ANY_TARIFF = ""

# share of the low tariff in a two-tariff point's consumption, by how many hours a day the low tariff runs: 8 h
# (D25d, C25d, D26d, the Bulgarian night tariff) is mostly a water heater, 16 h a storage heater, 20 h heat pumps
# and direct electric heating, where nearly everything runs on the low tariff
NT_SHARES: Mapping[str, Decimal] = {
    "d25d": Decimal("0.40"),
    "d26d": Decimal("0.45"),
    "c25d": Decimal("0.35"),
    "c26d": Decimal("0.40"),
    "d35d": Decimal("0.70"),
    "c35d": Decimal("0.65"),
    "d45d": Decimal("0.85"),
    "d56d": Decimal("0.85"),
    "d57d": Decimal("0.85"),
    "c45d": Decimal("0.80"),
    "c56d": Decimal("0.80"),
    "двутарифна": Decimal("0.35"),
}
# an unknown two-tariff distribution tariff
DEFAULT_NT_SHARE = Decimal("0.50")

ADVANCES_PER_YEAR = {"monthly": 12, "quarterly": 4}
DUE_DAY = 15
# the customer may choose an advance from half to twice the proposal (as accounts' advance bounds)
ADVANCE_FLOOR = Decimal("0.5")
ADVANCE_CEILING = Decimal(2)

INVOICE_DIGITS = 10
YEAR_DIGITS = 4


# --- price lists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakerBand:
    """Monthly charge for the main breaker (jistič) up to `max_amps` with `phases` phases."""

    phases: int
    max_amps: int
    monthly: Decimal


@dataclass(frozen=True)
class ConsumptionBand:
    """Monthly charge for an annual consumption up to `max_kwh` (None: any above the previous band)."""

    max_kwh: int | None
    monthly: Decimal


@dataclass(frozen=True)
class DistributionRates:
    """Distribution of one distribution tariff (distribuční sazba): per MWh per register, and a monthly charge by
    breaker (`breakers`) or, where there are none, by annual consumption band (`bands`)."""

    per_mwh: Mapping[str, Decimal]
    breakers: tuple[BreakerBand, ...] = ()
    bands: tuple[ConsumptionBand, ...] = ()


@dataclass(frozen=True)
class PriceList:
    """Ceník of one product for `valid_from` (inclusive) … `valid_to` (exclusive, None: open). Prices exclude VAT;
    per MWh and per month in `currency`."""

    product: str
    commodity: str
    valid_from: date
    valid_to: date | None
    currency: str
    country: str
    vat_rate: Decimal
    # per register (vt, nt; gas)
    energy_mwh: Mapping[str, Decimal]
    fixed_monthly: Decimal
    # per distribution tariff (ANY_TARIFF for points without one)
    distribution: Mapping[str, DistributionRates]
    system_services_mwh: Decimal = Decimal(0)
    renewables_mwh: Decimal = Decimal(0)
    market_operator_monthly: Decimal = Decimal(0)
    tax_mwh: Decimal = Decimal(0)

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def rates(self) -> Iterable[tuple[str, Decimal]]:
        """Every price in the list, named, for validation."""
        yield from ((f"{ENERGY}.{r}", v) for r, v in self.energy_mwh.items())
        yield SUPPLY_FIXED, self.fixed_monthly
        yield SYSTEM_SERVICES, self.system_services_mwh
        yield RENEWABLES, self.renewables_mwh
        yield MARKET_OPERATOR, self.market_operator_monthly
        yield TAX, self.tax_mwh
        for tariff, d in self.distribution.items():
            yield from ((f"{DISTRIBUTION}.{tariff}.{r}", v) for r, v in d.per_mwh.items())
            yield from ((f"{BREAKER}.{tariff}", b.monthly) for b in d.breakers)
            yield from ((f"{BAND}.{tariff}", b.monthly) for b in d.bands)


def validate(price_lists: Iterable[PriceList]) -> None:
    """Refuses a set of price lists with a machine-readable reason: unknown commodity, currency or country, a VAT
    rate outside [0, 1), a negative price, an empty validity, or two lists of one product valid on a same day."""
    lists = list(price_lists)
    for pl in lists:
        params = {"product": pl.product, "valid_from": pl.valid_from.isoformat()}
        if pl.commodity not in COMMODITIES:
            raise DomainError("price_list.commodity_invalid", field="commodity", params=params)
        if pl.currency not in CURRENCIES:
            raise DomainError("price_list.currency_unknown", field="currency", params=params)
        if pl.country not in COUNTRIES:
            raise DomainError("price_list.country_unknown", field="country", params=params)
        if not Decimal(0) <= pl.vat_rate < 1:
            raise DomainError("price_list.vat_rate_invalid", field="vat_rate", params=params)
        if pl.valid_to is not None and pl.valid_to <= pl.valid_from:
            raise DomainError("price_list.validity_invalid", field="valid_to", params=params)
        for name, value in pl.rates():
            if value < 0:
                raise DomainError("price_list.rate_negative", field=name, params=params | {"component": name})
    by_product: dict[str, list[PriceList]] = {}
    for pl in lists:
        by_product.setdefault(pl.product, []).append(pl)
    for same in by_product.values():
        ordered = sorted(same, key=lambda p: p.valid_from)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.valid_to is None or before.valid_to > after.valid_from:
                raise DomainError(
                    "price_list.overlap",
                    field="valid_from",
                    params={"product": after.product, "valid_from": after.valid_from.isoformat()},
                )


def of_product(price_lists: Iterable[PriceList], product: str) -> tuple[PriceList, ...]:
    return tuple(sorted((p for p in price_lists if p.product == product), key=lambda p: p.valid_from))


def valid_on(price_lists: Iterable[PriceList], day: date) -> PriceList:
    for pl in price_lists:
        if pl.covers(day):
            return pl
    raise DomainError("precondition.price_list_missing", params={"day": day.isoformat()})


# --- settlement -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupplyFacts:
    """What of a supply point its price depends on (from accounts)."""

    commodity: str
    distribution_tariff: str
    breaker_amps: int = 0
    phases: int = 0
    # expected annual consumption: the gas band, and the advance plan
    annual_kwh: int = 0
    # an HDO code makes a point two-tariff whatever its tariff's name says (domain.is_two_tariff)
    hdo_code: str = ""

    @property
    def registers(self) -> tuple[str, ...]:
        return domain.registers_of(self.commodity, self.distribution_tariff, self.hdo_code)


@dataclass(frozen=True)
class Line:
    """One line of a settlement. `inputs` are the figures it was computed from (kWh per month, days per month),
    so it can be recomputed independently: base = quantity × unit price, rounded to cents half up."""

    code: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    base: Decimal
    vat_rate: Decimal
    vat: Decimal
    total: Decimal
    # the validity slice the line belongs to: [valid_from, valid_to)
    valid_from: date
    valid_to: date
    inputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class VatSummary:
    rate: Decimal
    base: Decimal
    vat: Decimal
    total: Decimal


@dataclass(frozen=True)
class Settlement:
    """Vyúčtování of `[start, end)`. `due` = `total` − `advances` + `rounding`; negative: an overpayment."""

    kind: str
    start: date
    end: date
    currency: str
    lines: tuple[Line, ...]
    vat_breakdown: tuple[VatSummary, ...]
    base: Decimal
    vat: Decimal
    total: Decimal
    advances: Decimal
    rounding: Decimal
    due: Decimal
    # kWh per register settled
    consumption: Mapping[str, Decimal] = field(default_factory=dict)
    # a credit note: the number of the invoice it cancels
    original: str = ""


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _month_days(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def slices(price_lists: Sequence[PriceList], start: date, end: date) -> list[tuple[date, date, PriceList]]:
    """`[start, end)` cut where the valid price list changes; refuses a day no list covers."""
    found = []
    cursor = start
    while cursor < end:
        pl = valid_on(price_lists, cursor)
        stop = end if pl.valid_to is None else min(pl.valid_to, end)
        found.append((cursor, stop, pl))
        cursor = stop
    return found


def _overlap(a: date, b: date, c: date, d: date) -> int:
    return max((min(b, d) - max(a, c)).days, 0)


def split_by_slices(
    monthly: Sequence[tuple[date, Decimal]], start: date, end: date, cuts: Sequence[tuple[date, date]]
) -> list[Decimal]:
    """A register's monthly consumption within `[start, end)` shared out to the slices `cuts` by days in each month;
    to Wh, the remainder in the last slice."""
    total = sum((kwh for _, kwh in monthly), Decimal(0))
    shares = []
    for a, b in cuts[:-1]:
        part = Decimal(0)
        for month, kwh in monthly:
            month_end = domain.months_before(month, -1)
            in_period = _overlap(start, end, month, month_end)
            if in_period:
                part += kwh * _overlap(a, b, month, month_end) / in_period
        shares.append(part.quantize(domain.KWH, ROUND_HALF_UP))
    shares.append(total - sum(shares, Decimal(0)))
    return shares


def months_between(start: date, end: date) -> tuple[Decimal, tuple[tuple[str, str], ...]]:
    """How many months `[start, end)` counts, pro rata by days, to 4 decimals; and the days per month it came from."""
    parts = domain.month_parts(start, end)
    exact = sum((Decimal(days) / _month_days(m) for m, days in parts), Decimal(0))
    detail = " ".join(f"{m:%Y-%m}:{days}/{_month_days(m)}" for m, days in parts)
    return exact.quantize(MONTHS_PLACES, ROUND_HALF_UP), (("months", detail),)


def _code(component: str, country: str) -> str:
    return LINE_CODES[country].get(component, component)


@dataclass(frozen=True)
class _Draft:
    code: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    valid_from: date
    valid_to: date
    vat_rate: Decimal
    inputs: tuple[tuple[str, str], ...]

    @property
    def base(self) -> Decimal:
        return _cents(self.quantity * self.unit_price)


def _monthly_charge(facts: SupplyFacts, rates: DistributionRates, tariff: str) -> tuple[str, Decimal]:
    if rates.breakers:
        for band in rates.breakers:
            if band.phases == facts.phases and facts.breaker_amps <= band.max_amps:
                return BREAKER, band.monthly
        raise DomainError(
            "precondition.breaker_unpriced",
            params={"tariff": tariff, "amps": str(facts.breaker_amps), "phases": str(facts.phases)},
        )
    for cband in rates.bands:
        if cband.max_kwh is None or facts.annual_kwh <= cband.max_kwh:
            return BAND, cband.monthly
    return BAND, Decimal(0)


def _distribution(pl: PriceList, tariff: str) -> DistributionRates:
    rates = pl.distribution.get(tariff) or pl.distribution.get(tariff.lower())
    if rates is None:
        raise DomainError("precondition.tariff_unpriced", params={"tariff": tariff, "product": pl.product})
    return rates


def _per_register(prices: Mapping[str, Decimal], register: str, pl: PriceList) -> Decimal:
    if register not in prices:
        raise DomainError("precondition.register_unpriced", params={"register": register, "product": pl.product})
    return prices[register]


def _slice_drafts(
    facts: SupplyFacts, pl: PriceList, a: date, b: date, kwh: Mapping[str, Decimal], kwh_inputs: Mapping[str, str]
) -> list[_Draft]:
    tariff = facts.distribution_tariff.strip() if facts.commodity == ELECTRICITY else ANY_TARIFF
    rates = _distribution(pl, tariff)
    months, month_inputs = months_between(a, b)
    total_mwh = sum(kwh.values(), Decimal(0)) / KWH_PER_MWH
    all_kwh = (("kwh", domain.text(sum(kwh.values(), Decimal(0)))),)
    drafts: list[tuple[str, Decimal, str, Decimal, tuple[tuple[str, str], ...]]] = []
    for register, amount in kwh.items():
        mwh = amount / KWH_PER_MWH
        per_register = (("kwh", domain.text(amount)), ("months", kwh_inputs[register]))
        drafts += [
            (f"{ENERGY}.{register}", mwh, MWH, _per_register(pl.energy_mwh, register, pl), per_register),
            (f"{DISTRIBUTION}.{register}", mwh, MWH, _per_register(rates.per_mwh, register, pl), per_register),
        ]
    charge, monthly = _monthly_charge(facts, rates, tariff)
    drafts += [
        (SUPPLY_FIXED, months, MONTH, pl.fixed_monthly, month_inputs),
        (charge, months, MONTH, monthly, month_inputs),
        (SYSTEM_SERVICES, total_mwh, MWH, pl.system_services_mwh, all_kwh),
        (RENEWABLES, total_mwh, MWH, pl.renewables_mwh, all_kwh),
        (MARKET_OPERATOR, months, MONTH, pl.market_operator_monthly, month_inputs),
        (TAX, total_mwh, MWH, pl.tax_mwh, all_kwh),
    ]
    source = (("price_list", f"{pl.product}@{pl.valid_from.isoformat()}"),)
    return [
        _Draft(_code(component, pl.country), quantity, unit, price, a, b, pl.vat_rate, inputs + source)
        for component, quantity, unit, price, inputs in drafts
        if price != 0
    ]


def _with_vat(drafts: Sequence[_Draft]) -> tuple[list[Line], list[VatSummary]]:
    """VAT per rate from the summed bases, spread over the rate's lines by their bases (the rest to the largest)."""
    lines: list[Line] = []
    summaries: list[VatSummary] = []
    for rate in sorted({d.vat_rate for d in drafts}):
        group = [d for d in drafts if d.vat_rate == rate]
        base = sum((d.base for d in group), Decimal(0))
        vat = _cents(base * rate)
        shares = [_cents(d.base * rate) for d in group]
        largest = max(range(len(group)), key=lambda i: abs(group[i].base))
        shares[largest] += vat - sum(shares, Decimal(0))
        for d, share in zip(group, shares, strict=True):
            lines.append(
                Line(
                    code=d.code,
                    quantity=d.quantity,
                    unit=d.unit,
                    unit_price=d.unit_price,
                    base=d.base,
                    vat_rate=rate,
                    vat=share,
                    total=d.base + share,
                    valid_from=d.valid_from,
                    valid_to=d.valid_to,
                    inputs=d.inputs,
                )
            )
        summaries.append(VatSummary(rate, base, vat, base + vat))
    lines.sort(key=lambda line: (line.valid_from, _line_order(line.code)))
    return lines, summaries


def _line_order(code: str) -> int:
    """Lines in the order an invoice shows them: energy first, then the fees, distribution, regulated items."""
    head = code.split(".", 1)[0]
    order = (ENERGY, "supply", DISTRIBUTION, "network", SYSTEM_SERVICES, "transmission")
    return order.index(head) if head in order else len(order)


def _month_inputs(monthly: Sequence[tuple[date, Decimal]], start: date, end: date, a: date, b: date) -> str:
    """How a slice's kWh came from the months: month:kWh×days in the slice/days in the period, per month."""
    parts = []
    for month, kwh in monthly:
        month_end = domain.months_before(month, -1)
        days = _overlap(a, b, month, month_end)
        if days:
            parts.append(f"{month:%Y-%m}:{domain.text(kwh)}×{days}/{_overlap(start, end, month, month_end)}")
    return " ".join(parts)


def _monthly_consumption(
    facts: SupplyFacts,
    consumption: Mapping[str, Decimal],
    start: date,
    end: date,
    monthly: Mapping[str, Sequence[tuple[date, Decimal]]] | None,
) -> dict[str, list[tuple[date, Decimal]]]:
    if monthly is not None:
        if any(sum((v for _, v in monthly.get(r, ())), Decimal(0)) != kwh for r, kwh in consumption.items()):
            raise DomainError("settlement.monthly_mismatch", field="monthly")
        return {r: list(monthly[r]) for r in consumption}
    return {r: domain.apportion(kwh, facts.commodity, start, end) for r, kwh in consumption.items()}


def settle(
    facts: SupplyFacts,
    start: date,
    end: date,
    consumption: Mapping[str, Decimal],
    price_lists: Sequence[PriceList],
    advances: Iterable[Decimal] = (),
    *,
    monthly: Mapping[str, Sequence[tuple[date, Decimal]]] | None = None,
    kind: str = REGULAR,
) -> Settlement:
    """Vyúčtování of one supply point for `[start, end)`: `consumption` is kWh per register (gas already in kWh,
    `domain.gas_kwh`); `monthly` optionally splits it across months per register (else the seasonal profile
    does); `price_lists` are the product's; `advances` are the amounts paid for the period (incl. VAT). An
    extraordinary settlement is `kind=EXTRAORDINARY` with `end` the day asked for."""
    if kind not in KINDS:
        raise DomainError("settlement.kind_invalid", field="kind")
    if end <= start:
        raise DomainError("settlement.period_invalid", field="end")
    if facts.commodity not in COMMODITIES:
        raise DomainError("commodity.invalid", field="commodity")
    unknown = set(consumption) - set(facts.registers)
    if unknown or any(v < 0 for v in consumption.values()):
        raise DomainError("settlement.consumption_invalid", field="consumption")
    cuts = slices(price_lists, start, end)
    currencies = {pl.currency for _, _, pl in cuts}
    if len(currencies) != 1:
        raise DomainError("precondition.currency_mixed", params={"currencies": " ".join(sorted(currencies))})
    currency = currencies.pop()
    by_month = _monthly_consumption(facts, consumption, start, end, monthly)
    per_slice = {r: split_by_slices(by_month[r], start, end, [(a, b) for a, b, _ in cuts]) for r in consumption}
    drafts: list[_Draft] = []
    for i, (a, b, pl) in enumerate(cuts):
        kwh = {r: per_slice[r][i] for r in consumption}
        kwh_inputs = {r: _month_inputs(by_month[r], start, end, a, b) for r in consumption}
        drafts += _slice_drafts(facts, pl, a, b, kwh, kwh_inputs)
    lines, summaries = _with_vat(drafts)
    base = sum((s.base for s in summaries), Decimal(0))
    vat = sum((s.vat for s in summaries), Decimal(0))
    paid = sum(advances, Decimal(0))
    unrounded = base + vat - paid
    due = unrounded.quantize(CASH_UNIT[currency], ROUND_HALF_UP)
    return Settlement(
        kind=kind,
        start=start,
        end=end,
        currency=currency,
        lines=tuple(lines),
        vat_breakdown=tuple(summaries),
        base=base,
        vat=vat,
        total=base + vat,
        advances=paid,
        rounding=due - unrounded,
        due=due,
        consumption=dict(consumption),
    )


def credit_note(original: Settlement, original_number: str) -> Settlement:
    """Dobropis: every figure of `original` negated, referencing its invoice number."""
    return Settlement(
        kind=CREDIT_NOTE,
        start=original.start,
        end=original.end,
        currency=original.currency,
        lines=tuple(
            replace(line, quantity=-line.quantity, base=-line.base, vat=-line.vat, total=-line.total)
            for line in original.lines
        ),
        vat_breakdown=tuple(VatSummary(s.rate, -s.base, -s.vat, -s.total) for s in original.vat_breakdown),
        base=-original.base,
        vat=-original.vat,
        total=-original.total,
        advances=-original.advances,
        rounding=-original.rounding,
        due=-original.due,
        consumption={r: -v for r, v in original.consumption.items()},
        original=original_number,
    )


# --- advances -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Advance:
    """One záloha: its due date and amount."""

    due_on: date
    amount: Decimal


@dataclass(frozen=True)
class AdvancePlan:
    """Zálohový plán of a year from `start`."""

    start: date
    end: date
    cycle: str
    currency: str
    expected_kwh: Mapping[str, Decimal]
    # the expected cost of the year, VAT included, to cents
    yearly_cost: Decimal
    amount: Decimal
    advances: tuple[Advance, ...]
    # the settlement of the expected year the cost comes from, for explaining it
    estimate: Settlement


@dataclass(frozen=True)
class AdvanceBounds:
    """What a customer may set an advance to; the same fields and meaning as accounts' advance bounds."""

    minimum: Decimal
    maximum: Decimal
    proposal: Decimal
    yearly_cost: Decimal
    annual_kwh: int


def nt_share(distribution_tariff: str) -> Decimal:
    return NT_SHARES.get(distribution_tariff.strip().lower(), DEFAULT_NT_SHARE)


def expected_consumption(facts: SupplyFacts, start: date, end: date) -> dict[str, Decimal]:
    """The profile's expected kWh for `[start, end)` per register: two-tariff points split by `nt_share`."""
    total = domain.expected_kwh(facts.commodity, facts.annual_kwh, start, end).quantize(domain.KWH, ROUND_HALF_UP)
    registers = facts.registers
    if registers == (VT, NT):
        low = (total * nt_share(facts.distribution_tariff)).quantize(domain.KWH, ROUND_HALF_UP)
        return {VT: total - low, NT: low}
    return {registers[0]: total}


def year_after(start: date) -> date:
    # 29 February's year ends on 1 March
    return domain.months_before(start, -12) + timedelta(start.day - 1)


@cache
def _public_holidays(country: str) -> holidays.HolidayBase:
    # built once per country: a bill run asks for every advance of every point
    return holidays.country_holidays(country)


def next_business_day(day: date, country: str) -> date:
    """`day`, or the first day after it that is neither a weekend nor a public holiday of `country`."""
    while day.weekday() >= 5 or day in _public_holidays(country):
        day += timedelta(days=1)
    return day


def due_dates(start: date, cycle: str, country: str) -> list[date]:
    """The due dates of a year's advances from `start`'s month: the `DUE_DAY` of every month (or every third)."""
    count = ADVANCES_PER_YEAR[cycle]
    step = 12 // count
    first = start.replace(day=1)
    days = []
    for i in range(count):
        month = domain.months_before(first, -i * step)
        days.append(next_business_day(month.replace(day=min(DUE_DAY, _month_days(month))), country))
    return days


def advance_plan(facts: SupplyFacts, price_lists: Sequence[PriceList], start: date, cycle: str) -> AdvancePlan:
    """Zálohy for the year from `start`: the expected yearly cost with the price list valid on `start`, VAT
    included, in 12 (monthly) or 4 (quarterly) advances rounded up to whole currency units."""
    count = ADVANCES_PER_YEAR.get(cycle)
    if count is None:
        raise DomainError("advance.cycle_invalid", field="cycle")
    end = year_after(start)
    current = valid_on(price_lists, start)
    whole_year = replace(current, valid_from=start, valid_to=end)
    expected = expected_consumption(facts, start, end)
    estimate = settle(facts, start, end, expected, [whole_year])
    amount = max((estimate.total / count).quantize(WHOLE, ROUND_CEILING), WHOLE)
    return AdvancePlan(
        start=start,
        end=end,
        cycle=cycle,
        currency=current.currency,
        expected_kwh=expected,
        yearly_cost=estimate.total,
        amount=amount,
        advances=tuple(Advance(day, amount) for day in due_dates(start, cycle, current.country)),
        estimate=estimate,
    )


def advance_bounds(points: Sequence[tuple[SupplyFacts, Sequence[PriceList]]], cycle: str, start: date) -> AdvanceBounds:
    """What a contract's advance may be: the sum of its points' advance plans is the proposal, half of it to twice
    it in whole units the bounds. A drop-in for accounts' `advance_bounds`, with price lists instead of flat unit
    prices; a contract whose points cannot be priced gets `precondition.advance_unpriced`."""
    if cycle not in ADVANCES_PER_YEAR or not points:
        raise DomainError("precondition.advance_unpriced", field="amount")
    try:
        plans = [advance_plan(facts, lists, start, cycle) for facts, lists in points]
    except DomainError as err:
        if err.reason.startswith("precondition."):
            raise DomainError("precondition.advance_unpriced", field="amount", params=err.params) from err
        raise
    proposal = sum((p.amount for p in plans), Decimal(0))
    return AdvanceBounds(
        minimum=max((proposal * ADVANCE_FLOOR).quantize(WHOLE, ROUND_FLOOR), WHOLE),
        maximum=max((proposal * ADVANCE_CEILING).quantize(WHOLE, ROUND_CEILING), WHOLE),
        proposal=proposal,
        yearly_cost=sum((p.yearly_cost for p in plans), Decimal(0)),
        annual_kwh=sum(facts.annual_kwh for facts, _ in points),
    )


# --- invoice numbers ------------------------------------------------------------------------------


def invoice_number(year: int, series: str, sequence: int) -> str:
    """The `sequence`-th invoice of `series` in `year`: year, series prefix, zero-padded sequence — 10 digits."""
    width = INVOICE_DIGITS - YEAR_DIGITS - len(series)
    if not (1000 <= year <= 9999) or not (series.isascii() and (series.isdigit() or not series)) or width < 1:
        raise DomainError("invoice.series_invalid", field="series")
    if not 1 <= sequence < 10**width:
        raise DomainError("invoice.sequence_exhausted", field="sequence", params={"series": series, "year": str(year)})
    return f"{year:04d}{series}{sequence:0{width}d}"


def next_invoice_number(year: int, series: str, last: str | None) -> str:
    """The number after `last` (the series' last number, of any year; None for the first): the sequence starts
    again at 1 in a new year."""
    if last is None or not last.startswith(f"{year:04d}{series}"):
        return invoice_number(year, series, 1)
    return invoice_number(year, series, int(last[YEAR_DIGITS + len(series) :]) + 1)


def variable_symbol(number: str) -> str:
    """The variable symbol (variabilní symbol) of an invoice: its number, which must be at most 10 digits."""
    if not (number.isascii() and number.isdigit()) or len(number) > INVOICE_DIGITS:
        raise DomainError("invoice.variable_symbol_invalid", field="number")
    return number
