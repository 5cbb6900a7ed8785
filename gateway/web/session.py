"""The web session: signing in through the portal's own OAuth2 authorization server, like any other client.

The gateway is the confidential client `portal-web`. After the password (and TOTP) check it runs the authorization
code flow with PKCE against the identity service's endpoints and keeps the tokens in the encrypted session cookie.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlparse

from litestar import Request
from portal.common.v1 import common_pb2
from portal.identity.v1 import identity_pb2

from kit import context
from kit.errors import DomainError

from ..principal import Principal, PrincipalCache, principal_of
from ..services import Services

CLIENT_ID = "portal-web"
SCOPE = "openid profile email offline_access"
E = identity_pb2.OAuthEndpoint


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def call_context(request: Request) -> context.CallContext:
    return context.CallContext(
        tenant_id=request.state.tenant.id,
        client_address=request.client.host if request.client else "",
        request_id=request.state.request_id,
    )


async def _exchange(request: Request, services: Services, endpoint: int, http: common_pb2.HttpRequest, sid: str = ""):
    with context.bound(call_context(request)):
        resp = await services.identity.HandleOAuth(
            identity_pb2.HandleOAuthRequest(endpoint=endpoint, http=http, session_id=sid)
        )
    return resp.http


def _client_auth(request: Request) -> str:
    secret = request.app.state.oauth_client_secret
    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()


def _token_request(request: Request, form: dict[str, str]) -> common_pb2.HttpRequest:
    return common_pb2.HttpRequest(
        method="POST",
        url=base_url(request) + "/oauth/token",
        headers={"content-type": "application/x-www-form-urlencoded", "authorization": _client_auth(request)},
        body=urlencode(form).encode(),
    )


async def sign_in(request: Request, services: Services, session_id: str) -> None:
    """Turns an identity login session into tokens for the gateway, through /oauth/authorize and /oauth/token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = base_url(request) + "/auth/callback"
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    authorized = await _exchange(
        request,
        services,
        E.O_AUTH_ENDPOINT_AUTHORIZE,
        common_pb2.HttpRequest(method="GET", url=f"{base_url(request)}/oauth/authorize?{query}"),
        session_id,
    )
    location = authorized.headers.get("location", "")
    params = parse_qs(urlparse(location).query)
    if authorized.status not in (302, 303) or params.get("state", [""])[0] != state or "code" not in params:
        raise DomainError("unavailable")
    tokens = await _exchange(
        request,
        services,
        E.O_AUTH_ENDPOINT_TOKEN,
        _token_request(
            request,
            {
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        ),
    )
    if tokens.status != 200:
        raise DomainError("unavailable")
    body = json.loads(tokens.body)
    request.session.update({"sid": session_id, "at": body["access_token"], "rt": body.get("refresh_token", "")})


async def _refresh(request: Request, services: Services) -> bool:
    refresh_token = request.session.get("rt")
    if not refresh_token:
        return False
    tokens = await _exchange(
        request,
        services,
        E.O_AUTH_ENDPOINT_TOKEN,
        _token_request(request, {"grant_type": "refresh_token", "refresh_token": refresh_token}),
    )
    if tokens.status != 200:
        return False
    body = json.loads(tokens.body)
    request.session.update({"at": body["access_token"], "rt": body.get("refresh_token", refresh_token)})
    return True


def _cache(request: Request) -> PrincipalCache:
    return request.app.state.principals


# renewals running in the background; kept here so that they are not collected before they finish
_renewals: set[asyncio.Task[None]] = set()


async def _renew(call: context.CallContext, services: Services, cache: PrincipalCache, token: str) -> None:
    try:
        with context.bound(call):
            resolved = await services.identity.ResolveAccessToken(
                identity_pb2.ResolveAccessTokenRequest(access_token=token)
            )
    except DomainError:
        cache.renewal_failed(call.tenant_id, token)
        return
    if resolved.active:
        cache.put(call.tenant_id, token, principal_of(resolved, first_party=True), _expiry(resolved))
    else:
        cache.drop(call.tenant_id, token)


def _expiry(resolved: identity_pb2.ResolveAccessTokenResponse) -> datetime | None:
    return resolved.expires_at.ToDatetime(tzinfo=UTC) if resolved.HasField("expires_at") else None


async def current_principal(request: Request, services: Services) -> Principal | None:
    """The signed-in user of this browser session, refreshing an expired access token once."""
    if not request.session.get("at"):
        return None
    cache = _cache(request)
    tenant_id = request.state.tenant.id
    kept, renew = cache.get(tenant_id, request.session["at"])
    if kept is not None:
        if renew:
            task = asyncio.get_running_loop().create_task(
                _renew(call_context(request), services, cache, request.session["at"])
            )
            _renewals.add(task)
            task.add_done_callback(_renewals.discard)
        return kept
    for attempt in range(2):
        token = request.session["at"]
        with context.bound(call_context(request)):
            resolved = await services.identity.ResolveAccessToken(
                identity_pb2.ResolveAccessTokenRequest(access_token=token)
            )
        if resolved.active:
            principal = principal_of(resolved, first_party=True)
            cache.put(tenant_id, token, principal, _expiry(resolved))
            return principal
        if attempt == 0 and not await _refresh(request, services):
            break
    request.clear_session()
    return None


async def sign_out(request: Request, services: Services) -> None:
    sid = request.session.get("sid")
    if request.session.get("at"):
        _cache(request).drop(request.state.tenant.id, request.session["at"])
    token = request.session.get("rt") or request.session.get("at")
    if token:
        await _exchange(
            request,
            services,
            E.O_AUTH_ENDPOINT_REVOCATION,
            common_pb2.HttpRequest(
                method="POST",
                url=base_url(request) + "/oauth/revoke",
                headers={"content-type": "application/x-www-form-urlencoded", "authorization": _client_auth(request)},
                body=urlencode({"token": token}).encode(),
            ),
        )
    if sid:
        with context.bound(call_context(request)):
            await services.identity.EndSession(identity_pb2.EndSessionRequest(session_id=sid))
    request.clear_session()
