"""The staff console: where staff land after signing in, and the imports of HDO switching times and planned outages.

Staff act for their tenant (the brand of the host they signed in on), never for a customer. What their roles allow
is `kit.authz.staff_capabilities`, which the hdo service checks again on every import.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from portal.hdo.v1 import hdo_pb2

from kit import authz, context, hdoimport
from kit.errors import DomainError

from .. import i18n
from ..principal import Principal
from ..services import Services
from ..web import render
from ..web.pages import ctx, signed_in
from ..web.views import N_, PATHS, FormErrors, Page
from . import views

# a region's year of dated switching times is about 17 MB
MAX_UPLOAD_BYTES = 32 * 1024 * 1024
# room for the form's other fields and the multipart framing; a larger request is refused before it is read
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024
MAX_MB = MAX_UPLOAD_BYTES // (1024 * 1024)
MAX_FIELD = 64
IMPORT_REFUSED = "hdo.import."


async def staff_member(request: Request, services: Services) -> tuple[Principal, frozenset[str]]:
    """The signed-in staff member and what their roles allow; customers are refused."""
    principal = await signed_in(request, services)
    if not principal.is_staff:
        raise DomainError("forbidden")
    return principal, authz.staff_capabilities(principal.user.staff_roles)


def needs(capabilities: frozenset[str], capability: str) -> None:
    if capability not in capabilities:
        raise DomainError("forbidden")


def staff_page(request: Request, principal: Principal, capabilities: frozenset[str], nav_active: str) -> Page:
    page_ctx = render.page(request, principal, nav_active=nav_active)
    return dataclasses.replace(page_ctx, nav=views.nav(capabilities))


@get("/staff", name="staff")
async def home(request: Request, services: Services) -> Response:
    principal, capabilities = await staff_member(request, services)
    view = views.HomeView(
        email=principal.user.email,
        roles=tuple(views.ROLES.get(r, r) for r in principal.user.staff_roles),
        sections=tuple(s for s in views.SECTIONS if s.capability in capabilities),
    )
    return render.html(request, "staff/home.html", staff_page(request, principal, capabilities, "staff"), view=view)


# --- imports -------------------------------------------------------------------------------------------------


def schedule_form(**values: object) -> views.ImportForm:
    return views.ImportForm(action=PATHS["staff_hdo_import"], max_mb=MAX_MB, formats=views.FORMATS, **values)


def outages_form(**values: object) -> views.ImportForm:
    return views.ImportForm(action=PATHS["staff_outages"], max_mb=MAX_MB, **values)


def refusal(page_ctx: Page, err: DomainError, file_name: str) -> views.Refusal:
    """The service's refusal with its place in the file: a line of CSV or JSON text, or the n-th record."""
    params = dict(err.params)
    if "max" in params:
        params["max_mb"] = str(int(params["max"]) // (1024 * 1024))
    where = ""
    if params.get("line"):
        where = i18n.gettext(N_("Line %(line)s"), page_ctx.locale, line=params["line"])
    elif params.get("record", "0") != "0":
        where = i18n.gettext(N_("Record %(record)s"), page_ctx.locale, record=params["record"])
    return views.Refusal(file_name, where, render.translate(page_ctx, err.reason, **params))


@dataclasses.dataclass(frozen=True)
class Submitted:
    principal: Principal
    capabilities: frozenset[str]
    page: Page
    view: views.ImportView
    status: int


async def submitted(request: Request, services: Services, nav_active: str, *, outages_only: bool) -> Submitted:
    """An administrator's upload handed to the hdo service, and the form as sent with what came of it."""
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.HDO_IMPORT)
    page_ctx = staff_page(request, principal, capabilities, nav_active)
    form, outcome, status = await run_import(request, services, principal, page_ctx, outages_only=outages_only)
    return Submitted(principal, capabilities, page_ctx, views.ImportView(form, outcome), status)


