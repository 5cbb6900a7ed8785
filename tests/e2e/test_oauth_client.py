"""The portal's OAuth2/OIDC server as a third party meets it: Authlib's client and joserfc, nothing of ours
but the URLs in the discovery document."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.base_client.errors import OAuthError
from joserfc import jwt
from joserfc.jwk import KeySet

from kit import demo

from .portal_http import authorize, browser, cli_client, cli_tokens, discover, get_public

HOST = "volta.localhost"
JANA = "jana@volta.example"
PROBLEM = "application/problem+json"


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


async def code_flow(stack, client, meta: dict, *, nonce: str | None = None, verifier: str | None = None, **params):
    """Signs Jana in and returns (verifier, the redirect the browser was sent to)."""
    verifier = verifier or secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"],
        code_verifier=verifier,
        nonce=nonce or secrets.token_urlsafe(16),
        **params,
    )
    async with browser(stack, HOST) as user_agent:
        resp = await authorize(user_agent, url, JANA)
    assert resp.status_code == 302, resp.text[:1000]
    location = resp.headers["location"]
    assert location.startswith(client.redirect_uri + "?"), location
    assert f"state={state}" in location
    return verifier, location


async def test_code_flow_with_pkce_id_token_userinfo_and_api_calls(stack):
    async with cli_client(stack, HOST) as client:
        meta = await discover(client)
        issuer = f"http://{HOST}:{stack.http_port}"
        assert meta["issuer"] == issuer
        assert "S256" in meta["code_challenge_methods_supported"]
        nonce = secrets.token_urlsafe(16)
        verifier, location = await code_flow(stack, client, meta, nonce=nonce)
        # RFC 9207: the redirect names the issuer, so a client of several brands cannot mix their codes up
        assert parse_qs(urlsplit(location).query)["iss"] == [issuer]
        token = await client.fetch_token(
            meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
        assert token["token_type"].lower() == "bearer" and token["refresh_token"]

        keys = KeySet.import_key_set((await get_public(client, meta["jwks_uri"])).json())
        id_token = jwt.decode(token["id_token"], keys, algorithms=meta["id_token_signing_alg_values_supported"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": demo.CLI_CLIENT_ID},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True, "value": str(demo.user("volta", JANA).id)},
            exp={"essential": True},
            iat={"essential": True},
        ).validate(id_token.claims)
        assert id_token.claims["at_hash"] == at_hash(token["access_token"])

        info = await client.get(meta["userinfo_endpoint"])
        assert info.status_code == 200
        assert info.json()["sub"] == id_token.claims["sub"] and info.json()["email"] == JANA

        me = await client.get("/api/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["customer_numbers"] == [demo.JANA]
        points = await client.get(f"/api/v1/customers/{demo.JANA}/supply-points")
        assert points.status_code == 200, points.text
        assert sorted(p["identifier"] for p in points.json()["items"]) == sorted(
            p.identifier for p in demo.supply_points("volta", demo.JANA)
        )


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_family(stack):
    async with cli_client(stack, HOST) as client:
        meta = await discover(client)
        client.token = await cli_tokens(stack, HOST, JANA)
        first = dict(client.token)
        second = dict(await client.refresh_token(meta["token_endpoint"], refresh_token=first["refresh_token"]))
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        assert (await client.get("/api/v1/me")).status_code == 200

        with pytest.raises(OAuthError) as err:
            await client.refresh_token(meta["token_endpoint"], refresh_token=first["refresh_token"])
        assert err.value.error == "invalid_grant"
        # the reuse ended the whole login: the rotated tokens are dead too
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"})
        assert me.status_code == 401
        with pytest.raises(OAuthError) as err:
            await client.refresh_token(meta["token_endpoint"], refresh_token=second["refresh_token"])
        assert err.value.error == "invalid_grant"


async def test_a_revoked_access_token_is_refused_at_once(stack):
    async with cli_client(stack, HOST) as client:
        meta = await discover(client)
        client.token = await cli_tokens(stack, HOST, JANA)
        assert (await client.get("/api/v1/me")).status_code == 200
        resp = await client.revoke_token(
            meta["revocation_endpoint"], token=client.token["access_token"], token_type_hint="access_token"
        )
        assert resp.status_code == 200
        me = await client.get("/api/v1/me")
        assert me.status_code == 401
        assert me.headers["www-authenticate"].lower().startswith("bearer")
        assert me.headers["content-type"].startswith(PROBLEM)
        # revoking the refresh token ends what is left of the login
        await client.revoke_token(
            meta["revocation_endpoint"], token=client.token["refresh_token"], token_type_hint="refresh_token"
        )
        with pytest.raises(OAuthError):
            await client.refresh_token(meta["token_endpoint"], refresh_token=client.token["refresh_token"])


async def test_a_wrong_pkce_verifier_gets_invalid_grant_and_no_token(stack):
    async with cli_client(stack, HOST) as client:
        meta = await discover(client)
        _, location = await code_flow(stack, client, meta)
        with pytest.raises(OAuthError) as err:
            await client.fetch_token(
                meta["token_endpoint"],
                authorization_response=location,
                code_verifier=secrets.token_urlsafe(48),
            )
        assert err.value.error == "invalid_grant"
        assert not client.token


async def test_a_code_is_good_for_one_exchange_only(stack):
    async with cli_client(stack, HOST) as client:
        meta = await discover(client)
        verifier, location = await code_flow(stack, client, meta)
        token = await client.fetch_token(
            meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
        assert token["access_token"]
        with pytest.raises(OAuthError) as err:
            await client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
        assert err.value.error == "invalid_grant"


async def test_an_unregistered_redirect_uri_gets_no_redirect(stack):
    async with cli_client(stack, HOST, redirect_uri="https://attacker.example/callback") as client:
        meta = await discover(client)
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48)
        )
        async with browser(stack, HOST) as user_agent:
            resp = await authorize(user_agent, url, JANA)
        assert resp.status_code == 400, resp.text
        assert "location" not in resp.headers
        assert resp.json()["error"] in ("invalid_request", "invalid_client")


async def test_openapi_document_lists_the_v1_api(stack):
    from gateway.app import create_app

    v1 = {
        # the document writes path parameters without their Litestar type
        r.path.replace(":str}", "}")
        for r in create_app(stack.settings).routes
        if r.path.startswith("/api/v1/")
    }
    async with cli_client(stack, HOST) as client:
        resp = await get_public(client, "/api/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["openapi"].startswith("3.")
    assert v1 and v1 <= set(doc["paths"])
    assert "bearer" in doc["components"]["securitySchemes"]


async def test_api_errors_are_problem_documents(stack):
    async with cli_client(stack, HOST) as client:
        unauthenticated = await get_public(client, "/api/v1/me")
        client.token = await cli_tokens(stack, HOST, JANA)
        foreign = await client.get(f"/api/v1/customers/{demo.TOVARNA}")
        bad = await client.get(f"/api/v1/customers/{demo.JANA}/supply-points", params={"page_size": "0"})
        missing = await client.get("/api/v1/nothing-here")
    for resp, status in ((unauthenticated, 401), (foreign, 404), (bad, 400), (missing, 404)):
        assert resp.status_code == status, (resp.request.url, resp.text)
        assert resp.headers["content-type"].startswith(PROBLEM), resp.headers
        body = resp.json()
        assert body["status"] == status and body["title"] and body["type"]
