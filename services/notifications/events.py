"""Events the notifications service turns into messages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from portal.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from portal.events.v1 import accounts_pb2 as account_events
from portal.events.v1 import hdo_pb2 as hdo_events
from portal.events.v1 import identity_pb2 as identity_events
from portal.events.v1 import requests_pb2 as request_events
from portal.identity.v1 import identity_pb2, identity_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import changes
from kit.bus import EventMeta, Subscription
from kit.config import Settings

from . import domain, store
from .outages import OutageNotices
from .tenants import TenantDirectory

# where the gateway serves each link
LINK_PATHS = {
    "email_verification": "/verify-email",
    "password_reset": "/password-reset/new",
}


def subscriptions(
    settings: Settings,
    tenants: TenantDirectory,
    wake: Callable[[], None],
    outages: OutageNotices,
    accounts: accounts_pb2_grpc.AccountsServiceStub,
    identity: identity_pb2_grpc.IdentityServiceStub,
) -> list[Subscription]:
    async def queue_email(
        conn: AsyncConnection,
        meta: EventMeta,
        *,
        template: str,
        to: str,
        locale: str,
        token: str = "",
        expires_at: Timestamp | None = None,
    ) -> None:
        tenant = await tenants.get(meta.tenant_id)
        chosen = domain.pick_locale(locale, tenant.default_locale)
        link = ""
        if token:
            link = f"{settings.public_base_url(tenant.hosts[0])}{LINK_PATHS[template]}?token={token}"
        message = domain.render(
            template,
            chosen,
            brand=tenant.name,
            link=link,
            expires_at=expires_at.ToDatetime(tzinfo=UTC) if expires_at else None,
            time_zone=tenant.time_zone,
        )
        await store.queue(
            conn,
            tenant_id=meta.tenant_id,
            event_id=meta.event_id,
            channel="email",
            recipient=to,
            template=template,
            locale=chosen,
            subject=message.subject,
            body=message.body,
        )
        wake()

    async def on_verification(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        await queue_email(
            conn,
            meta,
            template="email_verification",
            to=e.email,
            locale=e.locale,
            token=e.token,
            expires_at=e.expires_at,
        )

    async def on_reset(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        await queue_email(
            conn,
            meta,
            template="password_reset",
            to=e.email,
            locale=e.locale,
            token=e.token,
            expires_at=e.expires_at,
        )

    async def on_password_changed(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        await queue_email(conn, meta, template="password_changed", to=e.email, locale=e.locale)

    async def on_outage_planned(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        await outages.planned(conn, e.outage)

    async def on_outage_changed(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        await outages.changed(conn, e.outage, e.previous)

    async def on_outage_cancelled(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        await outages.cancelled(conn, e.outage)

    async def request_email(
        conn: AsyncConnection, e: Any, meta: EventMeta, template: str, render: Callable[..., domain.Message]
    ) -> None:
        """E-mails the customer of a request about it: `render(locale, brand=…, request_type=…, customer_line=…)`
        says what. By e-mail only (the customer's channel choice covers outage notices so far), in the language
        the customer's owner login chose, else the brand's."""
        customer = (
            await accounts.GetCustomer(accounts_pb2.GetCustomerRequest(customer_number=e.customer_number))
        ).customer
        if not customer.email:
            return
        tenant = await tenants.get(meta.tenant_id)
        chosen = await identity.GetCustomerLocale(
            identity_pb2.GetCustomerLocaleRequest(customer_number=e.customer_number)
        )
        locale = domain.pick_locale(chosen.locale, tenant.default_locale)
        message = render(
            locale, brand=tenant.name, request_type=e.type, customer_line=tenant.contact_lines.customer_line
        )
        await store.queue(
            conn,
            tenant_id=meta.tenant_id,
            event_id=meta.event_id,
            channel="email",
            recipient=customer.email,
            template=template,
            locale=locale,
            subject=message.subject,
            body=message.body,
        )
        wake()

    async def on_request_state_changed(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        await request_email(
            conn,
            e,
            meta,
            domain.REQUEST_STATE_CHANGED,
            functools.partial(domain.render_request, state=e.to_state, reason=e.reason),
        )

    async def on_request_commented(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        await request_email(
            conn, e, meta, domain.REQUEST_COMMENTED, functools.partial(domain.render_comment, text=e.text)
        )

    async def on_change(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        """The customer's e-mail (as it is now) is told of an immediate change, and so is an address the change
        replaced, so that a change nobody asked for does not go unnoticed; in the brand's language, as the
        customer's own is not known here."""
        described = changes.describe(e)
        if described is None:
            return
        request_type, values = described
        customer = (
            await accounts.GetCustomer(accounts_pb2.GetCustomerRequest(customer_number=e.customer_number))
        ).customer
        tenant = await tenants.get(meta.tenant_id)
        locale = domain.pick_locale("", tenant.default_locale)
        message = domain.render_change(
            locale,
            brand=tenant.name,
            request_type=request_type,
            values=values,
            customer_line=tenant.contact_lines.customer_line,
        )
        replaced = e.email_before if isinstance(e, account_events.ContactChanged) else ""
        for recipient in dict.fromkeys(r for r in (customer.email, replaced) if r):
            await store.queue(
                conn,
                tenant_id=meta.tenant_id,
                event_id=meta.event_id,
                channel="email",
                recipient=recipient,
                template=domain.IMMEDIATE_CHANGE,
                locale=locale,
                subject=message.subject,
                body=message.body,
            )
        wake()

    return [
        Subscription("accounts", account_events.ContactChanged, on_change),
        Subscription("accounts", account_events.AddressChanged, on_change),
        Subscription("accounts", account_events.ContractChanged, on_change),
        Subscription("identity", identity_events.EmailVerificationRequested, on_verification),
        Subscription("identity", identity_events.PasswordResetRequested, on_reset),
        Subscription("identity", identity_events.PasswordChanged, on_password_changed),
        Subscription("hdo", hdo_events.OutagePlanned, on_outage_planned),
        Subscription("hdo", hdo_events.OutageChanged, on_outage_changed),
        Subscription("hdo", hdo_events.OutageCancelled, on_outage_cancelled),
        Subscription("requests", request_events.RequestStateChanged, on_request_state_changed),
        Subscription("requests", request_events.RequestCommented, on_request_commented),
    ]
