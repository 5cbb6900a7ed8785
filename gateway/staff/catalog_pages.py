"""The staff console's request catalog and permission matrix, for tenant administrators (`catalog:edit`): which
processed requests customers may file, on which contract types, in which order and with which deadline (the requests
service owns the catalog), and what each contract type allows (the accounts service owns the matrix). Both services
check the role again, refuse bad input whole and audit every change. Other services keep the matrix a minute
(`kit.matrix`), so a change of it takes effect everywhere within that minute."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.response import Redirect
from portal.accounts.v1 import accounts_pb2
from portal.requests.v1 import requests_pb2

from kit import authz, context
from kit.errors import DomainError

from ..principal import Principal
from ..services import Services
from ..web import render
from ..web.pages import ctx
from ..web.requests_pages import flash, with_flash
from ..web.views import LABELS, N_, NO_ERRORS, FormErrors, Page
from . import views
from .pages import needs, staff_member, staff_page

# the catalog's and the matrix's refusals shown on the form; anything else is an error page
FORM_REASONS = ("catalog.", "matrix.")
MAX_NUMBER = 9
# the requests service's limits, for the form's hints
MAX_DEADLINE_DAYS = 365
MAX_POSITION = 999


async def administrator(request: Request, services: Services) -> tuple[Principal, Page]:
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.CATALOG_EDIT)
    return principal, staff_page(request, principal, capabilities, "staff_catalog")


def capability_label(capability: str) -> str:
    return LABELS["scope"].get(authz.scope_of(capability), capability)


def card_href(code: str) -> str:
    return f"{views.CATALOG_PATH}/{quote(code, safe='')}"


def catalog_card(entry: requests_pb2.CatalogEntry, matrix: dict[str, frozenset[str]]) -> views.CatalogCard:
    chosen = frozenset(entry.contract_types) or frozenset(matrix)
    return views.CatalogCard(
        code=entry.code,
        capability=capability_label(entry.capability),
        offered=entry.offered,
        deadline_days=str(entry.deadline_days),
        position=str(entry.position),
        contract_types=tuple(
            views.ContractTypeChoice(t, t in chosen, entry.capability in matrix[t]) for t in sorted(matrix)
        ),
        effective=tuple(entry.allowed_contract_types),
        action=card_href(entry.code),
    )


async def catalog_page(
    request: Request,
    services: Services,
    principal: Principal,
    page_ctx: Page,
    refused: views.CatalogCard | None = None,
) -> Response:
    with context.bound(ctx(request, principal)):
        listed = await services.requests.ListCatalog(requests_pb2.ListCatalogRequest(all_entries=True))
        matrix = await matrix_of(services)
    cards = tuple(
        refused if refused is not None and refused.code == e.code else catalog_card(e, matrix) for e in listed.entries
    )
    view = views.CatalogView(cards=cards, max_deadline_days=MAX_DEADLINE_DAYS, max_position=MAX_POSITION)
    status = 400 if refused is not None else 200
    return render.html(request, "staff/catalog.html", page_ctx, status=status, view=view)


async def matrix_of(services: Services) -> dict[str, frozenset[str]]:
    rows = (await services.accounts.GetPermissionMatrix(accounts_pb2.GetPermissionMatrixRequest())).rows
    return {r.contract_type: frozenset(r.capabilities) for r in rows}


def number(text: str) -> int:
    """A whole number as typed; anything else is -1, which every rule refuses with its own message."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= MAX_NUMBER else -1


def refusal(page_ctx: Page, err: DomainError) -> FormErrors:
    if not err.reason.startswith(FORM_REASONS):
        raise err
    return FormErrors(fields={err.field or "form": (render.translate(page_ctx, err.reason, **err.params),)})


@get(views.CATALOG_PATH, name="staff_catalog")
async def catalog(request: Request, services: Services) -> Response:
    principal, page_ctx = await administrator(request, services)
    return await catalog_page(request, services, principal, with_flash(request, page_ctx))


