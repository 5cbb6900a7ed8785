"""The accounts service over real gRPC, PostgreSQL and NATS: brands by host, paging, tenancy, authorisation."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
import sqlalchemy as sa
from portal.accounts.v1 import accounts_pb2 as pb
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.common.v1 import common_pb2

from kit import context, demo, rpc
from kit import db as kitdb
from kit.errors import DomainError
from kit.service import start
from services.accounts.wiring import SPEC

from ..conftest import free_port, service_settings

VOLTA, ESCO, BALKAN = (demo.tenant(s) for s in ("volta", "esco", "balkan"))


@pytest.fixture(scope="module")
async def accounts(infra, tmp_path_factory):
    settings = service_settings(infra, tmp_path_factory.mktemp("accounts"))
    running = await start(SPEC, dataclasses.replace(settings, grpc_port=free_port()))
    channel = rpc.channel(running.address)
    yield AccountsServiceStub(channel), running
    await channel.close()
    await running.stop()


def as_customer(tenant: demo.Tenant, number: str) -> context.bound:
    return context.bound(
        context.CallContext(
            tenant_id=str(tenant.id),
            subject=f"owner-of-{number}",
            subject_kind=context.USER,
            customer_number=number,
            customer_numbers=frozenset({number}),
            capabilities=frozenset(["supply_points:read", "contracts:read", "contact:write"]),
        )
    )


async def test_each_brand_is_found_by_its_host_and_an_unknown_host_by_none(accounts):
    stub, _ = accounts
    for tenant in (VOLTA, ESCO, BALKAN):
        resp = await stub.GetTenantByHost(pb.GetTenantByHostRequest(host=f"{tenant.hosts[0].upper()}:8443"))
        assert resp.tenant.id == str(tenant.id)
        assert resp.tenant.contact_lines.customer_line == tenant.contact_lines.customer_line
    assert (await stub.GetTenantByHost(pb.GetTenantByHostRequest(host="balkan.localhost"))).tenant.currency == "EUR"
    with pytest.raises(DomainError) as err:
        await stub.GetTenantByHost(pb.GetTenantByHostRequest(host="evil.localhost"))
    assert err.value.status == grpc.StatusCode.NOT_FOUND


async def test_the_business_pages_through_its_supply_points_without_repeats(accounts):
    stub, _ = accounts
    number = demo.PEKARNY_A
    expected = sorted(p.identifier for p in demo.supply_points("volta", number))
    seen: list[str] = []
    token = ""
    with as_customer(VOLTA, number):
        while True:
            resp = await stub.ListSupplyPoints(
                pb.ListSupplyPointsRequest(
                    customer_numbers=[number], page=common_pb2.PageRequest(page_size=50, page_token=token)
                )
            )
            seen += [p.identifier for p in resp.supply_points]
            assert resp.page.total_size == len(expected)
            token = resp.page.next_page_token
            if not token:
                break
    assert seen == expected


async def test_search_by_city_and_commodity(accounts):
    stub, _ = accounts
    jana = demo.supply_points("volta", demo.JANA)
    gas = [p for p in jana if p.commodity == "gas"]
    with as_customer(VOLTA, demo.JANA):
        resp = await stub.ListSupplyPoints(
            pb.ListSupplyPointsRequest(customer_numbers=[demo.JANA], commodity="gas", query=gas[0].address.city)
        )
    assert [p.identifier for p in resp.supply_points] == [gas[0].identifier]
    assert resp.gas_count == 1 and resp.electricity_count == 0


async def test_the_basic_view_leaves_out_contracts_and_pages_alike(accounts):
    stub, _ = accounts
    number = demo.PEKARNY_A
    pages = {}
    with as_customer(VOLTA, number):
        for view in (pb.SUPPLY_POINT_VIEW_FULL, pb.SUPPLY_POINT_VIEW_BASIC):
            pages[view] = await stub.ListSupplyPoints(
                pb.ListSupplyPointsRequest(
                    customer_numbers=[number], page=common_pb2.PageRequest(page_size=10), view=view
                )
            )
    full, basic = pages[pb.SUPPLY_POINT_VIEW_FULL], pages[pb.SUPPLY_POINT_VIEW_BASIC]
    assert all(p.HasField("contract") for p in full.supply_points)
    assert not any(p.HasField("contract") for p in basic.supply_points)
    assert [p.identifier for p in basic.supply_points] == [p.identifier for p in full.supply_points]
    assert [p.address for p in basic.supply_points] == [p.address for p in full.supply_points]
    assert (basic.page.total_size, basic.electricity_count, basic.gas_count) == (
        full.page.total_size,
        full.electricity_count,
        full.gas_count,
    )
    assert basic.page.next_page_token == full.page.next_page_token != ""


async def test_a_delegates_subset_is_enforced_by_the_service_itself(accounts):
    stub, _ = accounts
    points = demo.supply_points("volta", demo.PEKARNY_A)
    granted, other = points[:3], points[3]
    delegate = context.CallContext(
        tenant_id=str(VOLTA.id),
        subject="delegate",
        subject_kind=context.USER,
        customer_number=demo.PEKARNY_A,
        customer_numbers=frozenset({demo.PEKARNY_A}),
        capabilities=frozenset(["supply_points:read", "contracts:read"]),
        supply_point_ids=frozenset(str(p.id) for p in granted),
    )
    with context.bound(delegate):
        listed = await stub.ListSupplyPoints(pb.ListSupplyPointsRequest(customer_numbers=[demo.PEKARNY_A]))
        assert sorted(p.id for p in listed.supply_points) == sorted(str(p.id) for p in granted)
        assert listed.page.total_size == len(granted)
        # asking for ids outside the subset does not widen it
        asked = await stub.ListSupplyPoints(
            pb.ListSupplyPointsRequest(customer_numbers=[demo.PEKARNY_A], supply_point_ids=[str(other.id)])
        )
        assert list(asked.supply_points) == [] and asked.page.total_size == 0
        shown = await stub.GetSupplyPoint(pb.GetSupplyPointRequest(supply_point_id=str(granted[0].id)))
        assert shown.supply_point.identifier == granted[0].identifier
        with pytest.raises(DomainError) as err:
            await stub.GetSupplyPoint(pb.GetSupplyPointRequest(supply_point_id=str(other.id)))
        assert err.value.reason == "not_found"
        assert (
            await stub.GetContract(pb.GetContractRequest(contract_id=shown.supply_point.contract.id))
        ).contract.number == shown.supply_point.contract.number
        # the contract of a supply point outside the subset is as unknown as the point
        with pytest.raises(DomainError) as err:
            await stub.GetContract(pb.GetContractRequest(contract_id=str(other.contract.id)))
        assert err.value.reason == "not_found"


async def test_another_customers_or_brands_supply_point_is_not_found(accounts, monkeypatch):
    stub, _ = accounts
    foreign = demo.supply_points("esco")[0]
    neighbour = demo.supply_points("volta", demo.PEKARNY_A)[0]
    for guard_on in (True, False):
        monkeypatch.setattr(kitdb, "APPLICATION_TENANT_FILTER", guard_on)
        with as_customer(VOLTA, demo.JANA):
            for point in (foreign, neighbour):
                with pytest.raises(DomainError) as err:
                    await stub.GetSupplyPoint(pb.GetSupplyPointRequest(supply_point_id=str(point.id)))
                assert err.value.reason == "not_found"
            with pytest.raises(DomainError):
                await stub.ListSupplyPoints(pb.ListSupplyPointsRequest(customer_numbers=[demo.PEKARNY_A]))


async def test_supply_only_contracts_follow_their_own_permission_row(accounts):
    stub, _ = accounts
    with as_customer(ESCO, demo.TOVARNA):
        matrix = {
            r.contract_type: set(r.capabilities)
            for r in (await stub.GetPermissionMatrix(pb.GetPermissionMatrixRequest())).rows
        }
    assert "breaker_change:request" in matrix["bundled"]
    assert "breaker_change:request" not in matrix["supply_only"]


async def test_a_bad_contact_change_is_refused_and_changes_nothing(accounts):
    stub, running = accounts
    with as_customer(VOLTA, demo.JANA):
        before = (await stub.GetCustomer(pb.GetCustomerRequest(customer_number=demo.JANA))).customer
        with pytest.raises(DomainError) as err:
            await stub.ChangeContact(pb.ChangeContactRequest(customer_number=demo.JANA, email="not-an-email", phone=""))
        assert err.value.field == "email"
        after = (await stub.GetCustomer(pb.GetCustomerRequest(customer_number=demo.JANA))).customer
    assert after == before


async def test_a_contact_change_is_audited_and_announced(accounts):
    stub, running = accounts
    with as_customer(VOLTA, demo.SVOBODA):
        resp = await stub.ChangeContact(
            pb.ChangeContactRequest(customer_number=demo.SVOBODA, email="New.Mail@Example.CZ", phone="+420 601 222 333")
        )
    assert resp.customer.phone == "+420601222333"
    async with running.runtime.db.tenant(VOLTA.id) as conn:
        audit_rows = (
            await conn.execute(
                # staff opening the customer (in the end-to-end tests sharing the database) is in the log too
                sa.text("SELECT action, after FROM audit_log WHERE entity_id = :n AND action <> 'viewed'"),
                {"n": demo.SVOBODA},
            )
        ).all()
        events = await conn.scalar(sa.text("SELECT count(*) FROM outbox WHERE event_type LIKE '%ContactChanged'"))
    assert [r.action for r in audit_rows] == ["contact.changed"]
    assert audit_rows[0].after["phone"] == "+420601222333"
    assert events >= 1


async def test_calls_are_counted_by_method_and_status_for_prometheus(accounts):
    from prometheus_client import REGISTRY

    stub, _ = accounts
    labels = {"method": "/portal.accounts.v1.AccountsService/GetTenantByHost", "code": "NOT_FOUND"}
    before = REGISTRY.get_sample_value("portal_rpc_server_seconds_count", labels) or 0
    with pytest.raises(DomainError):
        await stub.GetTenantByHost(pb.GetTenantByHostRequest(host="nobody.localhost"))
    assert REGISTRY.get_sample_value("portal_rpc_server_seconds_count", labels) == before + 1
