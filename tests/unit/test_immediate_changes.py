"""Pure rules of the immediate changes: payment details, advance bounds from expected consumption and the brand's
price estimate, and how each change is described to the requests history and the confirmation e-mail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from portal.events.v1 import accounts_pb2 as events

from kit import changes, demo
from kit.errors import DomainError
from services.accounts import domain
from services.notifications import domain as notices

PRICES = {"electricity": "4.50", "gas": "1.90"}


def reason_of(fn, *args) -> tuple[str, str]:
    with pytest.raises(DomainError) as exc:
        fn(*args)
    return exc.value.reason, exc.value.field


def test_payment_details_are_normalised_and_direct_debit_needs_an_account() -> None:
    assert domain.validate_payment("direct_debit", " 19-2000145399 / 0800 ") == ("direct_debit", "19-2000145399/0800")
    assert domain.validate_payment("sipo", "cz65 0800 0000 1920 0014 5399") == ("sipo", "CZ6508000000192000145399")
    assert domain.validate_payment("postal_order", "") == ("postal_order", "")
    assert reason_of(domain.validate_payment, "direct_debit", " ") == ("required", "bank_account")
    assert reason_of(domain.validate_payment, "cash", "") == ("payment_method.invalid", "payment_method")
    assert reason_of(domain.validate_payment, "bank_transfer", "19-2000145398/0800") == (
        "bank_account.checksum",
        "bank_account",
    )


def test_bounds_come_from_each_commodity_priced_and_spread_over_the_year() -> None:
    both = domain.advance_bounds({"electricity": 4200, "gas": 12_500}, PRICES, "monthly")
    # 4,200 × 4.50 + 12,500 × 1.90 = 42,650 a year
    assert (both.yearly_cost, both.proposal, both.minimum, both.maximum) == (
        Decimal("42650.00"),
        Decimal("3554"),
        Decimal("1777"),
        Decimal("7108"),
    )
    quarterly = domain.advance_bounds({"electricity": 4200}, PRICES, "quarterly")
    assert quarterly.proposal == Decimal("4725") and quarterly.annual_kwh == 4200
    assert reason_of(domain.advance_bounds, {"electricity": 4200}, {"gas": "1"}, "monthly")[0] == (
        "precondition.advance_unpriced"
    )
    assert reason_of(domain.advance_bounds, {}, PRICES, "monthly")[0] == "precondition.advance_unpriced"


def test_every_demo_contract_starts_within_its_bounds() -> None:
    for tenant in demo.tenants():
        for contract in demo.contracts(tenant.slug):
            consumption: dict[str, int] = {}
            for p in demo.supply_points(tenant.slug, contract.customer_number):
                if p.contract.id == contract.id:
                    consumption[p.commodity] = consumption.get(p.commodity, 0) + p.annual_consumption_kwh
            bounds = domain.advance_bounds(consumption, tenant.unit_prices, contract.advance_cycle)
            assert bounds.minimum <= contract.advance_amount <= bounds.maximum, contract.number


def test_an_advance_outside_the_bounds_is_refused_with_them() -> None:
    bounds = domain.advance_bounds({"electricity": 3600}, {"electricity": "0.15"}, "monthly")
    assert domain.validate_advance("52,5", bounds, "EUR") == Decimal("52.50")
    assert domain.validate_advance("90", bounds, "EUR") == Decimal("90.00")
    with pytest.raises(DomainError) as exc:
        domain.validate_advance("90.01", bounds, "EUR")
    assert exc.value.reason == "advance.out_of_bounds"
    assert exc.value.params == {"minimum": "22 EUR", "maximum": "90 EUR", "proposal": "45 EUR"}
    for text in ("", "0", "-30", "forty", "1" * 40):
        assert reason_of(domain.validate_advance, text, bounds, "EUR")[0] in (
            "advance.invalid",
            "advance.out_of_bounds",
        )


def test_each_change_is_described_once_for_the_history_and_the_e_mail() -> None:
    assert changes.describe(events.ContactChanged(email_after="a@b.cz", phone_after="")) == (
        "contact_change",
        {"email": "a@b.cz"},
    )
    assert changes.describe(events.AddressChanged(kind="mailing", after="Husova 1, 266 01 Beroun, CZ")) == (
        "address_change",
        {"mailing_address": "Husova 1, 266 01 Beroun, CZ"},
    )
    advance = events.ContractChanged(
        change="advance", contract_number="5100", after={"advance_amount": "1500.00", "currency": "CZK"}
    )
    assert changes.describe(advance) == ("advance_change", {"contract_number": "5100", "advance_amount": "1500.00 CZK"})
    e_invoice = events.ContractChanged(change="e_invoice", contract_number="5100", after={"e_invoice": "false"})
    request_type, values = changes.describe(e_invoice)  # type: ignore[misc]
    assert (request_type, values["e_invoice"]) == ("e_invoice_change", "off")
    assert changes.describe(events.ContractChanged(change="unknown")) is None
    mail = notices.render_change("cs", brand="Volta", request_type=request_type, values=values, customer_line="800")
    assert "Elektronické faktury: vypnuto" in mail.body and "Smlouva: 5100" in mail.body
    assert mail.subject == "Volta: změna – údaje o zasílání faktur"
