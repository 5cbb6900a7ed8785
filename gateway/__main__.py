"""`python -m gateway`: the gateway under uvicorn, configured from PORTAL_* variables."""

import uvicorn

from kit import log, metrics, telemetry
from kit.config import Settings

from .app import create_app


def main() -> None:
    settings = Settings.from_env()
    log.setup("gateway", settings.log_level)
    telemetry.setup("gateway", settings.otlp_endpoint)
    metrics.serve(settings.metrics_port)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


main()
