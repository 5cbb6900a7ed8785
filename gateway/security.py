"""Security headers on every response: a strict Content-Security-Policy (no inline script or style anywhere)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.types import Message, Scope

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def security_headers(https: bool) -> Callable[[Message, Scope], Awaitable[None]]:
    """A before-send hook: it sees every response of the app, also the ones no route or middleware produced
    (an address that matches no route, an unknown brand host), which app middleware never sees. Async, because
    Litestar runs a plain function hook in a worker thread, for every message of every response."""
    extra = [(b"strict-transport-security", b"max-age=31536000; includeSubDomains")] if https else []

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {k.lower() for k, _ in headers}
            headers += [(k, v) for k, v in HEADERS + extra if k not in present]
            message["headers"] = headers

    return add_headers
