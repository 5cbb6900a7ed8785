"""Personal access tokens in the identity service, over gRPC against real PostgreSQL and NATS: shown once and stored
as a keyed hash, resolved and introspected like access tokens, never more than their user holds at the moment of use,
revoked and expired at once, limited in number, and bad input refused with nothing stored.

Each test makes its own tenant and customer, so the tests do not see each other's tokens."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import asyncpg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2
from portal.identity.v1 import identity_pb2 as pb
from portal.identity.v1.identity_pb2_grpc import IdentityServiceStub

from gateway.principal import call_context, principal_of
from kit import authz, context, rpc
from kit.errors import DomainError
from kit.secrets import derive
from kit.service import start
from services.identity import domain, store
from services.identity.wiring import SPEC

from ..conftest import free_port, service_settings

OWNED = "1000000001"
DELEGATED = "1000000002"
# what the owner of DELEGATED let this user do there
DELEGATED_CAPABILITIES = [authz.SUPPLY_POINTS_READ, authz.CONSUMPTION_READ, authz.READINGS_WRITE]


@dataclasses.dataclass
class Identity:
    stub: IdentityServiceStub
    running: object
    settings: object

    @property
    def db(self):
        return self.running.runtime.db

    @property
    def admin_url(self) -> str:
        return self.settings.database_url


@pytest.fixture(scope="module")
async def identity(infra, tmp_path_factory) -> AsyncIterator[Identity]:
    # no demo data: every test makes the users it needs, in a tenant of its own; accounts is only asked when someone
    # registers, which no test here does, so its address leads nowhere
    settings = service_settings(
        infra,
        tmp_path_factory.mktemp("identity"),
        demo=False,
        grpc_port=free_port(),
        service_addrs={"accounts": f"127.0.0.1:{free_port()}"},
    )
    running = await start(SPEC, settings)
    channel = rpc.channel(running.address)
    yield Identity(IdentityServiceStub(channel), running, settings)
    await channel.close()
    await running.stop()


@dataclasses.dataclass
class Customer:
    tenant_id: str
    user_id: uuid.UUID

    def acting(self, kind: str = context.USER) -> context.bound:
        return context.bound(
            context.CallContext(tenant_id=self.tenant_id, subject=str(self.user_id), subject_kind=kind)
        )

    def system(self) -> context.bound:
        return context.bound(context.CallContext(tenant_id=self.tenant_id, subject_kind=context.SYSTEM))


async def new_user(identity: Identity, tenant_id: str, kind: str = "customer") -> Customer:
    now = datetime.now(UTC)
    async with identity.db.tenant(tenant_id) as conn:
        user_id = await store.insert_user(
            conn,
            email=f"{uuid.uuid4().hex[:10]}@example.com",
            password_hash=domain.hash_password("Zcela-Nove-Heslo-2026"),
            email_verified_at=now,
            locale="cs",
            kind=kind,
            created_at=now,
        )
        if kind == "customer":
            await store.insert_grant(conn, user_id=user_id, customer_number=OWNED, role="owner", created_at=now)
            await store.insert_grant(
                conn,
                user_id=user_id,
                customer_number=DELEGATED,
                role="delegate",
                capabilities=DELEGATED_CAPABILITIES,
                created_at=now,
            )
    return Customer(tenant_id, user_id)


@pytest.fixture
async def customer(identity) -> Customer:
    return await new_user(identity, str(uuid.uuid4()))


def timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def in_days(days: float) -> Timestamp:
    return timestamp(datetime.now(UTC) + timedelta(days=days))


async def create(identity: Identity, customer: Customer, **fields) -> pb.CreatePersonalTokenResponse:
    request = {"name": f"script {uuid.uuid4().hex[:6]}", "scopes": ["supply-points:read"], "expires_at": in_days(30)}
    request.update(fields)
    with customer.acting():
        return await identity.stub.CreatePersonalToken(pb.CreatePersonalTokenRequest(**request))


async def resolve(identity: Identity, customer: Customer, value: str) -> pb.ResolveAccessTokenResponse:
    with customer.system():
        return await identity.stub.ResolveAccessToken(pb.ResolveAccessTokenRequest(access_token=value))


async def listed(identity: Identity, customer: Customer) -> list[pb.PersonalToken]:
    with customer.acting():
        return list((await identity.stub.ListPersonalTokens(pb.ListPersonalTokensRequest())).tokens)


async def introspect(identity: Identity, customer: Customer, value: str) -> dict:
    """RFC 7662 as the portal's own resource server (the trusted `portal-web` client) asks it."""
    secret = derive(identity.settings, "oauth.portal-web").hex()
    basic = base64.b64encode(f"portal-web:{secret}".encode()).decode()
    http = common_pb2.HttpRequest(
        method="POST",
        url="http://volta.localhost/oauth/introspect",
        headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
        body=urlencode({"token": value}).encode(),
    )
    with customer.system():
        resp = await identity.stub.HandleOAuth(
            pb.HandleOAuthRequest(endpoint=pb.O_AUTH_ENDPOINT_INTROSPECTION, http=http)
        )
    assert resp.http.status == 200, resp.http.body
    return json.loads(resp.http.body)


