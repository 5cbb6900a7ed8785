"""OpenTelemetry set-up and the trace-context carriers between HTTP, gRPC, SQL, the outbox and NATS.

One trace per user action: the gateway starts it, gRPC metadata and NATS headers carry `traceparent`, the outbox row
keeps it so the relay publishes the event in the trace of the change that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind

_provider: TracerProvider | None = None


def setup(service_name: str, otlp_endpoint: str = "", extra: SpanProcessor | None = None) -> TracerProvider:
    """Installs the process's tracer provider once; later calls only add `extra` (tests add an in-memory one)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        trace.set_tracer_provider(_provider)
    if extra is not None:
        _provider.add_span_processor(extra)
    return _provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    propagate.inject(carrier)
    return carrier


def headers() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`, `tracestate`)."""
    return dict(inject({}))


@contextmanager
def span_from(
    carrier: Mapping[str, str], name: str, kind: SpanKind = SpanKind.SERVER, **attributes: Any
) -> Iterator[Span]:
    """Continues the trace found in `carrier` with a new span."""
    parent = propagate.extract(dict(carrier))
    token = otel_context.attach(parent)
    try:
        with tracer("portal").start_as_current_span(name, kind=kind, attributes=attributes) as span:
            yield span
    finally:
        otel_context.detach(token)


def current_ids() -> tuple[str, str]:
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return "", ""
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
