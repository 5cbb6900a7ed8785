"""Meter readings and consumption over HTTP against the whole stack: Jana's self-readings through the page form
(accepted, refused with the Czech message and the typed values kept, a suspicious one confirmed) and through the
API (422 reasons with params, Idempotency-Key), the consumption page, its CSV export and the API agreeing, and a
delegate kept to the supply points granted."""

from __future__ import annotations

import base64
import csv
import io
import re
import secrets
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import unescape
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from gateway import i18n
from kit import demo
from kit.secrets import derive
from services.billing import domain

from .portal_http import Loopback, authorize, browser, cli_tokens, csrf, discover, origin, sign_in

PRAGUE = ZoneInfo("Europe/Prague")
HOST = "volta.localhost"
JANA = "jana@volta.example"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def today() -> date:
    return datetime.now(PRAGUE).date()


def jana_point(commodity: str) -> demo.SupplyPoint:
    return next(p for p in demo.supply_points("volta", demo.JANA) if p.commodity == commodity)


async def first_party_token(stack, email: str) -> str:
    """A token of the portal's own web client, as a signed-in page holds: not narrowed by scopes, so it may
    submit readings (the command-line client is not given readings:write)."""
    secret = derive(stack.settings, "oauth.portal-web").hex()
    async with (
        AsyncOAuth2Client(
            client_id="portal-web",
            client_secret=secret,
            token_endpoint_auth_method="client_secret_basic",
            scope="openid profile email offline_access",
            redirect_uri=origin(stack, HOST) + "/auth/callback",
            code_challenge_method="S256",
            base_url=origin(stack, HOST),
            transport=Loopback(),
            timeout=20,
        ) as client,
        browser(stack, HOST) as user_agent,
    ):
        meta = await discover(client)
        verifier = secrets.token_urlsafe(48)
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
        resp = await authorize(user_agent, url, email)
        assert resp.status_code == 302, resp.text[:1000]
        token = await client.fetch_token(
            meta["token_endpoint"], authorization_response=resp.headers["location"], code_verifier=verifier
        )
    return token["access_token"]


def api(stack, token: str) -> httpx.AsyncClient:
    return browser(stack, HOST, headers={"Authorization": f"Bearer {token}"})


async def newest(client: httpx.AsyncClient, point: demo.SupplyPoint) -> tuple[dict, int]:
    resp = await client.get(f"/api/v1/supply-points/{point.id}/readings", params={"page_size": 5})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return body["items"][0], body["total"]


def expected(point: demo.SupplyPoint, start: date, end: date) -> Decimal:
    return domain.expected_kwh(point.commodity, point.annual_consumption_kwh, start, end)


def electricity_values(last: dict, kwh: Decimal) -> dict[str, str]:
    """`kwh` more than `last`, split between the high and low tariff in whole kWh."""
    vt = (kwh * Decimal("0.45")).quantize(Decimal(1), ROUND_HALF_UP)
    nt = kwh.quantize(Decimal(1), ROUND_HALF_UP) - vt
    return {"vt": str(Decimal(last["values"]["vt"]) + vt), "nt": str(Decimal(last["values"]["nt"]) + nt)}


def cs(reason: str) -> str:
    """The longest fixed part of the Czech message of a reason, as a page shows it."""
    text = i18n.translations("cs").gettext(i18n.REASON_MESSAGES[reason])
    assert text != i18n.REASON_MESSAGES[reason]
    return max(re.split(r"%\(\w+\)s", text), key=len).strip()


async def post_form(web: httpx.AsyncClient, point: demo.SupplyPoint, fields: dict, photo: bytes | None = None):
    page = await web.get(f"/supply-points/{point.id}/readings")
    assert page.status_code == 200, page.text[:2000]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)
    data = {"_csrf_token": csrf(page.text), "idempotency_key": key, **fields}
    files = {"photo": ("meter.png", photo, "image/png")} if photo is not None else {"photo": ("", b"", "")}
    return await web.post(f"/supply-points/{point.id}/readings", data=data, files=files)


