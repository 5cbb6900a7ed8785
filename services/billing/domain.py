"""Pure rules of the billing service's readings (odečty) and consumption history. No I/O.

Registers. An electricity meter has a high-tariff register (VT, vysoký tarif) and, on a two-tariff point, a
low-tariff one (NT, nízký tarif) counting while the HDO signal is on; a single-tariff point has VT only. A gas meter
counts m³ in one register.

A reading on a day is the meter's state at the start of that day, so consumption between readings on `a` and `b`
belongs to the days `a` … `b - 1`, and readings on the first of each month give the months exactly.

Gas in kWh. The energy in a volume of gas is the volume, corrected to reference conditions (temperature, pressure),
times the gas's gross calorific value (spalné teplo), which the operators publish per month:

    kWh = m³ × volume correction factor × calorific value of the month (kWh/m³)

A period that spans months is split across them first (see below) and each month's part converted with its own
value. `CALORIFIC_VALUES` and `VOLUME_CORRECTION` are representative figures for the demo; a deployment loads the
published values of its distribution area.

Seasonal profile. Expected consumption for a stretch of days, and the split of a period's consumption across the
months it spans, follow a simple monthly profile per commodity (share of the annual consumption per calendar month,
spread evenly over the month's days): gas for heating is used mostly in winter, electricity a little more in winter.
These shares are illustrative, not an operator's normalised load profiles (TDD).

Plausibility of a customer's self-reading (samoodečet), in order; the first rule that fails refuses the reading:

1. a date in the future (the tenant's local day) — ``reading.date_in_future``;
2. a date before the last reading's — ``reading.before_last`` (params ``last_date``); on the same day —
   ``reading.exists_for_date`` (params ``last_date``);
3. any register lower than at the last reading — ``reading.lower_than_last`` (params ``register``, ``last_value``,
   ``last_date``). Meter rollover (a register passing its maximum and starting from zero) and meter exchange are
   out of scope: both read as a lower value and are refused; staff record them otherwise;
4. more than the breaker can physically let through in the days since (breaker A × 230 V × phases × 24 h) —
   ``reading.exceeds_breaker`` (params ``consumption_kwh``, ``limit_kwh``, ``last_date``);
5. more than 5× the expected consumption for the days since — ``reading.implausible`` (params ``consumption_kwh``,
   ``expected_kwh``, ``last_date``);
6. more than 2× or (over at least 14 days) less than 0.2× the expected consumption — suspicious but possible:
   ``reading.confirm_suspicious`` (same params) unless the customer confirms, then accepted and flagged.

Readings from the operator and estimates are checked by rules 1–3 only. Estimates never count as "the last reading"
for a later actual one: an actual reading may well be lower than an estimate.
"""

from __future__ import annotations

import base64
import calendar
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol

from kit.errors import DomainError
from kit.identifiers import ELECTRICITY, GAS

# registers
VT = "vt"  # vysoký tarif, high tariff
NT = "nt"  # nízký tarif, low tariff
GAS_REGISTER = "gas"

# sources
OPERATOR = "operator"  # the distribution operator's reading (odečet provozovatele distribuční soustavy)
CUSTOMER = "customer"  # samoodečet
ESTIMATE = "estimate"  # odhad
SOURCES = (OPERATOR, CUSTOMER, ESTIMATE)

# statuses
ACCEPTED = "accepted"
FLAGGED = "flagged"  # suspicious, confirmed by the customer

MONTH = "month"
YEAR = "year"

MAX_DECIMALS = 3
MAX_VALUE = Decimal("999999999")
# under gRPC's default 4 MiB per message, with room for the rest of the request
MAX_PHOTO_BYTES = 4_000_000
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic"})

IMPOSSIBLE_FACTOR = Decimal(5)
SUSPICIOUS_HIGH = Decimal(2)
SUSPICIOUS_LOW = Decimal("0.2")
# below this many days a low consumption is normal (holidays), so it is not questioned
MIN_DAYS_FOR_LOW = 14
VOLTS = Decimal(230)

KWH = Decimal("0.001")

# share of the annual consumption per calendar month (January first); each sums to 1
PROFILES: Mapping[str, tuple[Decimal, ...]] = {
    ELECTRICITY: tuple(
        Decimal(s) for s in ("0.100 0.090 0.090 0.080 0.075 0.070 0.070 0.070 0.075 0.085 0.090 0.105".split())
    ),
    GAS: tuple(Decimal(s) for s in ("0.160 0.150 0.120 0.080 0.040 0.025 0.020 0.020 0.035 0.080 0.120 0.150".split())),
}

