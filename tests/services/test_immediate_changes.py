"""Immediate online changes over the whole running portal (real PostgreSQL, NATS and SMTP): each applied by accounts,
audited with before and after, announced through the outbox, recorded by the requests service as a resolved request
of the immediate kind and confirmed to the customer by e-mail; bad input and what the grant or the permission matrix
forbids are refused with nothing changed, even when accounts is called directly; a failure inside the change's
transaction leaves nothing half-applied.

The customer is balkan's Ivan (e-mails in Bulgarian, the brand's language); every test puts back what it changed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from portal.accounts.v1 import accounts_pb2 as pb
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.common.v1 import common_pb2
from portal.requests.v1 import requests_pb2
from portal.requests.v1.requests_pb2_grpc import RequestsServiceStub

from kit import authz, demo, rpc
from kit.db import role_of
from kit.errors import DomainError

from .callers import as_staff, as_user

BALKAN, ESCO = demo.tenant("balkan"), demo.tenant("esco")
IVAN = demo.customer("balkan", demo.IVAN)
IVAN_POINT = demo.supply_points("balkan", demo.IVAN)[0]
IVAN_CONTRACT = IVAN_POINT.contract
TOVARNA_SUPPLY_ONLY = next(c for c in demo.contracts("esco", demo.TOVARNA) if c.contract_type == demo.SUPPLY_ONLY)


class Clients:
    def __init__(self, accounts: AccountsServiceStub, requests: RequestsServiceStub) -> None:
        self.accounts = accounts
        self.requests = requests


@pytest.fixture(scope="module")
async def clients(stack) -> AsyncIterator[Clients]:
    channels = [rpc.channel(stack.address(name)) for name in ("accounts", "requests")]
    yield Clients(AccountsServiceStub(channels[0]), RequestsServiceStub(channels[1]))
    for channel in channels:
        await channel.close()


@pytest.fixture
async def ivan_restored(clients) -> AsyncIterator[None]:
    """Ivan's contact data, addresses and contract as the demo has them, after the test."""
    yield
    with as_staff(BALKAN):
        await clients.accounts.ChangeContact(
            pb.ChangeContactRequest(customer_number=demo.IVAN, email=IVAN.email, phone=IVAN.phone)
        )
        await clients.accounts.ChangeAddress(
            pb.ChangeAddressRequest(
                customer_number=demo.IVAN,
                kind=pb.ADDRESS_KIND_MAILING,
                address=common_pb2.Address(**IVAN.mailing_address.as_dict()),
            )
        )
        contract = str(IVAN_CONTRACT.id)
        await clients.accounts.ChangeContractPayment(
            pb.ChangeContractPaymentRequest(
                contract_id=contract,
                payment_method=IVAN_CONTRACT.payment_method,
                bank_account=IVAN_CONTRACT.bank_account,
            )
        )
        await clients.accounts.ChangeAdvance(
            pb.ChangeAdvanceRequest(contract_id=contract, amount=str(IVAN_CONTRACT.advance_amount))
        )
        await clients.accounts.SetEInvoice(pb.SetEInvoiceRequest(contract_id=contract, enabled=IVAN_CONTRACT.e_invoice))


