"""Structured JSON logs, one object a line, carrying the trace id so a log line leads to its trace."""

from __future__ import annotations

import json
import logging
import sys
import time

from kit import context, telemetry

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        trace_id, span_id = telemetry.current_ids()
        ctx = context.current()
        doc: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if trace_id:
            doc["trace_id"] = trace_id
            doc["span_id"] = span_id
        if ctx.tenant_id:
            doc["tenant"] = ctx.tenant_id
        if ctx.request_id and (trace_id or ctx.tenant_id):
            doc["request_id"] = ctx.request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def setup(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # their INFO lines are per-request noise; warnings still come through
    for noisy in ("uvicorn.access", "nats", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
