"""Typed settings of every process, read once from `PORTAL_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_NAMES = ("accounts", "identity", "notifications", "hdo", "billing", "requests")


class SettingsError(ValueError):
    """A PORTAL_* variable is missing or malformed; the message names it."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    nats_url: str = ""
    data_dir: Path = Path(".data")
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # host:port of every service, for gRPC clients
    service_addrs: dict[str, str] = field(default_factory=dict)
    demo: bool = False
    # scheme and port the public sees, for links in e-mails (http and the gateway's port in development)
    public_scheme: str = "http"
    public_port: int = 0
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # the SMS gateway (Twilio's Messages API or one that speaks it): base URL, account, token and sender number or
    # name; without a URL SMS stay queued and cannot be chosen
    sms_url: str = ""
    sms_account: str = ""
    sms_token: str = ""
    sms_sender: str = ""
    otlp_endpoint: str = ""
    # Prometheus scrape port of this process; 0: no metrics endpoint
    metrics_port: int = 0
    log_level: str = "INFO"
    # secret for the gateway's session cookies and its OAuth client; development gets a stable per-data-dir one
    secret_key: str = ""
    rpc_deadline_seconds: float = 5.0
    db_pool_size: int = 10
    # at most how long pages are served on a web session's token without identity confirming it (renewed in the
    # background before then); 0 asks identity on every page
    session_cache_seconds: float = 15.0
    # at most how long the gateway keeps the operators' low-tariff answers per HDO code, so a new import reaches
    # the pages within it; 0 asks hdo on every page
    hdo_cache_seconds: float = 60.0
    # how long before a planned outage starts its customers get a reminder; 0: no reminders
    outage_reminder_hours: float = 48.0
    # processes that render and seal invoice documents; 0: one per core
    render_workers: int = 0
    # the demo's invoicing history (bill runs, payments, reminders) issued in the background after the demo start;
    # off, the demo has readings, price lists and advances only
    demo_invoices: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        addrs = {
            name: env[f"PORTAL_{name.upper()}_ADDR"] for name in SERVICE_NAMES if env.get(f"PORTAL_{name.upper()}_ADDR")
        }
        http_port = _int(env, "PORTAL_HTTP_PORT", 8000)
        return cls(
            database_url=env.get("PORTAL_DATABASE_URL", ""),
            nats_url=env.get("PORTAL_NATS_URL", ""),
            data_dir=Path(env.get("PORTAL_DATA_DIR", ".data")),
            grpc_host=env.get("PORTAL_GRPC_HOST", "127.0.0.1"),
            grpc_port=_int(env, "PORTAL_GRPC_PORT", 0),
            http_host=env.get("PORTAL_HTTP_HOST", "127.0.0.1"),
            http_port=http_port,
            service_addrs=addrs,
            demo=_bool(env, "PORTAL_DEMO", False),
            public_scheme=env.get("PORTAL_PUBLIC_SCHEME", "http"),
            public_port=_int(env, "PORTAL_PUBLIC_PORT", http_port),
            smtp_host=env.get("PORTAL_SMTP_HOST", "127.0.0.1"),
            smtp_port=_int(env, "PORTAL_SMTP_PORT", 25),
            smtp_from=env.get("PORTAL_SMTP_FROM", ""),
            smtp_user=env.get("PORTAL_SMTP_USER", ""),
            smtp_password=env.get("PORTAL_SMTP_PASSWORD", ""),
            smtp_starttls=_bool(env, "PORTAL_SMTP_STARTTLS", False),
            sms_url=env.get("PORTAL_SMS_URL", "").rstrip("/"),
            sms_account=env.get("PORTAL_SMS_ACCOUNT", ""),
            sms_token=env.get("PORTAL_SMS_TOKEN", ""),
            sms_sender=env.get("PORTAL_SMS_SENDER", ""),
            otlp_endpoint=env.get("PORTAL_OTLP_ENDPOINT", ""),
            metrics_port=_int(env, "PORTAL_METRICS_PORT", 0),
            log_level=env.get("PORTAL_LOG_LEVEL", "INFO").upper(),
            secret_key=env.get("PORTAL_SECRET_KEY", ""),
            rpc_deadline_seconds=_float(env, "PORTAL_RPC_DEADLINE_SECONDS", 5.0),
            db_pool_size=_int(env, "PORTAL_DB_POOL_SIZE", 10),
            session_cache_seconds=_float(env, "PORTAL_SESSION_CACHE_SECONDS", 15.0),
            hdo_cache_seconds=_float(env, "PORTAL_HDO_CACHE_SECONDS", 60.0),
            outage_reminder_hours=_float(env, "PORTAL_OUTAGE_REMINDER_HOURS", 48.0),
            render_workers=_int(env, "PORTAL_RENDER_WORKERS", 0),
            demo_invoices=_bool(env, "PORTAL_DEMO_INVOICES", True),
        )

    def require(self, *names: str) -> Settings:
        """Fails at start-up, naming the variable, rather than at the first request."""
        for name in names:
            if not getattr(self, name):
                raise SettingsError(f"PORTAL_{name.upper()} is required")
        return self

    def service_addr(self, service: str) -> str:
        try:
            return self.service_addrs[service]
        except KeyError:
            raise SettingsError(f"PORTAL_{service.upper()}_ADDR is required") from None

    def public_base_url(self, host: str) -> str:
        default = 443 if self.public_scheme == "https" else 80
        port = "" if self.public_port in (0, default) else f":{self.public_port}"
        return f"{self.public_scheme}://{host}{port}"
