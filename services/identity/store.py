"""All SQL of the identity service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.db import bound_tenant, scoped

metadata = sa.MetaData()


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True))


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("email", sa.Text),
    sa.Column("password_hash", sa.Text),
    _ts("email_verified_at"),
    sa.Column("locale", sa.Text),
    sa.Column("kind", sa.Text),
    sa.Column("staff_roles", ARRAY(sa.Text)),
    sa.Column("totp_secret", sa.Text),
    sa.Column("totp_pending_secret", sa.Text),
    sa.Column("totp_last_step", sa.BigInteger),
    sa.Column("status", sa.Text),
    _ts("created_at"),
)
link_tokens = sa.Table(
    "link_tokens",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("user_id", sa.Uuid),
    sa.Column("purpose", sa.Text),
    _ts("expires_at"),
    _ts("used_at"),
)
throttles = sa.Table(
    "throttles",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("failures", sa.Integer),
    _ts("last_failure_at"),
)
grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("user_id", sa.Uuid),
    sa.Column("customer_number", sa.Text),
    sa.Column("role", sa.Text),
    sa.Column("capabilities", ARRAY(sa.Text)),
    sa.Column("supply_point_ids", ARRAY(sa.Text)),
    _ts("expires_at"),
    _ts("created_at"),
    _ts("revoked_at"),
)
login_sessions = sa.Table(
    "login_sessions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("user_id", sa.Uuid),
    sa.Column("client_address", sa.Text),
    sa.Column("second_factor_pending", sa.Boolean),
    _ts("created_at"),
    _ts("expires_at"),
    _ts("ended_at"),
)
oauth_clients = sa.Table(
    "oauth_clients",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("secret_hash", sa.Text),
    sa.Column("redirect_uris", ARRAY(sa.Text)),
    sa.Column("scopes", ARRAY(sa.Text)),
    sa.Column("trusted", sa.Boolean),
    _ts("created_at"),
)
oauth_codes = sa.Table(
    "oauth_codes",
    metadata,
    sa.Column("code_hash", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("data", JSONB),
    _ts("expires_at"),
    _ts("used_at"),
)
oauth_tokens = sa.Table(
    "oauth_tokens",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("access_hash", sa.Text),
    sa.Column("refresh_hash", sa.Text),
    sa.Column("client_id", sa.Text),
    sa.Column("user_id", sa.Uuid),
    sa.Column("scope", sa.Text),
    sa.Column("family_id", sa.Uuid),
    sa.Column("data", JSONB),
    _ts("issued_at"),
    _ts("access_expires_at"),
    _ts("refresh_expires_at"),
    _ts("rotated_at"),
    _ts("revoked_at"),
)
personal_tokens = sa.Table(
    "personal_tokens",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("user_id", sa.Uuid),
    sa.Column("token_hash", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("scopes", ARRAY(sa.Text)),
    sa.Column("customer_numbers", ARRAY(sa.Text)),
    _ts("created_at"),
    _ts("expires_at"),
    _ts("last_used_at"),
    _ts("revoked_at"),
)
signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("private_jwk", JSONB),
    _ts("created_at"),
    _ts("retired_at"),
)


def _tenant(conn: AsyncConnection) -> uuid.UUID:
    return uuid.UUID(bound_tenant(conn))


# --- users -------------------------------------------------------------------------------------------


async def user_by_email(conn: AsyncConnection, email: str) -> sa.Row | None:
    return (await conn.execute(sa.select(users).where(users.c.email == email, scoped(conn, users)))).first()


async def user_by_id(conn: AsyncConnection, user_id: uuid.UUID, *, lock: bool = False) -> sa.Row | None:
    query = sa.select(users).where(users.c.id == user_id, scoped(conn, users))
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def users_by_ids(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[sa.Row]:
    query = sa.select(users).where(users.c.id.in_(list(user_ids)), scoped(conn, users)).order_by(users.c.email)
    return list((await conn.execute(query)).all())


async def owner_locale(conn: AsyncConnection, customer_number: str, now: datetime) -> str:
    """The language the owner of a customer number chose, the earliest live owner's; "" when none is known."""
    query = (
        sa.select(users.c.locale)
        .join(grants, grants.c.user_id == users.c.id)
        .where(
            scoped(conn, grants),
            grants.c.customer_number == customer_number,
            grants.c.role == "owner",
            grants.c.revoked_at.is_(None),
            sa.or_(grants.c.expires_at.is_(None), grants.c.expires_at > now),
            users.c.status == "active",
        )
        .order_by(grants.c.created_at)
        .limit(1)
    )
    return await conn.scalar(query) or ""


