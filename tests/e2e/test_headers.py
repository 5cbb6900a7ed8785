"""Security headers reach every answer, also those no route produced."""

from __future__ import annotations

import pytest

from gateway.security import CSP

from .test_http_journey import client


@pytest.mark.parametrize(
    ("host", "path", "status"),
    [
        ("volta.localhost", "/", 200),
        ("volta.localhost", "/no-such-page", 404),
        ("nowhere.localhost", "/", 404),
        ("volta.localhost", "/static/no-such-file.css", 404),
        ("volta.localhost", "/api/v1/me", 401),
    ],
)
async def test_every_answer_carries_the_security_headers(stack, host, path, status):
    async with client(stack, host) as c:
        resp = await c.get(path)
    assert resp.status_code == status
    assert resp.headers["content-security-policy"] == CSP
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["referrer-policy"] == "same-origin"
