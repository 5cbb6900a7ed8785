"""Tenant isolation and authorisation over HTTP, for every route the gateway serves.

The matrix below names, for each route of the app's own route table, how to call it and what an anonymous
caller, the signed-in customer, the same customer holding someone else's ids and (for the staff console) the brand's
staff get. A route added to the
gateway without a row here fails `test_every_route_is_in_the_matrix`, so no endpoint escapes these checks.
Every row runs twice: with the services' own tenant filter and with it switched off, when PostgreSQL
row-level security is the only guard.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote_plus, urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from portal.billing.v1 import billing_pb2
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub
from portal.requests.v1 import requests_pb2
from portal.requests.v1.requests_pb2_grpc import RequestsServiceStub

from gateway import hdo
from kit import context, demo, rpc
from kit import db as kitdb
from kit.secrets import derive

from .portal_http import CLI_REDIRECT, CLI_SCOPE, browser, cli_tokens, csrf, sign_in

# --- who calls ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """One customer's ids, and the credentials of its login where the matrix needs them."""

    brand: str
    customer_number: str
    supply_point_id: str
    # what must never show in another customer's answers
    secrets: tuple[str, ...]
    email: str = ""
    access_token: str = ""
    refresh_token: str = ""
    # the first of its supply points with an HDO code (else the first one), and its calendar feed's name
    hdo_point_id: str = ""
    feed: str = ""
    # one of its requests and the file sent with it (a subject without a login keeps ids nobody's has)
    request_id: str = "00000000-0000-4000-8000-000000000000"
    attachment_id: str = "00000000-0000-4000-8000-000000000000"
    # one of its invoices, issued by the bill run the matrix starts
    invoice_id: str = "00000000-0000-4000-8000-000000000000"

    @property
    def host(self) -> str:
        return demo.tenant(self.brand).hosts[0]


def subject(brand: str, number: str, email: str = "") -> Subject:
    points = demo.supply_points(brand, number)
    return Subject(
        brand=brand,
        customer_number=number,
        supply_point_id=str(points[0].id),
        hdo_point_id=str(next((p for p in points if p.hdo_code), points[0]).id),
        secrets=(
            demo.customer(brand, number).name,
            *(p.identifier for p in points[:3]),
            points[0].meter_number,
        ),
        email=email,
    )


def contract_of(s: Subject) -> str:
    """The contract of the subject's first supply point."""
    return str(demo.supply_points(s.brand, s.customer_number)[0].contract.id)


@dataclass(frozen=True)
class Viewpoint:
    """A customer signed in on their brand's host, a neighbour of the same brand, customers of others."""

    own: Subject
    neighbour: Subject
    others: tuple[Subject, ...]
    # a staff login of the brand (tenant administrator); empty: the brand has none in the demo data
    staff: str = ""


JANA = subject("volta", demo.JANA, "jana@volta.example")
PEKARNY = subject("volta", demo.PEKARNY_A, "firma@volta.example")
TOVARNA = subject("esco", demo.TOVARNA, "tovarna@esco.example")
MLYNY = subject("esco", demo.MLYNY)
IVAN = subject("balkan", demo.IVAN, "ivan@balkan.example")

VIEWPOINTS = {
    "volta": Viewpoint(own=JANA, neighbour=PEKARNY, others=(TOVARNA, IVAN), staff="admin@volta.example"),
    "esco": Viewpoint(own=TOVARNA, neighbour=MLYNY, others=(JANA, IVAN)),
}

# --- what they get --------------------------------------------------------------------------------

LOGIN = "login"  # a redirect to the sign-in page, which comes back afterwards


@dataclass(frozen=True)
class Redirect:
    to: str


Expect = int | str | Redirect


@dataclass(frozen=True)
class Row:
    """How to call one route and what comes back.

    `call(s)` builds (method, url, form or None) from the subject whose ids are used. `auth` is how the
    signed-in customer authenticates: a browser session or a bearer token. `other_ids` is the answer to the
    signed-in customer using another customer's ids (None: the route takes none). `fresh` gives the call a
    login of its own, because it ends or rotates the one it uses.
    """

    call: Callable[[Subject], tuple[str, str, dict | None]]
    anonymous: Expect
    own: Expect
    other_ids: Expect | None = None
    auth: str = "session"
    fresh: bool = False
    # the call's form goes as a JSON body (API calls that take one)
    json: bool = False
    # the other brands' ids only: another customer of the same brand holding its own token is no breach
    brands_only: bool = False
    # what the brand's staff get, signed in on its host (None: not asked)
    staff: Expect | None = None


def get(path: str) -> Callable[[Subject], tuple[str, str, dict | None]]:
    return lambda s: ("GET", path.format(s=s), None)


def post(path: str, **form: str) -> Callable[[Subject], tuple[str, str, dict | None]]:
    return lambda s: ("POST", path.format(s=s), {k: v.format(s=s) for k, v in form.items()})