async def insert_user(conn: AsyncConnection, **values: Any) -> uuid.UUID:
    user_id = values.pop("id", None) or uuid.uuid4()
    await conn.execute(users.insert().values(id=user_id, tenant_id=_tenant(conn), **values))
    return user_id


async def update_user(conn: AsyncConnection, user_id: uuid.UUID, **values: Any) -> None:
    await conn.execute(users.update().where(users.c.id == user_id, scoped(conn, users)).values(**values))


# --- link tokens (e-mail verification, password reset) ---------------------------------------------------


async def insert_link_token(
    conn: AsyncConnection, token_hash: str, user_id: uuid.UUID, purpose: str, expires_at: datetime
) -> None:
    await conn.execute(
        link_tokens.insert().values(
            token_hash=token_hash, tenant_id=_tenant(conn), user_id=user_id, purpose=purpose, expires_at=expires_at
        )
    )


async def link_token(conn: AsyncConnection, token_hash: str, purpose: str) -> sa.Row | None:
    """Locked, so two clicks on one link cannot both use it."""
    return (
        await conn.execute(
            sa.select(link_tokens)
            .where(link_tokens.c.token_hash == token_hash, link_tokens.c.purpose == purpose)
            .where(scoped(conn, link_tokens))
            .with_for_update()
        )
    ).first()


async def use_link_token(conn: AsyncConnection, token_hash: str, now: datetime) -> None:
    await conn.execute(link_tokens.update().where(link_tokens.c.token_hash == token_hash).values(used_at=now))


async def retire_link_tokens(conn: AsyncConnection, user_id: uuid.UUID, purpose: str, now: datetime) -> None:
    await conn.execute(
        link_tokens.update()
        .where(link_tokens.c.user_id == user_id, link_tokens.c.purpose == purpose, link_tokens.c.used_at.is_(None))
        .where(scoped(conn, link_tokens))
        .values(used_at=now)
    )


# --- throttles ---------------------------------------------------------------------------------------


async def throttle_rows(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, sa.Row]:
    rows = await conn.execute(sa.select(throttles).where(throttles.c.key.in_(list(keys)), scoped(conn, throttles)))
    return {r.key: r for r in rows}


async def save_throttle(conn: AsyncConnection, key: str, failures: int, last_failure_at: datetime) -> None:
    stmt = insert(throttles).values(
        tenant_id=_tenant(conn), key=key, failures=failures, last_failure_at=last_failure_at
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "key"],
            set_={"failures": stmt.excluded.failures, "last_failure_at": stmt.excluded.last_failure_at},
        )
    )


async def clear_throttle(conn: AsyncConnection, key: str) -> None:
    await conn.execute(throttles.delete().where(throttles.c.key == key, scoped(conn, throttles)))


# --- grants ------------------------------------------------------------------------------------------


async def live_grants(conn: AsyncConnection, user_id: uuid.UUID, now: datetime) -> list[sa.Row]:
    return list(
        (
            await conn.execute(
                sa.select(grants)
                .where(grants.c.user_id == user_id, grants.c.revoked_at.is_(None), scoped(conn, grants))
                .where(sa.or_(grants.c.expires_at.is_(None), grants.c.expires_at > now))
                .order_by(grants.c.customer_number)
            )
        ).all()
    )


