"""Immediate online changes on the pages: contact data and addresses (/profile/contact) and a supply point's contract
— payment method and bank account, advance, e-invoice (/supply-points/{id}/contract). Accounts applies each at once
and refuses what the grant or the permission matrix does not allow; the pages only leave out the forms it would
refuse. Every change sets a value, so a form sent twice changes nothing the second time."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2

from kit import authz, context
from kit.errors import DomainError

from .. import i18n
from ..principal import Principal
from ..services import Services
from . import render, views
from .pages import acting_for, address, ctx, customer_page, form, row, signed_in

FLASH_KEY = "details_flash"
ADDRESS_FIELDS = ("street", "house_number", "city", "postal_code", "country")
ADDRESS_KINDS = {"mailing": accounts_pb2.ADDRESS_KIND_MAILING, "permanent": accounts_pb2.ADDRESS_KIND_PERMANENT}
SAVED = {
    "contact": views.N_("Your contact details have been changed."),
    "mailing": views.N_("Your mailing address has been changed."),
    "permanent": views.N_("Your permanent address has been changed."),
    "payment": views.N_("The payment method and bank account have been changed."),
    "advance": views.N_("The advance payment has been changed."),
    "e_invoice": views.N_("Your choice of e-invoice has been saved."),
}
CONFIRMED = views.N_("We have sent you a confirmation by e-mail; the change is listed under Requests.")


def _money(m: common_pb2.Money) -> views.Money:
    return views.Money(Decimal(m.amount), m.currency)


def _flash(request: Request, page_ctx: views.Page) -> views.Page:
    flash = request.session.pop(FLASH_KEY, "")
    return dataclasses.replace(page_ctx, flashes=(views.Flash(flash, "success"),)) if flash else page_ctx


def _saved(request: Request, principal: Principal, change: str) -> None:
    locale = render.locale(request, principal)
    request.session[FLASH_KEY] = f"{i18n.gettext(SAVED[change], locale)} {i18n.gettext(CONFIRMED, locale)}"


async def _apply(
    request: Request,
    principal: Principal,
    call: Callable[[], Awaitable[Any]],
    *,
    default_field: str,
) -> views.FormErrors | None:
    """Runs the change; a refusal of the caller's input comes back as the form's errors, anything else raises."""
    try:
        await call()
    except DomainError as err:
        if err.reason in ("not_found", "forbidden", "unauthenticated") or err.reason.startswith(
            ("unavailable", "internal")
        ):
            # not about what was typed: the error page says it (404, 403, 503)
            raise
        return render.form_errors(render.page(request, principal), err, default_field)
    return None


# --- contact data and addresses ------------------------------------------------------------------------------


async def _contact_page(
    request: Request,
    services: Services,
    principal: Principal,
    *,
    errors: views.FormErrors = views.NO_ERRORS,
    posted: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    page_ctx = await customer_page(request, services, principal, "profile")
    number = acting_for(request, principal)
    view = None
    if number:
        call = ctx(request, principal, number)
        with context.bound(call):
            customer = (
                await services.accounts.GetCustomer(accounts_pb2.GetCustomerRequest(customer_number=number))
            ).customer
        view = views.ContactDetailsView(
            customer_number=number,
            email=customer.email,
            phone=customer.phone,
            mailing_address=address(customer.mailing_address),
            permanent_address=address(customer.permanent_address),
            # a delegate limited to some supply points acts on those, not on the customer's own data
            can_change=authz.CONTACT_WRITE in call.capabilities and call.supply_point_ids is None,
            posted=posted or {},
        )
    if status == 200:
        page_ctx = _flash(request, page_ctx)
    return render.html(request, "contact_details.html", page_ctx, status=status, view=view, errors=errors)


@get("/profile/contact", name="profile_contact")
async def contact_page(request: Request, services: Services) -> Response:
    return await _contact_page(request, services, await signed_in(request, services))


@post("/profile/contact", name="profile_contact_submit")
async def change_contact(request: Request, services: Services) -> Response:
    principal = await signed_in(request, services)
    number = acting_for(request, principal)
    data = await form(request)
    change = data.get("change", "")
    accounts = services.accounts
    if change == "contact":
        posted = {k: data.get(k, "") for k in ("email", "phone")}

        async def call() -> Any:
            return await accounts.ChangeContact(accounts_pb2.ChangeContactRequest(customer_number=number, **posted))

        default_field = "email"
    elif change in ADDRESS_KINDS:
        # both address forms are on one page: their fields carry the kind, so each field's id is its own
        posted = {f"{change}_{k}": data.get(f"{change}_{k}", "") for k in ADDRESS_FIELDS}
        given = common_pb2.Address(**{k: posted[f"{change}_{k}"] for k in ADDRESS_FIELDS})

        async def call() -> Any:
            try:
                return await accounts.ChangeAddress(
                    accounts_pb2.ChangeAddressRequest(customer_number=number, kind=ADDRESS_KINDS[change], address=given)
                )
            except DomainError as err:
                err.field = f"{change}_{err.field}" if err.field in ADDRESS_FIELDS else err.field
                raise

        default_field = f"{change}_street"
    else:
        raise DomainError("request.field_unknown", field="change")
    with context.bound(ctx(request, principal, number)):
        errors = await _apply(request, principal, call, default_field=default_field)
    if errors is not None:
        return await _contact_page(request, services, principal, errors=errors, posted={change: posted}, status=400)
    _saved(request, principal, change)
    return Redirect(path=views.PATHS["profile_contact"])


# --- a supply point's contract ---------------------------------------------------------------------------------


async def _contract_page(
    request: Request,
    services: Services,
    principal: Principal,
    supply_point_id: str,
    *,
    errors: views.FormErrors = views.NO_ERRORS,
    posted: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    number = acting_for(request, principal)
    call = ctx(request, principal, number)
    with context.bound(call):
        point = (
            await services.accounts.GetSupplyPoint(accounts_pb2.GetSupplyPointRequest(supply_point_id=supply_point_id))
        ).supply_point
        if not point.HasField("contract"):
            raise DomainError("not_found")
        c = point.contract
        matrix = await services.accounts.GetPermissionMatrix(accounts_pb2.GetPermissionMatrixRequest())
        policy = next(
            (frozenset(r.capabilities) for r in matrix.rows if r.contract_type == c.contract_type), frozenset()
        )
        capabilities = call.capabilities & policy
        bounds = None
        if authz.ADVANCE_WRITE in capabilities:
            try:
                found = await services.accounts.GetAdvanceBounds(accounts_pb2.GetAdvanceBoundsRequest(contract_id=c.id))
            except DomainError as err:
                # a contract whose consumption the brand cannot price keeps its advance; the form is left out
                if not err.reason.startswith("precondition"):
                    raise
            else:
                bounds = views.AdvanceBounds(
                    minimum=_money(found.minimum),
                    maximum=_money(found.maximum),
                    proposal=_money(found.proposal),
                    yearly_cost=_money(found.expected_yearly_cost),
                    annual_consumption_kwh=found.annual_consumption_kwh,
                )
    view = views.ContractSettingsView(
        supply_point=row(point),
        contract=views.ContractDetail(
            number=c.number,
            contract_type=c.contract_type,
            payment_method=c.payment_method,
            bank_account=c.bank_account,
            advance=_money(c.advance_amount),
            advance_cycle=c.advance_cycle,
            e_invoice=c.e_invoice,
            supplier=c.supplier,
        ),
        capabilities=capabilities,
        bounds=bounds,
        posted=posted or {},
    )
    page_ctx = await customer_page(request, services, principal, "supply_points")
    if status == 200:
        page_ctx = _flash(request, page_ctx)
    return render.html(request, "contract_settings.html", page_ctx, status=status, view=view, errors=errors)


@get("/supply-points/{supply_point_id:str}/contract", name="contract_settings")
async def contract_page(request: Request, services: Services, supply_point_id: str) -> Response:
    return await _contract_page(request, services, await signed_in(request, services), supply_point_id[:64])


@post("/supply-points/{supply_point_id:str}/contract", name="contract_settings_submit")
async def change_contract(request: Request, services: Services, supply_point_id: str) -> Response:
    principal = await signed_in(request, services)
    number = acting_for(request, principal)
    supply_point_id = supply_point_id[:64]
    data = await form(request)
    change = data.get("change", "")
    accounts = services.accounts
    with context.bound(ctx(request, principal, number)):
        point = (
            await accounts.GetSupplyPoint(accounts_pb2.GetSupplyPointRequest(supply_point_id=supply_point_id))
        ).supply_point
        contract_id = point.contract.id
        if not contract_id:
            raise DomainError("not_found")
        if change == "payment":
            posted = {k: data.get(k, "") for k in ("payment_method", "bank_account")}

            async def call() -> Any:
                return await accounts.ChangeContractPayment(
                    accounts_pb2.ChangeContractPaymentRequest(contract_id=contract_id, **posted)
                )

            default_field = "bank_account"
        elif change == "advance":
            posted = {"amount": data.get("amount", "")}

            async def call() -> Any:
                return await accounts.ChangeAdvance(
                    accounts_pb2.ChangeAdvanceRequest(contract_id=contract_id, amount=posted["amount"])
                )

            default_field = "amount"
        elif change == "e_invoice":
            posted = {"e_invoice": data.get("e_invoice", "")}

            async def call() -> Any:
                return await accounts.SetEInvoice(
                    accounts_pb2.SetEInvoiceRequest(contract_id=contract_id, enabled=posted["e_invoice"] == "on")
                )

            default_field = "e_invoice"
        else:
            raise DomainError("request.field_unknown", field="change")
        errors = await _apply(request, principal, call, default_field=default_field)
    if errors is not None:
        return await _contract_page(
            request, services, principal, supply_point_id, errors=errors, posted={change: posted}, status=400
        )
    _saved(request, principal, change)
    return Redirect(path=f"{views.PATHS['supply_points']}/{supply_point_id}/contract")


ROUTES = [contact_page, change_contact, contract_page, change_contract]
