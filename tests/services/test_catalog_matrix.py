"""Tenant administrators edit the request catalog (requests) and the permission matrix (accounts), over real gRPC,
PostgreSQL and NATS: only they may, every change is audited with before and after and announced, bad input is
refused whole with nothing changed, and what the catalog no longer offers is refused when called directly. Staff
comments the customer may read are announced for the e-mail; internal notes are not. Files go with the information
the customer adds, within the limits of a submission."""

from __future__ import annotations

import dataclasses

import asyncpg
import pytest
from portal.accounts.v1 import accounts_pb2
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.requests.v1 import requests_pb2 as pb
from portal.requests.v1.requests_pb2_grpc import RequestsServiceStub

from kit import authz, demo, rpc
from kit.errors import DomainError
from kit.service import start
from services.accounts.wiring import SPEC as ACCOUNTS
from services.requests.wiring import SPEC as REQUESTS

from ..conftest import free_port, own_database, service_settings
from .callers import as_staff, as_user

VOLTA, ESCO = demo.tenant("volta"), demo.tenant("esco")
TOVARNA_POINTS = demo.supply_points("esco", demo.TOVARNA)
TOVARNA_BUNDLED = next(p for p in TOVARNA_POINTS if p.contract.contract_type == demo.BUNDLED)
TOVARNA_SUPPLY_ONLY = next(p for p in TOVARNA_POINTS if p.contract.contract_type == demo.SUPPLY_ONLY)
PRODUCT = [pb.FieldValue(name="product", value="Volta Zelená")]


@pytest.fixture(scope="module")
def infra(infra):
    """A database of its own: the catalog and the matrix changed here are the demo's elsewhere."""
    return own_database(infra)


@pytest.fixture(scope="module")
async def stubs(infra, tmp_path_factory):
    settings = service_settings(infra, tmp_path_factory.mktemp("catalog"))
    accounts = await start(ACCOUNTS, dataclasses.replace(settings, grpc_port=free_port()))
    requests = await start(
        REQUESTS, dataclasses.replace(settings, grpc_port=free_port(), service_addrs={"accounts": accounts.address})
    )
    accounts_channel, requests_channel = rpc.channel(accounts.address), rpc.channel(requests.address)
    yield AccountsServiceStub(accounts_channel), RequestsServiceStub(requests_channel)
    await requests_channel.close()
    await accounts_channel.close()
    await requests.stop()
    await accounts.stop()


