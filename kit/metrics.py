"""Prometheus metrics of every service and the gateway, served on their own port (`PORTAL_METRICS_PORT`), never
on the public one."""

from __future__ import annotations

from prometheus_client import Histogram, start_http_server

RPC_SECONDS = Histogram(
    "portal_rpc_server_seconds",
    "Time to handle one gRPC call, by method and status code",
    ["method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


HTTP_SECONDS = Histogram(
    "portal_http_server_seconds",
    "Time to answer one HTTP request at the gateway, by route template, method and status",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def serve(port: int) -> None:
    if port:
        start_http_server(port, addr="0.0.0.0")
