"""The customer portal's pages: handlers ask services and fill view models; templates do the rest."""

from __future__ import annotations

import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2
from portal.hdo.v1 import hdo_pb2
from portal.identity.v1 import identity_pb2

from kit import authz, context
from kit.errors import DomainError

from .. import hdo, i18n
from ..principal import Principal, call_context
from ..services import Services
from . import render, session, views

PAGE_SIZE = 25
NAMES_KEPT_SECONDS = 300
DASHBOARD_POINTS = 5
MAX_FIELD = 256
# the return address after signing in can be a whole OAuth authorization request (PKCE challenge, nonce …)
MAX_NEXT = 2048
# the actions whose pages exist; the others appear with the issues that build them
SERVED_ACTIONS = tuple(
    a for a in views.QUICK_ACTIONS if a.key in ("reading", "consumption", "supply_points", "outages")
)


def safe_next(target: str | None, default: str = views.PATHS["dashboard"]) -> str:
    """Only a path on this host, so a crafted link cannot send a signed-in user elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


async def form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: (v[: MAX_NEXT if k == "next" else MAX_FIELD] if isinstance(v, str) else "") for k, v in data.items()}


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


async def signed_in(request: Request, services: Services) -> Principal:
    principal = await session.current_principal(request, services)
    if principal is None:
        raise NotAuthorizedException()
    return principal


def acting_for(request: Request, principal: Principal) -> str:
    """The customer number the pages show, kept in the session and always one the user may see."""
    current = request.session.get("cn")
    if current not in principal.customer_numbers:
        current = principal.customer_numbers[0] if principal.customer_numbers else ""
        request.session["cn"] = current
    return current


def ctx(request: Request, principal: Principal | None, customer_number: str = "") -> context.CallContext:
    return call_context(
        request.state.tenant,
        principal,
        customer_number=customer_number,
        locale=render.locale(request, principal),
        client_address=client_address(request),
        request_id=request.state.request_id,
    )


async def customer_names(request: Request, services: Services, principal: Principal) -> dict[str, str]:
    """The names of the user's customer numbers, for headings and the switcher on every page. Kept in the session
    for a few minutes (names rarely change) instead of asking accounts on every page."""
    numbers = list(principal.customer_numbers)
    if not numbers:
        return {}
    kept = request.session.get("names")
    if kept and kept.get("for") == numbers and time.time() - kept.get("at", 0) < NAMES_KEPT_SECONDS:
        return kept["names"]
    with context.bound(ctx(request, principal)):
        resp = await services.accounts.ListCustomers(accounts_pb2.ListCustomersRequest(customer_numbers=numbers))
    names = {c.customer_number: c.name for c in resp.customers}
    request.session["names"] = {"for": numbers, "at": time.time(), "names": names}
    return names


async def customer_choices(
    request: Request, services: Services, principal: Principal
) -> tuple[views.CustomerChoice, ...]:
    names = await customer_names(request, services, principal)
    return tuple(views.CustomerChoice(n, names.get(n, "")) for n in principal.customer_numbers)


async def customer_page(request: Request, services: Services, principal: Principal, nav_active: str) -> views.Page:
    return render.page(
        request, principal, nav_active=nav_active, customers=await customer_choices(request, services, principal)
    )


def address(a: Any) -> views.Address:
    return views.Address(a.street, a.house_number, a.city, a.postal_code, a.country)


def row(p: accounts_pb2.SupplyPoint) -> views.SupplyPointRow:
    return views.SupplyPointRow(
        id=p.id,
        identifier=p.identifier,
        commodity=p.commodity,
        address=address(p.address),
        product=p.product,
        distribution_tariff=p.distribution_tariff,
        customer_number=p.customer_number,
    )


def outage_rows(
    found: Iterable[hdo_pb2.Outage], points: Iterable[accounts_pb2.SupplyPoint]
) -> tuple[views.OutageRow, ...]:
    rows = {p.id: row(p) for p in points}
    return tuple(
        views.OutageRow(
            starts_at=hdo.instant(o.notice.starts_at),
            ends_at=hdo.instant(o.notice.ends_at),
            reason=o.notice.reason,
            state=o.notice.state,
            places=tuple(rows[i] for i in o.supply_point_ids if i in rows),
        )
        for o in found
    )


# --- public pages ------------------------------------------------------------------------------------


@get("/", name="landing")
async def landing(request: Request, services: Services) -> Response:
    principal = await session.current_principal(request, services)
    if principal is not None:
        return Redirect(path=views.PATHS["dashboard"])
    return render.html(request, "landing.html", render.page(request, None))


@get("/theme.css", name="theme")
async def theme(request: Request) -> Response:
    css = i18n.render(render.ENV, "theme.css.j2", "en", brand=render.brand(request))
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=300"})


@post("/locale", name="locale")
async def set_locale(request: Request) -> Response:
    data = await form(request)
    if data.get("locale") in render.brand(request).locales:
        request.session["locale"] = data["locale"]
    return Redirect(path=safe_next(data.get("next"), views.PATHS["landing"]))


# --- signing in and out ------------------------------------------------------------------------------


@get("/login", name="login")
async def login_form(request: Request, next: str = "") -> Response:
    return render.html(
        request,
        "login.html",
        render.page(request, None),
        errors=views.NO_ERRORS,
        values={},
        step="password",
        next=safe_next(next),
    )


@post("/login", name="login_submit")
async def login(request: Request, services: Services) -> Response:
    data = await form(request)
    page_ctx = render.page(request, None)
    nxt = safe_next(data.get("next"))
    try:
        with context.bound(ctx(request, None)):
            result = await services.identity.Authenticate(
                identity_pb2.AuthenticateRequest(
                    email=data.get("email", ""),
                    password=data.get("password", ""),
                    client_address=client_address(request),
                )
            )
        if result.outcome == "totp_required":
            request.session["login_ticket"] = result.session_id
            return render.html(
                request, "login.html", page_ctx, errors=views.NO_ERRORS, values={}, step="totp", next=nxt
            )
        await session.sign_in(request, services, result.session_id)
    except DomainError as err:
        status = 429 if err.reason == "throttled" else 400
        return render.html(
            request,
            "login.html",
            page_ctx,
            status=status,
            errors=render.form_errors(page_ctx, err),
            values={"email": data.get("email", "")},
            step="password",
            next=nxt,
        )
    return Redirect(path=nxt)


@post("/login/totp", name="login_totp")
async def login_totp(request: Request, services: Services) -> Response:
    data = await form(request)
    page_ctx = render.page(request, None)
    nxt = safe_next(data.get("next"))
    ticket = request.session.get("login_ticket", "")
    try:
        if not ticket:
            # no password step went before (or this session lost it): without a ticket the service would take
            # this for a password attempt with no e-mail and count it against the caller's address
            raise DomainError("token.expired")
        with context.bound(ctx(request, None)):
            result = await services.identity.Authenticate(
                identity_pb2.AuthenticateRequest(
                    login_ticket=ticket, totp_code=data.get("code", ""), client_address=client_address(request)
                )
            )
        request.session.pop("login_ticket", None)
        await session.sign_in(request, services, result.session_id)
    except DomainError as err:
        return render.html(
            request,
            "login.html",
            page_ctx,
            status=400,
            errors=render.form_errors(page_ctx, err, "code"),
            values={},
            step="totp" if ticket else "password",
            next=nxt,
        )
    return Redirect(path=nxt)


@post("/logout", name="logout")
async def logout(request: Request, services: Services) -> Response:
    # the landing page after signing out speaks the language the pages were just shown in
    shown = render.locale(request, await session.current_principal(request, services))
    await session.sign_out(request, services)
    request.set_session({"locale": shown})
    return Redirect(path=views.PATHS["landing"])


# --- registration and links ---------------------------------------------------------------------------


@get("/register", name="register")
async def register_form(request: Request) -> Response:
    return render.html(request, "register.html", render.page(request, None), errors=views.NO_ERRORS, values={})


@post("/register", name="register_submit")
async def register(request: Request, services: Services) -> Response:
    data = await form(request)
    page_ctx = render.page(request, None)
    problems: dict[str, tuple[str, ...]] = {}
    for name in ("customer_number", "email", "password"):
        if not data.get(name, "").strip():
            problems[name] = (render.translate(page_ctx, "required"),)
    if data.get("password") != data.get("password_confirm"):
        problems["password_confirm"] = (render.translate(page_ctx, "password.mismatch"),)
    if data.get("terms") != "yes":
        problems["terms"] = (render.translate(page_ctx, "required"),)
    req = identity_pb2.RegisterRequest(
        customer_number=data.get("customer_number", "").strip(),
        email=data.get("email", ""),
        password=data.get("password", ""),
        locale=page_ctx.locale,
        client_address=client_address(request),
    )
    if data.get("proof") == "invoice":
        req.last_invoice.invoice_number = data.get("invoice_number", "")
        req.last_invoice.amount = data.get("invoice_amount", "")
    else:
        req.authorization_code = data.get("authorization_code", "")
    values = {k: v for k, v in data.items() if "password" not in k and k != "_csrf_token"}
    if problems:
        return render.html(
            request, "register.html", page_ctx, status=400, errors=views.FormErrors(fields=problems), values=values
        )
    try:
        with context.bound(ctx(request, None)):
            await services.identity.Register(req)
    except DomainError as err:
        status = 429 if err.reason == "throttled" else 400
        return render.html(
            request, "register.html", page_ctx, status=status, errors=render.form_errors(page_ctx, err), values=values
        )
    return render.html(request, "register_sent.html", page_ctx, email=req.email)


@get("/verify-email", name="verify_email")
async def verify_email(request: Request, services: Services, token: str = "") -> Response:
    try:
        with context.bound(ctx(request, None)):
            await services.identity.VerifyEmail(identity_pb2.VerifyEmailRequest(token=token[:200]))
        result, status = "verified", 200
    except DomainError as err:
        if not err.reason.startswith("token."):
            raise
        result, status = err.reason, 400
    return render.html(request, "verify_email.html", render.page(request, None), status=status, result=result)


@get("/password-reset", name="password_reset_request")
async def password_reset_form(request: Request) -> Response:
    return render.html(
        request,
        "password_reset_request.html",
        render.page(request, None),
        errors=views.NO_ERRORS,
        values={},
        sent=False,
    )


@post("/password-reset", name="password_reset_request_submit")
async def password_reset_request(request: Request, services: Services) -> Response:
    data = await form(request)
    page_ctx = render.page(request, None)
    try:
        with context.bound(ctx(request, None)):
            await services.identity.RequestPasswordReset(
                identity_pb2.RequestPasswordResetRequest(
                    email=data.get("email", ""), locale=page_ctx.locale, client_address=client_address(request)
                )
            )
    except DomainError as err:
        return render.html(
            request,
            "password_reset_request.html",
            page_ctx,
            status=429 if err.reason == "throttled" else 400,
            errors=render.form_errors(page_ctx, err, "email"),
            values={"email": data.get("email", "")},
            sent=False,
        )
    return render.html(
        request,
        "password_reset_request.html",
        page_ctx,
        errors=views.NO_ERRORS,
        values={"email": data.get("email", "")},
        sent=True,
    )


@get("/password-reset/new", name="password_reset")
async def password_reset_new(request: Request, token: str = "") -> Response:
    return render.html(
        request, "password_reset.html", render.page(request, None), errors=views.NO_ERRORS, token=token[:200]
    )


@post("/password-reset/new", name="password_reset_submit")
async def password_reset(request: Request, services: Services) -> Response:
    data = await form(request)
    page_ctx = render.page(request, None)
    token = data.get("token", "")
    if data.get("new_password") != data.get("new_password_confirm"):
        errors = views.FormErrors(fields={"new_password_confirm": (render.translate(page_ctx, "password.mismatch"),)})
        return render.html(request, "password_reset.html", page_ctx, status=400, errors=errors, token=token)
    try:
        with context.bound(ctx(request, None)):
            await services.identity.ResetPassword(
                identity_pb2.ResetPasswordRequest(token=token, new_password=data.get("new_password", ""))
            )
    except DomainError as err:
        return render.html(
            request, "password_reset.html", page_ctx, status=400, errors=render.form_errors(page_ctx, err), token=token
        )
    return Redirect(path=views.PATHS["login"])


# --- the signed-in customer's pages ------------------------------------------------------------------------


@post("/customer", name="customer")
async def switch_customer(request: Request, services: Services) -> Response:
    # a POST with the CSRF token: another site must not be able to switch whom the pages act for
    principal = await signed_in(request, services)
    data = await form(request)
    if data.get("customer") in principal.customer_numbers:
        request.session["cn"] = data["customer"]
    return Redirect(path=safe_next(data.get("next")))


@get("/dashboard", name="dashboard")
async def dashboard(request: Request, services: Services) -> Response:
    principal = await signed_in(request, services)
    number = acting_for(request, principal)
    if not number:
        # staff act for no customer: they start in the staff console
        return Redirect(path=views.PATHS["staff" if principal.is_staff else "profile"])
    call = ctx(request, principal, number)
    page_ctx = await customer_page(request, services, principal, "dashboard")
    names = {c.number: c.name for c in page_ctx.customers}
    if number not in names:
        raise DomainError("not_found")
    with context.bound(call):
        points = await services.accounts.ListSupplyPoints(
            accounts_pb2.ListSupplyPointsRequest(
                customer_numbers=[number],
                page=common_pb2.PageRequest(page_size=DASHBOARD_POINTS),
            )
        )
    contracts: dict[str, views.ContractRow] = {}
    for p in points.supply_points:
        if p.HasField("contract") and p.contract.number not in contracts:
            c = p.contract
            contracts[c.number] = views.ContractRow(
                number=c.number,
                contract_type=c.contract_type,
                supply_point_count=sum(1 for q in points.supply_points if q.contract.number == c.number),
                payment_method=c.payment_method,
                advance=views.Money(Decimal(c.advance_amount.amount), c.advance_amount.currency),
                advance_cycle=c.advance_cycle,
                e_invoice=c.e_invoice,
            )
    view = views.DashboardView(
        customer_name=names[number],
        customer_number=number,
        electricity_count=points.electricity_count,
        gas_count=points.gas_count,
        supply_points=tuple(row(p) for p in points.supply_points),
        contracts=tuple(contracts.values()),
        capabilities=call.capabilities,
        actions=SERVED_ACTIONS,
        low_tariff=await low_tariff_card(request, services, call, points.supply_points),
        outages=await outage_card(request, services, call, points),
    )
    return render.html(request, "dashboard.html", page_ctx, view=view)


async def low_tariff_card(
    request: Request, services: Services, call: context.CallContext, points: Any
) -> views.LowTariffCard | None:
    """ "Is the low tariff on" for the first supply point on the dashboard with an HDO code: at most one call (the
    answer is kept until the next switch), none when there is no such point. The dashboard does without it when the
    hdo service does not answer."""
    point = next((p for p in points if p.commodity == "electricity" and p.hdo_code), None)
    if point is None:
        return None
    try:
        with context.bound(call):
            now = await request.app.state.hdo_answers.now(services, call.tenant_id, point.hdo_code)
    except DomainError as err:
        if err.reason not in ("unavailable", "deadline"):
            raise
        return None
    return views.LowTariffCard(row(point), point.hdo_code, hdo.low_tariff_now(now))


def outage_card_of(found: list[hdo_pb2.Outage], points: Iterable[accounts_pb2.SupplyPoint]) -> views.OutageCard | None:
    coming = [o for o in found if o.notice.state != "cancelled"]
    return views.OutageCard(next=outage_rows(coming[:1], points)[0], more=len(coming) - 1) if coming else None


async def outage_card(
    request: Request, services: Services, call: context.CallContext, listed: accounts_pb2.ListSupplyPointsResponse
) -> views.OutageCard | None:
    """The next planned outage at the customer's electricity supply points, and how many more there are. The
    answer is kept a minute per user and customer number; the dashboard does without it when hdo does not answer."""
    if not listed.electricity_count:
        return None
    number = call.customer_number

    async def ask() -> views.OutageCard | None:
        points = list(listed.supply_points)
        if len(points) < listed.electricity_count + listed.gas_count:
            points = await hdo.customer_points(services, number)
        return outage_card_of(await hdo.upcoming_outages(services, points), points)

    try:
        with context.bound(call):
            return await request.app.state.hdo_answers.outages(call.tenant_id, call.subject, number, ask)
    except DomainError as err:
        if err.reason not in ("unavailable", "deadline"):
            raise
        return None


@get("/supply-points", name="supply_points")
async def supply_points(
    request: Request, services: Services, q: str = "", commodity: str = "", page: str = "", start: int = 1
) -> Response:
    principal = await signed_in(request, services)
    number = acting_for(request, principal)
    q, commodity = q.strip()[:100], commodity if commodity in ("electricity", "gas") else ""
    with context.bound(ctx(request, principal, number)):
        resp = await services.accounts.ListSupplyPoints(
            accounts_pb2.ListSupplyPointsRequest(
                customer_numbers=[number],
                query=q,
                commodity=commodity,
                page=common_pb2.PageRequest(page_size=PAGE_SIZE, page_token=page[:512]),
                view=accounts_pb2.SUPPLY_POINT_VIEW_BASIC,
            )
        )
    start = max(1, start)
    query = {"q": q, "commodity": commodity}
    next_href = (
        views.PATHS["supply_points"]
        + "?"
        + urlencode({**query, "page": resp.page.next_page_token, "start": start + PAGE_SIZE})
        if resp.page.next_page_token
        else None
    )
    prev_href = views.PATHS["supply_points"] + "?" + urlencode(query) if page else None
    view = views.SupplyPointListView(
        rows=tuple(row(p) for p in resp.supply_points),
        total=resp.page.total_size,
        query=q,
        commodity=commodity,
        next_href=next_href,
        prev_href=prev_href,
        first_index=start,
    )
    return render.html(
        request, "supply_points.html", await customer_page(request, services, principal, "supply_points"), view=view
    )


@get("/supply-points/{supply_point_id:str}", name="supply_point")
async def supply_point(request: Request, services: Services, supply_point_id: str) -> Response:
    principal = await signed_in(request, services)
    number = acting_for(request, principal)
    call = ctx(request, principal, number)
    with context.bound(call):
        p = (
            await services.accounts.GetSupplyPoint(
                accounts_pb2.GetSupplyPointRequest(supply_point_id=supply_point_id[:64])
            )
        ).supply_point
    contract = None
    capabilities = set(call.capabilities)
    if p.HasField("contract"):
        c = p.contract
        contract = views.ContractDetail(
            number=c.number,
            contract_type=c.contract_type,
            payment_method=c.payment_method,
            bank_account=c.bank_account,
            advance=views.Money(Decimal(c.advance_amount.amount), c.advance_amount.currency),
            advance_cycle=c.advance_cycle,
            e_invoice=c.e_invoice,
            supplier=c.supplier,
            valid_from=c.valid_from.ToDatetime().date(),
        )
    else:
        capabilities.discard(authz.CONTRACTS_READ)
    view = views.SupplyPointDetailView(
        id=p.id,
        identifier=p.identifier,
        commodity=p.commodity,
        address=address(p.address),
        capabilities=frozenset(capabilities),
        customer_number=p.customer_number,
        meter_number=p.meter_number,
        breaker_amps=p.breaker_amps or None,
        phases=p.phases or None,
        distribution_tariff=p.distribution_tariff,
        product=p.product,
        annual_consumption_kwh=p.annual_consumption_kwh,
        reading_schedule=p.reading_schedule,
        hdo_code=p.hdo_code,
        contract=contract,
    )
    return render.html(
        request, "supply_point.html", await customer_page(request, services, principal, "supply_points"), view=view
    )


# --- profile -------------------------------------------------------------------------------------------


async def _profile(
    request: Request,
    services: Services,
    principal: Principal,
    *,
    errors: views.FormErrors = views.NO_ERRORS,
    enrolment: views.TotpEnrolment | None = None,
    flash: str = "",
    status: int = 200,
) -> Response:
    choices = await customer_choices(request, services, principal)
    page_ctx = render.page(
        request,
        principal,
        nav_active="profile",
        customers=choices,
        flashes=(views.Flash(flash, "success"),) if flash else (),
    )
    view = views.ProfileView(
        email=principal.user.email,
        totp_enabled=principal.user.totp_enabled,
        customers=choices,
        totp_enrolment=enrolment,
    )
    return render.html(request, "profile.html", page_ctx, status=status, view=view, errors=errors, values={})


@get("/profile", name="profile")
async def profile(request: Request, services: Services) -> Response:
    return await _profile(request, services, await signed_in(request, services))


async def _profile_change(request: Request, services: Services, call: Any, success: str, field: str) -> Response:
    principal = await signed_in(request, services)
    page_ctx = render.page(request, principal)
    try:
        with context.bound(ctx(request, principal)):
            await call(await form(request))
    except DomainError as err:
        return await _profile(request, services, principal, errors=render.form_errors(page_ctx, err, field), status=400)
    principal = await signed_in(request, services)
    return await _profile(request, services, principal, flash=i18n.gettext(success, page_ctx.locale))


@post("/profile/password", name="profile_password")
async def change_password(request: Request, services: Services) -> Response:
    async def call(data: dict[str, str]) -> None:
        if data.get("new_password") != data.get("new_password_confirm"):
            raise DomainError("password.mismatch", field="new_password_confirm")
        await services.identity.ChangePassword(
            identity_pb2.ChangePasswordRequest(
                current_password=data.get("current_password", ""), new_password=data.get("new_password", "")
            )
        )

    return await _profile_change(
        request, services, call, views.N_("Your password has been changed."), "current_password"
    )


@post("/profile/email", name="profile_email")
async def change_email(request: Request, services: Services) -> Response:
    async def call(data: dict[str, str]) -> None:
        await services.identity.ChangeLoginEmail(
            identity_pb2.ChangeLoginEmailRequest(
                current_password=data.get("email_password", ""), new_email=data.get("new_email", "")
            )
        )

    return await _profile_change(
        request, services, call, views.N_("We have sent a confirmation link to the new address."), "new_email"
    )


@post("/profile/totp", name="profile_totp")
async def begin_totp(request: Request, services: Services) -> Response:
    principal = await signed_in(request, services)
    with context.bound(ctx(request, principal)):
        resp = await services.identity.BeginTotpEnrollment(identity_pb2.BeginTotpEnrollmentRequest())
    return await _profile(
        request, services, principal, enrolment=views.TotpEnrolment(resp.secret, resp.provisioning_uri)
    )


@post("/profile/totp/confirm", name="profile_totp_confirm")
async def confirm_totp(request: Request, services: Services) -> Response:
    async def call(data: dict[str, str]) -> None:
        await services.identity.ConfirmTotpEnrollment(
            identity_pb2.ConfirmTotpEnrollmentRequest(code=data.get("code", ""))
        )

    return await _profile_change(request, services, call, views.N_("Two-step verification is on."), "code")


@post("/profile/totp/disable", name="profile_totp_disable")
async def disable_totp(request: Request, services: Services) -> Response:
    async def call(data: dict[str, str]) -> None:
        await services.identity.DisableTotp(identity_pb2.DisableTotpRequest(code=data.get("disable_code", "")))

    return await _profile_change(request, services, call, views.N_("Two-step verification is off."), "disable_code")


ROUTES = [
    landing,
    theme,
    set_locale,
    login_form,
    login,
    login_totp,
    logout,
    register_form,
    register,
    verify_email,
    password_reset_form,
    password_reset_request,
    password_reset_new,
    password_reset,
    switch_customer,
    dashboard,
    supply_points,
    supply_point,
    profile,
    change_password,
    change_email,
    begin_totp,
    confirm_totp,
    disable_totp,
]
