"""Error pages: translated, branded when the tenant is known, never a stack trace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.response import Redirect

from .. import i18n
from . import render


def unknown_host(request: Request) -> Response:
    locale = i18n.negotiate(None, request.headers.get("accept-language"), i18n.SUPPORTED_LOCALES, "en")
    html = i18n.render(render.ENV, "unknown_host.html", locale)
    return Response(html, status_code=404, media_type="text/html")


def page(
    request: Request,
    status: int,
    reason: str,
    *,
    retry_after: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> Response:
    tenant = getattr(request.state, "tenant", None)
    if tenant is None:
        return unknown_host(request)
    page_ctx = render.page(request, None)
    message = i18n.reason_message(reason, page_ctx.locale, seconds=retry_after or 0, **(params or {})) if reason else ""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    # the template words its title by the status, so it goes into the context as well as onto the response
    html = i18n.render(render.ENV, "error.html", page_ctx.locale, page=page_ctx, status=status, message=message)
    return Response(html, status_code=status, media_type="text/html", headers=headers)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(path="/login?" + urlencode({"next": target}))
