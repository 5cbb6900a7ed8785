"""The I/O around the pure OAuth core (oauth.py): load the snapshot a request needs, apply its changes.

Load, decide and write happen in one tenant transaction, with the code and token rows locked, so two requests
racing with one authorization code or refresh token cannot both succeed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from portal.common.v1 import common_pb2
from portal.identity.v1 import identity_pb2 as pb
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.db import bound_tenant, scoped

from . import domain, oauth, store

ENDPOINTS = {
    pb.O_AUTH_ENDPOINT_AUTHORIZE: oauth.Endpoint.AUTHORIZE,
    pb.O_AUTH_ENDPOINT_TOKEN: oauth.Endpoint.TOKEN,
    pb.O_AUTH_ENDPOINT_REVOCATION: oauth.Endpoint.REVOCATION,
    pb.O_AUTH_ENDPOINT_INTROSPECTION: oauth.Endpoint.INTROSPECTION,
    pb.O_AUTH_ENDPOINT_USERINFO: oauth.Endpoint.USERINFO,
    pb.O_AUTH_ENDPOINT_DISCOVERY: oauth.Endpoint.DISCOVERY,
    pb.O_AUTH_ENDPOINT_JWKS: oauth.Endpoint.JWKS,
}

# The gateway's own client is configuration, not data: it exists for every tenant, its secret is derived
# from the deployment's master secret, and it may only redirect back to the host it was called on.
WEB_CLIENT_ID = "portal-web"
WEB_CALLBACK = "/auth/callback"


def issuer_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class OAuthFlow:
    def __init__(self, db: Any, web_client_secret: str, personal_token_key: bytes) -> None:
        self.db = db
        self.web_secret_hash = domain.token_hash(web_client_secret)
        self.personal_token_key = personal_token_key

    async def handle(self, request: pb.HandleOAuthRequest) -> common_pb2.HttpResponse:
        endpoint = ENDPOINTS.get(request.endpoint)
        if endpoint is None:
            return common_pb2.HttpResponse(status=404)
        http = oauth.HttpRequest(
            method=request.http.method,
            url=request.http.url,
            headers=dict(request.http.headers),
            body=request.http.body,
        )
        query = oauth.keys_needed(endpoint, http)
        now = datetime.now(UTC)
        async with self.db.tenant() as conn:
            snapshot = await self._snapshot(conn, query, request.session_id, issuer_of(http.url), now)
            response, changes = oauth.handle(endpoint, http, snapshot, now)
            await self._apply(conn, changes, now)
        return common_pb2.HttpResponse(status=response.status, headers=response.headers, body=response.body)

    async def _snapshot(
        self, conn: AsyncConnection, query: oauth.SnapshotQuery, session_id: str, issuer: str, now: datetime
    ) -> oauth.Snapshot:
        clients = await self._clients(conn, query.client_ids, issuer)
        codes = []
        if query.code_hashes:
            rows = await conn.execute(
                sa.select(store.oauth_codes)
                .where(store.oauth_codes.c.code_hash.in_(query.code_hashes), scoped(conn, store.oauth_codes))
                .with_for_update()
            )
            codes = [oauth.CodeRow.from_data(r.code_hash, r.data, r.expires_at, r.used_at) for r in rows]
        tokens = []
        if query.token_hashes:
            t = store.oauth_tokens
            rows = await conn.execute(
                sa.select(t)
                .where(sa.or_(t.c.access_hash.in_(query.token_hashes), t.c.refresh_hash.in_(query.token_hashes)))
                .where(scoped(conn, t))
                .with_for_update()
            )
            tokens = [self._token_row(r) for r in rows]
        tokens += await self._personal_tokens(conn, query.personal_tokens)
        signed_in_user = signed_in_at = None
        if query.signed_in_user and session_id:
            try:
                live = await store.live_session(conn, uuid.UUID(session_id), now)
            except ValueError:
                live = None
            if live is not None:
                signed_in_user, signed_in_at = live.user_id, live.created_at
        user_ids = {c.user_id for c in codes} | {t.user_id for t in tokens}
        if signed_in_user:
            user_ids.add(signed_in_user)
        users = []
        if user_ids:
            rows = await conn.execute(
                sa.select(store.users).where(store.users.c.id.in_(user_ids), scoped(conn, store.users))
            )
            users = [
                oauth.User(
                    id=r.id,
                    email=r.email,
                    email_verified=r.email_verified_at is not None,
                    locale=r.locale,
                    active=r.status == "active",
                )
                for r in rows
            ]
        keys = await self._signing_keys(conn, now) if query.signing_keys else ()
        return oauth.Snapshot(
            issuer=issuer,
            clients=clients,
            codes=tuple(codes),
            tokens=tuple(tokens),
            users=tuple(users),
            signing_keys=keys,
            signed_in_user=signed_in_user,
            signed_in_at=signed_in_at,
        )

    async def _clients(self, conn: AsyncConnection, ids: frozenset[str], issuer: str) -> tuple[oauth.Client, ...]:
        found = []
        if WEB_CLIENT_ID in ids:
            found.append(
                oauth.Client(
                    client_id=WEB_CLIENT_ID,
                    redirect_uris=(issuer + WEB_CALLBACK,),
                    scopes=oauth.IDENTITY_SCOPES,
                    secret_hash=self.web_secret_hash,
                    trusted=True,
                    name="Customer portal",
                )
            )
        others = ids - {WEB_CLIENT_ID}
        if others:
            c = store.oauth_clients
            rows = await conn.execute(sa.select(c).where(c.c.client_id.in_(others), scoped(conn, c)))
            found += [
                oauth.Client(
                    client_id=r.client_id,
                    redirect_uris=tuple(r.redirect_uris),
                    scopes=tuple(r.scopes),
                    secret_hash=r.secret_hash,
                    trusted=r.trusted,
                    name=r.name,
                )
                for r in rows
            ]
        return tuple(found)

    async def _signing_keys(self, conn: AsyncConnection, now: datetime) -> tuple[dict[str, Any], ...]:
        k = store.signing_keys
        rows = (
            await conn.execute(
                sa.select(k.c.private_jwk)
                .where(k.c.retired_at.is_(None), scoped(conn, k))
                .order_by(k.c.created_at.desc())
            )
        ).all()
        if rows:
            return tuple(r.private_jwk for r in rows)
        key = oauth.new_signing_key()
        await conn.execute(
            k.insert().values(kid=key["kid"], tenant_id=uuid.UUID(bound_tenant(conn)), private_jwk=key, created_at=now)
        )
        return (key,)

    async def _personal_tokens(self, conn: AsyncConnection, values: frozenset[str]) -> list[oauth.TokenRow]:
        """Personal access tokens as the introspection endpoint sees them: access tokens of no client, keyed by the
        same unkeyed hash as OAuth tokens so the pure core finds them by the value presented."""
        found = []
        for value in values:
            row = await store.personal_token_by_hash(conn, domain.personal_token_hash(self.personal_token_key, value))
            if row is not None:
                found.append(
                    oauth.TokenRow(
                        id=row.id,
                        access_hash=domain.token_hash(value),
                        refresh_hash=None,
                        client_id=domain.PERSONAL_TOKEN_CLIENT_ID,
                        user_id=row.user_id,
                        scope=" ".join(row.scopes),
                        family_id=row.id,
                        issued_at=row.created_at,
                        access_expires_at=row.expires_at,
                        refresh_expires_at=None,
                        revoked_at=row.revoked_at,
                    )
                )
        return found

    @staticmethod
    def _token_row(r: Any) -> oauth.TokenRow:
        return oauth.TokenRow(
            id=r.id,
            access_hash=r.access_hash,
            refresh_hash=r.refresh_hash,
            client_id=r.client_id,
            user_id=r.user_id,
            scope=r.scope,
            family_id=r.family_id,
            issued_at=r.issued_at,
            access_expires_at=r.access_expires_at,
            refresh_expires_at=r.refresh_expires_at,
            rotated_at=r.rotated_at,
            revoked_at=r.revoked_at,
        )

    async def _apply(self, conn: AsyncConnection, changes: oauth.Changes, now: datetime) -> None:
        tenant_id = uuid.UUID(bound_tenant(conn))
        codes, tokens = store.oauth_codes, store.oauth_tokens
        if changes.new_codes:
            await conn.execute(
                codes.insert().values(
                    [
                        {"code_hash": c.code_hash, "tenant_id": tenant_id, "data": c.data(), "expires_at": c.expires_at}
                        for c in changes.new_codes
                    ]
                )
            )
        if changes.used_codes:
            await conn.execute(codes.update().where(codes.c.code_hash.in_(changes.used_codes)).values(used_at=now))
        if changes.new_tokens:
            await conn.execute(
                tokens.insert().values(
                    [
                        {
                            "id": t.id,
                            "tenant_id": tenant_id,
                            "access_hash": t.access_hash,
                            "refresh_hash": t.refresh_hash,
                            "client_id": t.client_id,
                            "user_id": t.user_id,
                            "scope": t.scope,
                            "family_id": t.family_id,
                            "issued_at": t.issued_at,
                            "access_expires_at": t.access_expires_at,
                            "refresh_expires_at": t.refresh_expires_at,
                        }
                        for t in changes.new_tokens
                    ]
                )
            )
        if changes.rotated_tokens:
            await conn.execute(tokens.update().where(tokens.c.id.in_(changes.rotated_tokens)).values(rotated_at=now))
        if changes.revoked_tokens:
            await conn.execute(
                tokens.update()
                .where(tokens.c.id.in_(changes.revoked_tokens), tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        if changes.revoked_families:
            await conn.execute(
                tokens.update()
                .where(tokens.c.family_id.in_(changes.revoked_families), tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    async def active_token(self, conn: AsyncConnection, access_token: str, now: datetime) -> Any:
        """The live token row of a bearer access token, or None (unknown, expired or revoked)."""
        if not access_token or len(access_token) > 512:
            return None
        t = store.oauth_tokens
        return (
            await conn.execute(
                sa.select(t).where(
                    t.c.access_hash == domain.token_hash(access_token),
                    t.c.revoked_at.is_(None),
                    t.c.access_expires_at > now,
                    scoped(conn, t),
                )
            )
        ).first()

    async def revoke_user_tokens(self, conn: AsyncConnection, user_id: uuid.UUID, now: datetime) -> None:
        t = store.oauth_tokens
        await conn.execute(
            t.update().where(t.c.user_id == user_id, t.c.revoked_at.is_(None), scoped(conn, t)).values(revoked_at=now)
        )
