"""Delivery preferences and the SMS channel of the notifications service, over gRPC against real PostgreSQL and NATS,
with real SMTP and a real HTTP server answering like Twilio's Messages API (the `sms_gateway` fixture).

The customer who prefers SMS is esco's mill (no login, so no other test signs in as it); every test that changes
its choice puts the default back."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from portal.accounts.v1 import accounts_pb2
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.hdo.v1 import hdo_pb2
from portal.hdo.v1.hdo_pb2_grpc import HdoServiceStub
from portal.notifications.v1 import notifications_pb2 as pb
from portal.notifications.v1.notifications_pb2_grpc import NotificationsServiceStub

from kit import authz, context, demo, rpc
from kit.db import Database
from kit.errors import DomainError
from kit.migrations import migrate
from services.notifications import domain, store
from services.notifications.sender import NO_SMS_GATEWAY, Sender
from services.notifications.tenants import TenantDirectory
from services.notifications.wiring import SPEC

from ..conftest import own_database

ESCO = demo.tenant("esco")
MILL = demo.customer("esco", demo.MLYNY)
MILL_EAN = demo.supply_points("esco", demo.MLYNY)[0].identifier
WORKS = demo.customer("esco", demo.TOVARNA)
WORKS_EAN = demo.supply_points("esco", demo.TOVARNA)[0].identifier
SETTLE = 2.0


def as_owner(number: str, capabilities: frozenset[str] = frozenset(authz.ALL_CAPABILITIES)) -> context.bound:
    return context.bound(
        context.CallContext(
            tenant_id=str(ESCO.id),
            subject=f"owner-of-{number}",
            subject_kind=context.USER,
            customer_number=number,
            customer_numbers=frozenset({number}),
            capabilities=capabilities,
        )
    )


def as_delegate(number: str) -> context.bound:
    """What a delegate's call context carries: whatever the owner granted, never access:manage."""
    return as_owner(number, frozenset(authz.ALL_CAPABILITIES) - {authz.ACCESS_MANAGE})


def as_staff() -> context.bound:
    return context.bound(
        context.CallContext(
            tenant_id=str(ESCO.id),
            subject="staff-1",
            subject_kind=context.STAFF,
            capabilities=frozenset({authz.TENANT_ADMIN}),
        )
    )


def kinds(channels: list[str]) -> list[pb.KindPreference]:
    return [pb.KindPreference(kind="outages", channels=channels)]


@dataclasses.dataclass
class Clients:
    notifications: NotificationsServiceStub
    accounts: AccountsServiceStub
    hdo: HdoServiceStub


@pytest.fixture(scope="module")
async def clients(stack) -> AsyncIterator[Clients]:
    channels = [rpc.channel(stack.address(name)) for name in ("notifications", "accounts", "hdo")]
    yield Clients(NotificationsServiceStub(channels[0]), AccountsServiceStub(channels[1]), HdoServiceStub(channels[2]))
    for channel in channels:
        await channel.close()


@pytest.fixture
async def mill_back_to_default(clients) -> AsyncIterator[None]:
    yield
    with as_staff():
        await clients.notifications.SetPreferences(
            pb.SetPreferencesRequest(customer_number=demo.MLYNY, kinds=kinds(["email"]))
        )


async def last_audit(infra, number: str) -> asyncpg.Record | None:
    conn = await asyncpg.connect(infra.admin_url)
    try:
        return await conn.fetchrow(
            "SELECT actor, actor_kind, before, after FROM notifications.audit_log "
            "WHERE entity = 'notification_preferences' AND entity_id = $1 ORDER BY id DESC LIMIT 1",
            number,
        )
    finally:
        await conn.close()


# --- preferences ----------------------------------------------------------------------------------


