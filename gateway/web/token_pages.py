"""Personal access tokens (identity service): the signed-in customer names, scopes and dates tokens for scripts and
home automation, sees when each was last used, and revokes them.

A new token's value is rendered straight into the answer to the POST that created it, with `no-store`: it never
goes into the session cookie, a redirect or a later page, so closing the page is the last chance to copy it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.response import Redirect
from portal.identity.v1 import identity_pb2

from kit import authz, context
from kit.errors import DomainError

from .. import i18n
from ..principal import Principal
from ..services import Services
from . import render, views
from .pages import MAX_FIELD, ctx, customer_page, signed_in

FLASH_KEY = "tokens_flash"
# a crafted form with more boxes than the page has gets no further than these
MAX_CHOICES = 50
NO_STORE = {"Cache-Control": "no-store"}
# the longest expiry the date field offers; identity allows the rest of that day on top
LAST_EXPIRY_DAY = timedelta(days=365)
EMPTY_FORM = views.TokenForm()


def _at(ts) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def row(token: identity_pb2.PersonalToken, now: datetime) -> views.PersonalTokenRow:
    return views.PersonalTokenRow(
        id=token.id,
        name=token.name,
        scopes=tuple(token.scopes),
        customer_numbers=tuple(token.customer_numbers),
        created_at=_at(token.created_at),
        expires_at=_at(token.expires_at),
        last_used_at=_at(token.last_used_at) if token.HasField("last_used_at") else None,
        expired=_at(token.expires_at) <= now,
    )


def expiry(form: views.TokenForm, zone: ZoneInfo, now: datetime) -> datetime:
    """When a token of the form expires: so many days from now, or the end of the chosen local day."""
    if form.expires in views.TokensView.expiry_days:
        return now + timedelta(days=int(form.expires))
    if form.expires != "date":
        raise DomainError("personal_token.expiry_invalid", field="expires_at")
    try:
        day = date.fromisoformat(form.expires_on)
    except ValueError:
        raise DomainError("date.invalid", field="expires_on") from None
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)


async def _page(
    request: Request,
    services: Services,
    principal: Principal,
    *,
    form: views.TokenForm = EMPTY_FORM,
    errors: views.FormErrors = views.NO_ERRORS,
    created: views.NewPersonalToken | None = None,
    status: int = 200,
) -> Response:
    page_ctx = await customer_page(request, services, principal, "profile")
    with context.bound(ctx(request, principal)):
        resp = await services.identity.ListPersonalTokens(identity_pb2.ListPersonalTokensRequest())
    flash = request.session.pop(FLASH_KEY, "") if status == 200 and created is None else ""
    if flash:
        page_ctx = dataclasses.replace(page_ctx, flashes=(views.Flash(flash, "success"),))
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(request.state.tenant.time_zone)).date()
    view = views.TokensView(
        tokens=tuple(row(t, now) for t in resp.tokens),
        scopes=tuple(authz.SCOPE_CAPABILITIES),
        customers=page_ctx.customers,
        max_active=resp.max_active,
        first_day=today,
        last_day=today + LAST_EXPIRY_DAY,
        form=form,
        created=created,
    )
    return render.html(
        request, "personal_tokens.html", page_ctx, status=status, headers=NO_STORE, view=view, errors=errors
    )


@get("/profile/tokens", name="personal_tokens")
async def tokens_page(request: Request, services: Services) -> Response:
    return await _page(request, services, await signed_in(request, services))


async def _form(request: Request) -> views.TokenForm:
    data = await request.form()

    def one(name: str) -> str:
        value = data.get(name, "")
        return value[:MAX_FIELD] if isinstance(value, str) else ""

    def many(name: str) -> frozenset[str]:
        return frozenset(v[:MAX_FIELD] for v in data.getall(name, [])[:MAX_CHOICES] if isinstance(v, str))

    return views.TokenForm(
        name=one("name"),
        scopes=many("scopes"),
        customer_numbers=many("customer_numbers"),
        expires=one("expires_at"),
        expires_on=one("expires_on"),
    )


@post("/profile/tokens", name="personal_tokens_create")
async def create_token(request: Request, services: Services) -> Response:
    principal = await signed_in(request, services)
    form = await _form(request)
    try:
        expires_at = expiry(form, ZoneInfo(request.state.tenant.time_zone), datetime.now(UTC))
        with context.bound(ctx(request, principal)):
            resp = await services.identity.CreatePersonalToken(
                identity_pb2.CreatePersonalTokenRequest(
                    name=form.name,
                    scopes=sorted(form.scopes),
                    customer_numbers=sorted(form.customer_numbers),
                    expires_at=expires_at,
                )
            )
    except DomainError as err:
        if not err.reason.startswith(("personal_token.", "date.")):
            raise
        errors = render.form_errors(render.page(request, principal), err)
        return await _page(request, services, principal, form=form, errors=errors, status=400)
    created = views.NewPersonalToken(
        name=resp.token.name,
        value=resp.value,
        expires_at=_at(resp.token.expires_at),
        example_url=str(request.url.with_replacements(path="/api/v1/me", query="")),
    )
    return await _page(request, services, principal, created=created)


@post("/profile/tokens/{token_id:str}/revoke", name="personal_tokens_revoke")
async def revoke_token(request: Request, services: Services, token_id: str) -> Response:
    principal = await signed_in(request, services)
    with context.bound(ctx(request, principal)):
        resp = await services.identity.RevokePersonalToken(
            identity_pb2.RevokePersonalTokenRequest(token_id=token_id[:MAX_FIELD])
        )
    revoked = views.N_("The token %(name)s has been revoked: whatever uses it is refused from now on.")
    request.session[FLASH_KEY] = i18n.gettext(revoked, render.locale(request, principal), name=resp.token.name)
    return Redirect(path=views.PATHS["profile_tokens"])


ROUTES = [tokens_page, create_token, revoke_token]
