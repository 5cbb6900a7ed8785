"""Price lists, settlement (vyúčtování), credit notes, advance plans and invoice numbers: hand-worked examples whose
figures are written out here, properties over random inputs, and the refusals of a bad price list."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit import demo
from kit.errors import DomainError
from services.billing import domain, price_lists, pricing
from services.billing.domain import GAS_REGISTER, NT, VT
from services.billing.pricing import (
    ANY_TARIFF,
    BreakerBand,
    ConsumptionBand,
    DistributionRates,
    PriceList,
    SupplyFacts,
)


def d(value: str | int) -> Decimal:
    return Decimal(value)


def electricity_list(valid_from: date, valid_to: date | None, **prices: str) -> PriceList:
    """A Czech electricity price list with round figures; `prices` override the 2025 ones."""
    p = {
        "vt": "3000",
        "nt": "2000",
        "fixed": "100",
        "d02d_vt": "2000",
        "d02d_breaker": "250",
        "d25d_vt": "2000",
        "d25d_nt": "200",
        "d25d_breaker": "300",
        "system": "150",
        "poze": "500",
        "ote": "5",
    } | prices
    return PriceList(
        product="Test Elektřina",
        commodity="electricity",
        valid_from=valid_from,
        valid_to=valid_to,
        currency="CZK",
        country="CZ",
        vat_rate=d("0.21"),
        energy_mwh={VT: d(p["vt"]), NT: d(p["nt"])},
        fixed_monthly=d(p["fixed"]),
        distribution={
            "D02d": DistributionRates({VT: d(p["d02d_vt"])}, breakers=(BreakerBand(3, 25, d(p["d02d_breaker"])),)),
            "D25d": DistributionRates(
                {VT: d(p["d25d_vt"]), NT: d(p["d25d_nt"])}, breakers=(BreakerBand(3, 25, d(p["d25d_breaker"])),)
            ),
        },
        system_services_mwh=d(p["system"]),
        renewables_mwh=d(p["poze"]),
        market_operator_monthly=d(p["ote"]),
        tax_mwh=d("28.30"),
    )


Y2025 = electricity_list(date(2025, 1, 1), date(2026, 1, 1))
Y2026 = electricity_list(
    date(2026, 1, 1),
    None,
    vt="2500",
    nt="1500",
    fixed="120",
    d02d_vt="1800",
    d02d_breaker="240",
    d25d_vt="1800",
    d25d_nt="150",
    d25d_breaker="280",
    system="160",
    poze="0",
    ote="4",
)
TWO_YEARS = (Y2025, Y2026)
ONE_TARIFF = SupplyFacts("electricity", "D02d", breaker_amps=25, phases=3, annual_kwh=2400)
TWO_TARIFF = SupplyFacts("electricity", "D25d", breaker_amps=25, phases=3, annual_kwh=4000)
JULY_TO_JULY = (date(2025, 7, 1), date(2026, 7, 1))
JANUARY = (date(2026, 1, 1), date(2026, 2, 1))


def every_month(start: date, count: int, kwh: str) -> list[tuple[date, Decimal]]:
    return [(domain.months_before(start, -i), d(kwh)) for i in range(count)]


def codes(settlement: pricing.Settlement, valid_from: date) -> dict[str, Decimal]:
    return {line.code: line.base for line in settlement.lines if line.valid_from == valid_from}


# --- hand-worked settlements ----------------------------------------------------------------------


def one_tariff_year() -> pricing.Settlement:
    """200 kWh a month, 12 months: 1.2 MWh in each half year; 1600 a month paid."""
    return pricing.settle(
        ONE_TARIFF,
        *JULY_TO_JULY,
        {VT: d(2400)},
        TWO_YEARS,
        [d(1600)] * 12,
        monthly={VT: every_month(date(2025, 7, 1), 12, "200")},
    )


def test_one_tariff_year_over_two_price_lists_underpaid_with_whole_crown_rounding() -> None:
    s = one_tariff_year()
    assert codes(s, date(2025, 7, 1)) == {
        "energy.vt": d("3600.00"),  # 1.2 × 3000
        "supply.fixed": d("600.00"),  # 6 × 100
        "distribution.vt": d("2400.00"),  # 1.2 × 2000
        "distribution.breaker": d("1500.00"),  # 6 × 250
        "system_services": d("180.00"),  # 1.2 × 150
        "renewables": d("600.00"),  # 1.2 × 500
        "market_operator": d("30.00"),  # 6 × 5
        "tax": d("33.96"),  # 1.2 × 28.30
    }
    assert codes(s, date(2026, 1, 1)) == {
        "energy.vt": d("3000.00"),  # 1.2 × 2500
        "supply.fixed": d("720.00"),  # 6 × 120
        "distribution.vt": d("2160.00"),  # 1.2 × 1800
        "distribution.breaker": d("1440.00"),  # 6 × 240
        "system_services": d("192.00"),  # 1.2 × 160; POZE is 0 in 2026: no line
        "market_operator": d("24.00"),  # 6 × 4
        "tax": d("33.96"),
    }
    # 8943.96 + 7569.96
    assert s.base == d("16513.92")
    # 16513.92 × 0.21 = 3467.9232
    assert s.vat == d("3467.92")
    assert s.total == d("19981.84")
    assert s.advances == d(19200)
    # 19981.84 − 19200 = 781.84, to pay 782: 0.16 rounding outside VAT
    assert (s.due, s.rounding) == (d(782), d("0.16"))
    assert [(v.rate, v.base, v.vat) for v in s.vat_breakdown] == [(d("0.21"), d("16513.92"), d("3467.92"))]
    energy = next(line for line in s.lines if line.code == "energy.vt")
    assert (energy.quantity, energy.unit, energy.unit_price, energy.valid_to) == (
        d("1.2"),
        "MWh",
        d(3000),
        date(2026, 1, 1),
    )
    assert dict(energy.inputs)["kwh"] == "1200"


def test_two_tariff_year_over_two_price_lists_overpaid() -> None:
    # VT 100 and NT 150 kWh a month: 0.6 and 0.9 MWh in each half year
    s = pricing.settle(
        TWO_TARIFF,
        *JULY_TO_JULY,
        {VT: d(1200), NT: d(1800)},
        TWO_YEARS,
        [d(1700)] * 12,
        monthly={VT: every_month(date(2025, 7, 1), 12, "100"), NT: every_month(date(2025, 7, 1), 12, "150")},
    )
    assert codes(s, date(2025, 7, 1)) == {
        "energy.vt": d("1800.00"),  # 0.6 × 3000
        "energy.nt": d("1800.00"),  # 0.9 × 2000
        "supply.fixed": d("600.00"),
        "distribution.vt": d("1200.00"),  # 0.6 × 2000
        "distribution.nt": d("180.00"),  # 0.9 × 200
        "distribution.breaker": d("1800.00"),  # 6 × 300
        "system_services": d("225.00"),  # 1.5 × 150
        "renewables": d("750.00"),  # 1.5 × 500
        "market_operator": d("30.00"),
        "tax": d("42.45"),  # 1.5 × 28.30
    }
    assert sum(codes(s, date(2026, 1, 1)).values()) == d("6771.45")
    # 1500 + 1350 + 720 + 1080 + 135 + 1680 + 240 + 24 + 42.45
    assert codes(s, date(2026, 1, 1))["distribution.nt"] == d("135.00")
    assert s.base == d("15198.90")  # 8427.45 + 6771.45
    assert s.vat == d("3191.77")  # 15198.90 × 0.21 = 3191.769
    assert s.total == d("18390.67")
    # 18390.67 − 20400 = −2009.33: an overpayment of 2009 returned
    assert (s.due, s.rounding) == (d(-2009), d("0.33"))


def test_price_change_mid_month_splits_fees_by_days_and_consumption_by_the_month() -> None:
    january = electricity_list(date(2025, 1, 1), date(2026, 1, 17))
    later = electricity_list(date(2026, 1, 17), None, fixed="120")
    s = pricing.settle(
        ONE_TARIFF,
        date(2026, 1, 1),
        date(2026, 2, 1),
        {VT: d(310)},
        (january, later),
        monthly={VT: [(date(2026, 1, 1), d(310))]},
    )
    fixed = [line for line in s.lines if line.code == "supply.fixed"]
    # 16/31 = 0.51613 months × 100; 15/31 = 0.48387 months × 120 = 58.0644
    assert [(f.quantity, f.base) for f in fixed] == [(d("0.5161"), d("51.61")), (d("0.4839"), d("58.07"))]
    assert dict(fixed[0].inputs)["months"] == "2026-01:16/31"
    energy = [line for line in s.lines if line.code == "energy.vt"]
    # 310 kWh × 16/31 = 160, the rest 150
    assert [e.quantity for e in energy] == [d("0.16"), d("0.15")]


def gas_list(valid_from: date, valid_to: date | None) -> PriceList:
    return PriceList(
        product="Test Plyn",
        commodity="gas",
        valid_from=valid_from,
        valid_to=valid_to,
        currency="CZK",
        country="CZ",
        vat_rate=d("0.21"),
        energy_mwh={GAS_REGISTER: d(1400)},
        fixed_monthly=d(110),
        distribution={
            ANY_TARIFF: DistributionRates(
                {GAS_REGISTER: d(440)},
                bands=(ConsumptionBand(7560, d(140)), ConsumptionBand(15000, d(245)), ConsumptionBand(None, d(420))),
            )
        },
        market_operator_monthly=d(2),
        tax_mwh=d("30.60"),
    )


def test_gas_with_the_consumption_band_fee() -> None:
    point = SupplyFacts("gas", "", annual_kwh=12_500)  # 7 560 < 12 500 ≤ 15 000: the 245 band
    s = pricing.settle(
        point,
        date(2026, 1, 1),
        date(2026, 4, 1),
        {GAS_REGISTER: d(4000)},
        [gas_list(date(2026, 1, 1), None)],
        [d(3000)] * 3,
        monthly={GAS_REGISTER: [(date(2026, 1, 1), d(1600)), (date(2026, 2, 1), d(1400)), (date(2026, 3, 1), d(1000))]},
    )
    assert {line.code: line.base for line in s.lines} == {
        "energy.gas": d("5600.00"),  # 4 × 1400
        "supply.fixed": d("330.00"),  # 3 × 110
        "distribution.gas": d("1760.00"),  # 4 × 440
        "distribution.band": d("735.00"),  # 3 × 245
        "market_operator": d("6.00"),  # 3 × 2
        "tax": d("122.40"),  # 4 × 30.60
    }
    assert s.base == d("8553.40")
    assert s.vat == d("1796.21")  # 8553.40 × 0.21 = 1796.214
    assert s.total == d("10349.61")
    assert (s.due, s.rounding) == (d(1350), d("0.39"))  # 10349.61 − 9000 = 1349.61


def test_bulgarian_point_in_euro_to_the_cent() -> None:
    bg = PriceList(
        product="Тест",
        commodity="electricity",
        valid_from=date(2026, 1, 1),
        valid_to=None,
        currency="EUR",
        country="BG",
        vat_rate=d("0.20"),
        energy_mwh={VT: d(70), NT: d(40)},
        fixed_monthly=d(0),
        distribution={
            "двутарифна": DistributionRates({VT: d(18), NT: d(18)}, bands=(ConsumptionBand(None, d("1.10")),))
        },
        system_services_mwh=d("10.50"),
        renewables_mwh=d("6.20"),
        tax_mwh=d("1.02"),
    )
    point = SupplyFacts("electricity", "двутарифна", breaker_amps=25, phases=1, annual_kwh=3600)
    s = pricing.settle(
        point,
        date(2026, 1, 1),
        date(2026, 3, 1),
        {VT: d("250.5"), NT: d(130)},
        [bg],
        [d(25), d(25)],
        monthly={
            VT: [(date(2026, 1, 1), d("130.5")), (date(2026, 2, 1), d(120))],
            NT: [(date(2026, 1, 1), d(70)), (date(2026, 2, 1), d(60))],
        },
    )
    assert {line.code: line.base for line in s.lines} == {
        "energy.vt": d("17.54"),  # 0.2505 × 70 = 17.535
        "energy.nt": d("5.20"),  # 0.13 × 40
        "distribution.vt": d("4.51"),  # 0.2505 × 18 = 4.509
        "distribution.nt": d("2.34"),  # 0.13 × 18
        "network.access": d("2.20"),  # 2 × 1.10
        "transmission": d("4.00"),  # 0.3805 × 10.50 = 3.99525
        "public_obligations": d("2.36"),  # 0.3805 × 6.20 = 2.3591
        "excise": d("0.39"),  # 0.3805 × 1.02 = 0.38811
    }
    assert s.base == d("38.54")
    assert s.vat == d("7.71")  # 38.54 × 0.20 = 7.708
    assert s.total == d("46.25")
    # 46.25 − 50: an overpayment to the cent, no cash rounding in euro
    assert (s.currency, s.due, s.rounding) == ("EUR", d("-3.75"), d(0))


def test_credit_note_is_minus_the_original() -> None:
    original = one_tariff_year()
    credit = pricing.credit_note(original, "2026100001")
    assert credit.kind == pricing.CREDIT_NOTE
    assert credit.original == "2026100001"
    assert sum(line.total for line in credit.lines) == d("-19981.84")
    assert (credit.base, credit.vat, credit.total) == (d("-16513.92"), d("-3467.92"), d("-19981.84"))
    assert (credit.advances, credit.rounding, credit.due) == (d(-19200), d("-0.16"), d(-782))
    assert [line.code for line in credit.lines] == [line.code for line in original.lines]


def test_extraordinary_settlement_runs_to_the_day_asked_for() -> None:
    s = pricing.settle(
        ONE_TARIFF, date(2026, 1, 1), date(2026, 1, 20), {VT: d(95)}, TWO_YEARS, kind=pricing.EXTRAORDINARY
    )
    assert s.kind == pricing.EXTRAORDINARY
    fixed = next(line for line in s.lines if line.code == "supply.fixed")
    assert fixed.quantity == d("0.6129")  # 19/31 = 0.61290
    assert fixed.base == d("73.55")  # 0.6129 × 120 = 73.548


def test_settlement_refusals() -> None:
    with pytest.raises(DomainError) as err:
        pricing.settle(ONE_TARIFF, date(2024, 12, 1), date(2025, 2, 1), {VT: d(1)}, TWO_YEARS)
    assert err.value.reason == "precondition.price_list_missing"
    assert err.value.params == {"day": "2024-12-01"}
    with pytest.raises(DomainError) as err:
        pricing.settle(replace(ONE_TARIFF, breaker_amps=32), *JANUARY, {VT: d(1)}, TWO_YEARS)
    assert err.value.reason == "precondition.breaker_unpriced"
    with pytest.raises(DomainError) as err:
        pricing.settle(replace(ONE_TARIFF, distribution_tariff="D01d"), *JANUARY, {VT: d(1)}, TWO_YEARS)
    assert err.value.reason == "precondition.tariff_unpriced"
    with pytest.raises(DomainError) as err:
        pricing.settle(ONE_TARIFF, date(2026, 1, 1), date(2026, 2, 1), {NT: d(1)}, TWO_YEARS)
    assert err.value.reason == "settlement.consumption_invalid"
    with pytest.raises(DomainError) as err:
        pricing.settle(ONE_TARIFF, date(2026, 2, 1), date(2026, 2, 1), {VT: d(1)}, TWO_YEARS)
    assert err.value.reason == "settlement.period_invalid"
    with pytest.raises(DomainError) as err:
        pricing.settle(
            ONE_TARIFF,
            date(2026, 1, 1),
            date(2026, 2, 1),
            {VT: d(10)},
            TWO_YEARS,
            monthly={VT: [(date(2026, 1, 1), d(9))]},
        )
    assert err.value.reason == "settlement.monthly_mismatch"
    with pytest.raises(DomainError) as err:
        pricing.settle(TWO_TARIFF, *JANUARY, {VT: d(1), NT: d(1)}, [replace(Y2026, energy_mwh={VT: d(2500)})])
    assert (err.value.reason, err.value.params["register"]) == ("precondition.register_unpriced", NT)


# --- advance plans --------------------------------------------------------------------------------


def test_advance_plan_of_a_one_tariff_point() -> None:
    plan = pricing.advance_plan(ONE_TARIFF, TWO_YEARS, date(2026, 1, 1), "monthly")
    # a whole year of the profile is the annual consumption: 2.4 MWh at the 2026 prices
    assert plan.expected_kwh == {VT: d(2400)}
    # 2.4 × 2500 + 12 × 120 + 2.4 × 1800 + 12 × 240 + 2.4 × 160 + 12 × 4 + 2.4 × 28.30
    base = d(6000) + d(1440) + d(4320) + d(2880) + d(384) + d(48) + d("67.92")
    assert base == d("15139.92")
    assert plan.yearly_cost == d("18319.30")  # + 15139.92 × 0.21 = 3179.3832
    assert plan.amount == d(1527)  # 18319.30 / 12 = 1526.61, up
    # the 15th, or the next business day: 15 February, 15 March, 15 November 2026 are Sundays, 15 August a Saturday
    assert [a.due_on for a in plan.advances] == [
        date(2026, 1, 15),
        date(2026, 2, 16),
        date(2026, 3, 16),
        date(2026, 4, 15),
        date(2026, 5, 15),
        date(2026, 6, 15),
        date(2026, 7, 15),
        date(2026, 8, 17),
        date(2026, 9, 15),
        date(2026, 10, 15),
        date(2026, 11, 16),
        date(2026, 12, 15),
    ]
    quarterly = pricing.advance_plan(ONE_TARIFF, TWO_YEARS, date(2026, 1, 1), "quarterly")
    assert quarterly.amount == d(4580)  # 18319.30 / 4 = 4579.825, up
    assert [a.due_on.month for a in quarterly.advances] == [1, 4, 7, 10]


def test_advance_plan_splits_a_two_tariff_point_by_its_low_tariff_share() -> None:
    plan = pricing.advance_plan(TWO_TARIFF, TWO_YEARS, date(2026, 1, 1), "monthly")
    # D25d: 40 % of 4000 kWh on the low tariff
    assert plan.expected_kwh == {VT: d(2400), NT: d(1600)}


def test_due_dates_skip_public_holidays() -> None:
    # 24–26 December are Czech holidays, then a weekend
    assert pricing.next_business_day(date(2026, 12, 24), "CZ") == date(2026, 12, 28)
    # 3 March, Liberation Day in Bulgaria
    assert pricing.next_business_day(date(2026, 3, 3), "BG") == date(2026, 3, 4)
    assert pricing.next_business_day(date(2026, 3, 3), "CZ") == date(2026, 3, 3)


def test_advance_bounds_are_half_to_twice_the_proposal() -> None:
    bounds = pricing.advance_bounds([(ONE_TARIFF, TWO_YEARS)], "monthly", date(2026, 1, 1))
    assert (bounds.proposal, bounds.minimum, bounds.maximum) == (d(1527), d(763), d(3054))
    assert (bounds.yearly_cost, bounds.annual_kwh) == (d("18319.30"), 2400)
    with pytest.raises(DomainError) as err:
        pricing.advance_bounds([(ONE_TARIFF, TWO_YEARS)], "weekly", date(2026, 1, 1))
    assert err.value.reason == "precondition.advance_unpriced"
    with pytest.raises(DomainError) as err:
        pricing.advance_bounds([(ONE_TARIFF, (Y2025,))], "monthly", date(2026, 1, 1))
    assert err.value.reason == "precondition.advance_unpriced"


# --- price lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"currency": "USD"}, "price_list.currency_unknown"),
        ({"commodity": "heat"}, "price_list.commodity_invalid"),
        ({"country": "DE"}, "price_list.country_unknown"),
        ({"vat_rate": d("1.21")}, "price_list.vat_rate_invalid"),
        ({"valid_to": date(2025, 1, 1)}, "price_list.validity_invalid"),
        ({"fixed_monthly": d(-1)}, "price_list.rate_negative"),
        ({"energy_mwh": {VT: d(-1)}}, "price_list.rate_negative"),
    ],
)
def test_price_list_refusals(change: dict[str, object], reason: str) -> None:
    with pytest.raises(DomainError) as err:
        pricing.validate([replace(Y2025, **change)])  # type: ignore[arg-type]
    assert err.value.reason == reason


def test_overlapping_price_lists_of_one_product_are_refused() -> None:
    with pytest.raises(DomainError) as err:
        pricing.validate([Y2025, replace(Y2026, valid_from=date(2025, 12, 1))])
    assert err.value.reason == "price_list.overlap"
    assert err.value.params == {"product": "Test Elektřina", "valid_from": "2025-12-01"}
    with pytest.raises(DomainError):
        pricing.validate([replace(Y2025, valid_to=None), Y2026])
    # another product may have its own lists for the same days
    pricing.validate([Y2025, Y2026, replace(Y2025, product="Jiný")])


def test_a_negative_breaker_charge_is_refused() -> None:
    rates = DistributionRates({VT: d(1)}, breakers=(BreakerBand(3, 25, d(-5)),))
    with pytest.raises(DomainError) as err:
        pricing.validate([replace(Y2025, distribution={"D02d": rates})])
    assert (err.value.reason, err.value.params["component"]) == (
        "price_list.rate_negative",
        "distribution.breaker.D02d",
    )


def test_every_demo_supply_point_can_be_priced() -> None:
    for tenant in demo.tenants():
        lists = price_lists.demo_price_lists(tenant.slug)
        pricing.validate(lists)
        for p in demo.supply_points(tenant.slug):
            facts = SupplyFacts(
                p.commodity, p.distribution_tariff, p.breaker_amps, p.phases, p.annual_consumption_kwh, p.hdo_code
            )
            plan = pricing.advance_plan(facts, pricing.of_product(lists, p.product), date(2025, 7, 1), "monthly")
            assert plan.currency == tenant.currency
            assert plan.amount > 0


# --- invoice numbers ------------------------------------------------------------------------------


def test_invoice_numbers_and_variable_symbols() -> None:
    assert pricing.invoice_number(2026, "1", 4711) == "2026104711"
    assert pricing.invoice_number(2026, "", 1) == "2026000001"
    assert pricing.next_invoice_number(2026, "1", "2026104711") == "2026104712"
    assert pricing.next_invoice_number(2026, "1", None) == "2026100001"
    # a new year starts the sequence again
    assert pricing.next_invoice_number(2027, "1", "2026199999") == "2027100001"
    assert pricing.variable_symbol("2026104711") == "2026104711"
    with pytest.raises(DomainError) as err:
        pricing.next_invoice_number(2026, "1", "2026199999")
    assert err.value.reason == "invoice.sequence_exhausted"
    with pytest.raises(DomainError) as err:
        pricing.invoice_number(2026, "123456", 1)
    assert err.value.reason == "invoice.series_invalid"
    with pytest.raises(DomainError) as err:
        pricing.variable_symbol("20261047110")
    assert err.value.reason == "invoice.variable_symbol_invalid"


# --- properties -----------------------------------------------------------------------------------

days_2025_2026 = st.integers(min_value=0, max_value=700).map(lambda n: date(2025, 1, 1) + timedelta(days=n))
kwh = st.decimals(min_value=0, max_value=50_000, places=3)
advance = st.decimals(min_value=0, max_value=5_000, places=2)


@settings(max_examples=60, deadline=None)
@given(
    start=days_2025_2026,
    length=st.integers(min_value=1, max_value=400),
    vt=kwh,
    nt=kwh,
    advances=st.lists(advance, max_size=12),
)
def test_lines_add_up_to_the_totals(
    start: date, length: int, vt: Decimal, nt: Decimal, advances: list[Decimal]
) -> None:
    s = pricing.settle(TWO_TARIFF, start, start + timedelta(days=length), {VT: vt, NT: nt}, TWO_YEARS, advances)
    assert sum(line.base for line in s.lines) == s.base
    assert sum(line.vat for line in s.lines) == s.vat
    assert sum(line.total for line in s.lines) == s.total == s.base + s.vat
    assert sum(v.vat for v in s.vat_breakdown) == s.vat
    assert sum(v.base for v in s.vat_breakdown) == s.base
    assert s.due == s.total - s.advances + s.rounding
    assert s.due == s.due.to_integral_value()
    assert abs(s.rounding) <= d("0.5")
    assert all(line.base == (line.quantity * line.unit_price).quantize(d("0.01"), ROUND_HALF_UP) for line in s.lines)
    credit = pricing.credit_note(s, "2026000001")
    assert s.total + sum(line.total for line in credit.lines) == 0


@settings(max_examples=60, deadline=None)
@given(
    a=days_2025_2026,
    first=st.integers(min_value=1, max_value=200),
    second=st.integers(min_value=1, max_value=200),
    annual=st.integers(min_value=500, max_value=60_000),
)
def test_a_period_settles_as_its_two_halves(a: date, first: int, second: int, annual: int) -> None:
    one_list = [replace(Y2026, valid_from=date(2024, 1, 1))]
    b, c = a + timedelta(days=first), a + timedelta(days=first + second)
    facts = replace(ONE_TARIFF, annual_kwh=annual)

    def base(start: date, end: date) -> Decimal:
        consumption = pricing.expected_consumption(facts, start, end)
        return pricing.settle(facts, start, end, consumption, one_list).base

    whole, halves = base(a, c), base(a, b) + base(b, c)
    # cents on each of 7 lines, a month quantity to 1/10 000 at the largest monthly price (240), Wh of consumption
    assert abs(whole - halves) <= 7 * d("0.01") + 3 * d("0.0001") * 240 + d("0.01")


@settings(max_examples=60, deadline=None)
@given(
    start=days_2025_2026,
    annual=st.integers(min_value=0, max_value=200_000),
    cycle=st.sampled_from(["monthly", "quarterly"]),
    tariff=st.sampled_from(["D02d", "D25d"]),
)
def test_advances_cover_the_year_by_less_than_a_crown_each(start: date, annual: int, cycle: str, tariff: str) -> None:
    facts = SupplyFacts("electricity", tariff, breaker_amps=25, phases=3, annual_kwh=annual)
    plan = pricing.advance_plan(facts, TWO_YEARS, start, cycle)
    paid = sum(a.amount for a in plan.advances)
    assert paid >= plan.yearly_cost
    assert paid - plan.yearly_cost < len(plan.advances)
    assert all(a.amount == a.amount.to_integral_value() for a in plan.advances)
    assert all(a.due_on.weekday() < 5 for a in plan.advances)