async def test_email_until_chosen_otherwise_and_each_change_audited(infra, clients, mill_back_to_default):
    with as_owner(demo.MLYNY):
        got = (await clients.notifications.GetPreferences(pb.GetPreferencesRequest())).preferences
        assert [(k.kind, list(k.channels)) for k in got.kinds] == [("outages", ["email"])]
        assert (got.customer_number, got.phone, got.sms_available) == (demo.MLYNY, MILL.phone, True)

        changed = await clients.notifications.SetPreferences(
            pb.SetPreferencesRequest(customer_number=demo.MLYNY, kinds=kinds(["sms", "email"]))
        )
        assert list(changed.preferences.kinds[0].channels) == ["email", "sms"]
        again = (await clients.notifications.GetPreferences(pb.GetPreferencesRequest())).preferences
    assert list(again.kinds[0].channels) == ["email", "sms"]
    audited = await last_audit(infra, demo.MLYNY)
    assert audited is not None and audited["actor"] == f"owner-of-{demo.MLYNY}"
    assert json.loads(audited["before"]) == {"outages": ["email"]}
    assert json.loads(audited["after"]) == {"outages": ["email", "sms"]}


@pytest.mark.parametrize(
    ("channels", "reason"),
    [
        ([], "preferences.channel_required"),
        (["fax"], "preferences.channel_unknown"),
    ],
)
async def test_a_choice_that_cannot_be_kept_changes_nothing(clients, channels, reason):
    with as_owner(demo.MLYNY), pytest.raises(DomainError) as refused:
        await clients.notifications.SetPreferences(
            pb.SetPreferencesRequest(customer_number=demo.MLYNY, kinds=kinds(channels))
        )
    assert (refused.value.reason, refused.value.field) == (reason, "outages")
    with as_owner(demo.MLYNY):
        got = (await clients.notifications.GetPreferences(pb.GetPreferencesRequest())).preferences
    assert list(got.kinds[0].channels) == ["email"]


async def test_sms_without_a_phone_number_is_refused(clients):
    with as_staff():
        await clients.accounts.ChangeContact(
            accounts_pb2.ChangeContactRequest(customer_number=demo.MLYNY, email=MILL.email, phone="")
        )
    try:
        with as_owner(demo.MLYNY):
            assert (await clients.notifications.GetPreferences(pb.GetPreferencesRequest())).preferences.phone == ""
            with pytest.raises(DomainError) as refused:
                await clients.notifications.SetPreferences(
                    pb.SetPreferencesRequest(customer_number=demo.MLYNY, kinds=kinds(["sms"]))
                )
        assert refused.value.reason == "preferences.phone_missing"
    finally:
        with as_staff():
            await clients.accounts.ChangeContact(
                accounts_pb2.ChangeContactRequest(customer_number=demo.MLYNY, email=MILL.email, phone=MILL.phone)
            )


async def test_a_delegate_reads_but_cannot_change_even_calling_the_service_directly(clients):
    with as_delegate(demo.MLYNY):
        got = (await clients.notifications.GetPreferences(pb.GetPreferencesRequest())).preferences
        assert got.customer_number == demo.MLYNY
        with pytest.raises(DomainError) as refused:
            await clients.notifications.SetPreferences(
                pb.SetPreferencesRequest(customer_number=demo.MLYNY, kinds=kinds(["email", "sms"]))
            )
    assert refused.value.reason == "forbidden"
    # a third-party application holds scopes, never access:manage
    with as_owner(demo.MLYNY, authz.scope_capabilities(authz.SCOPE_CAPABILITIES)), pytest.raises(DomainError) as app:
        await clients.notifications.SetPreferences(
            pb.SetPreferencesRequest(customer_number=demo.MLYNY, kinds=kinds(["email", "sms"]))
        )
    assert app.value.reason == "forbidden"


async def test_another_customers_preferences_are_not_found(clients):
    with as_owner(demo.TOVARNA):
        for call, request in (
            (clients.notifications.GetPreferences, pb.GetPreferencesRequest(customer_number=demo.MLYNY)),
            (
                clients.notifications.SetPreferences,
                pb.SetPreferencesRequest(customer_number=demo.MLYNY, kinds=kinds(["email"])),
            ),
        ):
            with pytest.raises(DomainError) as refused:
                await call(request)
            assert refused.value.reason == "not_found"
    # another brand's staff do not find the mill
    volta_staff = context.CallContext(
        tenant_id=str(demo.tenant("volta").id), subject="staff-2", subject_kind=context.STAFF
    )
    with context.bound(volta_staff), pytest.raises(DomainError) as elsewhere:
        await clients.notifications.GetPreferences(pb.GetPreferencesRequest(customer_number=demo.MLYNY))
    assert elsewhere.value.reason == "not_found"


