"""The accounts service's staff calls over real gRPC and PostgreSQL: customer search by every kind of field, paged and
kept to the brand, audited; the audit trail for tenant administrators with its filters and pages."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from portal.accounts.v1 import accounts_pb2 as pb
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.common.v1 import common_pb2

from kit import authz, demo, fields, rpc
from kit import db as kitdb
from kit.errors import DomainError
from kit.service import start
from services.accounts.wiring import SPEC

from ..conftest import free_port, own_database, service_settings
from .callers import as_staff, as_user

VOLTA, ESCO, BALKAN = (demo.tenant(s) for s in ("volta", "esco", "balkan"))
ADMIN = authz.TENANT_ADMIN


@pytest.fixture(scope="module")
def infra(infra):
    """A database of its own: other modules change the demo customers' contact data this module searches by."""
    return own_database(infra)


@pytest.fixture(scope="module")
async def stub(infra, tmp_path_factory):
    settings = service_settings(infra, tmp_path_factory.mktemp("accounts-staff"))
    running = await start(SPEC, dataclasses.replace(settings, grpc_port=free_port()))
    channel = rpc.channel(running.address)
    yield AccountsServiceStub(channel)
    await channel.close()
    await running.stop()


async def found(stub: AccountsServiceStub, tenant: demo.Tenant, query: str) -> list[str]:
    with as_staff(tenant):
        resp = await stub.SearchCustomers(pb.SearchCustomersRequest(query=query))
    return [c.customer_number for c in resp.customers]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # name: case and accents do not matter, words in any order
        ("novakova", {demo.JANA}),
        ("NOVÁKOVÁ jana", {demo.JANA}),
        # customer number by its start
        ("100345", {demo.SVOBODA}),
        # an EAN typed in groups, and an EIC by its start in lower case
        ("8591 8240 0102 99", {demo.SVOBODA}),
        ("27zg600z110", {demo.JANA}),
        # e-mail, part of it
        ("petr.svoboda@mail", {demo.SVOBODA}),
        # phone: with the country code, without it, with the international 00, grouped
        ("+420 777 123 456", {demo.SVOBODA}),
        ("777123456", {demo.SVOBODA}),
        ("00420777123456", {demo.SVOBODA}),
        # address of the customer: street and house number, postal code with or without its space, city
        ("havlickova 412", {demo.SVOBODA}),
        ("28002 havlíčkova", {demo.SVOBODA}),
        ("280 02 kolín", {demo.SVOBODA, demo.PEKARNY_A, demo.PEKARNY_B}),
    ],
)
async def test_each_kind_of_field_finds_the_customer(stub, query, expected):
    assert set(await found(stub, VOLTA, query)) == expected


async def test_a_supply_point_address_finds_its_customer_and_cyrillic_folds_too(stub):
    bakery_point = demo.supply_points("volta", demo.PEKARNY_B)[0]
    numbers = await found(stub, VOLTA, f"{bakery_point.address.street} {bakery_point.address.house_number}")
    assert demo.PEKARNY_B in numbers and demo.JANA not in numbers
    assert await found(stub, BALKAN, "мария георгиева") == [demo.MARIA]
    assert await found(stub, BALKAN, "пловдив") == [demo.MARIA]


@pytest.mark.parametrize("app_filter", [True, False], ids=["app-filter-and-rls", "rls-only"])
async def test_another_brands_customers_are_never_found(stub, monkeypatch, app_filter):
    # the search reads past row-level security for its indexes' sake (see store.py): it names the tenant itself
    monkeypatch.setattr(kitdb, "APPLICATION_TENANT_FILTER", app_filter)
    # Jana's name, phone and customer number searched for on the other brands
    for tenant in (ESCO, BALKAN):
        for query in ("Nováková", "601234567", demo.JANA, "jana@volta"):
            assert await found(stub, tenant, query) == []
    assert await found(stub, VOLTA, "Иван") == []


async def test_results_page_in_customer_number_order_without_repeats(stub):
    # every volta customer has a Czech phone number
    seen: list[str] = []
    token = ""
    with as_staff(VOLTA):
        while True:
            resp = await stub.SearchCustomers(
                pb.SearchCustomersRequest(query="+420", page=common_pb2.PageRequest(page_size=1, page_token=token))
            )
            assert len(resp.customers) <= 1
            seen += [c.customer_number for c in resp.customers]
            token = resp.page.next_page_token
            if not token:
                break
        # more than the cap is served as the cap
        capped = await stub.SearchCustomers(
            pb.SearchCustomersRequest(query="+420", page=common_pb2.PageRequest(page_size=500))
        )
    assert seen == sorted(c.customer_number for c in demo.customers("volta"))
    assert [c.customer_number for c in capped.customers] == seen
    bakery = next(c for c in capped.customers if c.customer_number == demo.PEKARNY_A)
    assert bakery.supply_point_count == len(demo.supply_points("volta", demo.PEKARNY_A))