async def run_import(
    request: Request, services: Services, principal: Principal, page_ctx: Page, *, outages_only: bool
) -> tuple[views.ImportForm, views.Outcome, int]:
    """Reads the upload and hands it to the hdo service: the form as sent, what came of it, the page's status."""
    data = await request.form()
    upload = data.get("file")
    fmt = hdoimport.OUTAGES_FORMAT if outages_only else str(data.get("format") or "")[:MAX_FIELD]
    valid_from = str(data.get("valid_from") or "")[:MAX_FIELD]
    make_form = outages_form if outages_only else schedule_form
    kept = {} if outages_only else {"chosen_format": fmt, "valid_from": valid_from}
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors = FormErrors(fields={"file": (i18n.gettext(N_("Choose the file to import."), page_ctx.locale),)})
        return make_form(errors=errors, **kept), None, 400
    file_name = upload.filename[:200]
    # one byte past the limit tells a file too large, so no more of it is held
    content = await upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        if len(content) > MAX_UPLOAD_BYTES:
            raise DomainError(IMPORT_REFUSED + "too_large", params={"max": str(MAX_UPLOAD_BYTES)})
        with context.bound(ctx(request, principal)):
            done = await hdoimport.send(services.hdo, content, fmt=fmt, valid_from=valid_from, file_name=file_name)
    except DomainError as err:
        if err.field == "valid_from":
            errors = FormErrors(fields={"valid_from": (render.translate(page_ctx, err.reason),)})
            return make_form(errors=errors, **kept), None, 400
        if not err.reason.startswith(IMPORT_REFUSED):
            raise
        return make_form(**kept), refusal(page_ctx, err, file_name), 400
    outcome: views.Outcome
    if isinstance(done, hdo_pb2.ImportOutagesResponse):
        outcome = views.OutagesResult(
            file_name, done.outages, done.planned, done.changed, done.cancelled, done.unchanged
        )
    else:
        outcome = views.ScheduleResult(file_name, done.format, done.codes, tuple(done.changed_codes))
    return make_form(**kept), outcome, 200


@get("/staff/hdo/import", name="staff_hdo_import")
async def hdo_import_form(request: Request, services: Services) -> Response:
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.HDO_IMPORT)
    page_ctx = staff_page(request, principal, capabilities, "staff_hdo")
    return render.html(request, "staff/hdo_import.html", page_ctx, view=views.ImportView(schedule_form()))


@post("/staff/hdo/import", name="staff_hdo_import_submit", request_max_body_size=MAX_BODY_BYTES)
async def hdo_import(request: Request, services: Services) -> Response:
    done = await submitted(request, services, "staff_hdo", outages_only=False)
    return render.html(request, "staff/hdo_import.html", done.page, status=done.status, view=done.view)


# --- planned outages -----------------------------------------------------------------------------------------


def outage_row(o: hdo_pb2.Outage) -> views.StaffOutageRow:
    n = o.notice
    return views.StaffOutageRow(
        operator=n.operator,
        external_id=n.external_id,
        starts_at=n.starts_at.ToDatetime(tzinfo=UTC),
        ends_at=n.ends_at.ToDatetime(tzinfo=UTC),
        reason=n.reason,
        state=n.state,
        eans=tuple(n.eans),
        areas=tuple(
            views.OutageArea(
                " ".join(p for p in (a.postal_code, a.city, a.street) if p),
                a.house_from if a.HasField("house_from") else None,
                a.house_to if a.HasField("house_to") else None,
            )
            for a in n.areas
        ),
    )


async def outages_page(
    request: Request,
    services: Services,
    principal: Principal,
    capabilities: frozenset[str],
    upload: views.ImportView | None,
    status: int = 200,
) -> Response:
    with context.bound(ctx(request, principal)):
        listed = await services.hdo.ListOutages(hdo_pb2.ListOutagesRequest(all_outages=True, include_cancelled=True))
    view = views.OutagesView(rows=tuple(outage_row(o) for o in listed.outages), upload=upload)
    page_ctx = staff_page(request, principal, capabilities, "staff_outages")
    return render.html(request, "staff/outages.html", page_ctx, status=status, view=view)


@get("/staff/outages", name="staff_outages")
async def outages(request: Request, services: Services) -> Response:
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.OUTAGES_READ)
    upload = views.ImportView(outages_form()) if authz.HDO_IMPORT in capabilities else None
    return await outages_page(request, services, principal, capabilities, upload)


@post("/staff/outages", name="staff_outages_submit", request_max_body_size=MAX_BODY_BYTES)
async def outages_import(request: Request, services: Services) -> Response:
    done = await submitted(request, services, "staff_outages", outages_only=True)
    return await outages_page(request, services, done.principal, done.capabilities, done.view, done.status)


ROUTES = [home, hdo_import_form, hdo_import, outages, outages_import]
