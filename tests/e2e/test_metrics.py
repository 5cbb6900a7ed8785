"""Prometheus metrics: the gateway's answer times by route template, the services' gRPC calls by method."""

from __future__ import annotations

from prometheus_client import REGISTRY

from kit import demo

from .test_http_journey import client, sign_in


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"{name}_count", labels) or 0.0


async def test_pages_and_calls_are_counted_by_template_not_by_raw_path(stack):
    point = demo.supply_points("volta", demo.JANA)[0]
    detail = {"route": "/supply-points/{supply_point_id}", "method": "GET", "status": "200"}
    foreign = {"route": "/supply-points/{supply_point_id}", "method": "GET", "status": "404"}
    list_call = {"method": "/portal.accounts.v1.AccountsService/ListSupplyPoints", "code": "OK"}
    before = (
        _count("portal_http_server_seconds", **detail),
        _count("portal_http_server_seconds", **foreign),
        _count("portal_rpc_server_seconds", **list_call),
    )
    async with client(stack, "volta.localhost") as c:
        await sign_in(c, "jana@volta.example")
        assert (await c.get(f"/supply-points/{point.id}")).status_code == 200
        assert (await c.get("/supply-points")).status_code == 200
        stranger = demo.supply_points("esco")[0]
        assert (await c.get(f"/supply-points/{stranger.id}")).status_code == 404
    after = (
        _count("portal_http_server_seconds", **detail),
        _count("portal_http_server_seconds", **foreign),
        _count("portal_rpc_server_seconds", **list_call),
    )
    assert after[0] == before[0] + 1
    assert after[1] == before[1] + 1
    assert after[2] >= before[2] + 1
    # no series per supply point id
    assert (
        REGISTRY.get_sample_value("portal_http_server_seconds_count", {**detail, "route": f"/supply-points/{point.id}"})
        is None
    )