# --- outage notices by SMS ------------------------------------------------------------------------


def outages_file(marker: str, start: datetime, **changes: object) -> bytes:
    outage = {
        "id": marker,
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "Výměna transformátoru",
        "eans": [MILL_EAN, WORKS_EAN],
    }
    return json.dumps({"operator": "ČEZ Distribuce", "outages": [{**outage, **changes}]}).encode()


def period_of(start: datetime) -> str:
    zone = ZoneInfo(ESCO.time_zone)
    local = start.replace(tzinfo=zone)
    return domain.sms_period(local, local + timedelta(hours=5, minutes=30), "cs", ESCO.time_zone)


def about(mailbox, marker: str) -> list:
    """The e-mails naming the outage `marker` as the operator's number."""
    return [m for m in mailbox.messages if f": {marker}\n" in m.get_content().replace("\r\n", "\n")]


async def settle(count: Callable[[], int], expected: int, timeout: float = 15.0) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if count() >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(SETTLE)
    return count()


async def test_an_outage_reaches_each_customer_by_the_channels_chosen_once(
    clients, mailbox, sms_gateway, mill_back_to_default
):
    marker = uuid.uuid4().hex[:12]
    # a day no other run uses, so the SMS (which name the day, not the operator's number) are this test's
    start = datetime.combine(date(2032, 1, 1) + timedelta(days=random.randrange(700)), datetime.min.time())
    start = start.replace(hour=8)
    with as_owner(demo.MLYNY):
        await clients.notifications.SetPreferences(
            pb.SetPreferencesRequest(customer_number=demo.MLYNY, kinds=kinds(["sms"]))
        )
    with as_staff():
        imported = await clients.hdo.ImportOutages(hdo_pb2.ImportOutagesRequest(content=outages_file(marker, start)))
        assert imported.planned == 1
        # the same file again, and its event delivered again, tell nobody twice
        await clients.hdo.ImportOutages(hdo_pb2.ImportOutagesRequest(content=outages_file(marker, start)))

    period = period_of(start)
    sms_to_mill = lambda: len(sms_gateway.to(MILL.phone, period))  # noqa: E731
    assert await settle(sms_to_mill, 1) == 1
    [text] = sms_gateway.to(MILL.phone, period)
    assert text["Body"].startswith(f"{ESCO.name}: planovane preruseni dodavky elektriny {period}, EAN {MILL_EAN}")
    assert text["From"] == sms_gateway.sender
    assert await settle(lambda: len(about(mailbox, marker)), 1) == 1
    assert str(about(mailbox, marker)[0]["To"]) == WORKS.email

    # both chosen: the change goes by e-mail and SMS, one claim for the customer
    with as_owner(demo.MLYNY):
        await clients.notifications.SetPreferences(
            pb.SetPreferencesRequest(customer_number=demo.MLYNY, kinds=kinds(["email", "sms"]))
        )
    moved = start + timedelta(days=1)
    with as_staff():
        assert (
            await clients.hdo.ImportOutages(hdo_pb2.ImportOutagesRequest(content=outages_file(marker, moved)))
        ).changed == 1
    new_period = period_of(moved)
    assert await settle(lambda: len(sms_gateway.to(MILL.phone, new_period)), 1) == 1
    assert "presunuto" in sms_gateway.to(MILL.phone, new_period)[0]["Body"]
    assert await settle(lambda: len(about(mailbox, marker)), 3) == 3
    assert sorted(str(m["To"]) for m in about(mailbox, marker)) == sorted([WORKS.email, WORKS.email, MILL.email])


