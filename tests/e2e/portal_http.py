"""HTTP clients for the end-to-end tests: a browser-like session per brand host, a third-party OAuth client.

Brand hosts (`volta.localhost` …) need not resolve on a test machine, so requests keep their brand URL (and
with it the Host header, cookie domain and OAuth issuer) while the connection goes to the gateway on the
loopback interface. Tests that count failed attempts connect from their own loopback address, because the
identity service throttles per client address and the rest of the suite signs in from 127.0.0.1.
"""

from __future__ import annotations

import re
import secrets
import warnings
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.deprecate import AuthlibDeprecationWarning

from kit import demo

with warnings.catch_warnings():
    # Authlib nudges towards its httpx fork; the client API is the same
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

CLI_REDIRECT = "http://127.0.0.1:{port}/callback"
CLI_SCOPE = (
    "openid profile email offline_access supply-points:read contracts:read consumption:read invoices:read payments:read"
)


class Loopback(httpx.AsyncBaseTransport):
    """Sends every request to 127.0.0.1 on the URL's port, leaving the Host header as the URL named it."""

    def __init__(self, source: str = "127.0.0.1") -> None:
        self.inner = httpx.AsyncHTTPTransport(local_address=source)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # a copy, so the client still sees the brand URL when it files cookies and follows redirects
        routed = httpx.Request(
            request.method,
            request.url.copy_with(host="127.0.0.1"),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self.inner.handle_async_request(routed)

    async def aclose(self) -> None:
        await self.inner.aclose()


def origin(stack, host: str) -> str:
    return f"http://{host}:{stack.http_port}"


def browser(stack, host: str, *, source: str = "127.0.0.1", **kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=origin(stack, host), transport=Loopback(source), follow_redirects=False, timeout=20, **kwargs
    )


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


async def sign_in(
    c: httpx.AsyncClient, email: str, password: str = demo.DEMO_PASSWORD, next: str = "/dashboard"
) -> httpx.Response:
    page = await c.get("/login", params={"next": next})
    return await c.post(
        "/login", data={"_csrf_token": csrf(page.text), "email": email, "password": password, "next": next}
    )


def cli_client(
    stack,
    host: str,
    *,
    source: str = "127.0.0.1",
    redirect_uri: str = CLI_REDIRECT.format(port=53682),
    **kwargs,
) -> AsyncOAuth2Client:
    """`portal-cli` as any native app would be written: a public client, PKCE S256, a loopback redirect."""
    return AsyncOAuth2Client(
        client_id=demo.CLI_CLIENT_ID,
        token_endpoint_auth_method="none",
        revocation_endpoint_auth_method="none",
        scope=CLI_SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        base_url=origin(stack, host),
        transport=Loopback(source),
        timeout=20,
        **kwargs,
    )


async def get_public(c: httpx.AsyncClient, url: str, **kwargs) -> httpx.Response:
    """A GET that carries no token, whatever client `c` is."""
    if isinstance(c, AsyncOAuth2Client):
        return await c.request("GET", url, withhold_token=True, **kwargs)
    return await c.get(url, **kwargs)


async def discover(c: httpx.AsyncClient) -> dict:
    resp = await get_public(c, "/.well-known/openid-configuration")
    assert resp.status_code == 200, resp.text
    return resp.json()


async def authorize(
    user_agent: httpx.AsyncClient, url: str, email: str, password: str = demo.DEMO_PASSWORD
) -> httpx.Response:
    """The user's side of the authorization request: sent to the login form first if need be, then redirected
    to the client with a code."""
    resp = await user_agent.get(url)
    if resp.status_code in (302, 303) and urlsplit(resp.headers["location"]).path == "/login":
        nxt = parse_qs(urlsplit(resp.headers["location"]).query)["next"][0]
        signed = await sign_in(user_agent, email, password, next=nxt)
        assert signed.status_code in (302, 303), signed.text[:1000]
        assert signed.headers["location"] == nxt, (signed.headers["location"], nxt)
        resp = await user_agent.get(nxt)
    return resp


async def cli_tokens(stack, host: str, email: str, password: str = demo.DEMO_PASSWORD) -> dict:
    """Tokens for `portal-cli` by the authorization code flow, the user signing in through the gateway."""
    async with cli_client(stack, host) as client, browser(stack, host) as user_agent:
        meta = await discover(client)
        verifier = secrets.token_urlsafe(48)
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
        resp = await authorize(user_agent, url, email, password)
        assert resp.status_code == 302, resp.text[:1000]
        return dict(
            await client.fetch_token(
                meta["token_endpoint"],
                authorization_response=resp.headers["location"],
                code_verifier=verifier,
            )
        )
