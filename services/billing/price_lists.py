"""The demo brands' price lists (kit/demo.py's products), so that every demo supply point can be priced.

Two validity periods per product: 2024–2025 (from 1 January 2024, covering the demo's readings) and from 1 January
2026, open. The figures are illustrative, in the shape of the Czech and Bulgarian regulated price decisions, not a
copy of any year's: distribution per distribution tariff (breaker charges per ampere and phase, as the Czech
regulator sets them above 3×63 A), system services, POZE (paid by the state from 2026, so zero), OTE, the energy
taxes (28.30 CZK/MWh electricity, 30.60 CZK/MWh gas). "Volta Business Fix 2026" keeps its energy price in both
periods; only the regulated items change. "ESCO Průmysl Spot" is priced at an indicative fixed price per MWh here,
the spot index being the bill run's business. Balkan Power bills in euro: its 2024–2025 prices are the lev prices
converted at the fixed rate, as consumption before the changeover is settled in euro after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from kit.identifiers import ELECTRICITY, GAS

from .domain import GAS_REGISTER, NT, VT
from .pricing import ANY_TARIFF, BreakerBand, ConsumptionBand, DistributionRates, PriceList

UNTIL_2025 = (date(2024, 1, 1), date(2026, 1, 1))
FROM_2026 = (date(2026, 1, 1), None)
PERIODS = (UNTIL_2025, FROM_2026)

CZ_VAT = Decimal("0.21")
BG_VAT = Decimal("0.20")

# breaker sizes the demo's and the usual household and business points have
ONE_PHASE_AMPS = (16, 20, 25, 32)
THREE_PHASE_AMPS = (10, 16, 20, 25, 32, 40, 50, 63, 80, 100, 125, 160)

# gas: pásma ročního odběru (MWh) and their monthly distribution charge, CZK; the last band has no upper bound
GAS_BANDS_MWH = (Decimal("1.89"), Decimal("7.56"), 15, 20, 25, 30, 35, 40, 45, 63, None)


def _d(value: str | int) -> Decimal:
    return Decimal(value)


def _breakers(per_amp: str) -> tuple[BreakerBand, ...]:
    """Charges proportional to the breaker's amperes per phase; one phase of n A costs what three of n/3 A do."""
    rate = _d(per_amp)
    one = tuple(BreakerBand(1, a, (rate * a / 3).quantize(Decimal("0.01"), ROUND_HALF_UP)) for a in ONE_PHASE_AMPS)
    return one + tuple(BreakerBand(3, a, rate * a) for a in THREE_PHASE_AMPS)


def _electricity(vt: str, nt: str, per_amp: str) -> DistributionRates:
    return DistributionRates({VT: _d(vt), NT: _d(nt)}, breakers=_breakers(per_amp))


def _gas_bands(monthly: tuple[str, ...]) -> tuple[ConsumptionBand, ...]:
    return tuple(
        ConsumptionBand(None if mwh is None else int(Decimal(mwh) * 1000), _d(fee))
        for mwh, fee in zip(GAS_BANDS_MWH, monthly, strict=True)
    )


