"""The pure rules of readings and consumption: registers, plausibility of a self-reading (each refusal, the
suspicious-confirm flow), gas in kWh, apportioning a period across months."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kit import demo
from kit.errors import DomainError
from services.billing import domain, seed
from services.billing.domain import CUSTOMER, ESTIMATE, FLAGGED, NT, OPERATOR, VT, Point, Reading

HOUSE = Point("electricity", (VT, NT), annual_kwh=3650, breaker_amps=25, phases=1)
GAS_POINT = Point("gas", (domain.GAS_REGISTER,), annual_kwh=12_000)
LAST = Reading(date(2026, 1, 1), {VT: Decimal(1000), NT: Decimal(2000)}, OPERATOR)
TODAY = date(2026, 4, 1)


def d(value: str | int) -> Decimal:
    return Decimal(value)


def expected(point: Point, start: date, end: date) -> Decimal:
    return domain.expected_kwh(point.commodity, point.annual_kwh, start, end)


def reading_for(consumption: Decimal, read_on: date = TODAY, source: str = CUSTOMER) -> Reading:
    # split evenly over both registers, whole kWh
    half = (consumption / 2).quantize(Decimal(1))
    return Reading(read_on, {VT: LAST.values[VT] + half, NT: LAST.values[NT] + half}, source)


def refusal(point: Point, reading: Reading, last: Reading | None = LAST, *, confirmed: bool = False) -> DomainError:
    with pytest.raises(DomainError) as refused:
        domain.check_reading(point, reading, last, TODAY, confirmed=confirmed)
    return refused.value


def test_registers_follow_commodity_and_tariff():
    assert domain.registers_of("electricity", "D25d", "A3B7DP6") == (VT, NT)
    assert domain.registers_of("electricity", "C45d", "") == (VT, NT)
    assert domain.registers_of("electricity", "D02d", "") == (VT,)
    assert domain.registers_of("electricity", "VN", "") == (VT,)
    assert domain.registers_of("electricity", "двутарифна", "") == (VT, NT)
    assert domain.registers_of("electricity", "еднотарифна", "") == (VT,)
    assert domain.registers_of("gas", "", "") == ("gas",)


def test_values_are_one_decimal_per_register():
    assert domain.parse_values([("NT", "2 001,5"), ("vt", "1000")], (VT, NT)) == {VT: d(1000), NT: d("2001.5")}
    for values, reason in (
        ([("vt", "1000")], "reading.registers_invalid"),
        ([("vt", "1"), ("nt", "2"), ("gas", "3")], "reading.registers_invalid"),
        ([("vt", "1"), ("vt", "2")], "reading.registers_invalid"),
        ([("vt", "-1"), ("nt", "2")], "reading.value_invalid"),
        ([("vt", "1.2345"), ("nt", "2")], "reading.value_invalid"),
        ([("vt", "abc"), ("nt", "2")], "reading.value_invalid"),
        ([("vt", "NaN"), ("nt", "2")], "reading.value_invalid"),
    ):
        with pytest.raises(DomainError) as refused:
            domain.parse_values(values, (VT, NT))
        assert refused.value.reason == reason


def test_a_plausible_self_reading_is_accepted_with_its_consumption():
    usual = expected(HOUSE, LAST.read_on, TODAY)
    verdict = domain.check_reading(HOUSE, reading_for(usual), LAST, TODAY, confirmed=False)
    assert verdict.status == domain.ACCEPTED
    assert abs(verdict.consumption_kwh - usual) <= 1


def test_the_first_reading_has_nothing_to_compare_with():
    assert domain.check_reading(HOUSE, reading_for(d(5)), None, TODAY, confirmed=False).consumption_kwh is None


def test_refusals_name_the_rule_and_what_the_message_needs():
    usual = expected(HOUSE, LAST.read_on, TODAY)
    future = refusal(HOUSE, reading_for(usual, read_on=date(2026, 4, 2)))
    assert (future.reason, future.params) == ("reading.date_in_future", {"today": "2026-04-01"})
    before = refusal(HOUSE, reading_for(d(0), read_on=date(2025, 12, 31)))
    assert (before.reason, before.params) == ("reading.before_last", {"last_date": "2026-01-01"})
    assert refusal(HOUSE, reading_for(d(0), read_on=LAST.read_on)).reason == "reading.exists_for_date"
    lower = refusal(HOUSE, Reading(TODAY, {VT: d(1500), NT: d(1999)}, CUSTOMER))
    assert (lower.reason, lower.params) == (
        "reading.lower_than_last",
        {"register": "nt", "last_value": "2000", "last_date": "2026-01-01"},
    )
    # the operator's reading is held to the order of readings too
    assert refusal(HOUSE, Reading(TODAY, {VT: d(999), NT: d(2000)}, OPERATOR)).reason == "reading.lower_than_last"


def test_an_impossible_jump_is_refused_even_when_confirmed():
    usual = expected(HOUSE, LAST.read_on, TODAY)
    jump = refusal(HOUSE, reading_for(usual * 6), confirmed=True)
    assert jump.reason == "reading.implausible"
    assert jump.params["expected_kwh"] == str(usual.quantize(Decimal(1)))
    assert jump.params["last_date"] == "2026-01-01"
    # 25 A on one phase lets through at most 25 × 230 V × 24 h = 138 kWh a day
    small = Point("electricity", (VT, NT), annual_kwh=200_000, breaker_amps=25, phases=1)
    breaker = refusal(small, reading_for(d(138) * 90 + 100), confirmed=True)
    assert (breaker.reason, breaker.params["limit_kwh"]) == ("reading.exceeds_breaker", "12420")


@pytest.mark.parametrize("factor", [Decimal("2.5"), Decimal("0.1")], ids=["high", "low"])
def test_a_suspicious_value_asks_for_confirmation_then_is_flagged(factor):
    usual = expected(HOUSE, LAST.read_on, TODAY)
    asked = refusal(HOUSE, reading_for(usual * factor))
    assert asked.reason == "reading.confirm_suspicious"
    assert set(asked.params) == {"consumption_kwh", "expected_kwh", "last_date"}
    confirmed = domain.check_reading(HOUSE, reading_for(usual * factor), LAST, TODAY, confirmed=True)
    assert confirmed.status == FLAGGED


def test_little_consumption_over_a_few_days_is_not_questioned():
    verdict = domain.check_reading(HOUSE, reading_for(d(0), read_on=date(2026, 1, 8)), LAST, TODAY, confirmed=False)
    assert verdict.status == domain.ACCEPTED


def test_operator_readings_and_estimates_skip_the_expectation_checks():
    usual = expected(HOUSE, LAST.read_on, TODAY)
    for source in (OPERATOR, ESTIMATE):
        assert domain.check_reading(HOUSE, reading_for(usual * 3, source=source), LAST, TODAY, confirmed=False)


def test_an_estimate_is_not_the_last_reading():
    estimate = Reading(date(2026, 3, 1), {VT: d(9000), NT: d(9000)}, ESTIMATE)
    assert domain.last_actual([LAST, estimate]) == LAST


def test_gas_in_kwh_is_volume_times_correction_times_the_months_calorific_value():
    january = date(2026, 1, 1)
    assert domain.gas_kwh(d(100), january) == (d(100) * d("0.9812") * d("10.72")).quantize(Decimal("0.001"))
    before = Reading(january, {"gas": d(500)})
    after = Reading(date(2026, 2, 1), {"gas": d(600)})
    assert domain.period_kwh(GAS_POINT, before, after) == domain.gas_kwh(d(100), january)
    # over two months, each month's part at its own value
    later = Reading(date(2026, 3, 1), {"gas": d(700)})
    parts = domain.apportion(d(200), "gas", january, later.read_on)
    assert domain.period_kwh(GAS_POINT, before, later) == sum(domain.gas_kwh(m3, m) for m, m3 in parts)


def test_gas_in_winter_is_expected_to_be_more_than_in_summer():
    winter = expected(GAS_POINT, date(2026, 1, 1), date(2026, 2, 1))
    summer = expected(GAS_POINT, date(2026, 7, 1), date(2026, 8, 1))
    assert winter == d(12_000) * d("0.16") and summer == d(12_000) * d("0.02")
    assert expected(GAS_POINT, date(2026, 1, 1), date(2027, 1, 1)) == d(12_000)


@pytest.mark.parametrize(
    ("amount", "start", "end"),
    [
        (Decimal("4321.123"), date(2025, 3, 17), date(2026, 2, 3)),
        (Decimal("1"), date(2024, 2, 10), date(2024, 3, 5)),
        (Decimal("99999.999"), date(2023, 11, 1), date(2026, 11, 1)),
    ],
)
def test_apportioning_sums_to_the_total(amount, start, end):
    for commodity in ("electricity", "gas"):
        parts = domain.apportion(amount, commodity, start, end)
        assert sum(p for _, p in parts) == amount
        assert [m for m, _ in parts] == [m for m, _ in domain.month_parts(start, end)]
        assert all(p >= 0 for _, p in parts)


def test_history_per_month_and_year_from_consecutive_readings():
    point = Point("electricity", (VT,), annual_kwh=1200)
    readings = [
        Reading(date(2025, 1, 1), {VT: d(0)}),
        Reading(date(2025, 2, 1), {VT: d(100)}),
        Reading(date(2025, 3, 1), {VT: d(190)}),
        # one reading over two months, split by the profile (March 0.090, April 0.080 of the year)
        Reading(date(2025, 5, 1), {VT: d(360)}),
        Reading(date(2025, 6, 1), {VT: d(400)}, ESTIMATE),
    ]
    months = domain.history(point, readings, domain.MONTH, date(2024, 12, 1), date(2025, 6, 30))
    assert [(p.label, p.kwh[VT], p.estimated) for p in months] == [
        ("2025-01", d(100), False),
        ("2025-02", d(90), False),
        ("2025-03", d(90), False),
        ("2025-04", d(80), False),
        ("2025-05", d(40), True),
    ]
    assert [p.days_covered for p in months] == [31, 28, 31, 30, 31]
    year = domain.history(point, readings, domain.YEAR, date(2025, 1, 1), date(2025, 12, 31))
    assert [(p.label, p.kwh[VT], p.days_covered, p.days) for p in year] == [("2025", d(400), 151, 365)]


def test_an_actual_reading_replaces_the_estimates_before_it():
    point = Point("electricity", (VT,), annual_kwh=1200)
    readings = [
        Reading(date(2025, 1, 1), {VT: d(0)}),
        Reading(date(2025, 2, 1), {VT: d(500)}, ESTIMATE),
        Reading(date(2025, 3, 1), {VT: d(190)}),
    ]
    months = domain.history(point, readings, domain.MONTH, date(2025, 1, 1), date(2025, 2, 28))
    assert sum(p.kwh[VT] for p in months) == d(190) and not any(p.estimated for p in months)


def test_page_tokens_round_trip_and_refuse_garbage():
    token = domain.encode_page_token(date(2026, 1, 1), "6f1c7a52-3d0e-5b8a-9c41-2e7d5f0a9b13")
    assert domain.decode_page_token(token)[0] == date(2026, 1, 1)
    with pytest.raises(DomainError):
        domain.decode_page_token("bm90IGEgdG9rZW4")


def test_photos_are_limited_in_size_and_type():
    domain.check_photo(b"\xff\xd8jpeg", "image/jpeg")
    with pytest.raises(DomainError) as refused:
        domain.check_photo(b"x" * (domain.MAX_PHOTO_BYTES + 1), "image/jpeg")
    assert refused.value.reason == "reading.photo_too_large"
    with pytest.raises(DomainError) as refused:
        domain.check_photo(b"%PDF", "application/pdf")
    assert refused.value.reason == "reading.photo_type_invalid"


def test_every_demo_point_has_two_years_of_plausible_readings():
    for point in demo.supply_points():
        info = domain.point_of(point)
        readings = seed.demo_readings(point)
        assert readings[0].read_on == seed.FIRST and readings[-1].read_on == seed.LAST
        assert len(readings) == (25 if point.reading_schedule in seed.MONTHLY else 3)
        for before, after in zip(readings, readings[1:], strict=False):
            as_customer = Reading(after.read_on, after.values, CUSTOMER)
            verdict = domain.check_reading(info, as_customer, before, seed.LAST, confirmed=False)
            assert verdict.status == domain.ACCEPTED, point.identifier
    assert seed.demo_readings(demo.supply_points("volta", demo.JANA)[0]) == seed.demo_readings(
        demo.supply_points("volta", demo.JANA)[0]
    )


def test_a_register_added_later_counts_from_its_first_reading():
    single = Reading(date(2026, 1, 1), {VT: d(1000)}, OPERATOR)
    # the point became two-tariff: a new meter register starts at 500
    verdict = domain.check_reading(
        HOUSE, Reading(TODAY, {VT: d(1500), NT: d(500)}, CUSTOMER), single, TODAY, confirmed=False
    )
    assert verdict.consumption_kwh == d(500)
    later = Reading(date(2026, 5, 1), {VT: d(1600), NT: d(600)}, OPERATOR)
    months = domain.history(
        HOUSE, [single, Reading(TODAY, {VT: d(1500), NT: d(500)}), later], domain.MONTH, TODAY, TODAY
    )
    assert (months[0].kwh[VT], months[0].kwh[NT]) == (d(100), d(100))