async def test_jana_submits_self_readings_through_the_form(stack):
    point = jana_point("electricity")
    token = await first_party_token(stack, JANA)
    async with browser(stack, HOST) as web, api(stack, token) as client:
        assert (await sign_in(web, JANA)).status_code in (302, 303)
        dashboard = await web.get("/dashboard")
        detail = await web.get(f"/supply-points/{point.id}")
        for html in (dashboard.text, detail.text):
            assert f'href="/supply-points/{point.id}/readings"' in html
            assert f'href="/supply-points/{point.id}/consumption"' in html

        page = await web.get(f"/supply-points/{point.id}/readings")
        assert page.status_code == 200
        assert (
            'name="value_vt"' in page.text
            and 'name="value_nt"' in page.text
            and 'enctype="multipart/form-data"' in page.text
        )
        assert f'value="{today().isoformat()}"' in page.text
        last, total = await newest(client, point)
        assert f'<time datetime="{last["read_on"]}">' in page.text
        last_day = date.fromisoformat(last["read_on"])

        # refused: nothing stored, the Czech message beside the typed values
        lower = str(Decimal(last["values"]["vt"]) - 1)
        refusals = (
            ({"read_on": today().isoformat(), "value_vt": lower, "value_nt": last["values"]["nt"]}, "lower_than_last"),
            (
                {"read_on": (today() + timedelta(days=1)).isoformat(), "value_vt": "1", "value_nt": "1"},
                "date_in_future",
            ),
        )
        for fields, reason in refusals:
            resp = await post_form(web, point, fields)
            assert resp.status_code == 400, (reason, resp.status_code, resp.text[:2000])
            assert cs(f"reading.{reason}") in unescape(resp.text), (reason, resp.text[:4000])
            assert 'aria-invalid="true"' in resp.text
            assert f'value="{fields["value_vt"]}"' in resp.text and f'value="{fields["read_on"]}"' in resp.text
        assert "Vysoký tarif (VT) je nižší" in unescape((await post_form(web, point, refusals[0][0])).text)

        # suspicious: the numbers shown and a confirmation asked for, then stored once and flagged
        day = today() - timedelta(days=2)
        assert day > last_day, "the seeded readings end on the first of November"
        much = expected(point, last_day, day) * 3
        fields = {"read_on": day.isoformat(), **{f"value_{r}": v for r, v in electricity_values(last, much).items()}}
        asked = await post_form(web, point, fields)
        assert asked.status_code == 400, asked.text[:2000]
        text = unescape(asked.text)
        assert 'id="confirm-suspicious"' in text and cs("reading.confirm_suspicious") in text
        assert i18n.format_number(much.quantize(Decimal(1), ROUND_HALF_UP), "cs") in text
        assert 'name="confirm_suspicious" value="yes"' in text
        assert (await newest(client, point))[1] == total
        key = re.search(r'name="idempotency_key" value="([^"]+)"', asked.text).group(1)
        confirm = {"_csrf_token": csrf(asked.text), "idempotency_key": key, "confirm_suspicious": "yes", **fields}
        for _ in range(2):  # sent twice, as a double click would: stored once
            saved = await web.post(f"/supply-points/{point.id}/readings", data=confirm)
            assert saved.status_code in (302, 303), saved.text[:2000]
            assert saved.headers["location"] == f"/supply-points/{point.id}/readings"
        flagged, after = await newest(client, point)
        assert after == total + 1 and flagged["read_on"] == day.isoformat() and flagged["status"] == "flagged"
        assert flagged["source"] == "customer"

        # a plausible reading with a photo: accepted, a success message, in the history
        fine = expected(point, day, today())
        values = electricity_values(flagged, fine)
        resp = await post_form(
            web, point, {"read_on": today().isoformat(), **{f"value_{r}": v for r, v in values.items()}}, PNG
        )
        assert resp.status_code in (302, 303), resp.text[:3000]
        shown = await web.get(resp.headers["location"])
        assert "Děkujeme, váš odečet byl uložen." in shown.text
        assert f'<time datetime="{today().isoformat()}">' in shown.text and "Samoodečet" in shown.text
        assert "Potvrzeno přes upozornění" in shown.text and "S fotografií" in shown.text
        again = await web.get(f"/supply-points/{point.id}/readings")
        assert "Děkujeme, váš odečet byl uložen." not in again.text  # shown once
        stored, after = await newest(client, point)
        assert after == total + 2 and stored["read_on"] == today().isoformat() and stored["status"] == "accepted"
        assert stored["values"] == values and stored["photo_size"] == len(PNG)
        assert stored["photo_content_type"] == "image/png"


