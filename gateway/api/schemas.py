"""JSON shapes of API v1 (msgspec), and their conversion from service messages."""

from __future__ import annotations

import msgspec
from portal.accounts.v1 import accounts_pb2


class Address(msgspec.Struct):
    street: str
    house_number: str
    city: str
    postal_code: str
    country: str


class Money(msgspec.Struct):
    amount: str
    currency: str


class Contract(msgspec.Struct):
    id: str
    number: str
    contract_type: str
    supplier: str
    payment_method: str
    bank_account: str
    advance_amount: Money
    advance_cycle: str
    e_invoice: bool
    valid_from: str


class SupplyPoint(msgspec.Struct):
    id: str
    customer_number: str
    identifier: str
    commodity: str
    address: Address
    meter_number: str
    breaker_amps: int
    phases: int
    distribution_tariff: str
    product: str
    annual_consumption_kwh: int
    reading_schedule: str
    hdo_code: str
    contract: Contract | None = None


class SupplyPointPage(msgspec.Struct):
    items: list[SupplyPoint]
    total: int
    electricity_count: int
    gas_count: int
    next_page_token: str | None


class Customer(msgspec.Struct):
    customer_number: str
    name: str
    kind: str
    email: str
    phone: str
    permanent_address: Address
    mailing_address: Address
    supply_point_count: int
    contract_count: int


class Grant(msgspec.Struct):
    customer_number: str
    role: str
    capabilities: list[str]


class Me(msgspec.Struct):
    id: str
    email: str
    email_verified: bool
    locale: str
    customer_numbers: list[str]
    grants: list[Grant]


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str = ""
    reason: str = ""
    field: str = ""


def address(a: object) -> Address:
    return Address(
        street=a.street, house_number=a.house_number, city=a.city, postal_code=a.postal_code, country=a.country
    )


def contract(c: accounts_pb2.Contract) -> Contract:
    return Contract(
        id=c.id,
        number=c.number,
        contract_type=c.contract_type,
        supplier=c.supplier,
        payment_method=c.payment_method,
        bank_account=c.bank_account,
        advance_amount=Money(amount=c.advance_amount.amount, currency=c.advance_amount.currency),
        advance_cycle=c.advance_cycle,
        e_invoice=c.e_invoice,
        valid_from=c.valid_from.ToDatetime().date().isoformat(),
    )


def supply_point(p: accounts_pb2.SupplyPoint) -> SupplyPoint:
    return SupplyPoint(
        id=p.id,
        customer_number=p.customer_number,
        identifier=p.identifier,
        commodity=p.commodity,
        address=address(p.address),
        meter_number=p.meter_number,
        breaker_amps=p.breaker_amps,
        phases=p.phases,
        distribution_tariff=p.distribution_tariff,
        product=p.product,
        annual_consumption_kwh=p.annual_consumption_kwh,
        reading_schedule=p.reading_schedule,
        hdo_code=p.hdo_code,
        contract=contract(p.contract) if p.HasField("contract") else None,
    )


def customer(c: accounts_pb2.Customer) -> Customer:
    return Customer(
        customer_number=c.customer_number,
        name=c.name,
        kind=c.kind,
        email=c.email,
        phone=c.phone,
        permanent_address=address(c.permanent_address),
        mailing_address=address(c.mailing_address),
        supply_point_count=c.supply_point_count,
        contract_count=c.contract_count,
    )