# per period: distribution tariff → VT, NT per MWh, breaker charge per ampere (3 phases) and month
_CZ_DISTRIBUTION: Mapping[tuple[date, date | None], Mapping[str, DistributionRates]] = {
    UNTIL_2025: {
        "D01d": _electricity("3010.00", "0", "4.30"),
        "D02d": _electricity("2240.00", "0", "9.80"),
        "D25d": _electricity("2280.00", "195.00", "11.40"),
        "D45d": _electricity("1420.00", "215.00", "21.80"),
        "D57d": _electricity("330.00", "215.00", "27.20"),
        "C01d": _electricity("3120.00", "0", "4.60"),
        "C02d": _electricity("2390.00", "0", "10.20"),
        "C03d": _electricity("1360.00", "0", "20.40"),
        "C25d": _electricity("2410.00", "260.00", "11.80"),
        "C45d": _electricity("1560.00", "260.00", "22.60"),
        # high voltage: a reserved capacity charge instead of a breaker
        "VN": DistributionRates({VT: _d("185.00"), NT: _d("185.00")}, bands=(ConsumptionBand(None, _d("46500.00")),)),
    },
    FROM_2026: {
        "D01d": _electricity("2890.00", "0", "4.10"),
        "D02d": _electricity("2150.00", "0", "9.40"),
        "D25d": _electricity("2190.00", "180.00", "11.00"),
        "D45d": _electricity("1350.00", "200.00", "21.00"),
        "D57d": _electricity("310.00", "200.00", "26.40"),
        "C01d": _electricity("2990.00", "0", "4.40"),
        "C02d": _electricity("2300.00", "0", "9.90"),
        "C03d": _electricity("1310.00", "0", "19.80"),
        "C25d": _electricity("2320.00", "245.00", "11.40"),
        "C45d": _electricity("1500.00", "245.00", "21.90"),
        "VN": DistributionRates({VT: _d("178.00"), NT: _d("178.00")}, bands=(ConsumptionBand(None, _d("45200.00")),)),
    },
}

_CZ_GAS_DISTRIBUTION: Mapping[tuple[date, date | None], DistributionRates] = {
    UNTIL_2025: DistributionRates(
        {GAS_REGISTER: _d("455.00")},
        bands=_gas_bands(
            (
                "33.00",
                "148.00",
                "252.00",
                "279.00",
                "298.00",
                "314.00",
                "331.00",
                "347.00",
                "362.00",
                "436.00",
                "18600.00",
            )
        ),
    ),  # fmt: skip
    FROM_2026: DistributionRates(
        {GAS_REGISTER: _d("438.00")},
        bands=_gas_bands(
            (
                "32.00",
                "142.00",
                "245.00",
                "270.00",
                "290.00",
                "305.00",
                "320.00",
                "335.00",
                "350.00",
                "420.00",
                "18000.00",
            )
        ),
    ),  # fmt: skip
}

# system services, POZE per MWh; OTE per month
_CZ_REGULATED = {
    (ELECTRICITY, UNTIL_2025): (_d("164.24"), _d("495.00"), _d("4.51")),
    (ELECTRICITY, FROM_2026): (_d("152.80"), _d(0), _d("4.20")),
    (GAS, UNTIL_2025): (_d(0), _d(0), _d("2.29")),
    (GAS, FROM_2026): (_d(0), _d(0), _d("2.10")),
}
_CZ_TAX = {ELECTRICITY: _d("28.30"), GAS: _d("30.60")}


def _czech(
    product: str, commodity: str, period: tuple[date, date | None], energy: Mapping[str, str], fixed: str
) -> PriceList:
    system_services, renewables, market_operator = _CZ_REGULATED[(commodity, period)]
    return PriceList(
        product=product,
        commodity=commodity,
        valid_from=period[0],
        valid_to=period[1],
        currency="CZK",
        country="CZ",
        vat_rate=CZ_VAT,
        energy_mwh={r: _d(v) for r, v in energy.items()},
        fixed_monthly=_d(fixed),
        distribution=_CZ_DISTRIBUTION[period]
        if commodity == ELECTRICITY
        else {ANY_TARIFF: _CZ_GAS_DISTRIBUTION[period]},
        system_services_mwh=system_services,
        renewables_mwh=renewables,
        market_operator_monthly=market_operator,
        tax_mwh=_CZ_TAX[commodity],
    )