async def fetch(infra, sql: str, *args):
    conn = await asyncpg.connect(infra.admin_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def admin(tenant: demo.Tenant):
    return as_staff(tenant, role=authz.TENANT_ADMIN, subject="admin-1")


def row(contract_type: str, capabilities) -> accounts_pb2.PermissionRow:
    return accounts_pb2.PermissionRow(contract_type=contract_type, capabilities=sorted(capabilities))


async def matrix(accounts: AccountsServiceStub, tenant: demo.Tenant) -> dict[str, frozenset[str]]:
    with admin(tenant):
        rows = (await accounts.GetPermissionMatrix(accounts_pb2.GetPermissionMatrixRequest())).rows
    return {r.contract_type: frozenset(r.capabilities) for r in rows}


async def test_an_administrator_changes_the_matrix_audited_and_announced(stubs, infra):
    accounts, _ = stubs
    before = await matrix(accounts, ESCO)
    wanted = before[demo.SUPPLY_ONLY] - {authz.E_INVOICE_WRITE} - authz.CUSTOMER_LEVEL
    for caller in (as_staff(ESCO), as_user(ESCO, demo.TOVARNA)):
        with caller, pytest.raises(DomainError) as refused:
            await accounts.SetPermissionMatrix(
                accounts_pb2.SetPermissionMatrixRequest(rows=[row(demo.SUPPLY_ONLY, wanted)])
            )
        assert refused.value.reason == "forbidden"
    with admin(ESCO):
        done = await accounts.SetPermissionMatrix(
            accounts_pb2.SetPermissionMatrixRequest(rows=[row(demo.SUPPLY_ONLY, wanted)])
        )
        again = await accounts.SetPermissionMatrix(
            accounts_pb2.SetPermissionMatrixRequest(rows=[row(demo.SUPPLY_ONLY, wanted)])
        )
    after = {r.contract_type: frozenset(r.capabilities) for r in done.rows}
    # customer-level capabilities are the grant's to decide, so the row keeps them
    assert after[demo.SUPPLY_ONLY] == wanted | (before[demo.SUPPLY_ONLY] & authz.CUSTOMER_LEVEL)
    assert after[demo.BUNDLED] == before[demo.BUNDLED] and await matrix(accounts, ESCO) == after
    assert {r.contract_type: frozenset(r.capabilities) for r in again.rows} == after
    [audited] = await fetch(
        infra, "SELECT * FROM accounts.audit_log WHERE entity = 'permission_matrix' AND tenant_id = $1", ESCO.id
    )
    assert (audited["entity_id"], audited["actor"], audited["actor_kind"]) == (demo.SUPPLY_ONLY, "admin-1", "staff")
    assert authz.E_INVOICE_WRITE in audited["before"] and authz.E_INVOICE_WRITE not in audited["after"]
    # the second call changed nothing, so it was neither audited nor announced
    announced = await fetch(
        infra,
        "SELECT * FROM accounts.outbox WHERE event_type = 'portal.events.v1.PermissionMatrixChanged'"
        " AND tenant_id = $1",
        ESCO.id,
    )
    assert len(announced) == 1
    with as_user(ESCO, demo.TOVARNA), pytest.raises(DomainError) as forbidden:
        await accounts.SetEInvoice(
            accounts_pb2.SetEInvoiceRequest(contract_id=str(TOVARNA_SUPPLY_ONLY.contract.id), enabled=False)
        )
    assert forbidden.value.reason == "forbidden"
    # another brand's matrix is its own
    assert await matrix(accounts, VOLTA) == {t: frozenset(c) for t, c in VOLTA.permission_matrix.items()}


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([row("leasing", authz.TO_VIEW_OWN_DATA)], "matrix.contract_type_unknown"),
        (
            [row(demo.BUNDLED, authz.TO_VIEW_OWN_DATA), row(demo.BUNDLED, authz.TO_VIEW_OWN_DATA)],
            "matrix.contract_type_unknown",
        ),
        ([row(demo.BUNDLED, {*authz.TO_VIEW_OWN_DATA, "everything:write"})], "matrix.capability_unknown"),
        ([row(demo.BUNDLED, {*authz.TO_VIEW_OWN_DATA, authz.ACCESS_MANAGE})], "matrix.capability_unknown"),
        ([row(demo.BUNDLED, set(authz.PER_CONTRACT) - {authz.SUPPLY_POINTS_READ})], "matrix.view_required"),
        # a good row beside a bad one is not stored either
        ([row(demo.BUNDLED, authz.TO_VIEW_OWN_DATA), row(demo.SUPPLY_ONLY, ())], "matrix.view_required"),
    ],
)
async def test_a_bad_matrix_is_refused_whole_and_nothing_changes(stubs, infra, rows, reason):
    accounts, _ = stubs
    before = await matrix(accounts, ESCO)
    with admin(ESCO), pytest.raises(DomainError) as refused:
        await accounts.SetPermissionMatrix(accounts_pb2.SetPermissionMatrixRequest(rows=rows))
    assert refused.value.reason == reason
    assert await matrix(accounts, ESCO) == before