async def rows(infra, sql: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(infra.admin_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def last_audit(infra, entity_id: str, action: str) -> asyncpg.Record:
    found = await rows(
        infra,
        "SELECT actor, actor_kind, before, after FROM accounts.audit_log WHERE entity_id = $1 AND action = $2 "
        "ORDER BY id DESC LIMIT 1",
        entity_id,
        action,
    )
    assert found, f"no audit record {action} of {entity_id}"
    return found[0]


async def events_of(infra, event_type: str) -> int:
    found = await rows(infra, "SELECT count(*) AS n FROM accounts.outbox WHERE event_type LIKE '%.' || $1", event_type)
    return found[0]["n"]


async def mail_with(mailbox, to: str, text: str, timeout: float = 15.0) -> str:
    """The body of the first e-mail to `to` that mentions `text`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for msg in mailbox.to(to):
            body = msg.get_content()
            if text in body:
                return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no e-mail to {to} mentioning {text!r} within {timeout}s")
        await asyncio.sleep(0.1)


async def immediate_request(clients, request_type: str, value: str, timeout: float = 15.0) -> requests_pb2.Request:
    """The immediate request the requests service records from accounts' event, once it has."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with as_user(BALKAN, demo.IVAN):
            listed = await clients.requests.List(requests_pb2.ListRequest(page=common_pb2.PageRequest(page_size=100)))
        for r in listed.requests:
            if r.type == request_type and value in [v.value for v in r.values]:
                with as_user(BALKAN, demo.IVAN):
                    return (await clients.requests.Get(requests_pb2.GetRequest(request_id=r.id))).request
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {request_type} request with {value!r} within {timeout}s")
        await asyncio.sleep(0.2)


async def test_a_new_bank_account_is_applied_audited_announced_recorded_and_confirmed(
    infra, clients, mailbox, ivan_restored
):
    before = await events_of(infra, "ContractChanged")
    with as_user(BALKAN, demo.IVAN):
        changed = await clients.accounts.ChangeContractPayment(
            pb.ChangeContractPaymentRequest(
                contract_id=str(IVAN_CONTRACT.id),
                payment_method="bank_transfer",
                bank_account="cz65 0800 0000 1920 0014 5399",
            )
        )
    assert (changed.contract.payment_method, changed.contract.bank_account) == (
        "bank_transfer",
        "CZ6508000000192000145399",
    )
    with as_user(BALKAN, demo.IVAN):
        point = await clients.accounts.GetSupplyPoint(pb.GetSupplyPointRequest(supply_point_id=str(IVAN_POINT.id)))
    # visible wherever the contract is read
    assert point.supply_point.contract.bank_account == "CZ6508000000192000145399"
    audit = await last_audit(infra, str(IVAN_CONTRACT.id), "payment.changed")
    assert audit["actor"] == f"user-of-{demo.IVAN}" and audit["actor_kind"] == "user"
    assert '"direct_debit"' in audit["before"] and '"CZ6508000000192000145399"' in audit["after"]
    assert await events_of(infra, "ContractChanged") == before + 1

    recorded = await immediate_request(clients, "payment_change", "CZ6508000000192000145399")
    assert recorded.state == "resolved" and recorded.channel == "portal"
    assert recorded.supply_point_id == str(IVAN_POINT.id) and recorded.contract_id == str(IVAN_CONTRACT.id)
    assert [(e.action, e.to_state, e.actor_kind) for e in recorded.timeline] == [("applied", "resolved", "user")]

    body = await mail_with(mailbox, IVAN.email, "CZ6508000000192000145399")
    assert "данни за плащане" in body and "банков превод" in body and IVAN_CONTRACT.number in body


async def test_a_wrong_account_is_refused_with_its_reason_and_nothing_changes(infra, clients):
    before = await events_of(infra, "ContractChanged")
    for account, reason in (
        ("19-2000145398/0800", "bank_account.checksum"),
        ("19-2000145399/0801", "bank_account.bank_code"),
        ("2000145399", "bank_account.format"),
        ("CZ6508000000192000145398", "iban.invalid"),
    ):
        with as_user(BALKAN, demo.IVAN), pytest.raises(DomainError) as refused:
            await clients.accounts.ChangeContractPayment(
                pb.ChangeContractPaymentRequest(
                    contract_id=str(IVAN_CONTRACT.id), payment_method="direct_debit", bank_account=account
                )
            )
        assert (refused.value.reason, refused.value.field) == (reason, "bank_account")
    with as_user(BALKAN, demo.IVAN), pytest.raises(DomainError) as refused:
        await clients.accounts.ChangeContractPayment(
            pb.ChangeContractPaymentRequest(contract_id=str(IVAN_CONTRACT.id), payment_method="direct_debit")
        )
    assert (refused.value.reason, refused.value.field) == ("required", "bank_account")
    with as_user(BALKAN, demo.IVAN):
        contract = (
            await clients.accounts.GetContract(pb.GetContractRequest(contract_id=str(IVAN_CONTRACT.id)))
        ).contract
    assert contract.bank_account == IVAN_CONTRACT.bank_account
    assert await events_of(infra, "ContractChanged") == before


async def test_the_advance_moves_within_bounds_from_expected_consumption_and_the_price_estimate(
    infra, clients, mailbox, ivan_restored
):
    with as_user(BALKAN, demo.IVAN):
        bounds = await clients.accounts.GetAdvanceBounds(pb.GetAdvanceBoundsRequest(contract_id=str(IVAN_CONTRACT.id)))
    # 3,600 kWh a year at the brand's estimate of 0.15 EUR/kWh, in twelve monthly advances
    assert bounds.expected_yearly_cost.amount == "540.00" and bounds.proposal.amount == "45.00"
    assert (bounds.minimum.amount, bounds.maximum.amount, bounds.minimum.currency) == ("22.00", "90.00", "EUR")
    for amount in ("21", "90.01", "-5", "много"):
        with as_user(BALKAN, demo.IVAN), pytest.raises(DomainError) as refused:
            await clients.accounts.ChangeAdvance(
                pb.ChangeAdvanceRequest(contract_id=str(IVAN_CONTRACT.id), amount=amount)
            )
        assert refused.value.reason in ("advance.out_of_bounds", "advance.invalid") and refused.value.field == "amount"
    assert refused.value.reason == "advance.invalid"
    with as_user(BALKAN, demo.IVAN):
        changed = await clients.accounts.ChangeAdvance(
            pb.ChangeAdvanceRequest(contract_id=str(IVAN_CONTRACT.id), amount="52,50")
        )
    assert changed.contract.advance_amount.amount == "52.50"
    audit = await last_audit(infra, str(IVAN_CONTRACT.id), "advance.changed")
    assert '"45.00"' in audit["before"] and '"52.50"' in audit["after"]
    recorded = await immediate_request(clients, "advance_change", "52.50 EUR")
    assert recorded.state == "resolved"
    assert "Аванс: 52.50 EUR" in await mail_with(mailbox, IVAN.email, "52.50 EUR")


async def test_contact_address_and_e_invoice_changes_are_recorded_and_confirmed(infra, clients, mailbox, ivan_restored):
    marker = uuid.uuid4().hex[:8]
    new_email = f"ivan.{marker}@mail.example"
    with as_user(BALKAN, demo.IVAN):
        await clients.accounts.ChangeContact(
            pb.ChangeContactRequest(customer_number=demo.IVAN, email=new_email, phone="+359 887 000 111")
        )
        customer = (
            await clients.accounts.ChangeAddress(
                pb.ChangeAddressRequest(
                    customer_number=demo.IVAN,
                    kind=pb.ADDRESS_KIND_MAILING,
                    address=common_pb2.Address(
                        street="ул. „Шипка“", house_number=marker, city="София", postal_code="1504", country="bg"
                    ),
                )
            )
        ).customer
        contract = (
            await clients.accounts.SetEInvoice(pb.SetEInvoiceRequest(contract_id=str(IVAN_CONTRACT.id), enabled=False))
        ).contract
    assert customer.mailing_address.house_number == marker and customer.mailing_address.country == "BG"
    assert customer.permanent_address.house_number == IVAN.permanent_address.house_number
    assert contract.e_invoice is False
    audit = await last_audit(infra, demo.IVAN, "mailing_address.changed")
    assert marker in audit["after"]

    assert (await immediate_request(clients, "contact_change", new_email)).state == "resolved"
    assert (await immediate_request(clients, "address_change", f"ул. „Шипка“ {marker}, 1504 София, BG")).state == (
        "resolved"
    )
    assert (await immediate_request(clients, "e_invoice_change", "off")).state == "resolved"
    # the new address is told, and so is the one replaced
    await mail_with(mailbox, new_email, f"Имейл: {new_email}")
    await mail_with(mailbox, IVAN.email, f"Имейл: {new_email}")
    assert "Електронни фактури: изключени" in await mail_with(mailbox, new_email, IVAN_CONTRACT.number)
    assert "Адрес за кореспонденция" in await mail_with(mailbox, new_email, f"„Шипка“ {marker}")


async def test_what_the_grant_or_the_matrix_forbids_is_refused_when_called_directly(clients):
    read_only = frozenset({authz.SUPPLY_POINTS_READ, authz.CONTRACTS_READ})
    contract = str(IVAN_CONTRACT.id)
    with as_user(BALKAN, demo.IVAN, read_only):
        for call in (
            clients.accounts.ChangeAdvance(pb.ChangeAdvanceRequest(contract_id=contract, amount="50")),
            clients.accounts.SetEInvoice(pb.SetEInvoiceRequest(contract_id=contract, enabled=False)),
            clients.accounts.ChangeContractPayment(
                pb.ChangeContractPaymentRequest(
                    contract_id=contract, payment_method="bank_transfer", bank_account=IVAN_CONTRACT.bank_account
                )
            ),
            clients.accounts.ChangeAddress(
                pb.ChangeAddressRequest(
                    customer_number=demo.IVAN,
                    kind=pb.ADDRESS_KIND_PERMANENT,
                    address=common_pb2.Address(
                        street="a", house_number="1", city="b", postal_code="1000", country="BG"
                    ),
                )
            ),
        ):
            with pytest.raises(DomainError) as refused:
                await call
            assert refused.value.reason == "forbidden"
    # a grant that may change the payment method but not the account changes neither
    with as_user(BALKAN, demo.IVAN, read_only | {authz.PAYMENT_METHOD_WRITE}), pytest.raises(DomainError) as refused:
        await clients.accounts.ChangeContractPayment(
            pb.ChangeContractPaymentRequest(
                contract_id=contract, payment_method="bank_transfer", bank_account="19-2000145399/0800"
            )
        )
    assert refused.value.reason == "forbidden"
    # a delegate limited to other supply points does not find the contract at all
    with (
        as_user(BALKAN, demo.IVAN, supply_point_ids=frozenset({str(uuid.uuid4())})),
        pytest.raises(DomainError) as hidden,
    ):
        await clients.accounts.SetEInvoice(pb.SetEInvoiceRequest(contract_id=contract, enabled=False))
    assert hidden.value.reason == "not_found"
    # esco's supply-only contracts do not allow online advance changes, even to the owner
    with as_user(ESCO, demo.TOVARNA), pytest.raises(DomainError) as refused:
        await clients.accounts.ChangeAdvance(
            pb.ChangeAdvanceRequest(
                contract_id=str(TOVARNA_SUPPLY_ONLY.id), amount=str(TOVARNA_SUPPLY_ONLY.advance_amount)
            )
        )
    assert refused.value.reason == "forbidden"
    with as_user(BALKAN, demo.IVAN):
        got = (await clients.accounts.GetContract(pb.GetContractRequest(contract_id=contract))).contract
    assert (got.advance_amount.amount, got.e_invoice) == (
        f"{IVAN_CONTRACT.advance_amount:.2f}",
        IVAN_CONTRACT.e_invoice,
    )


async def test_a_failure_inside_the_change_leaves_nothing_half_applied(infra, clients):
    """The audit record cannot be written (its table refused to the service's role): the change, its audit and its
    event go together or not at all, and the caller is told."""
    before = await events_of(infra, "ContractChanged")
    await rows(infra, f'REVOKE INSERT ON accounts.audit_log FROM "{role_of("accounts")}"')
    try:
        with as_user(BALKAN, demo.IVAN), pytest.raises(DomainError) as failed:
            await clients.accounts.SetEInvoice(pb.SetEInvoiceRequest(contract_id=str(IVAN_CONTRACT.id), enabled=False))
    finally:
        await rows(infra, f'GRANT INSERT ON accounts.audit_log TO "{role_of("accounts")}"')
    assert failed.value.reason == "internal"
    with as_user(BALKAN, demo.IVAN):
        got = (await clients.accounts.GetContract(pb.GetContractRequest(contract_id=str(IVAN_CONTRACT.id)))).contract
    assert got.e_invoice is IVAN_CONTRACT.e_invoice
    assert await events_of(infra, "ContractChanged") == before


async def test_immediate_types_are_recorded_not_filed(clients):
    with as_user(BALKAN, demo.IVAN):
        catalog = await clients.requests.ListCatalog(requests_pb2.ListCatalogRequest())
        assert "advance_change" not in {e.code for e in catalog.entries}
        with pytest.raises(DomainError) as refused:
            await clients.requests.Submit(
                requests_pb2.SubmitRequest(supply_point_id=str(IVAN_POINT.id), type="advance_change")
            )
    assert refused.value.reason == "request.type_immediate"