# spalné teplo, kWh/m³ per calendar month (representative; see the module's note)
CALORIFIC_VALUES: tuple[Decimal, ...] = tuple(
    Decimal(s) for s in "10.72 10.70 10.68 10.62 10.58 10.55 10.54 10.56 10.60 10.65 10.69 10.71".split()
)
# objemový přepočtový koeficient: the metered volume at reference conditions
VOLUME_CORRECTION = Decimal("0.9812")


@dataclass(frozen=True)
class Point:
    """The facts of a supply point the rules need (from accounts)."""

    commodity: str
    registers: tuple[str, ...]
    annual_kwh: int
    breaker_amps: int = 0
    phases: int = 0


class SupplyPointRecord(Protocol):
    """A supply point as accounts describes it (its protobuf message, or the demo's record)."""

    commodity: str
    distribution_tariff: str
    hdo_code: str
    annual_consumption_kwh: int
    breaker_amps: int
    phases: int


def point_of(point: SupplyPointRecord) -> Point:
    return Point(
        commodity=point.commodity,
        registers=registers_of(point.commodity, point.distribution_tariff, point.hdo_code),
        annual_kwh=point.annual_consumption_kwh,
        breaker_amps=point.breaker_amps,
        phases=point.phases,
    )


@dataclass(frozen=True)
class Reading:
    read_on: date
    values: Mapping[str, Decimal]
    source: str = OPERATOR

    def total(self) -> Decimal:
        return sum(self.values.values(), Decimal(0))

    def since(self, before: Reading) -> dict[str, Decimal]:
        """Per register read both times, how far it moved (a register added later, as when a point becomes
        two-tariff, counts from its first reading)."""
        return {r: v - before.values[r] for r, v in self.values.items() if r in before.values}


@dataclass(frozen=True)
class Verdict:
    status: str
    # since the last reading, kWh; None for the first
    consumption_kwh: Decimal | None


@dataclass
class Period:
    """Consumption of one month or year."""

    first_day: date
    last_day: date
    kwh: dict[str, Decimal] = field(default_factory=dict)
    volume_m3: dict[str, Decimal] = field(default_factory=dict)
    days_covered: int = 0
    estimated: bool = False

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def label(self) -> str:
        if self.first_day.month == 1 and self.last_day.month == 12:
            return f"{self.first_day.year}"
        return f"{self.first_day.year}-{self.first_day.month:02d}"


# --- registers and values ------------------------------------------------------------------------


def is_two_tariff(distribution_tariff: str, hdo_code: str) -> bool:
    """Two registers where an HDO code switches the low tariff, or the distribution tariff says so: Czech tariffs
    (D25d, C45d…) are two-tariff when their first digit is not 0 (D01d, D02d, C03d are single-tariff)."""
    if hdo_code:
        return True
    tariff = distribution_tariff.strip().lower()
    if len(tariff) >= 3 and tariff[0] in "cd" and tariff[1].isdigit():
        return tariff[1] != "0"
    # the Bulgarian operators name the tariff in words
    return tariff.startswith("двутарифн")


def registers_of(commodity: str, distribution_tariff: str = "", hdo_code: str = "") -> tuple[str, ...]:
    if commodity == GAS:
        return (GAS_REGISTER,)
    return (VT, NT) if is_two_tariff(distribution_tariff, hdo_code) else (VT,)


def parse_values(values: Iterable[tuple[str, str]], registers: Sequence[str]) -> dict[str, Decimal]:
    """One non-negative decimal per register of the point, no more, no fewer."""
    parsed: dict[str, Decimal] = {}
    for register, text in values:
        name = register.strip().lower()
        if name not in registers or name in parsed:
            raise DomainError("reading.registers_invalid", field="values", params={"registers": " ".join(registers)})
        parsed[name] = parse_value(text, name)
    if set(parsed) != set(registers):
        raise DomainError("reading.registers_invalid", field="values", params={"registers": " ".join(registers)})
    return {r: parsed[r] for r in registers}


def parse_value(text: str, register: str) -> Decimal:
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise DomainError("reading.value_invalid", field="values", params={"register": register}) from None
    exponent = value.as_tuple().exponent
    if (
        not value.is_finite()
        or value < 0
        or value > MAX_VALUE
        or not isinstance(exponent, int)
        or exponent < -MAX_DECIMALS
    ):
        raise DomainError("reading.value_invalid", field="values", params={"register": register})
    return value