async def test_an_administrator_edits_the_catalog_and_the_service_keeps_to_it(stubs, infra):
    _, requests = stubs
    change = pb.UpdateCatalogEntryRequest(
        code="product_change", offered=True, deadline_days=20, contract_types=[demo.BUNDLED], position=1
    )
    for caller in (as_staff(ESCO), as_user(ESCO, demo.TOVARNA)):
        with caller, pytest.raises(DomainError) as refused:
            await requests.UpdateCatalogEntry(change)
        assert refused.value.reason == "forbidden"
        with caller, pytest.raises(DomainError) as refused:
            await requests.ListCatalog(pb.ListCatalogRequest(all_entries=True))
        assert refused.value.reason == "forbidden"
    with admin(ESCO):
        entry = (await requests.UpdateCatalogEntry(change)).entry
    assert (entry.deadline_days, entry.position, list(entry.contract_types)) == (20, 1, [demo.BUNDLED])
    assert list(entry.allowed_contract_types) == [demo.BUNDLED]
    with as_user(ESCO, demo.TOVARNA):
        on_bundled = await requests.ListCatalog(pb.ListCatalogRequest(supply_point_id=str(TOVARNA_BUNDLED.id)))
        on_supply_only = await requests.ListCatalog(pb.ListCatalogRequest(supply_point_id=str(TOVARNA_SUPPLY_ONLY.id)))
        with pytest.raises(DomainError) as forbidden:
            await requests.Submit(
                pb.SubmitRequest(supply_point_id=str(TOVARNA_SUPPLY_ONLY.id), type="product_change", values=PRODUCT)
            )
        filed = (
            await requests.Submit(
                pb.SubmitRequest(supply_point_id=str(TOVARNA_BUNDLED.id), type="product_change", values=PRODUCT)
            )
        ).request
    assert "product_change" in [e.code for e in on_bundled.entries]
    assert "product_change" not in [e.code for e in on_supply_only.entries]
    assert forbidden.value.reason == "forbidden.request_type"
    # the new deadline counts for requests filed from now on
    assert filed.deadline_at.seconds - filed.created_at.seconds == 20 * 86400

    with admin(ESCO):
        await requests.UpdateCatalogEntry(
            pb.UpdateCatalogEntryRequest(
                code="termination",
                offered=False,
                deadline_days=15,
                contract_types=[demo.BUNDLED, demo.SUPPLY_ONLY],
                position=3,
            )
        )
        listed = (await requests.ListCatalog(pb.ListCatalogRequest(all_entries=True))).entries
    termination = next(e for e in listed if e.code == "termination")
    # every contract type ticked reads as "every one", so a contract type added later is offered too
    assert not termination.offered and not termination.contract_types
    assert [e.code for e in listed][:2] == ["breaker_change", "product_change"]
    with as_user(ESCO, demo.TOVARNA):
        offered = await requests.ListCatalog(pb.ListCatalogRequest(supply_point_id=str(TOVARNA_BUNDLED.id)))
        with pytest.raises(DomainError) as withdrawn:
            await requests.Submit(
                pb.SubmitRequest(
                    supply_point_id=str(TOVARNA_BUNDLED.id),
                    type="termination",
                    values=[
                        pb.FieldValue(name="end_on", value="2027-01-31"),
                        pb.FieldValue(name="termination_reason", value="moving"),
                    ],
                )
            )
    assert "termination" not in [e.code for e in offered.entries] and withdrawn.value.reason == "request.type_unknown"

    trail = await fetch(
        infra, "SELECT * FROM requests.audit_log WHERE entity = 'catalog' AND tenant_id = $1 ORDER BY id", ESCO.id
    )
    assert [(t["entity_id"], t["actor"]) for t in trail] == [("product_change", "admin-1"), ("termination", "admin-1")]
    assert '"deadline_days": 15' in trail[0]["before"] and '"deadline_days": 20' in trail[0]["after"]
    announced = await fetch(
        infra,
        "SELECT count(*) AS n FROM requests.outbox WHERE event_type = 'portal.events.v1.CatalogEntryChanged'"
        " AND tenant_id = $1",
        ESCO.id,
    )
    assert announced[0]["n"] == 2
    # another brand's catalog is its own
    with as_user(VOLTA, demo.JANA):
        volta = await requests.ListCatalog(pb.ListCatalogRequest())
    assert "termination" in [e.code for e in volta.entries]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"code": "contact_change"}, "catalog.immediate"),
        ({"code": "no_such_type"}, "request.type_unknown"),
        ({"deadline_days": 0}, "catalog.deadline_invalid"),
        ({"deadline_days": 366}, "catalog.deadline_invalid"),
        ({"position": -1}, "catalog.position_invalid"),
        ({"position": 1000}, "catalog.position_invalid"),
        ({"contract_types": ["leasing"]}, "catalog.contract_type_unknown"),
        ({"contract_types": []}, "catalog.contract_types_required"),
    ],
)
async def test_a_bad_catalog_entry_is_refused_and_nothing_changes(stubs, infra, change, reason):
    _, requests = stubs
    wanted = {
        "code": "free_text",
        "offered": True,
        "deadline_days": 10,
        "contract_types": [demo.BUNDLED],
        "position": 3,
    }
    with admin(VOLTA):
        before = (await requests.ListCatalog(pb.ListCatalogRequest(all_entries=True))).entries
        with pytest.raises(DomainError) as refused:
            await requests.UpdateCatalogEntry(pb.UpdateCatalogEntryRequest(**{**wanted, **change}))
        after = (await requests.ListCatalog(pb.ListCatalogRequest(all_entries=True))).entries
    assert refused.value.reason == reason
    assert after == before


