"""gRPC plumbing shared by every service and client.

Server side: the call context is read from metadata and bound for the handler, the trace continues from
`traceparent`, and a `DomainError` becomes a status code with its reason in the trailing metadata. Client side: the
current call context and trace go out as metadata, every call gets a deadline, and a failed call comes back as the
same `DomainError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.trace import SpanKind, Status, StatusCode

from kit import context, errors, metrics, telemetry

log = logging.getLogger("kit.rpc")

# the call context travels in metadata; a delegate's subset of a few hundred supply points passes gRPC's 8 KiB default.
# Messages may be larger than gRPC's 4 MiB default: a bank statement of 100,000 lines is some 70 MiB of camt.053.
MAX_MESSAGE_BYTES = 128 * 1024 * 1024
SIZE_LIMITS = [
    ("grpc.max_metadata_size", 64 * 1024),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


class _ServerInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or details.method.startswith("/grpc."):
            return handler
        inner = handler.unary_unary
        method = details.method
        metadata = tuple(details.invocation_metadata or ())

        async def unary(request: Any, rpc_context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = "OK"
            try:
                return await traced(request, rpc_context)
            except grpc.aio.AbortError:
                status = rpc_context.code()
                code = status.name if isinstance(status, grpc.StatusCode) else "UNKNOWN"
                raise
            finally:
                metrics.RPC_SECONDS.labels(method, code).observe(time.perf_counter() - started)

        async def traced(request: Any, rpc_context: grpc.aio.ServicerContext) -> Any:
            ctx = context.CallContext.from_metadata(metadata)
            carrier = {k: v for k, v in metadata if isinstance(v, str)}
            with (
                context.bound(ctx),
                telemetry.span_from(carrier, method, SpanKind.SERVER, **{"rpc.system": "grpc"}) as span,
            ):
                try:
                    return await inner(request, rpc_context)
                except errors.DomainError as err:
                    span.set_attribute("portal.reason", err.reason)
                    rpc_context.set_trailing_metadata(errors.trailing_metadata(err))
                    await rpc_context.abort(err.status, str(err))
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:
                    span.record_exception(exc)
                    span.set_status(Status(StatusCode.ERROR))
                    log.exception("unhandled error in %s", method)
                    rpc_context.set_trailing_metadata(((errors.REASON_KEY, "internal"),))
                    await rpc_context.abort(grpc.StatusCode.INTERNAL, "internal error")

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class Server:
    """A gRPC server with the standard health and reflection services."""

    def __init__(self, service_names: list[str]) -> None:
        self.server = grpc.aio.server(interceptors=[_ServerInterceptor()], options=SIZE_LIMITS)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.service_names = service_names
        reflection.enable_server_reflection(
            [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            self.server,
        )
        self.port = 0

    def add(self, adder: Callable[[Any, grpc.aio.Server], None], servicer: Any) -> None:
        adder(servicer, self.server)

    async def start(self, host: str, port: int) -> int:
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        await self.server.start()
        return self.port

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ["", *self.service_names]:
            await self.health.set(name, status)

    async def stop(self, grace: float = 3.0) -> None:
        await self.set_serving(False)
        await self.server.stop(grace)


class _ClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, deadline_seconds: float) -> None:
        self.deadline_seconds = deadline_seconds

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        with telemetry.tracer("portal").start_as_current_span(
            details.method.decode() if isinstance(details.method, bytes) else details.method,
            kind=SpanKind.CLIENT,
        ):
            md = list(details.metadata or ())
            md.extend(context.current().to_metadata())
            md.extend(telemetry.headers().items())
            new_details = grpc.aio.ClientCallDetails(
                method=details.method,
                timeout=details.timeout if details.timeout is not None else self.deadline_seconds,
                metadata=grpc.aio.Metadata(*md),
                credentials=details.credentials,
                wait_for_ready=details.wait_for_ready,
            )
            call = await continuation(new_details, request)
            try:
                await call
            except grpc.aio.AioRpcError as err:
                raise errors.from_rpc_error(err) from None
            return call


def channel(address: str, deadline_seconds: float = 5.0) -> grpc.aio.Channel:
    """A channel whose calls carry the call context and trace, with a deadline unless the caller gives one."""
    return grpc.aio.insecure_channel(
        address,
        interceptors=[_ClientInterceptor(deadline_seconds)],
        options=[("grpc.keepalive_time_ms", 30_000), ("grpc.enable_retries", 1), *SIZE_LIMITS],
    )


async def check_health(address: str, timeout: float = 1.0) -> bool:
    async with grpc.aio.insecure_channel(address) as ch:
        try:
            resp = await health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.aio.AioRpcError:
            return False
        return resp.status == health_pb2.HealthCheckResponse.SERVING
