"""Planned outages told to customers over real SMTP: hdo's import → events on NATS → notifications asks accounts
which supply points the outage affects → one e-mail per customer per change, however often the outage is imported
or its event delivered; the reminder before the start once per version; other brands' outages stay theirs."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import nats
import pytest
from portal.accounts.v1 import accounts_pb2
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.common.v1 import common_pb2
from portal.events.v1 import hdo_pb2 as events
from portal.hdo.v1 import hdo_pb2 as pb
from portal.hdo.v1.hdo_pb2_grpc import HdoServiceStub

from kit import authz, bus, context, demo, rpc
from kit.errors import DomainError
from services.notifications.outages import OutageNotices, Reminders
from services.notifications.tenants import TenantDirectory

VOLTA, ESCO = demo.tenant("volta"), demo.tenant("esco")
JANA_EMAIL = demo.customer("volta", demo.JANA).email
JANA_EAN, JANA_GAS = (p.identifier for p in demo.supply_points("volta", demo.JANA))
TOVARNA_EAN = demo.supply_points("esco", demo.TOVARNA)[0].identifier
SETTLE = 2.0


def as_staff(tenant: demo.Tenant) -> context.bound:
    return context.bound(
        context.CallContext(
            tenant_id=str(tenant.id),
            subject="staff-1",
            subject_kind=context.STAFF,
            capabilities=frozenset({authz.TENANT_ADMIN}),
        )
    )


@pytest.fixture(scope="module")
async def clients(stack):
    channels = [rpc.channel(stack.address("hdo")), rpc.channel(stack.address("accounts"))]
    yield HdoServiceStub(channels[0]), AccountsServiceStub(channels[1])
    for channel in channels:
        await channel.close()


@pytest.fixture
def marker() -> str:
    """An operator's outage number no other test uses; e-mails name it, which tells this test's apart in the
    shared mailbox."""
    return uuid.uuid4().hex[:12]


def outages_file(marker: str, **changes: object) -> bytes:
    outage = {
        "id": marker,
        "start": "2031-05-14T08:00",
        "end": "2031-05-14T13:30",
        "reason": "Výměna sloupu",
        "eans": [JANA_EAN],
    }
    return json.dumps({"operator": "ČEZ Distribuce", "outages": [{**outage, **changes}]}).encode()


async def do_import(hdo: HdoServiceStub, tenant: demo.Tenant, content: bytes) -> pb.ImportOutagesResponse:
    with as_staff(tenant):
        return await hdo.ImportOutages(pb.ImportOutagesRequest(content=content))


def text(message: EmailMessage) -> str:
    # an 8bit body keeps the CRLF line ends of SMTP, a base64 one does not
    return message.get_content().replace("\r\n", "\n")


def about(mailbox, marker: str, to: str = "") -> list[EmailMessage]:
    """The e-mails naming the outage `marker` (as the operator's number on a line of its own)."""
    return [m for m in mailbox.messages if f": {marker}\n" in text(m) and (not to or to in str(m["To"]))]


async def arrive(mailbox, marker: str, count: int, timeout: float = 15.0) -> list[EmailMessage]:
    """This test's e-mails once `count` have arrived and no more came for a while."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if len(about(mailbox, marker)) >= count:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(SETTLE)
    return about(mailbox, marker)


async def test_planned_changed_cancelled_each_told_once(clients, mailbox, marker):
    hdo, _ = clients
    assert (await do_import(hdo, VOLTA, outages_file(marker))).planned == 1
    [planned] = await arrive(mailbox, marker, 1)
    assert planned["To"] == JANA_EMAIL and "Volta" in str(planned["From"])
    body = text(planned)
    # Czech, the brand's default; times in Prague (08:00 local), the supply point and the outage line
    assert "plánované přerušení" in str(planned["Subject"]) and "8:00–13:30" in str(planned["Subject"])
    assert JANA_EAN in body and "Plzeňská 1187, 266 01 Beroun" in body and JANA_GAS not in body
    assert VOLTA.contact_lines.outage_line in body and "ČEZ Distribuce" in body

    assert (await do_import(hdo, VOLTA, outages_file(marker))).unchanged == 1
    assert len(await arrive(mailbox, marker, 1)) == 1

    moved = outages_file(marker, start="2031-05-15T09:00", end="2031-05-15T15:00")
    assert (await do_import(hdo, VOLTA, moved)).changed == 1
    await do_import(hdo, VOLTA, moved)
    changed = (await arrive(mailbox, marker, 2))[1:]
    assert len(changed) == 1 and "změna" in str(changed[0]["Subject"])
    body = text(changed[0])
    assert "9:00–15:00" in body and "8:00–13:30" in body  # new and old times

    cancelled_file = outages_file(marker, start="2031-05-15T09:00", end="2031-05-15T15:00", cancelled=True)
    assert (await do_import(hdo, VOLTA, cancelled_file)).cancelled == 1
    await do_import(hdo, VOLTA, cancelled_file)
    cancelled = (await arrive(mailbox, marker, 3))[2:]
    assert len(cancelled) == 1 and "ruší" in str(cancelled[0]["Subject"])
    assert "9:00–15:00" in text(cancelled[0])


async def publish_again(stack, event: events.OutagePlanned | events.OutageChanged) -> None:
    """What a relay that lost its bookkeeping would do: a change published as a new message, past processed_events."""
    nc = await nats.connect(stack.settings.nats_url)
    try:
        await nc.jetstream().publish(
            bus.subject_of("hdo", event),
            event.SerializeToString(),
            headers={
                "Nats-Msg-Id": str(uuid.uuid4()),
                bus.TENANT_HEADER: str(VOLTA.id),
                bus.TYPE_HEADER: event.DESCRIPTOR.full_name,
            },
        )
    finally:
        await nc.close()


async def test_an_event_published_again_or_late_sends_nothing_new(stack, clients, mailbox, marker):
    hdo, _ = clients
    await do_import(hdo, VOLTA, outages_file(marker))
    assert len(await arrive(mailbox, marker, 1)) == 1
    with as_staff(VOLTA):
        listed = await hdo.ListOutages(
            pb.ListOutagesRequest(supply_points=[pb.SupplyPlace(supply_point_id="x", ean=JANA_EAN)])
        )
    [outage] = [o for o in listed.outages if o.notice.external_id == marker]
    planned = events.OutagePlanned(outage=outage.notice)
    await publish_again(stack, planned)
    await asyncio.sleep(SETTLE)
    assert len(await arrive(mailbox, marker, 1)) == 1


async def test_a_planned_outage_arriving_after_its_change_is_not_told(stack, mailbox, marker):
    """Planned, changed and cancelled come by separate consumers, so their order is not guaranteed."""
    first = events.OutageNotice(
        outage_id=str(uuid.uuid4()),
        version=1,
        state="planned",
        operator="ČEZ Distribuce",
        external_id=marker,
        eans=[JANA_EAN],
    )
    first.starts_at.FromDatetime(datetime(2031, 6, 2, 6, tzinfo=UTC))
    first.ends_at.FromDatetime(datetime(2031, 6, 2, 10, tzinfo=UTC))
    second = events.OutageNotice()
    second.CopyFrom(first)
    second.version, second.state = 2, "changed"
    second.ends_at.FromDatetime(datetime(2031, 6, 2, 12, tzinfo=UTC))
    await publish_again(stack, events.OutageChanged(outage=second, previous=first))
    [changed] = await arrive(mailbox, marker, 1)
    await publish_again(stack, events.OutagePlanned(outage=first))
    await asyncio.sleep(SETTLE)
    assert await arrive(mailbox, marker, 1) == [changed]


async def test_another_brands_outage_reaches_no_volta_customer(clients, mailbox, marker):
    hdo, _ = clients
    # esco's operator lists Jana's EAN: esco has no such supply point, volta never hears of esco's outage
    await do_import(hdo, ESCO, outages_file(marker))
    # volta's outage on esco's EAN: nobody at volta has it
    await do_import(hdo, VOLTA, outages_file(f"{marker}v", eans=[TOVARNA_EAN]))
    await asyncio.sleep(SETTLE * 2)
    assert not about(mailbox, marker) and not about(mailbox, f"{marker}v")


async def test_an_address_range_reaches_the_customers_living_in_it(clients, mailbox, marker):
    hdo, _ = clients
    # no postal code, no accents: every supply point of the brand is a candidate and the spelling is folded
    areas = [{"city": "beroun", "street": "plzenska", "house_from": 1180, "house_to": 1190}]
    await do_import(hdo, VOLTA, outages_file(marker, eans=[], areas=areas))
    [notice] = await arrive(mailbox, marker, 1)
    assert notice["To"] == JANA_EMAIL
    assert JANA_EAN in text(notice) and JANA_GAS not in text(notice)

    street = f"{marker}s"
    areas = [{"postal_code": "26601", "street": "Tyršova", "house_from": 1160, "house_to": 1165}]
    await do_import(hdo, VOLTA, outages_file(street, eans=[], areas=areas))
    bakery = await arrive(mailbox, street, 1)
    assert {m["To"] for m in bakery} == {demo.customer("volta", demo.PEKARNY_A).email}
    assert "1162/35" in text(bakery[0]) and not about(mailbox, street, JANA_EMAIL)


async def test_a_change_that_takes_a_place_out_tells_its_customer_it_is_off(clients, mailbox, marker):
    hdo, accounts = clients
    await do_import(hdo, VOLTA, outages_file(marker))
    await arrive(mailbox, marker, 1)
    svoboda = demo.supply_points("volta", demo.SVOBODA)[0].identifier
    # the address accounts holds now: other tests change this customer's contact data
    with as_staff(VOLTA):
        svoboda_email = (
            await accounts.GetCustomer(accounts_pb2.GetCustomerRequest(customer_number=demo.SVOBODA))
        ).customer.email
    await do_import(hdo, VOLTA, outages_file(marker, eans=[svoboda]))
    later = (await arrive(mailbox, marker, 3))[1:]
    kinds = {str(m["To"]).lower(): str(m["Subject"]) for m in later}
    assert "ruší" in kinds[JANA_EMAIL] and "změna" in kinds[svoboda_email.lower()]
    assert len(later) == 2


async def test_a_reminder_goes_out_once_before_the_start(stack, clients, mailbox, marker):
    hdo, accounts = clients
    start = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    content = outages_file(marker, start=start.isoformat(), end=(start + timedelta(hours=4)).isoformat())
    await do_import(hdo, VOLTA, content)
    await arrive(mailbox, marker, 1)
    reminders = Reminders(
        stack.services["notifications"].runtime.db,
        OutageNotices(TenantDirectory(accounts), accounts, lambda: None),
        timedelta(hours=48),
    )
    await reminders.remind_due(start - timedelta(hours=49))
    assert len(await arrive(mailbox, marker, 1)) == 1  # not yet
    assert await reminders.remind_due(start - timedelta(hours=47)) == 1
    assert await reminders.remind_due(start - timedelta(hours=46)) == 0
    sent = await arrive(mailbox, marker, 2)
    assert len(sent) == 2 and "připomínka" in str(sent[1]["Subject"])


async def test_only_staff_and_the_system_may_search_every_customer(clients):
    _, accounts = clients
    customer = context.CallContext(
        tenant_id=str(VOLTA.id),
        subject="user-1",
        subject_kind=context.USER,
        customer_number=demo.JANA,
        customer_numbers=frozenset({demo.JANA}),
        capabilities=frozenset({"supply_points:read"}),
    )
    request = accounts_pb2.FindAffectedSupplyPointsRequest(eans=[JANA_EAN])
    with context.bound(customer), pytest.raises(DomainError) as refused:
        await accounts.FindAffectedSupplyPoints(request)
    assert refused.value.reason == "forbidden"
    with as_staff(VOLTA):
        found = await accounts.FindAffectedSupplyPoints(request)
    with as_staff(ESCO):
        elsewhere = await accounts.FindAffectedSupplyPoints(request)
    assert [(p.identifier, p.customer_number, p.customer_email) for p in found.supply_points] == [
        (JANA_EAN, demo.JANA, JANA_EMAIL)
    ]
    assert not elsewhere.supply_points


async def test_a_large_area_comes_a_page_at_a_time(clients):
    """Every electricity supply point in Beroun (the bakeries have many there), as pages of 4: the same points as
    one page, each once, in identifier order; a tampered page token is refused."""
    _, accounts = clients
    area = accounts_pb2.AddressRange(postal_code="266 01")

    def request(size: int, token: str = "") -> accounts_pb2.FindAffectedSupplyPointsRequest:
        return accounts_pb2.FindAffectedSupplyPointsRequest(
            areas=[area], commodity="electricity", page=common_pb2.PageRequest(page_size=size, page_token=token)
        )

    with as_staff(VOLTA):
        whole = await accounts.FindAffectedSupplyPoints(request(1000))
        paged, token, pages = [], "", 0
        while True:
            resp = await accounts.FindAffectedSupplyPoints(request(4, token))
            paged.extend(p.identifier for p in resp.supply_points)
            pages += 1
            token = resp.page.next_page_token
            if not token:
                break
        with pytest.raises(DomainError) as refused:
            await accounts.FindAffectedSupplyPoints(request(4, "x" + whole.page.next_page_token + "tampered"))
    bakeries = {
        p.identifier
        for p in demo.supply_points("volta", demo.PEKARNY_A)
        if p.commodity == "electricity" and p.address.postal_code == "266 01"
    }
    assert not whole.page.next_page_token
    assert paged == [p.identifier for p in whole.supply_points] == sorted(paged)
    assert bakeries <= set(paged) and len(paged) > 4 and pages == -(-len(paged) // 4)
    assert refused.value.reason == "page_token.invalid"