# product → commodity and, per period, energy per register and the fixed monthly fee
_PRODUCTS: Mapping[str, Mapping[str, tuple[str, tuple[tuple[dict[str, str], str], tuple[dict[str, str], str]]]]] = {
    "volta": {
        "Volta Domov": (ELECTRICITY, (({VT: "3190.00"}, "129.00"), ({VT: "2890.00"}, "119.00"))),
        "Volta Domov Dvoutarif": (
            ELECTRICITY,
            (({VT: "3390.00", NT: "2790.00"}, "129.00"), ({VT: "3090.00", NT: "2490.00"}, "119.00")),
        ),
        "Volta Business": (ELECTRICITY, (({VT: "3050.00"}, "149.00"), ({VT: "2790.00"}, "149.00"))),
        "Volta Business Fix 2026": (ELECTRICITY, (({VT: "2690.00"}, "99.00"), ({VT: "2690.00"}, "99.00"))),
        "Volta Business Dvoutarif": (
            ELECTRICITY,
            (({VT: "3250.00", NT: "2650.00"}, "149.00"), ({VT: "2990.00", NT: "2390.00"}, "149.00")),
        ),
        "Volta Plyn Domov": (GAS, (({GAS_REGISTER: "1490.00"}, "119.00"), ({GAS_REGISTER: "1390.00"}, "109.00"))),
        "Volta Plyn Business": (GAS, (({GAS_REGISTER: "1420.00"}, "189.00"), ({GAS_REGISTER: "1340.00"}, "189.00"))),
    },
    "esco": {
        "ESCO Business": (ELECTRICITY, (({VT: "2950.00"}, "290.00"), ({VT: "2690.00"}, "290.00"))),
        "ESCO Business Dvoutarif": (
            ELECTRICITY,
            (({VT: "3150.00", NT: "2550.00"}, "290.00"), ({VT: "2890.00", NT: "2290.00"}, "290.00")),
        ),
        "ESCO Průmysl Spot": (ELECTRICITY, (({VT: "2480.00"}, "1500.00"), ({VT: "2350.00"}, "1500.00"))),
        "ESCO Plyn Průmysl": (GAS, (({GAS_REGISTER: "1180.00"}, "1500.00"), ({GAS_REGISTER: "1090.00"}, "1500.00"))),
    },
}

# Bulgarian electricity, EUR: energy per register, distribution (пренос през електроразпределителната мрежа) per
# MWh, access to the distribution network per month, transmission, public obligations, excise (2 BGN/MWh)
_BG_PRODUCTS = {
    "Балкан Дом": ({VT: "71.10"}, {VT: "58.20"}),
    "Балкан Дом – двутарифен": ({VT: "74.60", NT: "43.50"}, {VT: "61.30", NT: "36.40"}),
}
_BG_NETWORK = {
    UNTIL_2025: ("18.46", "1.12", "10.84", "5.93"),
    FROM_2026: ("17.80", "1.10", "10.50", "6.20"),
}
_BG_TARIFFS = ("еднотарифна", "двутарифна")
BG_EXCISE = _d("1.02")


def _bulgarian(product: str, period: tuple[date, date | None], energy: Mapping[str, str]) -> PriceList:
    distribution, access, transmission, obligations = (_d(v) for v in _BG_NETWORK[period])
    rates = DistributionRates({VT: distribution, NT: distribution}, bands=(ConsumptionBand(None, access),))
    return PriceList(
        product=product,
        commodity=ELECTRICITY,
        valid_from=period[0],
        valid_to=period[1],
        currency="EUR",
        country="BG",
        vat_rate=BG_VAT,
        energy_mwh={r: _d(v) for r, v in energy.items()},
        fixed_monthly=_d(0),
        distribution=dict.fromkeys(_BG_TARIFFS, rates),
        system_services_mwh=transmission,
        renewables_mwh=obligations,
        tax_mwh=BG_EXCISE,
    )


def demo_price_lists(tenant_slug: str) -> tuple[PriceList, ...]:
    """The price lists of a demo brand (`volta`, `esco`, `balkan`); none for another."""
    if tenant_slug == "balkan":
        return tuple(
            _bulgarian(product, period, energy)
            for product, per_period in _BG_PRODUCTS.items()
            for period, energy in zip(PERIODS, per_period, strict=True)
        )
    return tuple(
        _czech(product, commodity, period, energy, fixed)
        for product, (commodity, per_period) in _PRODUCTS.get(tenant_slug, {}).items()
        for period, (energy, fixed) in zip(PERIODS, per_period, strict=True)
    )