AUTHORIZE = "/oauth/authorize?" + urlencode(
    {
        "response_type": "code",
        "client_id": demo.CLI_CLIENT_ID,
        "redirect_uri": CLI_REDIRECT.format(port=53682),
        "scope": CLI_SCOPE,
        "state": "matrix",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
)
NEW_PASSWORD = "Zcela-Nove-Heslo-2026"
# a day of the low-tariff history that every run may ask about
RECENT = (datetime.now(ZoneInfo("Europe/Prague")).date() - timedelta(days=10)).isoformat()
# a day no reading may have
FUTURE = (datetime.now(ZoneInfo("Europe/Prague")).date() + timedelta(days=30)).isoformat()

MATRIX: dict[tuple[str, str], Row] = {
    # outside any brand
    ("GET", "/healthz"): Row(get("/healthz"), 200, 200),
    ("GET", "/static/{file_path:path}"): Row(get("/static/portal.css"), 200, 200),
    ("HEAD", "/static/{file_path:path}"): Row(lambda s: ("HEAD", "/static/portal.css", None), 200, 200),
    # API documentation: public, and about the API's shape only
    ("GET", "/api"): Row(get("/api"), 200, 200),
    ("GET", "/api/openapi.json"): Row(get("/api/openapi.json"), 200, 200),
    ("GET", "/api/openapi.yaml"): Row(get("/api/openapi.yaml"), 200, 200),
    ("GET", "/api/openapi.yml"): Row(get("/api/openapi.yml"), 200, 200),
    ("GET", "/api/redoc"): Row(get("/api/redoc"), 200, 200),
    ("GET", "/api/rapidoc"): Row(get("/api/rapidoc"), 200, 200),
    ("GET", "/api/swagger"): Row(get("/api/swagger"), 200, 200),
    ("GET", "/api/elements"): Row(get("/api/elements"), 200, 200),
    ("GET", "/api/oauth2-redirect.html"): Row(get("/api/oauth2-redirect.html"), 200, 200),
    ("GET", "/api/{path:str}"): Row(get("/api/v0"), 404, 404),
    # OAuth2 / OpenID Connect
    ("GET", "/.well-known/openid-configuration"): Row(get("/.well-known/openid-configuration"), 200, 200),
    ("GET", "/oauth/jwks"): Row(get("/oauth/jwks"), 200, 200),
    ("GET", "/oauth/authorize"): Row(get(AUTHORIZE), LOGIN, Redirect(CLI_REDIRECT.format(port=53682))),
    ("POST", "/oauth/token"): Row(
        post(
            "/oauth/token",
            grant_type="refresh_token",
            refresh_token="{s.refresh_token}",
            client_id=demo.CLI_CLIENT_ID,
        ),
        400,
        200,
        other_ids=400,
        auth="bearer",
        fresh=True,
        brands_only=True,
    ),
    ("POST", "/oauth/revoke"): Row(
        post("/oauth/revoke", token="{s.access_token}", client_id=demo.CLI_CLIENT_ID),
        # RFC 7009 §2.2: a token the server does not know (here: none) is answered like a revoked one
        200,
        200,
        other_ids=200,
        auth="bearer",
        fresh=True,
        brands_only=True,
    ),
    ("POST", "/oauth/introspect"): Row(
        post("/oauth/introspect", token="{s.access_token}", client_id=demo.CLI_CLIENT_ID),
        401,
        401,
        auth="bearer",
    ),
    ("GET", "/oauth/userinfo"): Row(get("/oauth/userinfo"), 401, 200, auth="bearer"),
    ("POST", "/oauth/userinfo"): Row(post("/oauth/userinfo"), 401, 200, auth="bearer"),
    # JSON API
    ("GET", "/api/v1/me"): Row(get("/api/v1/me"), 401, 200, auth="bearer"),
    ("GET", "/api/v1/customers/{customer_number:str}"): Row(
        get("/api/v1/customers/{s.customer_number}"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/supply-points"): Row(
        get("/api/v1/customers/{s.customer_number}/supply-points"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/supply-points/{supply_point_id:str}"): Row(
        get("/api/v1/customers/{s.customer_number}/supply-points/{s.supply_point_id}"),
        401,
        200,
        other_ids=404,
        auth="bearer",
    ),
    ("GET", "/api/v1/supply-points/{supply_point_id:str}/hdo"): Row(
        get(f"/api/v1/supply-points/{{s.hdo_point_id}}/hdo?from={RECENT}"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/api/v1/supply-points/{supply_point_id:str}/hdo/now"): Row(
        get("/api/v1/supply-points/{s.hdo_point_id}/hdo/now"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/outages"): Row(
        get("/api/v1/customers/{s.customer_number}/outages"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/api/v1/supply-points/{supply_point_id:str}/readings"): Row(
        get("/api/v1/supply-points/{s.supply_point_id}/readings"), 401, 200, other_ids=404, auth="bearer"
    ),
    # the command-line client is not given readings:write, so its own reading is forbidden; nothing is stored
    ("POST", "/api/v1/supply-points/{supply_point_id:str}/readings"): Row(
        lambda s: (
            "POST",
            f"/api/v1/supply-points/{s.supply_point_id}/readings",
            {"read_on": FUTURE, "values": {"vt": "1"}},
        ),
        401,
        403,
        other_ids=404,
        auth="bearer",
        json=True,
    ),
    ("GET", "/api/v1/supply-points/{supply_point_id:str}/consumption"): Row(
        get("/api/v1/supply-points/{s.supply_point_id}/consumption?by=year"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/notification-preferences"): Row(
        get("/api/v1/customers/{s.customer_number}/notification-preferences"), 401, 200, other_ids=404, auth="bearer"
    ),
    # only the owner changes them, and a third-party application (the command-line client) is never the owner
    ("PUT", "/api/v1/customers/{customer_number:str}/notification-preferences"): Row(
        lambda s: (
            "PUT",
            f"/api/v1/customers/{s.customer_number}/notification-preferences",
            {"kinds": [{"kind": "outages", "channels": ["email"]}]},
        ),
        401,
        403,
        other_ids=404,
        auth="bearer",
        json=True,
    ),
    # immediate changes: the command-line client is given none of the write capabilities, so each is forbidden and
    # nothing changes; the advance's bounds need only contracts:read
    ("PUT", "/api/v1/customers/{customer_number:str}/contact"): Row(
        lambda s: ("PUT", f"/api/v1/customers/{s.customer_number}/contact", {"email": "matrix@example.com"}),
        401,
        403,
        other_ids=404,
        auth="bearer",
        json=True,
    ),
    ("PUT", "/api/v1/customers/{customer_number:str}/addresses/{kind:str}"): Row(
        lambda s: (
            "PUT",
            f"/api/v1/customers/{s.customer_number}/addresses/mailing",
            {"street": "Husova", "house_number": "1", "city": "Beroun", "postal_code": "266 01", "country": "CZ"},
        ),
        401,
        403,
        other_ids=404,
        auth="bearer",
        json=True,
    ),
    ("PUT", "/api/v1/customers/{customer_number:str}/contracts/{contract_id:str}/payment"): Row(
        lambda s: (
            "PUT",
            f"/api/v1/customers/{s.customer_number}/contracts/{contract_of(s)}/payment",
            {"payment_method": "postal_order"},
        ),
        401,
        403,
        other_ids=404,
        auth="bearer",
        json=True,
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/contracts/{contract_id:str}/advance"): Row(
        lambda s: ("GET", f"/api/v1/customers/{s.customer_number}/contracts/{contract_of(s)}/advance", None),
        401,
        200,
        other_ids=404,
        auth="bearer",
    ),
    ("PUT", "/api/v1/customers/{customer_number:str}/contracts/{contract_id:str}/advance"): Row(
        lambda s: (
            "PUT",
            f"/api/v1/customers/{s.customer_number}/contracts/{contract_of(s)}/advance",
            {"amount": "100"},
        ),
        401,
        403,
        other_ids=404,
        auth="bearer",
        json=True,
    ),
    ("PUT", "/api/v1/customers/{customer_number:str}/contracts/{contract_id:str}/e-invoice"): Row(
        lambda s: (
            "PUT",
            f"/api/v1/customers/{s.customer_number}/contracts/{contract_of(s)}/e-invoice",
            {"enabled": False},
        ),
        401,
        403,
        other_ids=404,
        auth="bearer",
        json=True,
    ),
    # the calendar feed: no session, its signed name is the credential, valid on its own brand only
    ("GET", "/calendar/hdo/{feed:str}"): Row(get("/calendar/hdo/{s.feed}"), 200, 200, other_ids=404, brands_only=True),
    # public pages and forms
    ("GET", "/"): Row(get("/"), 200, Redirect("/dashboard")),
    ("GET", "/theme.css"): Row(get("/theme.css"), 200, 200),
    ("POST", "/locale"): Row(post("/locale", locale="cs", next="/"), Redirect("/"), Redirect("/")),
    ("GET", "/login"): Row(get("/login"), 200, 200),
    ("POST", "/login"): Row(
        lambda s: (
            "POST",
            "/login",
            {"email": s.email or JANA.email, "password": demo.DEMO_PASSWORD, "next": "/profile"},
        ),
        Redirect("/profile"),
        Redirect("/profile"),
    ),
    ("POST", "/login/totp"): Row(post("/login/totp", code="123456"), 400, 400),
    ("POST", "/logout"): Row(post("/logout"), Redirect("/"), Redirect("/"), fresh=True),
    ("GET", "/register"): Row(get("/register"), 200, 200),
    ("POST", "/register"): Row(post("/register"), 400, 400),
    ("GET", "/verify-email"): Row(get("/verify-email?token=not-a-token"), 400, 400),
    ("GET", "/password-reset"): Row(get("/password-reset"), 200, 200),
    ("POST", "/password-reset"): Row(post("/password-reset", email="nobody@example.invalid"), 200, 200),
    ("GET", "/password-reset/new"): Row(get("/password-reset/new?token=not-a-token"), 200, 200),
    ("POST", "/password-reset/new"): Row(
        post(
            "/password-reset/new",
            token="not-a-token",
            new_password=NEW_PASSWORD,
            new_password_confirm=NEW_PASSWORD,
        ),
        400,
        400,
    ),
    # the signed-in customer's pages
    ("POST", "/customer"): Row(
        post("/customer", customer="{s.customer_number}", next="/dashboard"),
        LOGIN,
        Redirect("/dashboard"),
        other_ids=Redirect("/dashboard"),
    ),
    ("GET", "/dashboard"): Row(get("/dashboard"), LOGIN, 200, staff=Redirect("/staff")),
    ("GET", "/supply-points"): Row(get("/supply-points?q={s.secrets[1]}"), LOGIN, 200, other_ids=200),
    ("GET", "/supply-points/{supply_point_id:str}"): Row(
        get("/supply-points/{s.supply_point_id}"), LOGIN, 200, other_ids=404
    ),
    ("GET", "/supply-points/{supply_point_id:str}/hdo"): Row(
        get(f"/supply-points/{{s.hdo_point_id}}/hdo?day={RECENT}"), LOGIN, 200, other_ids=404
    ),
    ("GET", "/supply-points/{supply_point_id:str}/readings"): Row(
        get("/supply-points/{s.supply_point_id}/readings"), LOGIN, 200, other_ids=404
    ),
    # a reading dated in the future: refused with the form shown again, so the matrix stores nothing
    ("POST", "/supply-points/{supply_point_id:str}/readings"): Row(
        post("/supply-points/{s.supply_point_id}/readings", read_on=FUTURE, value_vt="1", idempotency_key="matrix"),
        LOGIN,
        400,
        other_ids=404,
    ),
    ("GET", "/supply-points/{supply_point_id:str}/consumption"): Row(
        get("/supply-points/{s.supply_point_id}/consumption?by=month"), LOGIN, 200, other_ids=404
    ),
    ("GET", "/supply-points/{supply_point_id:str}/consumption.csv"): Row(
        get("/supply-points/{s.supply_point_id}/consumption.csv?by=year"), LOGIN, 200, other_ids=404
    ),
    ("GET", "/supply-points/{supply_point_id:str}/consumption.xlsx"): Row(
        get("/supply-points/{s.supply_point_id}/consumption.xlsx?by=year"), LOGIN, 200, other_ids=404
    ),
    ("GET", "/outages"): Row(get("/outages"), LOGIN, 200),
    ("GET", "/profile"): Row(get("/profile"), LOGIN, 200),
    ("POST", "/profile/password"): Row(
        post("/profile/password", current_password="x", new_password=NEW_PASSWORD, new_password_confirm="other"),
        LOGIN,
        400,
    ),
    ("POST", "/profile/email"): Row(post("/profile/email", email_password="x", new_email="not-an-address"), LOGIN, 400),
    ("POST", "/profile/totp"): Row(post("/profile/totp"), LOGIN, 200),
    ("POST", "/profile/totp/confirm"): Row(post("/profile/totp/confirm", code="abcdef"), LOGIN, 400),
    ("POST", "/profile/totp/disable"): Row(post("/profile/totp/disable", disable_code="abcdef"), LOGIN, 400),
    # the staff console: staff only; the imports without a file are refused with the form, so nothing is stored
    ("GET", "/staff"): Row(get("/staff"), LOGIN, 403, staff=200),
    ("GET", "/staff/hdo/import"): Row(get("/staff/hdo/import"), LOGIN, 403, staff=200),
    ("POST", "/staff/hdo/import"): Row(post("/staff/hdo/import", format="csv"), LOGIN, 403, staff=400),
    ("GET", "/staff/outages"): Row(get("/staff/outages"), LOGIN, 403, staff=200),
    ("POST", "/staff/outages"): Row(post("/staff/outages"), LOGIN, 403, staff=400),
    ("GET", "/staff/payments"): Row(get("/staff/payments"), LOGIN, 403, staff=200),
    # no file: refused with the form shown again, so the matrix imports nothing
    ("POST", "/staff/payments"): Row(post("/staff/payments"), LOGIN, 403, staff=400),
    # immediate changes on the pages: refused input comes back with the form (400), so the matrix changes nothing
    ("GET", "/profile/contact"): Row(get("/profile/contact"), LOGIN, 200),
    ("POST", "/profile/contact"): Row(post("/profile/contact", change="contact", email="not-an-address"), LOGIN, 400),
    ("GET", "/supply-points/{supply_point_id:str}/contract"): Row(
        get("/supply-points/{s.supply_point_id}/contract"), LOGIN, 200, other_ids=404
    ),
    ("POST", "/supply-points/{supply_point_id:str}/contract"): Row(
        post("/supply-points/{s.supply_point_id}/contract", change="payment", payment_method="cash"),
        LOGIN,
        400,
        other_ids=404,
    ),
    ("GET", "/profile/notifications"): Row(get("/profile/notifications"), LOGIN, 200),
    # no channel for outage notices: refused with the form shown again, so the matrix changes nothing
    ("POST", "/profile/notifications"): Row(post("/profile/notifications", kind="outages"), LOGIN, 400),
    # requests (žádosti): forms missing their required fields and steps the request's state does not allow are
    # refused with the page shown again, so the matrix files and changes nothing (but assigning)
    ("GET", "/requests"): Row(get("/requests"), LOGIN, 200, staff=403),
    # invoices and payments
    ("GET", "/invoices"): Row(get("/invoices?status=unpaid"), LOGIN, 200, staff=403),
    ("GET", "/invoices/{invoice_id:str}"): Row(get("/invoices/{s.invoice_id}"), LOGIN, 200, other_ids=404, staff=403),
    ("GET", "/invoices/{invoice_id:str}/{fmt:str}"): Row(
        get("/invoices/{s.invoice_id}/pdf"), LOGIN, 200, other_ids=404, staff=403
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/invoices"): Row(
        get("/api/v1/customers/{s.customer_number}/invoices"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/invoices/{invoice_id:str}"): Row(
        get("/api/v1/customers/{s.customer_number}/invoices/{s.invoice_id}"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/invoices/{invoice_id:str}/{fmt:str}"): Row(
        get("/api/v1/customers/{s.customer_number}/invoices/{s.invoice_id}/isdoc"),
        401,
        200,
        other_ids=404,
        auth="bearer",
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/advances"): Row(
        get("/api/v1/customers/{s.customer_number}/advances"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/balance"): Row(
        get("/api/v1/customers/{s.customer_number}/balance"), 401, 200, other_ids=404, auth="bearer"
    ),
    ("GET", "/requests/new"): Row(get("/requests/new?supply_point={s.supply_point_id}"), LOGIN, 200, other_ids=404),
    ("POST", "/requests/new"): Row(
        post("/requests/new", supply_point="{s.supply_point_id}", type="product_change", idempotency_key="matrix"),
        LOGIN,
        400,
        other_ids=404,
    ),
    ("GET", "/requests/{request_id:str}"): Row(get("/requests/{s.request_id}"), LOGIN, 200, other_ids=404),
    ("POST", "/requests/{request_id:str}/transition"): Row(
        post("/requests/{s.request_id}/transition", action="add_info", reason="matrix"), LOGIN, 400, other_ids=404
    ),
    ("GET", "/requests/{request_id:str}/attachments/{attachment_id:str}"): Row(
        get("/requests/{s.request_id}/attachments/{s.attachment_id}"), LOGIN, 200, other_ids=404, staff=403
    ),
    ("GET", "/staff/requests/{request_id:str}/attachments/{attachment_id:str}"): Row(
        get("/staff/requests/{s.request_id}/attachments/{s.attachment_id}"), LOGIN, 403, staff=200
    ),
    ("GET", "/staff/requests"): Row(get("/staff/requests?overdue=yes"), LOGIN, 403, staff=200),
    ("GET", "/staff/requests/new"): Row(
        get("/staff/requests/new?customer={s.customer_number}&supply_point={s.supply_point_id}"), LOGIN, 403, staff=200
    ),
    ("POST", "/staff/requests/new"): Row(
        post("/staff/requests/new", customer="{s.customer_number}", type="free_text", channel="phone"),
        LOGIN,
        403,
        staff=400,
    ),
    ("GET", "/staff/requests/{request_id:str}"): Row(get("/staff/requests/{s.request_id}"), LOGIN, 403, staff=200),
    ("POST", "/staff/requests/{request_id:str}/transition"): Row(
        post("/staff/requests/{s.request_id}/transition", action="resolve", reason="matrix"), LOGIN, 403, staff=400
    ),
    ("POST", "/staff/requests/{request_id:str}/assign"): Row(
        post("/staff/requests/{s.request_id}/assign"), LOGIN, 403, staff=Redirect("/staff/requests/")
    ),
    ("POST", "/staff/requests/{request_id:str}/comment"): Row(
        post("/staff/requests/{s.request_id}/comment", text=""), LOGIN, 403, staff=400
    ),
    # customer search and the customer's page: customer service and administrators; the audit log: administrators
    ("GET", "/staff/customers"): Row(get("/staff/customers?q={s.customer_number}"), LOGIN, 403, staff=200),
    ("GET", "/staff/customers/{number:str}"): Row(
        get("/staff/customers/{s.customer_number}"), LOGIN, 403, other_ids=403, staff=200
    ),
    ("GET", "/staff/audit"): Row(get("/staff/audit?source=requests"), LOGIN, 403, staff=200),
    # the request catalog and the permission matrix: administrators; a deadline of no days and a contract type left
    # with nothing ticked are refused with the form shown again, so the matrix changes nothing
    ("GET", "/staff/catalog"): Row(get("/staff/catalog"), LOGIN, 403, staff=200),
    ("POST", "/staff/catalog/{code:str}"): Row(
        post("/staff/catalog/free_text", offered="yes", deadline_days="0", position="0", contract_types="bundled"),
        LOGIN,
        403,
        staff=400,
    ),
    ("GET", "/staff/matrix"): Row(get("/staff/matrix"), LOGIN, 403, staff=200),
    ("POST", "/staff/matrix"): Row(post("/staff/matrix", contract_type="bundled"), LOGIN, 403, staff=400),
    # the command-line client is given neither requests:read nor requests:write
    ("GET", "/api/v1/customers/{customer_number:str}/requests"): Row(
        get("/api/v1/customers/{s.customer_number}/requests"), 401, 403, other_ids=404, auth="bearer"
    ),
    ("POST", "/api/v1/customers/{customer_number:str}/requests"): Row(
        lambda s: (
            "POST",
            f"/api/v1/customers/{s.customer_number}/requests",
            {"type": "free_text", "values": {"subject": "matrix", "description": "matrix"}},
        ),
        401,
        403,
        other_ids=404,
        auth="bearer",
        json=True,
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/requests/{request_id:str}"): Row(
        get("/api/v1/customers/{s.customer_number}/requests/{s.request_id}"), 401, 403, other_ids=404, auth="bearer"
    ),
    ("POST", "/api/v1/customers/{customer_number:str}/requests/{request_id:str}/steps"): Row(
        lambda s: (
            "POST",
            f"/api/v1/customers/{s.customer_number}/requests/{s.request_id}/steps",
            {"action": "add_info", "reason": "matrix"},
        ),
        401,
        403,
        other_ids=404,
        auth="bearer",
        json=True,
    ),
    ("GET", "/api/v1/customers/{customer_number:str}/requests/{request_id:str}/attachments/{attachment_id:str}"): Row(
        get("/api/v1/customers/{s.customer_number}/requests/{s.request_id}/attachments/{s.attachment_id}"),
        401,
        403,
        other_ids=404,
        auth="bearer",
    ),
    # personal access tokens: a nameless one is refused with the form, so the matrix makes none; a token id that is
    # nobody's is not found, as is another user's (tests/services/test_identity_personal_tokens.py)
    ("GET", "/profile/tokens"): Row(get("/profile/tokens"), LOGIN, 200, staff=200),
    ("POST", "/profile/tokens"): Row(
        post("/profile/tokens", name="", scopes="supply-points:read", expires_at="30"), LOGIN, 400
    ),
    ("POST", "/profile/tokens/{token_id:str}/revoke"): Row(
        post("/profile/tokens/00000000-0000-4000-8000-000000000000/revoke"), LOGIN, 404
    ),
}

# Litestar answers OPTIONS itself on every route, with the allowed methods and no data
IMPLICIT_METHODS = frozenset({"OPTIONS"})


def route_table(stack) -> set[tuple[str, str]]:
    from gateway.app import create_app

    return {
        (method, route.path)
        for route in create_app(stack.settings).routes
        for method in getattr(route, "route_handler_map", {})
        if method not in IMPLICIT_METHODS
    }


def test_every_route_is_in_the_matrix(stack):
    routes = route_table(stack)
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes without a row in the isolation matrix: {missing}"
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


# --- running the matrix ---------------------------------------------------------------------------


def check(resp: httpx.Response, expected: Expect, what: str) -> None:
    assert resp.status_code < 500, f"{what}: {resp.status_code} {resp.text[:500]}"
    location = resp.headers.get("location", "")
    if expected == LOGIN:
        assert resp.status_code in (302, 303) and urlsplit(location).path == "/login", (
            f"{what}: {resp.status_code} {location}"
        )
    elif isinstance(expected, Redirect):
        assert resp.status_code in (302, 303), f"{what}: {resp.status_code} {resp.text[:300]}"
        assert location.startswith(expected.to), f"{what}: redirected to {location}"
    else:
        assert resp.status_code == expected, f"{what}: {resp.status_code} {resp.text[:500]}"
    if resp.request.url.path.startswith("/api/v1/") and resp.status_code >= 400:
        assert resp.headers["content-type"].startswith("application/problem+json"), what
    if resp.status_code == 401 and resp.request.url.path.startswith("/api/"):
        assert resp.headers["www-authenticate"].lower().startswith("bearer"), what


def assert_nothing_of(resp: httpx.Response, other: Subject, what: str) -> None:
    sent = unquote_plus(str(resp.request.url))
    for secret in other.secrets:
        text = resp.text
        if secret in sent:
            # a search form showing back what was typed into it tells nothing, nor does the language switch
            # carrying the page's own address
            text = text.replace(f'value="{secret}"', "")
            text = text.replace(f'value="{html.escape(resp.request.url.raw_path.decode())}"', "")
        assert secret not in text, f"{what}: the answer shows {secret!r} of {other.customer_number}"


class Caller:
    """Sends matrix calls as one kind of caller on one brand's host."""

    def __init__(self, stack, host: str, source: str) -> None:
        self.stack, self.host, self.source = stack, host, source

    async def send(self, c: httpx.AsyncClient, row: Row, s: Subject, token: str = "") -> httpx.Response:
        method, url, form = row.call(s)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if row.json:
            return await c.request(method, url, json=form, headers=headers)
        if method == "POST" and not url.startswith("/oauth/"):
            form = {"_csrf_token": csrf((await c.get("/login")).text), **(form or {})}
        return await c.request(method, url, data=form, headers=headers)

    @contextlib.asynccontextmanager
    async def session(self, email: str):
        async with browser(self.stack, self.host, source=self.source) as c:
            resp = await sign_in(c, email)
            assert resp.status_code in (302, 303), resp.text[:500]
            yield c

    def anonymous(self):
        return browser(self.stack, self.host, source=self.source)

    @contextlib.asynccontextmanager
    async def maybe_session(self, email: str):
        """A session of `email`, or None when there is no such login."""
        if not email:
            yield None
            return
        async with self.session(email) as c:
            yield c


def feed_of(stack, s: Subject, supply_point_id: str = "") -> str:
    """The calendar feed name the HDO page shows the subject's user, for its own brand."""
    key = derive(stack.settings, hdo.FEED_PURPOSE)
    user = demo.user(s.brand, s.email)
    return hdo.feed_token(key, str(demo.tenant(s.brand).id), supply_point_id or s.hdo_point_id, str(user.id)) + ".ics"


async def filed_request(stack, s: Subject) -> tuple[str, str]:
    """A request of the subject's customer with the letter scanned, as if it had come by post; once per run (its
    idempotency key). Its id and its attachment's."""
    channel = rpc.channel(stack.address("requests"))
    try:
        system = context.CallContext(tenant_id=str(demo.tenant(s.brand).id), subject="matrix", subject_kind="system")
        with context.bound(system):
            filed = await RequestsServiceStub(channel).Submit(
                requests_pb2.SubmitRequest(
                    customer_number=s.customer_number,
                    type="free_text",
                    channel="letter",
                    values=[
                        requests_pb2.FieldValue(name="subject", value="Matrix"),
                        requests_pb2.FieldValue(name="description", value="Filed by the isolation matrix."),
                    ],
                    idempotency_key="isolation-matrix",
                    attachments=[
                        requests_pb2.Attachment(file_name="letter.txt", content_type="text/plain", content=b"Letter")
                    ],
                )
            )
            found = await RequestsServiceStub(channel).Get(requests_pb2.GetRequest(request_id=filed.request.id))
    finally:
        await channel.close()
    return filed.request.id, found.request.attachments[0].id


# the periods the matrix's bill runs settle: the yearly points' first year, and one month of the monthly ones
BILLED_PERIODS = ("2025", "2026-10")


async def issued_invoice(stack, s: Subject) -> str:
    """One invoice of the subject's customer, from the brand's bill runs (run to their end once; a second run
    issues nothing)."""
    system = context.CallContext(tenant_id=str(demo.tenant(s.brand).id), subject="matrix", subject_kind="system")
    channel = rpc.channel(stack.address("billing"), deadline_seconds=120)
    try:
        billing = BillingServiceStub(channel)
        with context.bound(system):
            for period in BILLED_PERIODS:
                while not (await billing.RunBilling(billing_pb2.RunBillingRequest(period=period))).finished:
                    pass
            listed = await billing.ListInvoices(billing_pb2.ListInvoicesRequest(customer_number=s.customer_number))
    finally:
        await channel.close()
    return listed.invoices[0].id


async def with_tokens(stack, s: Subject) -> Subject:
    tokens = await cli_tokens(stack, s.host, s.email)
    request_id, attachment_id = await filed_request(stack, s)
    return dataclasses.replace(
        s,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        feed=feed_of(stack, s),
        request_id=request_id,
        attachment_id=attachment_id,
        invoice_id=await issued_invoice(stack, s),
    )


@pytest.mark.parametrize("app_filter", [True, False], ids=["app-filter-and-rls", "rls-only"])
@pytest.mark.parametrize("brand", sorted(VIEWPOINTS))
async def test_isolation_matrix(stack, monkeypatch, brand, app_filter):
    monkeypatch.setattr(kitdb, "APPLICATION_TENANT_FILTER", app_filter)
    view = VIEWPOINTS[brand]
    own = await with_tokens(stack, view.own)
    others = tuple([await with_tokens(stack, o) for o in view.others])
    # the own customer number with a supply point of someone else
    mixed = tuple(dataclasses.replace(o, customer_number=own.customer_number) for o in (view.neighbour, *others))
    # an anonymous caller tries the signed-in customer's ids
    anonymous = dataclasses.replace(own, access_token="", refresh_token="")
    host = own.host
    caller = Caller(stack, host, source=f"127.0.{20 + sorted(VIEWPOINTS).index(brand)}.{1 + int(app_filter)}")

    async with caller.session(own.email) as browser_session, caller.maybe_session(view.staff) as staff_session:
        for (method, path), row in MATRIX.items():
            what = f"{method} {path} on {host}"

            async with caller.anonymous() as anon:
                check(await caller.send(anon, row, anonymous), row.anonymous, f"{what} anonymous")

            if row.auth == "bearer":
                me = await with_tokens(stack, view.own) if row.fresh else own
                async with caller.anonymous() as c:
                    resp = await caller.send(c, row, me, me.access_token)
                    check(resp, row.own, f"{what} as {own.email}")
                    # a token is good on the brand that issued it only
                    if path.startswith(("/api/v1/", "/oauth/userinfo")):
                        for other in others:
                            resp = await caller.send(c, row, me, other.access_token)
                            check(resp, 401, f"{what} with a token of {other.brand}")
            elif row.fresh:
                async with caller.session(own.email) as c:
                    check(await caller.send(c, row, own), row.own, f"{what} as {own.email}")
                # signing out ends every login of the user, so the ones the matrix goes on with are renewed
                own = await with_tokens(stack, view.own)
                assert (await sign_in(browser_session, own.email)).status_code in (302, 303)
            else:
                check(await caller.send(browser_session, row, own), row.own, f"{what} as {own.email}")

            if row.staff is not None and staff_session is not None:
                check(await caller.send(staff_session, row, own), row.staff, f"{what} as {view.staff}")

            if row.other_ids is None:
                continue
            strangers = others if row.brands_only else (view.neighbour, *others)
            if "{supply_point_id" in path:
                strangers += mixed
            for other in strangers:
                label = f"{what} as {own.email} with the ids of {other.brand} {other.customer_number}"
                if row.auth == "bearer":
                    async with caller.anonymous() as c:
                        resp = await caller.send(c, row, other, own.access_token)
                else:
                    resp = await caller.send(browser_session, row, other)
                check(resp, row.other_ids, label)
                assert_nothing_of(resp, other, label)
                if row.auth == "session":
                    # whatever came back, the pages still show the signed-in customer's own data only
                    page = await browser_session.get("/dashboard")
                    assert page.status_code == 200, label
                    assert demo.customer(own.brand, own.customer_number).name in page.text, label
                    assert_nothing_of(page, other, label)

    # the other brands' tokens this host was asked to revoke are alive on their own brands
    for other in others:
        async with browser(stack, other.host) as c:
            me = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {other.access_token}"})
        assert me.status_code == 200, f"{other.brand}'s token was revoked through {host}"


async def test_a_session_cookie_taken_to_another_brand_signs_nobody_in(stack):
    async with browser(stack, JANA.host) as volta:
        assert (await sign_in(volta, JANA.email)).status_code in (302, 303)
        assert (await volta.get("/dashboard")).status_code == 200
        cookies = {c.name: c.value for c in volta.cookies.jar}
    async with browser(stack, TOVARNA.host, cookies=cookies) as esco:
        for path in ("/dashboard", "/supply-points", f"/supply-points/{JANA.supply_point_id}", "/profile"):
            resp = await esco.get(path)
            check(resp, LOGIN, f"GET {path} with a volta session on esco")


async def test_a_staff_session_taken_to_another_brand_signs_nobody_in(stack):
    async with browser(stack, JANA.host) as volta:
        assert (await sign_in(volta, VIEWPOINTS["volta"].staff)).status_code in (302, 303)
        assert (await volta.get("/staff")).status_code == 200
        cookies = {c.name: c.value for c in volta.cookies.jar}
    async with browser(stack, TOVARNA.host, cookies=cookies) as esco:
        for path in ("/staff", "/staff/hdo/import", "/staff/outages", "/dashboard"):
            check(await esco.get(path), LOGIN, f"GET {path} with a volta staff session on esco")


async def test_a_delegate_sees_only_the_supply_points_granted(stack):
    """The bakery's accountant reads twenty of its supply points; the rest are as unknown as a stranger's."""
    accountant = demo.user("volta", "ucetni@volta.example")
    (grant,) = accountant.grants
    points = demo.supply_points("volta", demo.PEKARNY_A)
    granted = [p for p in points if str(p.id) in grant.supply_point_ids]
    withheld = [p for p in points if str(p.id) not in grant.supply_point_ids]
    tokens = await cli_tokens(stack, "volta.localhost", accountant.email)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    base = f"/api/v1/customers/{demo.PEKARNY_A}/supply-points"
    delegate_view = dataclasses.replace(
        subject("volta", demo.PEKARNY_A), secrets=(withheld[0].identifier, withheld[0].meter_number)
    )
    async with browser(stack, "volta.localhost", headers=auth) as api:
        listed = (await api.get(base, params={"page_size": 100})).json()
        assert listed["total"] == len(granted)
        assert {p["identifier"] for p in listed["items"]} == {p.identifier for p in granted}
        assert (await api.get(f"{base}/{granted[0].id}")).status_code == 200
        resp = await api.get(f"{base}/{withheld[0].id}")
        check(resp, 404, "a supply point outside the delegate's grant")
        assert_nothing_of(resp, delegate_view, "withheld supply point")
    async with browser(stack, "volta.localhost") as web:
        assert (await sign_in(web, accountant.email)).status_code in (302, 303)
        page = await web.get("/supply-points", params={"q": withheld[0].identifier})
        assert page.status_code == 200
        assert_nothing_of(page, dataclasses.replace(delegate_view, secrets=(withheld[0].identifier,)), "search")
        check(await web.get(f"/supply-points/{withheld[0].id}"), 404, "withheld supply point page")
        assert (await web.get(f"/supply-points/{granted[0].id}")).status_code == 200


async def test_a_calendar_feed_opens_its_own_supply_point_only(stack):
    """A feed name is signed for one user, one supply point and one brand: signed names for what the user may not
    see, a changed character or a feed without its suffix find nothing."""
    jana = subject("volta", demo.JANA, "jana@volta.example")
    gas = next(p for p in demo.supply_points("volta", demo.JANA) if not p.hdo_code)
    bakery = next(p for p in demo.supply_points("volta", demo.PEKARNY_A) if p.hdo_code)
    own = feed_of(stack, jana)
    async with browser(stack, jana.host) as c:
        resp = await c.get(f"/calendar/hdo/{own}")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/calendar")
        for name in (
            feed_of(stack, jana, str(gas.id)),
            feed_of(stack, jana, str(bakery.id)),
            own[:10] + ("A" if own[10] != "A" else "B") + own[11:],
            own.removesuffix(".ics"),
            "x" * 300 + ".ics",
        ):
            resp = await c.get(f"/calendar/hdo/{name}")
            check(resp, 404, f"feed {name}")
            assert bakery.identifier not in resp.text


async def test_a_delegate_sees_low_tariff_times_of_granted_supply_points_only(stack):
    accountant = demo.user("volta", "ucetni@volta.example")
    (grant,) = accountant.grants
    points = [p for p in demo.supply_points("volta", demo.PEKARNY_A) if p.hdo_code]
    granted = next(p for p in points if str(p.id) in grant.supply_point_ids)
    withheld = next(p for p in points if str(p.id) not in grant.supply_point_ids)
    tokens = await cli_tokens(stack, "volta.localhost", accountant.email)
    async with browser(stack, "volta.localhost", headers={"Authorization": f"Bearer {tokens['access_token']}"}) as api:
        assert (await api.get(f"/api/v1/supply-points/{granted.id}/hdo/now")).status_code == 200
        check(await api.get(f"/api/v1/supply-points/{withheld.id}/hdo/now"), 404, "withheld point's low tariff")
        outages = await api.get(f"/api/v1/customers/{demo.PEKARNY_A}/outages")
        assert outages.status_code == 200
    async with browser(stack, "volta.localhost") as web:
        assert (await sign_in(web, accountant.email)).status_code in (302, 303)
        assert (await web.get(f"/supply-points/{granted.id}/hdo")).status_code == 200
        check(await web.get(f"/supply-points/{withheld.id}/hdo"), 404, "withheld point's low-tariff page")
