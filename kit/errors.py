"""Domain errors with a machine-readable reason, and their mapping to gRPC status codes and back.

A service raises `DomainError("proof.invalid")`; the client side gets the same `DomainError` back, so the
gateway can translate the reason for the user and choose the HTTP status without knowing gRPC.
"""

from __future__ import annotations

import grpc

REASON_KEY = "x-portal-reason"
FIELD_KEY = "x-portal-field"
RETRY_AFTER_KEY = "x-portal-retry-after"
PARAM_PREFIX = "x-portal-param-"

# reasons whose status is not INVALID_ARGUMENT; a reason's first segment decides when the whole is not listed
_STATUS: dict[str, grpc.StatusCode] = {
    "not_found": grpc.StatusCode.NOT_FOUND,
    "forbidden": grpc.StatusCode.PERMISSION_DENIED,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
    "credentials.invalid": grpc.StatusCode.UNAUTHENTICATED,
    "throttled": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "conflict": grpc.StatusCode.ALREADY_EXISTS,
    "email.taken": grpc.StatusCode.ALREADY_EXISTS,
    "precondition": grpc.StatusCode.FAILED_PRECONDITION,
    "totp.required": grpc.StatusCode.FAILED_PRECONDITION,
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    "deadline": grpc.StatusCode.DEADLINE_EXCEEDED,
    "internal": grpc.StatusCode.INTERNAL,
}

_REASON_OF_STATUS = {
    grpc.StatusCode.NOT_FOUND: "not_found",
    grpc.StatusCode.PERMISSION_DENIED: "forbidden",
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "throttled",
    grpc.StatusCode.ALREADY_EXISTS: "conflict",
    grpc.StatusCode.FAILED_PRECONDITION: "precondition",
    grpc.StatusCode.UNAVAILABLE: "unavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "unavailable",
    grpc.StatusCode.INVALID_ARGUMENT: "invalid",
}


class DomainError(Exception):
    """A rule said no. `reason` is stable and translated by the gateway; `field` names the input at fault."""

    def __init__(
        self,
        reason: str,
        message: str = "",
        *,
        field: str = "",
        retry_after: int | None = None,
        status: grpc.StatusCode | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.field = field
        self.retry_after = retry_after
        self.status = status or status_of(reason)
        # values the translated message needs (a minimum length, a prefix)
        self.params = dict(params or {})


def status_of(reason: str) -> grpc.StatusCode:
    if reason in _STATUS:
        return _STATUS[reason]
    return _STATUS.get(reason.split(".", 1)[0], grpc.StatusCode.INVALID_ARGUMENT)


def trailing_metadata(err: DomainError) -> tuple[tuple[str, str], ...]:
    md = [(REASON_KEY, err.reason)]
    if err.field:
        md.append((FIELD_KEY, err.field))
    if err.retry_after is not None:
        md.append((RETRY_AFTER_KEY, str(err.retry_after)))
    md.extend((PARAM_PREFIX + k, str(v)) for k, v in err.params.items())
    return tuple(md)


def from_rpc_error(err: grpc.aio.AioRpcError) -> DomainError:
    md = {k: v for k, v in (err.trailing_metadata() or ())}
    code = err.code()
    reason = md.get(REASON_KEY) or _REASON_OF_STATUS.get(code, "internal")
    retry = md.get(RETRY_AFTER_KEY)
    return DomainError(
        reason,
        err.details() or reason,
        field=md.get(FIELD_KEY, ""),
        retry_after=int(retry) if retry else None,
        status=code,
        params={k.removeprefix(PARAM_PREFIX): v for k, v in md.items() if k.startswith(PARAM_PREFIX)},
    )