@pytest.mark.parametrize(
    ("query", "page_token", "reason"),
    [
        ("x", "", "customer_search.too_short"),
        ("  ", "", "customer_search.too_short"),
        ("jana", "forged", "page_token.invalid"),
    ],
)
async def test_bad_searches_are_refused_with_a_reason(stub, query, page_token, reason):
    with as_staff(VOLTA), pytest.raises(DomainError) as refused:
        await stub.SearchCustomers(
            pb.SearchCustomersRequest(query=query, page=common_pb2.PageRequest(page_token=page_token))
        )
    assert refused.value.reason == reason


async def test_customers_cannot_search_or_read_the_audit_trail(stub):
    for caller in (as_user(VOLTA, demo.JANA), as_staff(VOLTA, role="auditor")):
        with caller, pytest.raises(DomainError) as refused:
            await stub.SearchCustomers(pb.SearchCustomersRequest(query="svoboda"))
        assert refused.value.reason == "forbidden"
    # the trail shows other staff members' work: customer service does not read it
    for caller in (as_user(VOLTA, demo.JANA), as_staff(VOLTA)):
        with caller, pytest.raises(DomainError) as refused:
            await stub.ListAudit(pb.ListAuditRequest())
        assert refused.value.reason == "forbidden"


async def test_searches_and_changes_are_in_the_trail_filtered_and_paged(stub):
    started = datetime.now(UTC) - timedelta(seconds=1)
    with as_staff(VOLTA, subject="agent-audit"):
        await stub.SearchCustomers(pb.SearchCustomersRequest(query="Svoboda"))
    with as_user(VOLTA, demo.SVOBODA):
        await stub.ChangeContact(
            pb.ChangeContactRequest(customer_number=demo.SVOBODA, email="petr@mail.example", phone="+420777123456")
        )
    with as_staff(VOLTA, role=ADMIN):
        mine = await stub.ListAudit(pb.ListAuditRequest(filter=common_pb2.AuditFilter(actor="agent-audit")))
        changes = await stub.ListAudit(
            pb.ListAuditRequest(
                filter=common_pb2.AuditFilter(
                    entity="customer", entity_id=demo.SVOBODA, since=fields.timestamp(started)
                )
            )
        )
        before = await stub.ListAudit(
            pb.ListAuditRequest(filter=common_pb2.AuditFilter(actor="agent-audit", until=fields.timestamp(started)))
        )
        pages: list[str] = []
        token = ""
        while True:
            page = await stub.ListAudit(pb.ListAuditRequest(page=common_pb2.PageRequest(page_size=1, page_token=token)))
            pages += [e.id for e in page.entries]
            token = page.page.next_page_token
            if not token:
                break
    [search] = mine.entries
    assert (search.actor_kind, search.channel, search.entity, search.action) == (
        "staff",
        "staff",
        "customer_search",
        "searched",
    )
    assert json.loads(search.after_json)["query"] == "Svoboda"
    [change] = changes.entries
    assert change.actor == f"user-of-{demo.SVOBODA}" and change.action == "contact.changed"
    assert json.loads(change.before_json)["email"] == "petr.svoboda@mail.example"
    assert json.loads(change.after_json)["email"] == "petr@mail.example"
    assert before.entries == []
    # newest first, each once
    assert pages[:2] == [change.id, search.id]
    assert len(pages) == len(set(pages)) and pages == sorted(pages, key=int, reverse=True)
    # the trail is the brand's own
    with as_staff(ESCO, role=ADMIN):
        await stub.SearchCustomers(pb.SearchCustomersRequest(query="Svoboda"))
        esco = await stub.ListAudit(pb.ListAuditRequest(page=common_pb2.PageRequest(page_size=100)))
    assert esco.entries and not {e.id for e in esco.entries} & set(pages)


async def test_a_bad_audit_filter_is_refused(stub):
    now = datetime.now(UTC)
    with as_staff(VOLTA, role=ADMIN):
        with pytest.raises(DomainError) as refused:
            await stub.ListAudit(
                pb.ListAuditRequest(
                    filter=common_pb2.AuditFilter(since=fields.timestamp(now), until=fields.timestamp(now))
                )
            )
        assert refused.value.reason == "audit.period_invalid"
        with pytest.raises(DomainError) as refused:
            await stub.ListAudit(pb.ListAuditRequest(page=common_pb2.PageRequest(page_token="x1")))
        assert refused.value.reason == "page_token.invalid"