async def test_a_photo_over_the_limit_is_refused_before_billing(stack):
    point = jana_point("gas")
    token = await first_party_token(stack, JANA)
    big = b"\xff\xd8" + b"\0" * 4_000_000
    async with browser(stack, HOST) as web, api(stack, token) as client:
        assert (await sign_in(web, JANA)).status_code in (302, 303)
        last, total = await newest(client, point)
        value = str(Decimal(last["values"]["gas"]) + 1)
        resp = await post_form(web, point, {"read_on": today().isoformat(), "value_gas": value}, big)
        assert resp.status_code == 400, resp.text[:2000]
        text = unescape(resp.text)
        assert "Fotografie je příliš velká. Může mít nejvýše 4 MB." in text
        assert f'value="{value}"' in text and "vyberte ji znovu" in text
        refused = await client.post(
            f"/api/v1/supply-points/{point.id}/readings",
            json={
                "read_on": today().isoformat(),
                "values": {"gas": value},
                "photo": base64.b64encode(big).decode(),
                "photo_content_type": "image/jpeg",
            },
        )
        assert refused.status_code == 422, refused.text[:500]
        assert refused.json()["reason"] == "reading.photo_too_large"
        assert refused.json()["params"] == {"max_bytes": "4000000"}
        assert (await newest(client, point))[1] == total


