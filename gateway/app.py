"""The gateway: tenant by Host header, sessions, OAuth2 resource server, pages, API v1 — no business data."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.trace import SpanKind
from portal.identity.v1 import identity_pb2

from kit import context, metrics, telemetry
from kit.config import Settings
from kit.errors import DomainError
from kit.secrets import derive
from kit.service import freeze_startup_objects

from . import hdo, oauth
from .api import schemas
from .api.billing import BillingApi
from .api.v1 import ApiV1
from .principal import Principal, PrincipalCache, principal_of
from .security import security_headers
from .services import Services
from .tenancy import TenantResolver, UnknownHost

HERE = Path(__file__).parent
SESSION_COOKIE = "portal_session"
CSRF_COOKIE = "portal_csrf"

HTTP_STATUS = {
    "not_found": 404,
    "forbidden": 403,
    "unauthenticated": 401,
    "credentials": 401,
    "throttled": 429,
    "conflict": 409,
    "precondition": 409,
    "unavailable": 503,
    "deadline": 503,
    "internal": 500,
}


def http_status(err: DomainError) -> int:
    return HTTP_STATUS.get(err.reason, HTTP_STATUS.get(err.reason.split(".", 1)[0], 422))


class Observed:
    """Per HTTP request: one server span (continuing a caller's `traceparent`) and its answer time in a histogram by
    route template (never the raw path: ids would make endless series). Like all app middleware it runs once a route
    matched, so addresses that match none are not measured."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        name = f"{scope['method']} {scope['path']}"
        try:
            with telemetry.span_from(carrier, name, SpanKind.SERVER, **{"http.method": scope["method"]}):
                await self.app(scope, receive, send_status)
        finally:
            metrics.HTTP_SECONDS.labels(scope["path_template"], scope["method"], str(status)).observe(
                time.perf_counter() - started
            )


async def resolve_tenant(request: Request) -> None:
    request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    host = request.headers.get("host", "").split(":", 1)[0]
    resolver: TenantResolver = request.app.state.tenants
    request.state.tenant = await resolver.resolve(host)


def tenant_first(app: ASGIApp) -> ASGIApp:
    """Resolves the brand before Litestar's CSRF check, which runs ahead of `before_request` hooks, so that
    even its refusal is the brand's translated page and not the unknown-address one."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})
            await resolve_tenant(Request(scope))
        await app(scope, receive, send)

    return middleware


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem(
    status: int, title: str, reason: str = "", detail: str = "", field: str = "", headers=None, params=None
) -> Response:
    body = schemas.Problem(
        type=f"https://energy-portal.dev/problems/{reason or status}",
        title=title,
        status=status,
        detail=detail,
        reason=reason,
        field=field,
        params=dict(params or {}),
    )
    return Response(body, status_code=status, media_type="application/problem+json", headers=headers or {})


async def provide_services(state: State) -> Services:
    return state.services


async def provide_principal(request: Request, services: Services) -> Principal:
    """The bearer token's user for API calls; anything else is 401."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("bearer token required")
    with context.bound(context.CallContext(tenant_id=request.state.tenant.id, request_id=request.state.request_id)):
        resolved = await services.identity.ResolveAccessToken(
            identity_pb2.ResolveAccessTokenRequest(access_token=token.strip())
        )
    if not resolved.active:
        raise NotAuthorizedException("token inactive")
    return principal_of(resolved, first_party=resolved.client_id == "portal-web")


def handle_exception(request: Request, exc: Exception) -> Response:
    from .web import errors as web_errors

    if isinstance(exc, UnknownHost):
        if is_api(request):
            return problem(404, "Unknown portal address", "tenant.unknown_host")
        return web_errors.unknown_host(request)
    if isinstance(exc, DomainError):
        status = http_status(exc)
        if is_api(request):
            return problem(status, exc.reason, exc.reason, field=exc.field, params=exc.params)
        return web_errors.page(request, status, exc.reason, retry_after=exc.retry_after)
    if isinstance(exc, NotAuthorizedException):
        if is_api(request):
            return problem(
                401, "Unauthorized", "unauthenticated", headers={"WWW-Authenticate": 'Bearer realm="portal"'}
            )
        return web_errors.login_redirect(request)
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        if is_api(request):
            return problem(403, "Forbidden", "csrf.invalid")
        return web_errors.page(request, 403, "csrf.invalid")
    if isinstance(exc, HTTPException):
        reason = {404: "not_found", 403: "forbidden", 405: "not_found", 413: "too_large"}.get(
            exc.status_code, "invalid"
        )
        if is_api(request):
            return problem(exc.status_code, str(exc.detail), reason, detail=str(exc.extra or ""))
        params = {}
        if exc.status_code == 413:
            # refused before the form is read, so the page says the limit instead of the form showing it
            params["max_mb"] = (request.route_handler.resolve_request_max_body_size() or 0) // (1024 * 1024)
        return web_errors.page(request, exc.status_code, reason, params=params)
    request.logger.exception("unhandled error")
    if is_api(request):
        return problem(500, "Internal error", "internal")
    return web_errors.page(request, 500, "internal")


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app(settings: Settings | None = None, services: Services | None = None) -> Litestar:
    from .staff import audit_pages as staff_audit_pages
    from .staff import catalog_pages as staff_catalog_pages
    from .staff import customers_pages as staff_customers_pages
    from .staff import pages as staff_pages
    from .staff import payments_pages as staff_payments_pages
    from .staff import requests_pages as staff_requests_pages
    from .web import (
        details_pages,
        hdo_pages,
        invoices_pages,
        pages,
        preferences_pages,
        readings_pages,
        requests_pages,
        token_pages,
    )

    settings = settings or Settings.from_env()
    https = settings.public_scheme == "https"
    secret = derive(settings, "gateway.session")
    state: dict[str, Any] = {"settings": settings}

    async def on_startup(app: Litestar) -> None:
        app.state.services = services or Services(settings)
        app.state.tenants = TenantResolver(app.state.services.accounts)
        app.state.oauth_client_secret = derive(settings, "oauth.portal-web").hex()
        app.state.feed_key = derive(settings, hdo.FEED_PURPOSE)
        app.state.principals = PrincipalCache(settings.session_cache_seconds)
        app.state.hdo_answers = hdo.HdoAnswers(settings.hdo_cache_seconds)
        if services is None:
            freeze_startup_objects()

    async def on_shutdown(app: Litestar) -> None:
        if services is None:
            await app.state.services.close()

    tenant_routes = [
        *oauth.HANDLERS,
        ApiV1,
        BillingApi,
        *pages.ROUTES,
        *hdo_pages.ROUTES,
        *readings_pages.ROUTES,
        *preferences_pages.ROUTES,
        *token_pages.ROUTES,
        *details_pages.ROUTES,
        *staff_pages.ROUTES,
        *requests_pages.ROUTES,
        *invoices_pages.ROUTES,
        *staff_requests_pages.ROUTES,
        *staff_customers_pages.ROUTES,
        *staff_payments_pages.ROUTES,
        *staff_catalog_pages.ROUTES,
        *staff_audit_pages.ROUTES,
    ]
    return Litestar(
        route_handlers=[
            healthz,
            create_static_files_router(path="/static", directories=[HERE / "static"], include_in_schema=False),
            Router(path="/", route_handlers=tenant_routes, middleware=[tenant_first]),
        ],
        dependencies={"services": Provide(provide_services), "principal": Provide(provide_principal)},
        exception_handlers={Exception: handle_exception},
        before_send=[security_headers(https)],
        middleware=[
            Observed,
            CookieBackendConfig(
                secret=secret, key=SESSION_COOKIE, httponly=True, secure=https, samesite="lax", max_age=8 * 3600
            ).middleware,
        ],
        csrf_config=CSRFConfig(
            secret=secret.hex(),
            cookie_name=CSRF_COOKIE,
            cookie_secure=https,
            cookie_httponly=True,
            cookie_samesite="strict",
            exclude=["/oauth/", "/api/", "/healthz"],
        ),
        openapi_config=OpenAPIConfig(
            title="energy-portal API",
            version="1.0.0",
            path="/api",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="OAuth2 access token, or a personal access token (ep_pat_…) from /profile/tokens",
                    )
                }
            ),
        ),
        state=State(state),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
    )