async def fetch(identity: Identity, query: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(identity.admin_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


def principal_capabilities(resolved: pb.ResolveAccessTokenResponse, tenant_id: str, number: str) -> frozenset[str]:
    """What the gateway lets the token's holder do for `number`: the call context it sends the services."""
    principal = principal_of(resolved, first_party=resolved.client_id == "portal-web")
    return call_context(accounts_pb2.Tenant(id=tenant_id), principal, customer_number=number).capabilities


async def refused(call, reason: str, field: str = "") -> DomainError:
    with pytest.raises(DomainError) as err:
        await call
    assert err.value.reason == reason
    assert err.value.field == field
    return err.value


# --- shown once, stored as a keyed hash -----------------------------------------------------------


async def test_the_value_is_returned_once_and_only_its_keyed_hash_is_stored(identity, customer):
    created = await create(identity, customer, name="Home Assistant", scopes=["consumption:read", "supply-points:read"])
    value = created.value
    assert value.startswith("ep_pat_") and len(value) == len("ep_pat_") + 43
    assert created.token.name == "Home Assistant"
    # kit.authz's order, whatever order they were sent in
    assert list(created.token.scopes) == ["supply-points:read", "consumption:read"]
    assert not created.token.customer_numbers and not created.token.HasField("last_used_at")

    (shown,) = await listed(identity, customer)
    assert shown.id == created.token.id and value not in str(shown)

    (row,) = await fetch(identity, "SELECT * FROM identity.personal_tokens WHERE id = $1", uuid.UUID(created.token.id))
    key = derive(identity.settings, "identity.personal-tokens")
    assert row["token_hash"] == domain.personal_token_hash(key, value)
    # keyed: the plain hash of the value (what a leaked table could be checked against) is not what is kept
    assert row["token_hash"] != hashlib.sha256(value.encode()).hexdigest()
    assert all(value not in str(v) for v in row.values())

    events = await fetch(
        identity,
        "SELECT event_type, payload FROM identity.outbox WHERE tenant_id = $1",
        uuid.UUID(customer.tenant_id),
    )
    assert [e["event_type"] for e in events] == ["portal.events.v1.PersonalTokenCreated"]
    assert value.encode() not in events[0]["payload"]
    (audited,) = await fetch(
        identity,
        "SELECT actor, action, after FROM identity.audit_log WHERE entity = 'personal_token' AND entity_id = $1",
        created.token.id,
    )
    assert audited["actor"] == str(customer.user_id) and audited["action"] == "created"
    assert value not in audited["after"] and "Home Assistant" in audited["after"]


# --- resolution and introspection -----------------------------------------------------------------


async def test_a_token_resolves_to_its_user_with_the_grants_and_its_scopes(identity, customer):
    created = await create(identity, customer, scopes=["supply-points:read", "consumption:read", "contact:write"])
    resolved = await resolve(identity, customer, created.value)
    assert resolved.active and resolved.client_id == domain.PERSONAL_TOKEN_CLIENT_ID
    assert resolved.user.id == str(customer.user_id)
    assert set(resolved.scopes) == {"supply-points:read", "consumption:read", "contact:write"}
    assert sorted(g.customer_number for g in resolved.grants) == [OWNED, DELEGATED]
    assert resolved.expires_at.ToDatetime(tzinfo=UTC) == created.token.expires_at.ToDatetime(tzinfo=UTC)

    # the owner's number: the scopes only, never managing access, whatever the owner may do there
    assert principal_capabilities(resolved, customer.tenant_id, OWNED) == {
        authz.SUPPLY_POINTS_READ,
        authz.CONSUMPTION_READ,
        authz.CONTACT_WRITE,
    }
    # the delegated number: what the owner granted ∩ the scopes (no contact:write, no readings:write)
    assert principal_capabilities(resolved, customer.tenant_id, DELEGATED) == {
        authz.SUPPLY_POINTS_READ,
        authz.CONSUMPTION_READ,
    }

    info = await introspect(identity, customer, created.value)
    assert info["active"] is True and info["sub"] == str(customer.user_id)
    assert info["client_id"] == domain.PERSONAL_TOKEN_CLIENT_ID and info["token_type"] == "Bearer"
    assert set(info["scope"].split()) == set(resolved.scopes)
    assert info["exp"] == int(created.token.expires_at.ToDatetime(tzinfo=UTC).timestamp())

    for unknown in (created.value[:-1] + ("A" if created.value[-1] != "A" else "B"), "ep_pat_", "ep_pat_" + "x" * 600):
        assert not (await resolve(identity, customer, unknown)).active
        assert (await introspect(identity, customer, unknown)) == {"active": False}


async def test_last_use_is_recorded_at_most_once_a_minute(identity, customer):
    created = await create(identity, customer)
    assert (await resolve(identity, customer, created.value)).active
    (first,) = await listed(identity, customer)
    assert first.HasField("last_used_at")
    assert (await resolve(identity, customer, created.value)).active
    (second,) = await listed(identity, customer)
    assert second.last_used_at == first.last_used_at
    # a minute later (moved back rather than waited for) the next use is written again
    await fetch(
        identity,
        "UPDATE identity.personal_tokens SET last_used_at = last_used_at - interval '61 seconds' WHERE id = $1",
        uuid.UUID(created.token.id),
    )
    assert (await resolve(identity, customer, created.value)).active
    (third,) = await listed(identity, customer)
    assert third.last_used_at.ToDatetime() > first.last_used_at.ToDatetime()


async def test_a_token_limited_to_a_customer_number_and_a_withdrawn_grant_take_effect_at_once(identity, customer):
    limited = await create(identity, customer, customer_numbers=[DELEGATED])
    everything = await create(identity, customer)
    assert list(limited.token.customer_numbers) == [DELEGATED]
    assert [g.customer_number for g in (await resolve(identity, customer, limited.value)).grants] == [DELEGATED]

    # the owner of DELEGATED withdraws this user's access: both tokens lose that number on their next use
    await fetch(
        identity,
        "UPDATE identity.grants SET revoked_at = now() WHERE user_id = $1 AND customer_number = $2",
        customer.user_id,
        DELEGATED,
    )
    resolved = await resolve(identity, customer, limited.value)
    assert resolved.active and not resolved.grants
    assert principal_of(resolved, first_party=False).customer_numbers == ()
    assert [g.customer_number for g in (await resolve(identity, customer, everything.value)).grants] == [OWNED]

    # and a token cannot be limited to a number the user does not (or no longer) hold
    before = await listed(identity, customer)
    for numbers in ([DELEGATED], ["9999999999"], [OWNED, "9999999999"]):
        await refused(
            create(identity, customer, customer_numbers=numbers),
            "personal_token.customer_number_unknown",
            "customer_numbers",
        )
    assert await listed(identity, customer) == before


# --- revocation, expiry, the user -----------------------------------------------------------------


async def test_a_revoked_token_stops_at_once_and_only_its_owner_revokes_it(identity, customer):
    created = await create(identity, customer)
    stranger = await new_user(identity, customer.tenant_id)
    with stranger.acting():
        await refused(
            identity.stub.RevokePersonalToken(pb.RevokePersonalTokenRequest(token_id=created.token.id)), "not_found"
        )
    assert (await resolve(identity, customer, created.value)).active

    with customer.acting():
        revoked = await identity.stub.RevokePersonalToken(pb.RevokePersonalTokenRequest(token_id=created.token.id))
        assert revoked.token.HasField("revoked_at")
        # a second click answers the same and records nothing new
        again = await identity.stub.RevokePersonalToken(pb.RevokePersonalTokenRequest(token_id=created.token.id))
        assert again.token.revoked_at == revoked.token.revoked_at
        for bad in ("", "not-a-uuid", str(uuid.uuid4())):
            await refused(identity.stub.RevokePersonalToken(pb.RevokePersonalTokenRequest(token_id=bad)), "not_found")
    assert not (await resolve(identity, customer, created.value)).active
    assert (await introspect(identity, customer, created.value)) == {"active": False}
    assert await listed(identity, customer) == []
    events = await fetch(
        identity,
        "SELECT event_type FROM identity.outbox WHERE tenant_id = $1 AND event_type LIKE '%Revoked'",
        uuid.UUID(customer.tenant_id),
    )
    assert len(events) == 1


async def test_an_expired_token_stops_and_stays_listed_as_expired(identity, customer):
    created = await create(identity, customer, expires_at=timestamp(datetime.now(UTC) + timedelta(seconds=1)))
    assert (await resolve(identity, customer, created.value)).active
    await asyncio.sleep(max(0.0, (created.token.expires_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)).total_seconds()))
    assert not (await resolve(identity, customer, created.value)).active
    assert (await introspect(identity, customer, created.value)) == {"active": False}
    (shown,) = await listed(identity, customer)
    assert shown.id == created.token.id
    # the name of an expired token is free again
    await create(identity, customer, name=created.token.name)


async def test_a_closed_account_and_a_password_reset_end_its_tokens(identity, customer):
    created = await create(identity, customer)
    other = await new_user(identity, customer.tenant_id)
    kept = await create(identity, other)
    # a reset (the way to take an account back) revokes them; the tokens of other users stay
    link = domain.new_token()
    async with identity.db.tenant(customer.tenant_id) as conn:
        expires = datetime.now(UTC) + timedelta(hours=1)
        await store.insert_link_token(conn, domain.token_hash(link), customer.user_id, "reset_password", expires)
    with customer.system():
        await identity.stub.ResetPassword(pb.ResetPasswordRequest(token=link, new_password="Uplne-Jine-Heslo-2026"))
    assert not (await resolve(identity, customer, created.value)).active
    assert (await resolve(identity, other, kept.value)).active

    await fetch(identity, "UPDATE identity.users SET status = 'closed' WHERE id = $1", other.user_id)
    assert not (await resolve(identity, other, kept.value)).active


# --- who may make them ----------------------------------------------------------------------------


async def test_tokens_and_staff_cannot_make_tokens(identity, customer):
    for kind in (context.CLIENT, context.ANONYMOUS):
        with customer.acting(kind):
            await refused(
                identity.stub.CreatePersonalToken(
                    pb.CreatePersonalTokenRequest(name="x", scopes=["supply-points:read"], expires_at=in_days(1))
                ),
                "unauthenticated",
            )
    staff = await new_user(identity, customer.tenant_id, kind="staff")
    await refused(create(identity, staff), "forbidden")
    assert await listed(identity, staff) == []


async def test_at_most_twenty_live_tokens(identity, customer):
    for i in range(domain.MAX_ACTIVE_PERSONAL_TOKENS):
        last = await create(identity, customer, name=f"sensor {i}")
    err = await refused(create(identity, customer, name="one too many"), "personal_token.limit")
    assert err.params == {"max": "20"}
    assert len(await listed(identity, customer)) == domain.MAX_ACTIVE_PERSONAL_TOKENS
    with customer.acting():
        await identity.stub.RevokePersonalToken(pb.RevokePersonalTokenRequest(token_id=last.token.id))
    await create(identity, customer, name="one too many")


async def test_bad_input_is_refused_with_its_reason_and_stores_nothing(identity, customer):
    await create(identity, customer, name="Tepelné čerpadlo")
    before = await listed(identity, customer)
    now = datetime.now(UTC)
    cases = [
        ({"name": ""}, "personal_token.name_required", "name"),
        ({"name": " \t\n\x00 "}, "personal_token.name_required", "name"),
        ({"name": "x" * 81}, "personal_token.name_too_long", "name"),
        ({"name": "TEPELNÉ ČERPADLO"}, "personal_token.name_taken", "name"),
        ({"scopes": []}, "personal_token.scopes_required", "scopes"),
        ({"scopes": ["access-manage"]}, "personal_token.scope_unknown", "scopes"),
        ({"scopes": ["access:manage"]}, "personal_token.scope_unknown", "scopes"),
        ({"scopes": ["supply-points:read", "openid"]}, "personal_token.scope_unknown", "scopes"),
        ({"expires_at": None}, "personal_token.expiry_invalid", "expires_at"),
        ({"expires_at": timestamp(now - timedelta(seconds=1))}, "personal_token.expiry_invalid", "expires_at"),
        ({"expires_at": timestamp(now + timedelta(days=367))}, "personal_token.expiry_invalid", "expires_at"),
        ({"expires_at": Timestamp(seconds=2**62)}, "personal_token.expiry_invalid", "expires_at"),
    ]
    for fields, reason, field in cases:
        err = await refused(create(identity, customer, **fields), reason, field)
        if reason == "personal_token.name_too_long":
            assert err.params == {"max": "80"}
    assert await listed(identity, customer) == before
    # a name is trimmed and kept as typed otherwise; 80 characters are fine
    made = await create(identity, customer, name="  " + "ž" * 80 + " ")
    assert made.token.name == "ž" * 80
