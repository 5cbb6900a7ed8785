"""The OAuth2/OIDC endpoints of each brand, forwarded as HTTP exchanges to the identity service."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, Response, get, post, route
from litestar.response import Redirect
from portal.common.v1 import common_pb2
from portal.identity.v1 import identity_pb2

from kit import context

from .services import Services

E = identity_pb2.OAuthEndpoint
# the login page sends the user back here after signing in
LOGIN_REQUIRED_HEADER = "x-portal-login-required"


def external_url(request: Request) -> str:
    return str(request.url)


async def forward(request: Request, services: Services, endpoint: int, session_id: str = "") -> Response:
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
    ctx = context.CallContext(
        tenant_id=request.state.tenant.id,
        client_address=request.client.host if request.client else "",
        request_id=request.state.request_id,
    )
    with context.bound(ctx):
        resp = await services.identity.HandleOAuth(
            identity_pb2.HandleOAuthRequest(
                endpoint=endpoint,
                http=common_pb2.HttpRequest(
                    method=request.method, url=external_url(request), headers=headers, body=body
                ),
                session_id=session_id,
            )
        )
    out = dict(resp.http.headers)
    if out.pop(LOGIN_REQUIRED_HEADER, None):
        return Redirect(path="/login?" + urlencode({"next": str(request.url.path) + "?" + request.url.query}))
    return Response(content=resp.http.body, status_code=resp.http.status, headers=out, media_type=None)


@get("/.well-known/openid-configuration", include_in_schema=False)
async def discovery(request: Request, services: Services) -> Response:
    return await forward(request, services, E.O_AUTH_ENDPOINT_DISCOVERY)


@get("/oauth/jwks", include_in_schema=False)
async def jwks(request: Request, services: Services) -> Response:
    return await forward(request, services, E.O_AUTH_ENDPOINT_JWKS)


@get("/oauth/authorize", include_in_schema=False)
async def authorize(request: Request, services: Services) -> Response:
    return await forward(request, services, E.O_AUTH_ENDPOINT_AUTHORIZE, request.session.get("sid", ""))


@post("/oauth/token", include_in_schema=False, exclude_from_csrf=True)
async def token(request: Request, services: Services) -> Response:
    return await forward(request, services, E.O_AUTH_ENDPOINT_TOKEN)


@post("/oauth/revoke", include_in_schema=False, exclude_from_csrf=True)
async def revoke(request: Request, services: Services) -> Response:
    return await forward(request, services, E.O_AUTH_ENDPOINT_REVOCATION)


@post("/oauth/introspect", include_in_schema=False, exclude_from_csrf=True)
async def introspect(request: Request, services: Services) -> Response:
    return await forward(request, services, E.O_AUTH_ENDPOINT_INTROSPECTION)


@route("/oauth/userinfo", http_method=["GET", "POST"], include_in_schema=False, exclude_from_csrf=True)
async def userinfo(request: Request, services: Services) -> Response:
    return await forward(request, services, E.O_AUTH_ENDPOINT_USERINFO)


HANDLERS = [discovery, jwks, authorize, token, revoke, introspect, userinfo]
