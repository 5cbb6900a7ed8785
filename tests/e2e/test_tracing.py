"""One user action is one trace: HTTP request → gRPC → SQL → outbox row → NATS → the consumer in another service."""

from __future__ import annotations

import asyncio

from kit import demo

from .test_http_journey import client, csrf


async def test_registration_is_one_trace_from_http_to_the_notification_consumer(stack, mailbox, spans):
    mlyny = demo.customer("esco", demo.MLYNY)
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with client(stack, "esco.localhost") as c:
        form = await c.get("/register")
        resp = await c.post(
            "/register",
            headers={"traceparent": traceparent},
            data={
                "_csrf_token": csrf(form.text),
                "customer_number": mlyny.customer_number,
                "proof": "code",
                "authorization_code": mlyny.authorization_code,
                "email": "mlyny.trace@example.cz",
                "password": "Mlynske-Kolo-2026",
                "password_confirm": "Mlynske-Kolo-2026",
                "terms": "yes",
            },
        )
    assert resp.status_code == 200, resp.text[:1000]
    await mailbox.wait_for("mlyny.trace@example.cz")
    trace_id = int("4bf92f3577b34da6a3ce929d0e0e4736", 16)
    names: set[str] = set()
    for _ in range(50):
        names = {s.name for s in spans.get_finished_spans() if s.context.trace_id == trace_id}
        if any(n.startswith("consume ") for n in names):
            break
        await asyncio.sleep(0.1)
    assert "POST /register" in names
    assert "/portal.identity.v1.IdentityService/Register" in names
    assert "/portal.accounts.v1.AccountsService/VerifyOwnershipProof" in names
    assert "db INSERT" in names
    assert "publish portal.events.v1.EmailVerificationRequested" in names
    assert "consume portal.events.v1.EmailVerificationRequested" in names
