"""Turning a request and a view model into a page: brand, language, CSRF token, who is signed in."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from .. import i18n
from ..principal import Principal
from . import views

ENV = i18n.make_environment()
_BRANDS: dict[str, tuple[object, views.Brand]] = {}


def brand(request: Request) -> views.Brand:
    tenant = request.state.tenant
    hit = _BRANDS.get(tenant.id)
    if hit is None or hit[0] != tenant:
        hit = (tenant, views.brand_from_tenant(tenant))
        _BRANDS[tenant.id] = hit
    return hit[1]


def locale(request: Request, principal: Principal | None = None) -> str:
    b = brand(request)
    chosen = request.session.get("locale") or (principal.user.locale if principal else None)
    return i18n.negotiate(chosen, request.headers.get("accept-language"), b.locales, b.default_locale)


def csrf_token(request: Request) -> str:
    return ScopeState.from_scope(request.scope).csrf_token or ""


def page(
    request: Request,
    principal: Principal | None,
    *,
    nav_active: str = "",
    customers: tuple[views.CustomerChoice, ...] = (),
    flashes: tuple[views.Flash, ...] = (),
) -> views.Page:
    return views.Page(
        brand=brand(request),
        locale=locale(request, principal),
        path=request.url.path,
        query=request.url.query,
        csrf_token=csrf_token(request),
        user=principal.user.email if principal else None,
        customers=customers,
        current_customer=request.session.get("cn") if principal else None,
        flashes=flashes,
        nav_active=nav_active,
    )


def html(
    request: Request,
    template: str,
    page_ctx: views.Page,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    body = i18n.render(ENV, template, page_ctx.locale, page=page_ctx, **context)
    return Response(body, status_code=status, media_type="text/html", headers=headers or {})


def fragment(template: str, locale: str, **context: Any) -> Markup:
    """A part of a page rendered on its own, for a page to keep and put in as it is."""
    return Markup(i18n.render(ENV, template, locale, **context))


def translate(page_ctx: views.Page, code: str, **params: Any) -> str:
    return i18n.reason_message(code, page_ctx.locale, **params)


def form_errors(page_ctx: views.Page, err: Any, default_field: str = "") -> views.FormErrors:
    """A service's DomainError as the page shows it: under its field, or for the whole form."""
    message = translate(page_ctx, err.reason, seconds=err.retry_after or 0, **err.params)
    field = err.field or default_field
    if field:
        return views.FormErrors(fields={field: (message,)})
    return views.FormErrors(form=message)
