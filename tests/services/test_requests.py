"""The requests service over real gRPC, PostgreSQL and NATS, with the accounts service it asks about supply points and
the permission matrix: the catalog by contract type, a forbidden type refused when called directly, one request per
idempotency key, the state machine with its timeline and events, the staff queue, escalation, isolation."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from portal.common.v1 import common_pb2
from portal.requests.v1 import requests_pb2 as pb
from portal.requests.v1.requests_pb2_grpc import RequestsServiceStub

from kit import authz, context, demo, rpc
from kit import db as kitdb
from kit.errors import DomainError
from kit.service import start
from services.accounts.wiring import SPEC as ACCOUNTS
from services.requests.escalation import Escalations
from services.requests.wiring import SPEC

from ..conftest import free_port, own_database, service_settings
from .callers import as_staff, as_user

VOLTA, ESCO, BALKAN = demo.tenant("volta"), demo.tenant("esco"), demo.tenant("balkan")
JANA_ELECTRICITY = demo.supply_points("volta", demo.JANA)[0]
TOVARNA_POINTS = demo.supply_points("esco", demo.TOVARNA)
TOVARNA_BUNDLED = next(p for p in TOVARNA_POINTS if p.contract.contract_type == demo.BUNDLED)
TOVARNA_SUPPLY_ONLY = next(
    p for p in TOVARNA_POINTS if p.contract.contract_type == demo.SUPPLY_ONLY and p.commodity == "electricity"
)
IVAN_POINT = demo.supply_points("balkan", demo.IVAN)[0]
BREAKER = [pb.FieldValue(name="breaker_amps", value="25"), pb.FieldValue(name="phases", value="3")]


@pytest.fixture(scope="module")
def infra(infra):
    """A database of its own: the end-to-end tests file requests for the same demo customers."""
    return own_database(infra)


@pytest.fixture(scope="module")
async def service(infra, tmp_path_factory):
    settings = service_settings(infra, tmp_path_factory.mktemp("requests"))
    accounts = await start(ACCOUNTS, dataclasses.replace(settings, grpc_port=free_port()))
    requests = await start(
        SPEC, dataclasses.replace(settings, grpc_port=free_port(), service_addrs={"accounts": accounts.address})
    )
    yield requests
    await requests.stop()
    await accounts.stop()


@pytest.fixture(scope="module")
async def svc(service):
    channel = rpc.channel(service.address)
    yield RequestsServiceStub(channel)
    await channel.close()


async def scalar(infra, sql: str, *args):
    conn = await asyncpg.connect(infra.admin_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def breaker(point: demo.SupplyPoint, key: str = "") -> pb.SubmitRequest:
    return pb.SubmitRequest(supply_point_id=str(point.id), type="breaker_change", values=BREAKER, idempotency_key=key)


async def test_the_catalog_offers_only_what_the_contract_allows(svc):
    with as_user(ESCO, demo.TOVARNA):
        everything = await svc.ListCatalog(pb.ListCatalogRequest())
        bundled = await svc.ListCatalog(pb.ListCatalogRequest(supply_point_id=str(TOVARNA_BUNDLED.id)))
        supply_only = await svc.ListCatalog(pb.ListCatalogRequest(supply_point_id=str(TOVARNA_SUPPLY_ONLY.id)))
    by_code = {e.code: e for e in everything.entries}
    assert list(by_code["breaker_change"].allowed_contract_types) == [demo.BUNDLED]
    assert list(by_code["free_text"].allowed_contract_types) == [demo.BUNDLED, demo.SUPPLY_ONLY]
    assert by_code["breaker_change"].kind == "processed" and by_code["breaker_change"].deadline_days == 30
    assert [f.name for f in by_code["breaker_change"].fields][:2] == ["breaker_amps", "phases"]
    assert {"breaker_change", "tariff_change"} <= {e.code for e in bundled.entries}
    offered = {e.code for e in supply_only.entries}
    assert "breaker_change" not in offered and "tariff_change" not in offered
    assert {"product_change", "termination", "extraordinary_settlement"} <= offered


async def test_a_type_the_matrix_forbids_is_refused_when_called_directly(svc, infra):
    before = await scalar(infra, "SELECT count(*) FROM requests.requests")
    for who in (as_user(ESCO, demo.TOVARNA), as_staff(ESCO)):
        with who, pytest.raises(DomainError) as refused:
            await svc.Submit(
                pb.SubmitRequest(
                    customer_number=demo.TOVARNA,
                    supply_point_id=str(TOVARNA_SUPPLY_ONLY.id),
                    type="breaker_change",
                    values=BREAKER,
                )
            )
        assert (refused.value.reason, refused.value.field) == ("forbidden.request_type", "type")
    assert await scalar(infra, "SELECT count(*) FROM requests.requests") == before
    # a delegate whose grant lacks the capability is refused on a bundled point too
    granted = frozenset({authz.REQUESTS_WRITE, authz.REQUESTS_READ, authz.SUPPLY_POINTS_READ})
    with as_user(ESCO, demo.TOVARNA, granted), pytest.raises(DomainError) as refused:
        await svc.Submit(breaker(TOVARNA_BUNDLED))
    assert refused.value.reason == "forbidden"


async def test_the_same_submission_twice_with_one_key_is_stored_once(svc, infra):
    key = uuid.uuid4().hex
    with as_user(ESCO, demo.TOVARNA):
        first = await svc.Submit(breaker(TOVARNA_BUNDLED, key))
        again = await svc.Submit(breaker(TOVARNA_BUNDLED, key))
        with pytest.raises(DomainError) as changed:
            other = pb.SubmitRequest(
                supply_point_id=str(TOVARNA_BUNDLED.id), type="breaker_change", idempotency_key=key
            )
            other.values.extend(
                [pb.FieldValue(name="breaker_amps", value="32"), pb.FieldValue(name="phases", value="3")]
            )
            await svc.Submit(other)
    assert first.created and not again.created and again.request.id == first.request.id
    assert changed.value.reason == "conflict"
    assert await scalar(infra, "SELECT count(*) FROM requests.requests WHERE idempotency_key = $1", key) == 1
    assert (
        await scalar(
            infra,
            "SELECT count(*) FROM requests.outbox WHERE event_type = 'portal.events.v1.RequestSubmitted'"
            " AND position($1::bytea in payload) > 0",
            first.request.id.encode(),
        )
        == 1
    )
    request = first.request
    assert (request.state, request.channel, request.customer_number) == ("submitted", "portal", demo.TOVARNA)
    assert request.contract_type == demo.BUNDLED and request.contract_id == str(TOVARNA_BUNDLED.contract.id)
    assert {v.name: v.value for v in request.values} == {"breaker_amps": "25", "phases": "3"}
    assert list(request.actions) == ["cancel"]


async def test_a_request_goes_from_submission_to_resolution_with_its_timeline(svc, infra):
    with as_user(VOLTA, demo.JANA):
        filed = (await svc.Submit(breaker(JANA_ELECTRICITY))).request
    with as_staff(VOLTA):
        await svc.Transition(pb.TransitionRequest(request_id=filed.id, action="accept"))
        await svc.Assign(pb.AssignRequest(request_id=filed.id, assignee="agent-1", assignee_name="Lucie Marková"))
        await svc.Comment(pb.CommentRequest(request_id=filed.id, text="Checked the meter box.", internal=True))
        asked = await svc.Transition(
            pb.TransitionRequest(request_id=filed.id, action="ask_customer", reason="Which day suits you?")
        )
    assert asked.request.state == "waiting_for_customer" and asked.request.assignee == "agent-1"
    with as_user(VOLTA, demo.JANA):
        with pytest.raises(DomainError) as no_comment:
            await svc.Comment(pb.CommentRequest(request_id=filed.id, text="hello"))
        answered = await svc.Transition(
            pb.TransitionRequest(request_id=filed.id, action="add_info", reason="Any Monday.")
        )
        with pytest.raises(DomainError) as too_late:
            await svc.Transition(pb.TransitionRequest(request_id=filed.id, action="cancel"))
    assert no_comment.value.reason == "forbidden"
    assert answered.request.state == "in_progress"
    assert too_late.value.reason == "precondition.request_state"
    with as_staff(VOLTA):
        done = await svc.Transition(pb.TransitionRequest(request_id=filed.id, action="resolve", reason="Fitted."))
        seen_by_staff = (await svc.Get(pb.GetRequest(request_id=filed.id))).request
    assert done.request.state == "resolved"
    with as_user(VOLTA, demo.JANA):
        seen = (await svc.Get(pb.GetRequest(request_id=filed.id))).request
    steps = [(e.action, e.to_state, e.text) for e in seen.timeline]
    assert steps == [
        ("submitted", "submitted", ""),
        ("accept", "accepted", ""),
        ("ask_customer", "waiting_for_customer", "Which day suits you?"),
        ("add_info", "in_progress", "Any Monday."),
        ("resolve", "resolved", "Fitted."),
    ]
    # internal notes and who on the staff did what stay with the staff
    assert all(e.actor == "" for e in seen.timeline) and seen.assignee == ""
    assert [e.action for e in seen_by_staff.timeline if e.internal] == ["assign", "comment"]
    changes = await scalar(
        infra,
        "SELECT count(*) FROM requests.outbox WHERE event_type = 'portal.events.v1.RequestStateChanged'"
        " AND position($1::bytea in payload) > 0",
        filed.id.encode(),
    )
    assert changes == 4
    audited = await scalar(
        infra, "SELECT count(*) FROM requests.audit_log WHERE entity_id = $1 AND actor_kind = 'staff'", filed.id
    )
    assert audited == 5


async def test_staff_file_for_a_customer_through_a_channel(svc):
    request = pb.SubmitRequest(
        customer_number=demo.JANA,
        type="free_text",
        channel="phone",
        values=[pb.FieldValue(name="subject", value="Call back"), pb.FieldValue(name="description", value="Please.")],
    )
    with as_staff(VOLTA):
        filed = (await svc.Submit(request)).request
        with pytest.raises(DomainError) as unknown:
            await svc.Submit(pb.SubmitRequest(customer_number="1999999999", type="free_text", values=request.values))
        with pytest.raises(DomainError) as channel:
            bad = pb.SubmitRequest()
            bad.CopyFrom(request)
            bad.channel = "pigeon"
            await svc.Submit(bad)
    assert (filed.channel, filed.customer_number, filed.supply_point_id) == ("phone", demo.JANA, "")
    assert unknown.value.reason == "not_found" and channel.value.reason == "request.channel_invalid"
    with as_user(VOLTA, demo.JANA):
        mine = await svc.List(pb.ListRequest())
    assert filed.id in {r.id for r in mine.requests}


async def test_administrators_read_the_trail_of_who_filed_what(svc):
    request = pb.SubmitRequest(
        customer_number=demo.PEKARNY_B,
        type="free_text",
        channel="letter",
        values=[pb.FieldValue(name="subject", value="Letter"), pb.FieldValue(name="description", value="Read it.")],
    )
    with as_staff(VOLTA, subject="agent-trail"):
        filed = (await svc.Submit(request)).request
        with pytest.raises(DomainError) as refused:
            await svc.ListAudit(pb.ListAuditRequest())
    assert refused.value.reason == "forbidden"
    wanted = common_pb2.AuditFilter(actor="agent-trail", entity="request")
    with as_staff(VOLTA, role=authz.TENANT_ADMIN):
        [entry] = (await svc.ListAudit(pb.ListAuditRequest(filter=wanted))).entries
    assert (entry.entity_id, entry.action, entry.actor_kind) == (filed.id, "submitted", "staff")
    assert '"type": "free_text"' in entry.after_json
    with as_staff(ESCO, role=authz.TENANT_ADMIN):
        assert not (await svc.ListAudit(pb.ListAuditRequest(filter=wanted))).entries


async def test_the_staff_queue_filters_sorts_by_deadline_and_pages(svc):
    with as_user(VOLTA, demo.SVOBODA):
        point = demo.supply_points("volta", demo.SVOBODA)[0]
        for _ in range(3):
            await svc.Submit(breaker(point))
        await svc.Submit(
            pb.SubmitRequest(
                supply_point_id=str(point.id),
                type="product_change",
                values=[pb.FieldValue(name="product", value="Volta Fix 24")],
            )
        )
    with as_staff(VOLTA):
        pages, token = [], ""
        while True:
            page = await svc.List(
                pb.ListRequest(
                    customer_numbers=[demo.SVOBODA], page=common_pb2.PageRequest(page_size=2, page_token=token)
                )
            )
            pages.append(page.requests)
            token = page.page.next_page_token
            if not token:
                break
        breakers = await svc.List(pb.ListRequest(customer_numbers=[demo.SVOBODA], type="breaker_change"))
        unassigned = await svc.List(pb.ListRequest(customer_numbers=[demo.SVOBODA], unassigned_only=True))
        with pytest.raises(DomainError) as bad_state:
            await svc.List(pb.ListRequest(states=["sleeping"]))
    shown = [r for p in pages for r in p]
    assert [len(p) for p in pages] == [2, 2]
    deadlines = [r.deadline_at.ToDatetime() for r in shown]
    assert deadlines == sorted(deadlines)
    assert len(breakers.requests) == 3 and len(unassigned.requests) == 4
    assert bad_state.value.reason == "request.state_invalid"


async def test_overdue_requests_are_escalated_once(svc, service):
    with as_user(BALKAN, demo.IVAN):
        filed = (await svc.Submit(breaker(IVAN_POINT))).request
    later = datetime.now(UTC) + timedelta(days=31)
    escalations = Escalations(service.runtime.db)
    assert await escalations.escalate_due(later) >= 1
    assert await escalations.escalate_due(later) == 0
    with as_staff(BALKAN):
        seen = (await svc.Get(pb.GetRequest(request_id=filed.id))).request
        overdue = await svc.List(pb.ListRequest(overdue_only=True))
    assert seen.HasField("escalated_at") and [e.action for e in seen.timeline][-1] == "escalated"
    # not overdue yet by today's clock
    assert filed.id not in {r.id for r in overdue.requests}


@pytest.mark.parametrize("app_filter", [True, False])
async def test_nobody_sees_another_customers_or_brands_requests(svc, app_filter, monkeypatch):
    monkeypatch.setattr(kitdb, "APPLICATION_TENANT_FILTER", app_filter)
    with as_user(VOLTA, demo.JANA):
        filed = (await svc.Submit(breaker(JANA_ELECTRICITY))).request
    strangers = (
        as_user(VOLTA, demo.SVOBODA),
        as_user(BALKAN, demo.IVAN),
        as_staff(BALKAN),
        # a delegate of Jana's whose grant covers another supply point only
        as_user(VOLTA, demo.JANA, supply_point_ids=frozenset({str(uuid.uuid4())})),
    )
    for who in strangers:
        with who:
            for call in (
                svc.Get(pb.GetRequest(request_id=filed.id)),
                svc.Transition(pb.TransitionRequest(request_id=filed.id, action="cancel")),
            ):
                with pytest.raises(DomainError) as refused:
                    await call
                assert refused.value.reason == "not_found"
    with as_user(BALKAN, demo.IVAN), pytest.raises(DomainError) as foreign_point:
        await svc.Submit(breaker(JANA_ELECTRICITY))
    assert foreign_point.value.reason == "not_found"
    with as_user(VOLTA, demo.JANA), pytest.raises(DomainError) as other_customer:
        await svc.List(pb.ListRequest(customer_numbers=[demo.SVOBODA]))
    assert other_customer.value.reason == "not_found"
    with as_staff(BALKAN):
        queue = await svc.List(pb.ListRequest(page=common_pb2.PageRequest(page_size=100)))
    assert all(r.customer_number.startswith("3") for r in queue.requests)
    anonymous = context.CallContext(tenant_id=str(VOLTA.id))
    with context.bound(anonymous), pytest.raises(DomainError) as nobody:
        await svc.List(pb.ListRequest())
    assert nobody.value.reason == "forbidden"


async def test_files_go_with_a_request_and_only_to_who_may_see_it(svc, infra):
    letter = pb.Attachment(file_name="C:\\scans\\faktura.pdf", content_type="application/pdf", content=b"%PDF-1.7 a")
    values = [pb.FieldValue(name="invoice_number", value="2026109901"), pb.FieldValue(name="description", value="x")]
    request = pb.SubmitRequest(type="invoice_complaint", values=values, attachments=[letter])
    before = await scalar(infra, "SELECT count(*) FROM requests.requests")
    with as_user(VOLTA, demo.JANA):
        for refused_files, reason in (
            ([letter] * 4, "request.attachments_too_many"),
            (
                [pb.Attachment(file_name="a.exe", content_type="application/x-msdownload", content=b"MZ")],
                "request.attachment_type",
            ),
            (
                [pb.Attachment(file_name="big.pdf", content_type="application/pdf", content=b"x" * 1_000_001)],
                "request.attachment_size",
            ),
        ):
            bad = pb.SubmitRequest(type="invoice_complaint", values=values, attachments=refused_files)
            with pytest.raises(DomainError) as refused:
                await svc.Submit(bad)
            assert refused.value.reason == reason
        assert await scalar(infra, "SELECT count(*) FROM requests.requests") == before
        filed = (await svc.Submit(request)).request
        seen = (await svc.Get(pb.GetRequest(request_id=filed.id))).request
        (listed,) = seen.attachments
        assert (listed.file_name, listed.content_type, listed.size, listed.content) == (
            "faktura.pdf",
            "application/pdf",
            len(letter.content),
            b"",
        )
        got = await svc.GetAttachment(pb.GetAttachmentRequest(request_id=filed.id, attachment_id=listed.id))
    assert got.attachment.content == letter.content
    with as_staff(VOLTA):
        assert (
            await svc.GetAttachment(pb.GetAttachmentRequest(request_id=filed.id, attachment_id=listed.id))
        ).attachment.size
    for stranger in (as_user(VOLTA, demo.SVOBODA), as_staff(BALKAN)):
        with stranger, pytest.raises(DomainError) as hidden:
            await svc.GetAttachment(pb.GetAttachmentRequest(request_id=filed.id, attachment_id=listed.id))
        assert hidden.value.reason == "not_found"