@post(f"{views.CATALOG_PATH}/{{code:str}}", name="staff_catalog_entry")
async def update_entry(request: Request, services: Services, code: str) -> Response:
    principal, page_ctx = await administrator(request, services)
    data = await request.form()
    code = code[:64]
    typed = {k: str(data.get(k) or "")[:32] for k in ("deadline_days", "position")}
    chosen = [str(t)[:64] for t in data.getall("contract_types", [])][:50]
    wanted = requests_pb2.UpdateCatalogEntryRequest(
        code=code,
        offered=data.get("offered") == "yes",
        deadline_days=number(typed["deadline_days"]),
        contract_types=chosen,
        position=number(typed["position"]),
    )
    try:
        with context.bound(ctx(request, principal)):
            await services.requests.UpdateCatalogEntry(wanted)
    except DomainError as err:
        if err.reason == "request.type_unknown":
            raise DomainError("not_found") from err
        errors = refusal(page_ctx, err)
        with context.bound(ctx(request, principal)):
            listed = await services.requests.ListCatalog(requests_pb2.ListCatalogRequest(all_entries=True))
            matrix = await matrix_of(services)
        entry = next(e for e in listed.entries if e.code == code)
        # the card as it was sent, with the refusal beside it
        card = dataclasses.replace(
            catalog_card(entry, matrix),
            offered=wanted.offered,
            deadline_days=typed["deadline_days"],
            position=typed["position"],
            contract_types=tuple(
                views.ContractTypeChoice(t, t in chosen, entry.capability in matrix[t]) for t in sorted(matrix)
            ),
            errors=errors,
        )
        return await catalog_page(request, services, principal, page_ctx, card)
    flash(request, principal, N_("The request catalog has been saved."))
    return Redirect(path=f"{views.CATALOG_PATH}#entry-{code}")


# --- permission matrix ---------------------------------------------------------------------------------------


def matrix_view(matrix: dict[str, frozenset[str]], errors: FormErrors = NO_ERRORS) -> views.MatrixView:
    return views.MatrixView(
        capabilities=tuple((c, capability_label(c)) for c in authz.PER_CONTRACT),
        rows=tuple(views.MatrixRow(t, tuple((c, c in matrix[t]) for c in authz.PER_CONTRACT)) for t in sorted(matrix)),
        required=tuple(capability_label(c) for c in authz.PER_CONTRACT if c in authz.TO_VIEW_OWN_DATA),
        errors=errors,
    )


async def matrix_admin(request: Request, services: Services) -> tuple[Principal, Page]:
    principal, page_ctx = await administrator(request, services)
    return principal, dataclasses.replace(page_ctx, nav_active="staff_matrix")


@get(views.MATRIX_PATH, name="staff_matrix")
async def matrix_form(request: Request, services: Services) -> Response:
    principal, page_ctx = await matrix_admin(request, services)
    with context.bound(ctx(request, principal)):
        matrix = await matrix_of(services)
    return render.html(request, "staff/matrix.html", with_flash(request, page_ctx), view=matrix_view(matrix))


@post(views.MATRIX_PATH, name="staff_matrix_submit")
async def matrix_submit(request: Request, services: Services) -> Response:
    principal, page_ctx = await matrix_admin(request, services)
    data = await request.form()
    # every contract type the form showed: one with no box ticked is sent empty, so it is refused, not skipped
    types = [str(t)[:64] for t in data.getall("contract_type", [])][:50]
    wanted = accounts_pb2.SetPermissionMatrixRequest(
        rows=[
            accounts_pb2.PermissionRow(
                contract_type=t, capabilities=[str(c)[:64] for c in data.getall(f"caps-{t}", [])][:50]
            )
            for t in types
        ]
    )
    try:
        with context.bound(ctx(request, principal)):
            await services.accounts.SetPermissionMatrix(wanted)
    except DomainError as err:
        errors = refusal(page_ctx, err)
        with context.bound(ctx(request, principal)):
            matrix = await matrix_of(services)
        # the boxes as they were ticked, with the refusal above them
        sent = {r.contract_type: frozenset(r.capabilities) for r in wanted.rows if r.contract_type in matrix}
        view = matrix_view({**matrix, **sent}, errors)
        return render.html(request, "staff/matrix.html", page_ctx, status=400, view=view)
    flash(request, principal, N_("The permission matrix has been saved. It applies everywhere within a minute."))
    return Redirect(path=views.MATRIX_PATH)


ROUTES = [catalog, update_entry, matrix_form, matrix_submit]