async def free_text(requests: RequestsServiceStub, files: list[pb.Attachment] | None = None) -> pb.Request:
    """A free-text request Jana files, with `files`."""
    values = [pb.FieldValue(name="subject", value="Hi"), pb.FieldValue(name="description", value="x")]
    with as_user(VOLTA, demo.JANA):
        return (await requests.Submit(pb.SubmitRequest(type="free_text", values=values, attachments=files))).request


async def test_comments_the_customer_may_read_are_announced_and_internal_ones_not(stubs, infra):
    _, requests = stubs
    filed = await free_text(requests)
    with as_staff(VOLTA):
        await requests.Comment(pb.CommentRequest(request_id=filed.id, text="Only for us.", internal=True))
        await requests.Comment(pb.CommentRequest(request_id=filed.id, text="We are on it.", internal=False))
    announced = await fetch(
        infra,
        "SELECT payload FROM requests.outbox WHERE event_type = 'portal.events.v1.RequestCommented'"
        " AND position($1::bytea in payload) > 0",
        filed.id.encode(),
    )
    assert len(announced) == 1 and b"We are on it." in announced[0]["payload"]


async def test_files_go_with_the_information_the_customer_adds(stubs, infra):
    _, requests = stubs
    photo = pb.Attachment(file_name="jistic.jpg", content_type="image/jpeg", content=b"\xff\xd8\xff jpeg")
    filed = await free_text(requests, [photo] * 3)
    with as_staff(VOLTA):
        with pytest.raises(DomainError) as not_with_staff_steps:
            await requests.Transition(pb.TransitionRequest(request_id=filed.id, action="accept", attachments=[photo]))
        await requests.Transition(pb.TransitionRequest(request_id=filed.id, action="accept"))
        await requests.Transition(pb.TransitionRequest(request_id=filed.id, action="ask_customer", reason="Photo?"))
    assert not_with_staff_steps.value.reason == "request.attachments_not_allowed"
    with as_user(VOLTA, demo.JANA):
        for files, reason in (
            ([photo] * 4, "request.attachments_too_many"),
            (
                [pb.Attachment(file_name="a.exe", content_type="application/x-msdownload", content=b"MZ")],
                "request.attachment_type",
            ),
        ):
            with pytest.raises(DomainError) as refused:
                await requests.Transition(
                    pb.TransitionRequest(request_id=filed.id, action="add_info", reason="Here.", attachments=files)
                )
            assert refused.value.reason == reason
        with pytest.raises(DomainError) as cancel_with_files:
            await requests.Transition(
                pb.TransitionRequest(request_id=filed.id, action="cancel", reason="x", attachments=[photo])
            )
        assert cancel_with_files.value.reason == "request.attachments_not_allowed"
        seen = (await requests.Get(pb.GetRequest(request_id=filed.id))).request
        assert seen.state == "waiting_for_customer" and len(seen.attachments) == 3
        added = (
            await requests.Transition(
                pb.TransitionRequest(request_id=filed.id, action="add_info", reason="Here.", attachments=[photo] * 3)
            )
        ).request
    assert added.state == "in_progress" and len(added.attachments) == 6
    with as_staff(VOLTA):
        for _ in range(2):
            await requests.Transition(pb.TransitionRequest(request_id=filed.id, action="ask_customer", reason="More?"))
            with as_user(VOLTA, demo.JANA):
                await requests.Transition(
                    pb.TransitionRequest(
                        request_id=filed.id, action="add_info", reason="More.", attachments=[photo] * 3
                    )
                )
        await requests.Transition(pb.TransitionRequest(request_id=filed.id, action="ask_customer", reason="More?"))
    with as_user(VOLTA, demo.JANA), pytest.raises(DomainError) as full:
        await requests.Transition(
            pb.TransitionRequest(request_id=filed.id, action="add_info", reason="More.", attachments=[photo])
        )
    assert full.value.reason == "request.attachments_full" and full.value.params == {"max": "12"}
    stored = await fetch(
        infra, "SELECT count(*) AS n FROM requests.request_attachments WHERE request_id = $1::uuid", filed.id
    )
    assert stored[0]["n"] == 12