def check_photo(content: bytes, content_type: str) -> None:
    if not content:
        return
    if len(content) > MAX_PHOTO_BYTES:
        raise DomainError("reading.photo_too_large", field="photo", params={"max_bytes": str(MAX_PHOTO_BYTES)})
    if content_type.strip().lower() not in PHOTO_TYPES:
        raise DomainError("reading.photo_type_invalid", field="photo_content_type")


def text(value: Decimal) -> str:
    """A quantity as shown: no exponent, no trailing zeros beyond the unit."""
    return f"{value.normalize():f}"


# --- profile, conversion, expectation -------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def months_before(day: date, months: int) -> date:
    """The first day of the month `months` before `day`'s."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def month_parts(start: date, end: date) -> list[tuple[date, int]]:
    """The months that the days `start` … `end - 1` touch, each with how many of those days lie in it."""
    parts = []
    cursor = start
    while cursor < end:
        month_end = min(_next_month(cursor), end)
        parts.append((_month_start(cursor), (month_end - cursor).days))
        cursor = month_end
    return parts


def _weight(commodity: str, month: date, days: int) -> Decimal:
    share = PROFILES[commodity][month.month - 1]
    return share * days / calendar.monthrange(month.year, month.month)[1]


def expected_kwh(commodity: str, annual_kwh: int, start: date, end: date) -> Decimal:
    """The profile's expectation for the days `start` … `end - 1`."""
    return Decimal(annual_kwh) * sum((_weight(commodity, m, d) for m, d in month_parts(start, end)), Decimal(0))


def apportion(amount: Decimal, commodity: str, start: date, end: date) -> list[tuple[date, Decimal]]:
    """`amount` consumed over the days `start` … `end - 1`, split across their months by the profile; rounded to
    thousandths with the remainder in the last month, so the parts always add up to `amount`."""
    parts = month_parts(start, end)
    if not parts:
        return []
    weights = [_weight(commodity, m, d) for m, d in parts]
    whole = sum(weights, Decimal(0))
    shares = [(amount * w / whole).quantize(KWH, ROUND_HALF_UP) for w in weights[:-1]]
    shares.append(amount - sum(shares, Decimal(0)))
    return [(m, s) for (m, _), s in zip(parts, shares, strict=True)]


def gas_kwh(volume_m3: Decimal, month: date) -> Decimal:
    """kWh = m³ × volume correction factor × calorific value of the month."""
    return (volume_m3 * VOLUME_CORRECTION * CALORIFIC_VALUES[month.month - 1]).quantize(KWH, ROUND_HALF_UP)


def period_kwh(point: Point, before: Reading, after: Reading) -> Decimal:
    """Consumption between two readings in kWh: gas apportioned to months and converted month by month."""
    delta = sum(after.since(before).values(), Decimal(0))
    if point.commodity != GAS:
        return delta
    return sum((gas_kwh(m3, month) for month, m3 in apportion(delta, GAS, before.read_on, after.read_on)), Decimal(0))


# --- plausibility ---------------------------------------------------------------------------------


def last_actual(readings: Iterable[Reading]) -> Reading | None:
    """The latest reading that is not an estimate."""
    actual = [r for r in readings if r.source != ESTIMATE]
    return max(actual, key=lambda r: r.read_on) if actual else None


def _params(consumption: Decimal, last: Reading, **extra: Decimal) -> dict[str, str]:
    params = {"consumption_kwh": text(consumption.quantize(Decimal(1))), "last_date": last.read_on.isoformat()}
    params.update({k: text(v.quantize(Decimal(1))) for k, v in extra.items()})
    return params