async def test_the_api_refuses_with_reasons_and_stores_a_confirmed_reading_once(stack):
    point = jana_point("gas")
    token = await first_party_token(stack, JANA)
    base = f"/api/v1/supply-points/{point.id}/readings"
    async with api(stack, token) as client:
        last, total = await newest(client, point)
        last_day = date.fromisoformat(last["read_on"])
        day = today() - timedelta(days=1)
        # three times the expected kWh, in m³ of the meter
        m3 = (expected(point, last_day, day) * 3 / (domain.VOLUME_CORRECTION * Decimal("10.6"))).quantize(Decimal(1))
        suspicious = {"read_on": day.isoformat(), "values": {"gas": str(Decimal(last["values"]["gas"]) + m3)}}
        cases = (
            (
                {"read_on": today().isoformat(), "values": {"gas": str(Decimal(last["values"]["gas"]) - 1)}},
                "reading.lower_than_last",
                {"register": "gas", "last_value": last["values"]["gas"], "last_date": last["read_on"]},
            ),
            (
                {"read_on": (today() + timedelta(days=3)).isoformat(), "values": {"gas": "1"}},
                "reading.date_in_future",
                {"today": today().isoformat()},
            ),
            (
                {"read_on": today().isoformat(), "values": {"vt": "1"}},
                "reading.registers_invalid",
                {"registers": "gas"},
            ),
            ({"read_on": "1. 12. 2026", "values": {"gas": "1"}}, "date.invalid", {}),
            (
                {"read_on": today().isoformat(), "values": {"gas": "12,3456"}},
                "reading.value_invalid",
                {"register": "gas"},
            ),
            (suspicious, "reading.confirm_suspicious", None),
        )
        for body, reason, params in cases:
            resp = await client.post(base, json=body, headers={"Idempotency-Key": f"refused-{reason}"})
            assert resp.status_code == 422, (reason, resp.status_code, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            problem = resp.json()
            assert problem["reason"] == reason, problem
            if params is not None:
                assert problem.get("params", {}) == params, problem
        assert set(problem["params"]) == {"consumption_kwh", "expected_kwh", "last_date"}
        assert 2 < Decimal(problem["params"]["consumption_kwh"]) / Decimal(problem["params"]["expected_kwh"]) < 5
        assert (await newest(client, point))[1] == total

        key = {"Idempotency-Key": f"confirmed-{secrets.token_hex(8)}"}
        first = await client.post(base, json={**suspicious, "confirm_suspicious": True}, headers=key)
        assert first.status_code == 201, first.text
        again = await client.post(base, json={**suspicious, "confirm_suspicious": True}, headers=key)
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json() and first.json()["status"] == "flagged"
        assert first.json()["values"] == suspicious["values"] and first.json()["consumption_kwh"]
        newest_now, after = await newest(client, point)
        assert after == total + 1 and newest_now["id"] == first.json()["id"]


def page_numbers(html: str) -> dict[str, Decimal]:
    return {
        period: Decimal(kwh)
        for period, kwh in re.findall(
            r'<tr data-period="([\d-]+)">.*?class="num period-kwh" data-value="([\d.]+)"', html, re.S
        )
    }


@pytest.mark.parametrize("commodity", ["electricity", "gas"])
async def test_consumption_page_csv_and_xlsx_agree_with_the_api(stack, commodity):
    point = jana_point(commodity)
    tokens = await cli_tokens(stack, HOST, JANA)
    async with browser(stack, HOST) as web, api(stack, tokens["access_token"]) as client:
        assert (await sign_in(web, JANA)).status_code in (302, 303)
        for by in ("month", "year"):
            history = await client.get(f"/api/v1/supply-points/{point.id}/consumption", params={"by": by})
            assert history.status_code == 200, history.text
            body = history.json()
            periods = {p["period"]: p for p in body["periods"]}
            assert periods and body["by"] == by and body["commodity"] == commodity
            assert all(len(p) == (7 if by == "month" else 4) for p in periods)

            page = await web.get(f"/supply-points/{point.id}/consumption", params={"by": by})
            assert page.status_code == 200
            assert page_numbers(page.text) == {k: Decimal(p["kwh"]) for k, p in periods.items()}
            total = re.search(r'<tfoot>.*?data-value="([\d.]+)"', page.text, re.S).group(1)
            assert Decimal(total) == sum(Decimal(p["kwh"]) for p in periods.values())
            assert '<svg class="chart"' in page.text and 'role="img"' in page.text
            assert page.text.count('<rect class="chart-bar') == len(periods)
            assert f'href="/supply-points/{point.id}/consumption.csv?by={by}"' in page.text

            exported = await web.get(f"/supply-points/{point.id}/consumption.csv", params={"by": by})
            assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
            assert (
                exported.headers["content-disposition"]
                == f'attachment; filename="consumption-{point.identifier}-{by}.csv"'
            )
            rows = list(csv.DictReader(io.StringIO(exported.text)))
            assert [r["period"] for r in rows] == list(periods)
            for r in rows:
                p = periods[r["period"]]
                assert Decimal(r["kwh"]) == Decimal(p["kwh"])
                for register, kwh in p["registers"].items():
                    assert Decimal(r[f"kwh_{register}"]) == Decimal(kwh)
                if commodity == "gas":
                    assert Decimal(r["volume_m3"]) == Decimal(p["volume_m3"])
                assert (int(r["days_covered"]), int(r["days"])) == (p["days_covered"], p["days"])

            workbook = await web.get(f"/supply-points/{point.id}/consumption.xlsx", params={"by": by})
            assert workbook.status_code == 200
            assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
            assert workbook.headers["content-disposition"].endswith(f'-{by}.xlsx"')
            sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
            header, *cells = list(sheet.iter_rows(values_only=True))
            assert list(header) == list(rows[0])
            assert [c[0] for c in cells] == list(periods)
            for c in cells:
                r = dict(zip(header, c, strict=True))
                p = periods[r["period"]]
                # numbers and dates as a spreadsheet can compute with, equal to the API's
                assert Decimal(str(r["kwh"])) == Decimal(p["kwh"]) and r["days"] == p["days"]
                assert r["first_day"].date().isoformat() == p["first_day"]


async def test_a_delegate_reads_consumption_of_granted_supply_points_only(stack):
    accountant = demo.user("volta", "ucetni@volta.example")
    (grant,) = accountant.grants
    points = demo.supply_points("volta", demo.PEKARNY_A)
    granted = next(p for p in points if str(p.id) in grant.supply_point_ids)
    withheld = next(p for p in points if str(p.id) not in grant.supply_point_ids)
    tokens = await cli_tokens(stack, HOST, accountant.email)
    async with browser(stack, HOST) as web, api(stack, tokens["access_token"]) as client:
        assert (await sign_in(web, accountant.email)).status_code in (302, 303)
        for path in ("readings", "consumption", "consumption.csv", "consumption.xlsx"):
            assert (await web.get(f"/supply-points/{granted.id}/{path}")).status_code == 200, path
            resp = await web.get(f"/supply-points/{withheld.id}/{path}")
            assert resp.status_code == 404, (path, resp.status_code)
            assert withheld.identifier not in resp.text
        for path in ("readings", "consumption"):
            assert (await client.get(f"/api/v1/supply-points/{granted.id}/{path}")).status_code == 200, path
            resp = await client.get(f"/api/v1/supply-points/{withheld.id}/{path}")
            assert resp.status_code == 404 and resp.json()["reason"] == "not_found", (path, resp.text)
        # she reads consumption but was not granted readings:write: no form, and a posted one is refused
        page = await web.get(f"/supply-points/{granted.id}/readings")
        assert 'name="idempotency_key"' not in page.text
        refused = await web.post(
            f"/supply-points/{withheld.id}/readings",
            data={"_csrf_token": csrf(page.text), "read_on": today().isoformat(), "value_vt": "1"},
        )
        assert refused.status_code == 404
        refused = await web.post(
            f"/supply-points/{granted.id}/readings",
            data={"_csrf_token": csrf(page.text), "read_on": today().isoformat(), "value_vt": "1"},
        )
        assert refused.status_code == 403
