"""How the customer's messages reach them: per kind of message, by e-mail, SMS or both (notifications service)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from litestar import Request, Response, get, post
from litestar.response import Redirect
from portal.notifications.v1 import notifications_pb2

from kit import context
from kit.authz import ACCESS_MANAGE
from kit.errors import DomainError

from .. import i18n
from ..principal import Principal
from ..services import Services
from . import render, views
from .pages import MAX_FIELD, acting_for, ctx, customer_page, signed_in

FLASH_KEY = "preferences_flash"
# more than any form of ours posts; a crafted one gets no further
MAX_KINDS = 10


def view_of(
    prefs: notifications_pb2.Preferences, call: context.CallContext, shown: Mapping[str, Sequence[str]] | None = None
) -> views.PreferencesView:
    """The page's view of the service's answer; `shown` puts back what the customer posted when it was refused."""
    return views.PreferencesView(
        rows=tuple(views.PreferenceRow(k.kind, frozenset((shown or {}).get(k.kind, k.channels))) for k in prefs.kinds),
        channels=("email", "sms") if prefs.sms_available else ("email",),
        phone=prefs.phone,
        sms_available=prefs.sms_available,
        can_change=ACCESS_MANAGE in call.capabilities,
    )


async def _page(
    request: Request,
    services: Services,
    principal: Principal,
    *,
    shown: Mapping[str, Sequence[str]] | None = None,
    errors: views.FormErrors = views.NO_ERRORS,
    status: int = 200,
) -> Response:
    page_ctx = await customer_page(request, services, principal, "profile")
    number = acting_for(request, principal)
    view = None
    if number:
        call = ctx(request, principal, number)
        with context.bound(call):
            resp = await services.notifications.GetPreferences(
                notifications_pb2.GetPreferencesRequest(customer_number=number)
            )
        view = view_of(resp.preferences, call, shown)
    flash = request.session.pop(FLASH_KEY, "") if status == 200 else ""
    if flash:
        page_ctx = dataclasses.replace(page_ctx, flashes=(views.Flash(flash, "success"),))
    return render.html(request, "notification_preferences.html", page_ctx, status=status, view=view, errors=errors)


@get("/profile/notifications", name="notification_preferences")
async def preferences_page(request: Request, services: Services) -> Response:
    return await _page(request, services, await signed_in(request, services))


@post("/profile/notifications", name="notification_preferences_submit")
async def submit_preferences(request: Request, services: Services) -> Response:
    principal = await signed_in(request, services)
    number = acting_for(request, principal)
    data = await request.form()
    # each kind shown posts its name in `kind` and its ticked channels under its own name
    kinds = [k[:MAX_FIELD] for k in data.getall("kind", []) if isinstance(k, str)][:MAX_KINDS]
    chosen = {k: [c[:MAX_FIELD] for c in data.getall(k, []) if isinstance(c, str)] for k in kinds}
    try:
        with context.bound(ctx(request, principal, number)):
            await services.notifications.SetPreferences(
                notifications_pb2.SetPreferencesRequest(
                    customer_number=number,
                    kinds=[notifications_pb2.KindPreference(kind=k, channels=c) for k, c in chosen.items()],
                )
            )
    except DomainError as err:
        if not err.reason.startswith("preferences."):
            raise
        page_ctx = render.page(request, principal)
        message = render.translate(page_ctx, err.reason)
        errors = (
            views.FormErrors(fields={err.field: (message,)}) if err.field in chosen else views.FormErrors(form=message)
        )
        return await _page(request, services, principal, shown=chosen, errors=errors, status=400)
    saved = views.N_("Your choice has been saved.")
    request.session[FLASH_KEY] = i18n.gettext(saved, render.locale(request, principal))
    return Redirect(path=views.PATHS["profile_notifications"])


ROUTES = [preferences_page, submit_preferences]