def check_reading(point: Point, reading: Reading, last: Reading | None, today: date, *, confirmed: bool) -> Verdict:
    """Accepts `reading` (with its status) or raises the refusal; `last` is the last actual reading."""
    if reading.read_on > today:
        raise DomainError("reading.date_in_future", field="read_on", params={"today": today.isoformat()})
    if last is None:
        return Verdict(ACCEPTED, None)
    if reading.read_on < last.read_on:
        raise DomainError("reading.before_last", field="read_on", params={"last_date": last.read_on.isoformat()})
    if reading.read_on == last.read_on:
        raise DomainError("reading.exists_for_date", field="read_on", params={"last_date": last.read_on.isoformat()})
    for register, value in reading.values.items():
        previous = last.values.get(register)
        if previous is not None and value < previous:
            raise DomainError(
                "reading.lower_than_last",
                field="values",
                params={"register": register, "last_value": text(previous), "last_date": last.read_on.isoformat()},
            )
    consumption = period_kwh(point, last, reading)
    if reading.source != CUSTOMER:
        return Verdict(ACCEPTED, consumption)
    days = (reading.read_on - last.read_on).days
    if point.commodity == ELECTRICITY and point.breaker_amps > 0:
        limit = Decimal(point.breaker_amps) * VOLTS * max(point.phases, 1) * 24 * days / 1000
        if consumption > limit:
            raise DomainError(
                "reading.exceeds_breaker", field="values", params=_params(consumption, last, limit_kwh=limit)
            )
    expected = expected_kwh(point.commodity, point.annual_kwh, last.read_on, reading.read_on)
    if expected <= 0:
        return Verdict(ACCEPTED, consumption)
    if consumption > IMPOSSIBLE_FACTOR * expected:
        raise DomainError(
            "reading.implausible", field="values", params=_params(consumption, last, expected_kwh=expected)
        )
    suspicious = consumption > SUSPICIOUS_HIGH * expected or (
        days >= MIN_DAYS_FOR_LOW and consumption < SUSPICIOUS_LOW * expected
    )
    if not suspicious:
        return Verdict(ACCEPTED, consumption)
    if not confirmed:
        raise DomainError(
            "reading.confirm_suspicious",
            field="values",
            params=_params(consumption, last, expected_kwh=expected),
        )
    return Verdict(FLAGGED, consumption)


# --- consumption history --------------------------------------------------------------------------


def history_readings(readings: Iterable[Reading]) -> list[Reading]:
    """The readings history is computed from, oldest first: every actual one, and estimates only after the last
    actual one (an actual reading replaces the estimates before it)."""
    ordered = sorted(readings, key=lambda r: r.read_on)
    last = last_actual(ordered)
    kept = [r for r in ordered if r.source != ESTIMATE or last is None or r.read_on > last.read_on]
    # one reading per day: an actual one wins over an estimate
    by_day: dict[date, Reading] = {}
    for r in kept:
        if r.read_on not in by_day or by_day[r.read_on].source == ESTIMATE:
            by_day[r.read_on] = r
    return list(by_day.values())


def buckets(granularity: str, first_day: date, last_day: date) -> list[Period]:
    periods = []
    if granularity == YEAR:
        for year in range(first_day.year, last_day.year + 1):
            periods.append(Period(date(year, 1, 1), date(year, 12, 31)))
        return periods
    cursor = _month_start(first_day)
    while cursor <= last_day:
        following = _next_month(cursor)
        periods.append(Period(cursor, following - timedelta(days=1)))
        cursor = following
    return periods


def history(
    point: Point, readings: Iterable[Reading], granularity: str, first_day: date, last_day: date
) -> list[Period]:
    """Consumption per month or year between `first_day` and `last_day` (whole periods), per register, from
    consecutive readings; periods no reading interval touches are left out."""
    periods = buckets(granularity, first_day, last_day)
    if not periods:
        return []
    index = {(p.first_day.year, p.first_day.month if granularity == MONTH else 1): p for p in periods}
    start, end = periods[0].first_day, periods[-1].last_day + timedelta(days=1)
    ordered = history_readings(readings)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.read_on <= start or before.read_on >= end:
            continue
        estimated = ESTIMATE in (before.source, after.source)
        for register, delta in after.since(before).items():
            for month, amount in apportion(delta, point.commodity, before.read_on, after.read_on):
                period = index.get((month.year, month.month if granularity == MONTH else 1))
                if period is None:
                    continue
                kwh = gas_kwh(amount, month) if point.commodity == GAS else amount
                period.kwh[register] = period.kwh.get(register, Decimal(0)) + kwh
                if point.commodity == GAS:
                    period.volume_m3[register] = period.volume_m3.get(register, Decimal(0)) + amount
                period.estimated |= estimated
        for period in periods:
            overlap = (
                min(after.read_on, period.last_day + timedelta(days=1)) - max(before.read_on, period.first_day)
            ).days
            period.days_covered += max(overlap, 0)
    return [p for p in periods if p.days_covered > 0]


# --- pages ----------------------------------------------------------------------------------------


def encode_page_token(read_on: date, reading_id: str) -> str:
    """The page after a reading. Not a secret: a forged token only moves the start of a page within readings the
    caller may see anyway."""
    return base64.urlsafe_b64encode(f"{read_on.isoformat()}/{reading_id}".encode()).rstrip(b"=").decode("ascii")


def decode_page_token(token: str) -> tuple[date, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        day, _, reading_id = raw.partition("/")
        return date.fromisoformat(day), uuid.UUID(reading_id)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("page_token.invalid", field="page_token") from None
