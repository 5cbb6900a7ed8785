"""The demo data set (kit/demo.py) written into the accounts schema; idempotent, runs on every demo start."""

from __future__ import annotations

from kit import demo
from kit.db import upsert
from kit.secrets import derive
from kit.service import Runtime

from . import domain, store


async def seed(rt: Runtime) -> None:
    code_key = derive(rt.settings, "accounts.authorization-code")
    for t in demo.tenants():
        async with rt.db.tenant(t.id) as conn:
            await upsert(
                conn,
                store.tenants,
                [
                    {
                        "id": t.id,
                        "tenant_id": t.id,
                        "slug": t.slug,
                        "name": t.name,
                        "hosts": list(t.hosts),
                        "theme": {
                            "primary_color": t.theme.primary_color,
                            "accent_color": t.theme.accent_color,
                            "logo_path": t.theme.logo_path,
                        },
                        "default_locale": t.default_locale,
                        "locales": list(t.locales),
                        "currency": t.currency,
                        "time_zone": t.time_zone,
                        "country": t.country,
                        "legal_entity": {
                            "name": t.legal_entity.name,
                            "company_id": t.legal_entity.company_id,
                            "vat_id": t.legal_entity.vat_id,
                            "address": t.legal_entity.address.as_dict(),
                        },
                        "contact_lines": {
                            "customer_line": t.contact_lines.customer_line,
                            "outage_line": t.contact_lines.outage_line,
                            "email": t.contact_lines.email,
                            "postal_address": t.contact_lines.postal_address,
                        },
                        "features": list(t.features),
                        "unit_prices": dict(t.unit_prices),
                    }
                ],
            )
            await upsert(
                conn,
                store.permission_matrix,
                [
                    {"tenant_id": t.id, "contract_type": kind, "capabilities": sorted(caps)}
                    for kind, caps in t.permission_matrix.items()
                ],
            )
            await upsert(
                conn,
                store.customers,
                [
                    {
                        "tenant_id": t.id,
                        "customer_number": c.customer_number,
                        "name": c.name,
                        "kind": c.kind,
                        "company_id": c.company_id,
                        "email": c.email,
                        "phone": c.phone,
                        "permanent_address": c.permanent_address.as_dict(),
                        "mailing_address": c.mailing_address.as_dict(),
                        "authorization_code_hash": domain.hash_authorization_code(c.authorization_code, code_key),
                        "last_invoice_number": c.last_invoice.number,
                        "last_invoice_amount": c.last_invoice.amount,
                    }
                    for c in demo.customers(t.slug)
                ],
            )
            await upsert(
                conn,
                store.contracts,
                [
                    {
                        "id": k.id,
                        "tenant_id": t.id,
                        "number": k.number,
                        "customer_number": k.customer_number,
                        "contract_type": k.contract_type,
                        "supplier": k.supplier,
                        "payment_method": k.payment_method,
                        "bank_account": k.bank_account,
                        "advance_amount": k.advance_amount,
                        "currency": k.currency,
                        "advance_cycle": k.advance_cycle,
                        "e_invoice": k.e_invoice,
                        "valid_from": k.valid_from,
                    }
                    for k in demo.contracts(t.slug)
                ],
            )
            await upsert(
                conn,
                store.supply_points,
                [
                    {
                        "id": p.id,
                        "tenant_id": t.id,
                        "customer_number": p.customer_number,
                        "identifier": p.identifier,
                        "commodity": p.commodity,
                        "street": p.address.street,
                        "house_number": p.address.house_number,
                        "city": p.address.city,
                        "postal_code": p.address.postal_code,
                        "country": p.address.country,
                        "meter_number": p.meter_number,
                        "breaker_amps": p.breaker_amps,
                        "phases": p.phases,
                        "distribution_tariff": p.distribution_tariff,
                        "product": p.product,
                        "annual_consumption_kwh": p.annual_consumption_kwh,
                        "reading_schedule": p.reading_schedule,
                        "hdo_code": p.hdo_code,
                        "contract_id": p.contract.id,
                    }
                    for p in demo.supply_points(t.slug)
                ],
            )