# --- the sender and the SMS gateway ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sender_infra(infra):
    """A database of its own, so that only this test's sender works its deliveries queue."""
    return own_database(infra)


@pytest.fixture(scope="module")
async def sender_db(sender_infra) -> AsyncIterator[Database]:
    await migrate(sender_infra.admin_url, SPEC.name, SPEC.migrations)
    db = Database(sender_infra.admin_url, SPEC.name)
    yield db
    await db.close()


@pytest.fixture
async def make_sender(stack, sender_db, clients) -> AsyncIterator[Callable[..., Sender]]:
    made: list[Sender] = []

    def make(**settings: str) -> Sender:
        made.append(
            Sender(dataclasses.replace(stack.settings, **settings), sender_db, TenantDirectory(clients.accounts))
        )
        return made[-1]

    yield make
    for sender in made:
        await sender.close()


def a_number() -> str:
    return f"+420739{random.randrange(10**6):06d}"


async def queue_sms(db: Database, to: str) -> None:
    async with db.tenant(ESCO.id) as conn:
        await store.queue(
            conn,
            tenant_id=str(ESCO.id),
            event_id=uuid.uuid4(),
            channel=domain.SMS,
            recipient=to,
            template=domain.OUTAGE_PLANNED,
            locale="cs",
            subject="",
            body="Volta ESCO: planovane preruseni dodavky elektriny 1.6.2032 8:00-13:30, EAN 859182400304502017.",
        )


async def delivery(db: Database, to: str):
    async with db.tenant(ESCO.id) as conn:
        [row] = await store.recent(conn, to, 5)
    return row


async def test_a_gateway_error_is_retried_later(sender_db, make_sender, sms_gateway):
    to = a_number()
    sms_gateway.script[to] = [500, 429]
    await queue_sms(sender_db, to)
    sender = make_sender()
    now = datetime.now(UTC)
    await sender.send_due(now)
    first = await delivery(sender_db, to)
    assert (first.status, first.attempts) == ("queued", 1) and "500" in first.last_error
    # not before its pause
    await sender.send_due(now + timedelta(seconds=10))
    assert sms_gateway.attempts.count((to, 500)) == 1 and not sms_gateway.to(to)
    await sender.send_due(now + timedelta(seconds=31))
    assert (await delivery(sender_db, to)).attempts == 2
    await sender.send_due(now + timedelta(minutes=5))
    sent = await delivery(sender_db, to)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, "")
    assert [a for a in sms_gateway.attempts if a[0] == to] == [(to, 500), (to, 429), (to, 201)]
    assert len(sms_gateway.to(to)) == 1


async def test_a_refusal_gives_the_delivery_up_at_once(sender_db, make_sender, sms_gateway):
    to = a_number()
    sms_gateway.script[to] = [400]
    await queue_sms(sender_db, to)
    await make_sender().send_due()
    failed = await delivery(sender_db, to)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "code 21610" in failed.last_error
    await make_sender().send_due(datetime.now(UTC) + timedelta(hours=3))
    assert sms_gateway.attempts.count((to, 400)) == 1 and not sms_gateway.to(to)


async def test_wrong_credentials_are_refused_by_the_gateway(sender_db, make_sender, sms_gateway):
    to = a_number()
    await queue_sms(sender_db, to)
    await make_sender(sms_token="not-the-token").send_due()
    failed = await delivery(sender_db, to)
    assert failed.status == "failed" and "401" in failed.last_error
    assert not [a for a in sms_gateway.attempts if a[0] == to]


async def test_without_a_gateway_sms_wait_queued_saying_why(sender_db, make_sender, sms_gateway):
    to = a_number()
    await queue_sms(sender_db, to)
    now = datetime.now(UTC)
    await make_sender(sms_url="").send_due(now)
    waiting = await delivery(sender_db, to)
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("queued", 0, NO_SMS_GATEWAY)
    # configured later, the gateway carries it once its hour is up
    await make_sender().send_due(now + timedelta(minutes=61))
    assert (await delivery(sender_db, to)).status == "sent" and len(sms_gateway.to(to)) == 1
