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
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace import Span, SpanKind

_provider: TracerProvider | None = None


def setup(service_name: str, otlp_endpoint: str = "", extra: SpanProcessor | None = None) -> TracerProvider:
    """Installs the process's tracer provider once; later calls only add `extra` (tests add an in-memory one).

    With nowhere to send spans, new traces are not sampled: trace ids are still made and carried (logs keep them),
    but no span is recorded, which costs a fair share of every request's CPU. A sampled parent is still followed."""
    global _provider
    if _provider is None:
        root = ALWAYS_ON if otlp_endpoint or extra is not None else ALWAYS_OFF
        _provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}), sampler=ParentBased(root=root)
        )
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        trace.set_tracer_provider(_provider)
    if extra is not None:
        _provider.add_span_processor(extra)
    return _provider


_tracers: dict[str, trace.Tracer] = {}


def tracer(name: str) -> trace.Tracer:
    # a proxy until setup() runs, then the provider's own; looked up once, as get_tracer is not cheap per call
    if name not in _tracers:
        _tracers[name] = trace.get_tracer(name)
    return _tracers[name]


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