async def owner_exists(conn: AsyncConnection, customer_number: str) -> bool:
    query = sa.select(grants.c.id).where(
        grants.c.customer_number == customer_number,
        grants.c.role == "owner",
        grants.c.revoked_at.is_(None),
        scoped(conn, grants),
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def insert_grant(conn: AsyncConnection, **values: Any) -> uuid.UUID:
    grant_id = values.pop("id", None) or uuid.uuid4()
    await conn.execute(grants.insert().values(id=grant_id, tenant_id=_tenant(conn), **values))
    return grant_id


# --- login sessions ----------------------------------------------------------------------------------


async def insert_session(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    client_address: str,
    now: datetime,
    expires_at: datetime,
    *,
    second_factor_pending: bool = False,
) -> uuid.UUID:
    session_id = uuid.uuid4()
    await conn.execute(
        login_sessions.insert().values(
            id=session_id,
            tenant_id=_tenant(conn),
            user_id=user_id,
            client_address=client_address,
            second_factor_pending=second_factor_pending,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return session_id


async def live_session(
    conn: AsyncConnection, session_id: uuid.UUID, now: datetime, *, second_factor_pending: bool = False
) -> sa.Row | None:
    query = sa.select(login_sessions).where(
        login_sessions.c.id == session_id,
        login_sessions.c.ended_at.is_(None),
        login_sessions.c.expires_at > now,
        login_sessions.c.second_factor_pending.is_(second_factor_pending),
        scoped(conn, login_sessions),
    )
    if second_factor_pending:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def end_session(conn: AsyncConnection, session_id: uuid.UUID, now: datetime) -> sa.Row | None:
    return (
        await conn.execute(
            login_sessions.update()
            .where(login_sessions.c.id == session_id, scoped(conn, login_sessions))
            .values(ended_at=now)
            .returning(login_sessions.c.user_id)
        )
    ).first()


async def end_user_sessions(conn: AsyncConnection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        login_sessions.update()
        .where(login_sessions.c.user_id == user_id, login_sessions.c.ended_at.is_(None))
        .where(scoped(conn, login_sessions))
        .values(ended_at=now)
    )


# --- personal access tokens --------------------------------------------------------------------------


async def insert_personal_token(conn: AsyncConnection, **values: Any) -> sa.Row:
    return (
        await conn.execute(
            personal_tokens.insert()
            .values(id=uuid.uuid4(), tenant_id=_tenant(conn), **values)
            .returning(personal_tokens)
        )
    ).one()


async def live_personal_tokens(conn: AsyncConnection, user_id: uuid.UUID, now: datetime) -> list[sa.Row]:
    t = personal_tokens
    query = sa.select(t).where(t.c.user_id == user_id, t.c.revoked_at.is_(None), t.c.expires_at > now, scoped(conn, t))
    return list((await conn.execute(query)).all())


async def listed_personal_tokens(conn: AsyncConnection, user_id: uuid.UUID, expired_since: datetime) -> list[sa.Row]:
    """Live tokens and those expired after `expired_since`, newest first; revoked ones are gone from the list."""
    t = personal_tokens
    query = (
        sa.select(t)
        .where(t.c.user_id == user_id, t.c.revoked_at.is_(None), t.c.expires_at > expired_since, scoped(conn, t))
        .order_by(t.c.created_at.desc(), t.c.id)
    )
    return list((await conn.execute(query)).all())


async def personal_token_by_hash(conn: AsyncConnection, token_hash: str) -> sa.Row | None:
    t = personal_tokens
    return (await conn.execute(sa.select(t).where(t.c.token_hash == token_hash, scoped(conn, t)))).first()


async def personal_token_of(conn: AsyncConnection, token_id: uuid.UUID, user_id: uuid.UUID) -> sa.Row | None:
    """Another user's token is as unknown as one that does not exist; locked for the revocation."""
    t = personal_tokens
    query = sa.select(t).where(t.c.id == token_id, t.c.user_id == user_id, scoped(conn, t)).with_for_update()
    return (await conn.execute(query)).first()


async def revoke_personal_token(conn: AsyncConnection, token_id: uuid.UUID, now: datetime) -> sa.Row:
    t = personal_tokens
    return (
        await conn.execute(t.update().where(t.c.id == token_id, scoped(conn, t)).values(revoked_at=now).returning(t))
    ).one()


async def revoke_user_personal_tokens(conn: AsyncConnection, user_id: uuid.UUID, now: datetime) -> list[sa.Row]:
    t = personal_tokens
    return list(
        (
            await conn.execute(
                t.update()
                .where(t.c.user_id == user_id, t.c.revoked_at.is_(None), t.c.expires_at > now, scoped(conn, t))
                .values(revoked_at=now)
                .returning(t)
            )
        ).all()
    )


async def personal_token_used(conn: AsyncConnection, token_id: uuid.UUID, now: datetime, precision: timedelta) -> None:
    """Records a use unless one was recorded less than `precision` ago: the condition, not a read before the write,
    keeps a busy token at one write per `precision`."""
    t = personal_tokens
    await conn.execute(
        t.update()
        .where(t.c.id == token_id, scoped(conn, t))
        .where(sa.or_(t.c.last_used_at.is_(None), t.c.last_used_at <= now - precision))
        .values(last_used_at=now)
    )
