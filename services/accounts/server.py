"""gRPC surface of the accounts service: protobuf in, protobuf out; rules in domain.py, SQL in store.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any

import grpc
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp
from portal.accounts.v1 import accounts_pb2 as pb
from portal.accounts.v1 import accounts_pb2_grpc
from portal.common.v1 import common_pb2
from portal.events.v1 import accounts_pb2 as events
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import audit, authz, bus, context, fields, guard, places
from kit.authz import (
    ADVANCE_WRITE,
    BANK_ACCOUNT_WRITE,
    CONTACT_WRITE,
    CONTRACTS_READ,
    E_INVOICE_WRITE,
    PAYMENT_METHOD_WRITE,
    SUPPLY_POINTS_READ,
)
from kit.db import Database
from kit.errors import DomainError

from . import domain, store

MAX_PAGE_SIZE = 100
# EANs and address ranges one outage may name
MAX_OUTAGE_PLACES = 10_000
AFFECTED_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 25
# staff customer search: a page of names to pick from, not a report
SEARCH_PAGE_SIZE = 50


def _address(value: dict[str, Any] | None) -> common_pb2.Address:
    return common_pb2.Address(**(value or {}))


def tenant_pb(row: sa.Row) -> pb.Tenant:
    return pb.Tenant(
        id=str(row.id),
        slug=row.slug,
        name=row.name,
        hosts=row.hosts,
        theme=pb.Theme(**row.theme),
        default_locale=row.default_locale,
        locales=row.locales,
        currency=row.currency,
        time_zone=row.time_zone,
        country=row.country,
        legal_entity=pb.LegalEntity(
            name=row.legal_entity.get("name", ""),
            company_id=row.legal_entity.get("company_id", ""),
            vat_id=row.legal_entity.get("vat_id", ""),
            address=_address(row.legal_entity.get("address")),
        ),
        contact_lines=pb.ContactLines(**row.contact_lines),
        features=row.features,
    )


def customer_pb(row: sa.Row) -> pb.Customer:
    return pb.Customer(
        customer_number=row.customer_number,
        name=row.name,
        kind=row.kind,
        company_id=row.company_id,
        email=row.email,
        phone=row.phone,
        permanent_address=_address(row.permanent_address),
        mailing_address=_address(row.mailing_address),
        supply_point_count=row.supply_point_count,
        contract_count=row.contract_count,
    )


def contract_pb(row: sa.Row, *, contract_id: uuid.UUID, number: str) -> pb.Contract:
    valid_from = Timestamp()
    valid_from.FromDatetime(datetime.combine(row.valid_from, time.min, tzinfo=UTC))
    return pb.Contract(
        id=str(contract_id),
        number=number,
        contract_type=row.contract_type,
        supplier=row.supplier,
        payment_method=row.payment_method,
        bank_account=row.bank_account,
        advance_amount=common_pb2.Money(amount=f"{row.advance_amount:.2f}", currency=row.currency),
        advance_cycle=row.advance_cycle,
        e_invoice=row.e_invoice,
        valid_from=valid_from,
        customer_number=row.customer_number,
    )


def _point_address(row: sa.Row) -> common_pb2.Address:
    return common_pb2.Address(
        street=row.street,
        house_number=row.house_number,
        city=row.city,
        postal_code=row.postal_code,
        country=row.country,
    )


def supply_point_pb(row: sa.Row, *, with_contract: bool) -> pb.SupplyPoint:
    point = pb.SupplyPoint(
        id=str(row.id),
        customer_number=row.customer_number,
        identifier=row.identifier,
        commodity=row.commodity,
        address=_point_address(row),
        meter_number=row.meter_number,
        breaker_amps=row.breaker_amps,
        phases=row.phases,
        distribution_tariff=row.distribution_tariff,
        product=row.product,
        annual_consumption_kwh=row.annual_consumption_kwh,
        reading_schedule=row.reading_schedule,
        hdo_code=row.hdo_code,
    )
    if with_contract:
        point.contract.CopyFrom(contract_pb(row, contract_id=row.contract_id, number=row.contract_number))
    return point


def _matrix_rows(matrix: dict[str, frozenset[str]]) -> list[pb.PermissionRow]:
    return [pb.PermissionRow(contract_type=k, capabilities=sorted(v)) for k, v in sorted(matrix.items())]


class AccountsServicer(accounts_pb2_grpc.AccountsServiceServicer):
    def __init__(self, db: Database, authorization_code_key: bytes) -> None:
        self.db = db
        self.code_key = authorization_code_key

    async def GetTenantByHost(self, request: pb.GetTenantByHostRequest, rpc: grpc.aio.ServicerContext) -> Any:
        host = domain.normalise_host(request.host)
        async with self.db.system() as conn:
            row = await store.tenant_by_host(conn, host)
        if row is None:
            raise DomainError("tenant.unknown_host", status=grpc.StatusCode.NOT_FOUND)
        return pb.GetTenantByHostResponse(tenant=tenant_pb(row))

    async def GetTenant(self, request: pb.GetTenantRequest, rpc: grpc.aio.ServicerContext) -> Any:
        tenant_id = str(fields.parse_id(request.tenant_id, "tenant_id"))
        async with self.db.tenant(tenant_id) as conn:
            row = await store.tenant(conn, tenant_id)
        if row is None:
            raise DomainError("not_found")
        return pb.GetTenantResponse(tenant=tenant_pb(row))

    async def VerifyOwnershipProof(self, request: pb.VerifyOwnershipProofRequest, rpc: grpc.aio.ServicerContext) -> Any:
        async with self.db.tenant() as conn:
            row = await store.customer(conn, request.customer_number.strip())
        proof = request.WhichOneof("proof")
        valid = row is not None and domain.proof_matches(
            domain.ProofRecord(
                authorization_code_hash=row.authorization_code_hash,
                last_invoice_number=row.last_invoice_number,
                last_invoice_amount=row.last_invoice_amount,
            ),
            self.code_key,
            authorization_code=request.authorization_code if proof == "authorization_code" else None,
            invoice_number=request.last_invoice.invoice_number if proof == "last_invoice" else None,
            amount=request.last_invoice.amount if proof == "last_invoice" else None,
        )
        if not valid:
            return pb.VerifyOwnershipProofResponse(valid=False)
        return pb.VerifyOwnershipProofResponse(valid=True, customer_number=row.customer_number, customer_name=row.name)

    async def GetCustomer(self, request: pb.GetCustomerRequest, rpc: grpc.aio.ServicerContext) -> Any:
        number = guard.customer_number(request.customer_number)
        async with self.db.tenant() as conn:
            row = await store.customer(conn, number)
            if row is not None and context.current().subject_kind == context.STAFF:
                # staff opening a customer is access to personal data the supplier must be able to account for
                await audit.record(conn, "customer", number, "viewed", None, None, customer_number=number)
        if row is None:
            raise DomainError("not_found")
        return pb.GetCustomerResponse(customer=customer_pb(row))

    async def ListCustomers(self, request: pb.ListCustomersRequest, rpc: grpc.aio.ServicerContext) -> Any:
        # the names of every customer number the caller's grants cover, for the switcher
        numbers = guard.granted_customer_numbers(request.customer_numbers)
        async with self.db.tenant() as conn:
            rows = await store.customers_by_number(conn, numbers)
        return pb.ListCustomersResponse(customers=[customer_pb(r) for r in rows])

    async def ListSupplyPoints(self, request: pb.ListSupplyPointsRequest, rpc: grpc.aio.ServicerContext) -> Any:
        numbers = guard.customer_numbers(request.customer_numbers)
        guard.capability(SUPPLY_POINTS_READ)
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        if not 0 < size <= MAX_PAGE_SIZE:
            raise DomainError("page_size.invalid", field="page_size")
        after = domain.decode_page_token(request.page.page_token) if request.page.page_token else ""
        commodity = request.commodity
        if commodity and commodity not in domain.COMMODITIES:
            raise DomainError("commodity.invalid", field="commodity")
        allowed_ids = guard.supply_points(request.supply_point_ids)
        if allowed_ids == []:
            # a delegate's subset and the ids asked for have nothing in common
            return pb.ListSupplyPointsResponse(page=common_pb2.PageInfo())
        ids = [fields.parse_id(i, "supply_point_ids") for i in allowed_ids or ()]
        basic = request.view == pb.SUPPLY_POINT_VIEW_BASIC
        async with self.db.tenant() as conn:
            page = await store.supply_points_page(
                conn,
                basic=basic,
                customer_numbers=numbers,
                text=domain.search_text(request.query),
                commodity=commodity,
                only_ids=ids,
                after_identifier=after,
                limit=size,
            )
        return pb.ListSupplyPointsResponse(
            supply_points=[
                supply_point_pb(r, with_contract=not basic and CONTRACTS_READ in r.policy) for r in page.rows
            ],
            page=common_pb2.PageInfo(
                next_page_token=domain.encode_page_token(page.rows[-1].identifier) if page.has_more else "",
                total_size=page.total,
            ),
            electricity_count=page.electricity,
            gas_count=page.gas,
        )

    async def GetSupplyPoint(self, request: pb.GetSupplyPointRequest, rpc: grpc.aio.ServicerContext) -> Any:
        point_id = fields.parse_id(request.supply_point_id, "supply_point_id")
        async with self.db.tenant() as conn:
            row = await store.supply_point(conn, point_id)
        if row is None:
            raise DomainError("not_found")
        guard.owns(row.customer_number)
        guard.supply_point(str(row.id))
        allowed = frozenset(row.policy)
        guard.capability(SUPPLY_POINTS_READ, allowed)
        return pb.GetSupplyPointResponse(supply_point=supply_point_pb(row, with_contract=CONTRACTS_READ in allowed))

    async def GetContract(self, request: pb.GetContractRequest, rpc: grpc.aio.ServicerContext) -> Any:
        contract_id = fields.parse_id(request.contract_id, "contract_id")
        async with self.db.tenant() as conn:
            row = await store.contract(conn, contract_id)
            policy = await store.matrix(conn) if row is not None else {}
            point_ids = await store.contract_supply_point_ids(conn, contract_id) if row is not None else []
        if row is None:
            raise DomainError("not_found")
        guard.owns(row.customer_number)
        # a delegate sees the contracts of the supply points granted, no others
        subset = guard.supply_point_subset()
        if subset is not None and subset.isdisjoint(point_ids):
            raise DomainError("not_found")
        guard.capability(CONTRACTS_READ, policy.get(row.contract_type, frozenset()))
        return pb.GetContractResponse(contract=contract_pb(row, contract_id=row.id, number=row.number))

    async def GetPermissionMatrix(self, request: pb.GetPermissionMatrixRequest, rpc: grpc.aio.ServicerContext) -> Any:
        async with self.db.tenant() as conn:
            policy = await store.matrix(conn)
        return pb.GetPermissionMatrixResponse(rows=_matrix_rows(policy))

    async def SetPermissionMatrix(self, request: pb.SetPermissionMatrixRequest, rpc: grpc.aio.ServicerContext) -> Any:
        guard.staff_capability(authz.CATALOG_EDIT)
        async with self.db.tenant() as conn:
            current = await store.matrix(conn, lock=True)
            changed = domain.new_matrix(current, ((r.contract_type, r.capabilities) for r in request.rows))
            if not changed:
                return pb.SetPermissionMatrixResponse(rows=_matrix_rows(current))
            await store.put_matrix_rows(conn, changed)
            for contract_type, after in sorted(changed.items()):
                await audit.record(
                    conn,
                    "permission_matrix",
                    contract_type,
                    "changed",
                    {"capabilities": sorted(current[contract_type])},
                    {"capabilities": sorted(after)},
                )
            await bus.emit(
                conn,
                self.db.service,
                events.PermissionMatrixChanged(
                    rows=[
                        events.PermissionRowChange(contract_type=t, before=sorted(current[t]), after=sorted(changed[t]))
                        for t in sorted(changed)
                    ],
                    changed_by=context.current().subject,
                ),
            )
        return pb.SetPermissionMatrixResponse(rows=_matrix_rows({**current, **changed}))

    async def ChangeContact(self, request: pb.ChangeContactRequest, rpc: grpc.aio.ServicerContext) -> Any:
        number = guard.customer_number(request.customer_number)
        guard.capability(CONTACT_WRITE)
        email, phone = domain.validate_contact(request.email, request.phone)
        async with self.db.tenant() as conn:
            before = await store.customer(conn, number)
            if before is None:
                raise DomainError("not_found")
            if (before.email, before.phone) == (email, phone):
                # nothing to record, announce or confirm
                return pb.ChangeContactResponse(customer=customer_pb(before))
            await store.update_contact(conn, number, email, phone)
            await audit.record(
                conn,
                "customer",
                number,
                "contact.changed",
                {"email": before.email, "phone": before.phone},
                {"email": email, "phone": phone},
                customer_number=number,
            )
            await bus.emit(
                conn,
                self.db.service,
                events.ContactChanged(
                    customer_number=number,
                    email_before=before.email,
                    email_after=email,
                    phone_before=before.phone,
                    phone_after=phone,
                    changed_by=context.current().subject,
                    channel=request.channel or "portal",
                    actor_kind=context.current().subject_kind,
                ),
            )
            after = await store.customer(conn, number)
        return pb.ChangeContactResponse(customer=customer_pb(after))

    async def ListBillablePoints(self, request: pb.ListBillablePointsRequest, rpc: grpc.aio.ServicerContext) -> Any:
        guard.staff_or_system()
        size = request.page.page_size or AFFECTED_PAGE_SIZE
        if not 0 < size <= AFFECTED_PAGE_SIZE:
            raise DomainError("page_size.invalid", field="page_size")
        after = domain.decode_page_token(request.page.page_token) if request.page.page_token else ""
        async with self.db.tenant() as conn:
            rows = await store.billable_points(conn, after_identifier=after, limit=size + 1)
            total = 0 if after else await store.billable_count(conn)
        shown = rows[:size]
        return pb.ListBillablePointsResponse(
            supply_points=[supply_point_pb(r, with_contract=True) for r in shown],
            page=common_pb2.PageInfo(
                next_page_token=domain.encode_page_token(shown[-1].identifier) if len(rows) > size else "",
                total_size=total,
            ),
        )

    async def FindAffectedSupplyPoints(
        self, request: pb.FindAffectedSupplyPointsRequest, rpc: grpc.aio.ServicerContext
    ) -> Any:
        guard.staff_or_system()
        if len(request.eans) + len(request.areas) > MAX_OUTAGE_PLACES:
            raise DomainError("places.too_many", field="eans", params={"max": str(MAX_OUTAGE_PLACES)})
        if request.commodity and request.commodity not in domain.COMMODITIES:
            raise DomainError("commodity.invalid", field="commodity")
        eans = frozenset(e.strip() for e in request.eans if e.strip())
        areas = [
            places.AddressRange(
                postal_code=a.postal_code,
                city=a.city,
                street=a.street,
                house_from=a.house_from if a.HasField("house_from") else None,
                house_to=a.house_to if a.HasField("house_to") else None,
            )
            for a in request.areas
        ]
        size = request.page.page_size or AFFECTED_PAGE_SIZE
        if not 0 < size <= AFFECTED_PAGE_SIZE:
            raise DomainError("page_size.invalid", field="page_size")
        after = domain.decode_page_token(request.page.page_token) if request.page.page_token else ""
        if not (eans or areas):
            return pb.FindAffectedSupplyPointsResponse()
        async with self.db.tenant() as conn:
            # one more than the page, to know whether another follows; the area test below may drop rows of a page
            rows = await store.supply_points_with_customers(
                conn,
                eans=sorted(eans),
                postal_codes=places.candidate_postal_codes(areas),
                commodity=request.commodity,
                after_identifier=after,
                limit=size + 1,
            )
        more = len(rows) > size
        rows = rows[:size]
        return pb.FindAffectedSupplyPointsResponse(
            page=common_pb2.PageInfo(next_page_token=domain.encode_page_token(rows[-1].identifier) if more else ""),
            supply_points=[
                pb.AffectedSupplyPoint(
                    supply_point_id=str(r.id),
                    identifier=r.identifier,
                    address=_point_address(r),
                    customer_number=r.customer_number,
                    customer_name=r.customer_name,
                    customer_email=r.customer_email,
                    customer_phone=r.customer_phone,
                )
                for r in rows
                if places.affected(
                    eans,
                    areas,
                    places.Place(str(r.id), r.identifier, r.postal_code, r.city, r.street, r.house_number),
                )
            ],
        )

    async def SearchCustomers(self, request: pb.SearchCustomersRequest, rpc: grpc.aio.ServicerContext) -> Any:
        guard.staff_capability(authz.CUSTOMERS_READ)
        query = domain.parse_customer_query(request.query)
        size = min(request.page.page_size or SEARCH_PAGE_SIZE, SEARCH_PAGE_SIZE)
        if size < 0:
            raise DomainError("page_size.invalid", field="page_size")
        after = domain.decode_page_token(request.page.page_token) if request.page.page_token else ""
        # a system connection for the indexes' sake; the store names the tenant in every part (see store.py)
        tenant_id = uuid.UUID(context.current().tenant_id)
        async with self.db.system() as conn:
            rows = await store.search_customers(
                conn,
                tenant_id=tenant_id,
                words=query.words,
                prefix=query.prefix,
                digits=query.digits,
                after_number=after,
                limit=size + 1,
            )
        async with self.db.tenant() as conn:
            # staff reading customers' personal data is access the supplier must be able to account for
            await audit.record(
                conn, "customer_search", "", "searched", None, {"query": request.query[:200], "page": bool(after)}
            )
        shown = rows[:size]
        token = domain.encode_page_token(shown[-1].customer_number) if len(rows) > size else ""
        return pb.SearchCustomersResponse(
            customers=[customer_pb(r) for r in shown], page=common_pb2.PageInfo(next_page_token=token)
        )

    async def ListAudit(self, request: pb.ListAuditRequest, rpc: grpc.aio.ServicerContext) -> Any:
        return await audit.list_audit(self.db, request, pb.ListAuditResponse)

    # --- immediate changes ---------------------------------------------------------------------------------
    # Each is applied in one transaction with its audit record and its event (the outbox), so a failure leaves
    # neither a half-applied change nor an announcement of one. The requests service records each event as a
    # resolved immediate request, notifications confirms it to the customer by e-mail.

    async def ChangeAddress(self, request: pb.ChangeAddressRequest, rpc: grpc.aio.ServicerContext) -> Any:
        number = guard.customer_number(request.customer_number)
        guard.capability(CONTACT_WRITE)
        # a delegate limited to some supply points acts on those, not on the customer as a whole
        if guard.supply_point_subset() is not None:
            raise DomainError("forbidden")
        kind = {pb.ADDRESS_KIND_MAILING: "mailing", pb.ADDRESS_KIND_PERMANENT: "permanent"}.get(request.kind)
        if kind is None:
            raise DomainError("address.kind_invalid", field="kind")
        a = request.address
        address = domain.validate_address(
            street=a.street, house_number=a.house_number, city=a.city, postal_code=a.postal_code, country=a.country
        )
        column = domain.ADDRESS_KINDS[kind]
        async with self.db.tenant() as conn:
            before = await store.customer(conn, number)
            if before is None:
                raise DomainError("not_found")
            if before._mapping[column] == address:
                return pb.ChangeAddressResponse(customer=customer_pb(before))
            await store.update_address(conn, number, column, address)
            await audit.record(
                conn,
                "customer",
                number,
                f"{kind}_address.changed",
                before._mapping[column],
                address,
                customer_number=number,
            )
            ctx = context.current()
            await bus.emit(
                conn,
                self.db.service,
                events.AddressChanged(
                    customer_number=number,
                    kind=kind,
                    before=domain.address_line(before._mapping[column]),
                    after=domain.address_line(address),
                    changed_by=ctx.subject,
                    actor_kind=ctx.subject_kind,
                    channel=ctx.channel,
                ),
            )
            after = await store.customer(conn, number)
        return pb.ChangeAddressResponse(customer=customer_pb(after))

    async def _changeable_contract(
        self, conn: AsyncConnection, contract_id: uuid.UUID, *capabilities: str
    ) -> tuple[sa.Row, list[str], frozenset[str]]:
        """The contract, locked, if the caller may see it and its grant and the matrix row of the contract's type
        allow every capability named; refused otherwise, whether or not a page offered the change."""
        row = await store.contract_for_update(conn, contract_id)
        if row is None:
            raise DomainError("not_found")
        guard.owns(row.customer_number)
        point_ids = await store.contract_supply_point_ids(conn, contract_id)
        subset = guard.supply_point_subset()
        if subset is not None and subset.isdisjoint(point_ids):
            raise DomainError("not_found")
        policy = (await store.matrix(conn)).get(row.contract_type, frozenset())
        for name in capabilities:
            guard.capability(name, policy)
        return row, point_ids, policy

    async def _contract_changed(
        self,
        conn: AsyncConnection,
        row: sa.Row,
        point_ids: list[str],
        change: str,
        before: dict[str, str],
        after: dict[str, str],
    ) -> None:
        ctx = context.current()
        await audit.record(
            conn, "contract", str(row.id), f"{change}.changed", before, after, customer_number=row.customer_number
        )
        await bus.emit(
            conn,
            self.db.service,
            events.ContractChanged(
                customer_number=row.customer_number,
                contract_id=str(row.id),
                contract_number=row.number,
                change=change,
                before=before,
                after=after,
                supply_point_ids=point_ids,
                changed_by=ctx.subject,
                actor_kind=ctx.subject_kind,
                channel=ctx.channel,
            ),
        )

    async def ChangeContractPayment(
        self, request: pb.ChangeContractPaymentRequest, rpc: grpc.aio.ServicerContext
    ) -> Any:
        contract_id = fields.parse_id(request.contract_id, "contract_id")
        method, account = domain.validate_payment(request.payment_method, request.bank_account)
        async with self.db.tenant() as conn:
            row, point_ids, policy = await self._changeable_contract(conn, contract_id)
            needed = [PAYMENT_METHOD_WRITE] if method != row.payment_method else []
            if account != row.bank_account:
                needed.append(BANK_ACCOUNT_WRITE)
            # asking for no change still needs the right to make one, so it tells nobody more than a change would
            for name in needed or [PAYMENT_METHOD_WRITE]:
                guard.capability(name, policy)
            if not needed:
                return pb.ChangeContractPaymentResponse(
                    contract=contract_pb(row, contract_id=row.id, number=row.number)
                )
            after = await store.update_contract(conn, contract_id, payment_method=method, bank_account=account)
            await self._contract_changed(
                conn,
                row,
                point_ids,
                "payment",
                {"payment_method": row.payment_method, "bank_account": row.bank_account},
                {"payment_method": method, "bank_account": account},
            )
        return pb.ChangeContractPaymentResponse(contract=contract_pb(after, contract_id=after.id, number=after.number))

    async def _bounds(self, conn: AsyncConnection, row: sa.Row) -> domain.AdvanceBounds:
        consumption = await store.contract_consumption(conn, row.id)
        return domain.advance_bounds(consumption, await store.unit_prices(conn), row.advance_cycle)

    async def GetAdvanceBounds(self, request: pb.GetAdvanceBoundsRequest, rpc: grpc.aio.ServicerContext) -> Any:
        contract_id = fields.parse_id(request.contract_id, "contract_id")
        async with self.db.tenant() as conn:
            row, _, _ = await self._changeable_contract(conn, contract_id, CONTRACTS_READ)
            bounds = await self._bounds(conn, row)

        def money(amount: Any) -> common_pb2.Money:
            return common_pb2.Money(amount=f"{amount:.2f}", currency=row.currency)

        return pb.GetAdvanceBoundsResponse(
            minimum=money(bounds.minimum),
            maximum=money(bounds.maximum),
            proposal=money(bounds.proposal),
            expected_yearly_cost=money(bounds.yearly_cost),
            annual_consumption_kwh=bounds.annual_kwh,
            contract=contract_pb(row, contract_id=row.id, number=row.number),
        )

    async def ChangeAdvance(self, request: pb.ChangeAdvanceRequest, rpc: grpc.aio.ServicerContext) -> Any:
        contract_id = fields.parse_id(request.contract_id, "contract_id")
        async with self.db.tenant() as conn:
            row, point_ids, _ = await self._changeable_contract(conn, contract_id, ADVANCE_WRITE)
            amount = domain.validate_advance(request.amount, await self._bounds(conn, row), row.currency)
            if amount == row.advance_amount:
                return pb.ChangeAdvanceResponse(contract=contract_pb(row, contract_id=row.id, number=row.number))
            after = await store.update_contract(conn, contract_id, advance_amount=amount)
            await self._contract_changed(
                conn,
                row,
                point_ids,
                "advance",
                {"advance_amount": f"{row.advance_amount:.2f}", "currency": row.currency},
                {"advance_amount": f"{amount:.2f}", "currency": row.currency},
            )
        return pb.ChangeAdvanceResponse(contract=contract_pb(after, contract_id=after.id, number=after.number))

    async def SetEInvoice(self, request: pb.SetEInvoiceRequest, rpc: grpc.aio.ServicerContext) -> Any:
        contract_id = fields.parse_id(request.contract_id, "contract_id")
        async with self.db.tenant() as conn:
            row, point_ids, _ = await self._changeable_contract(conn, contract_id, E_INVOICE_WRITE)
            if request.enabled == row.e_invoice:
                return pb.SetEInvoiceResponse(contract=contract_pb(row, contract_id=row.id, number=row.number))
            after = await store.update_contract(conn, contract_id, e_invoice=request.enabled)
            await self._contract_changed(
                conn,
                row,
                point_ids,
                "e_invoice",
                {"e_invoice": str(row.e_invoice).lower()},
                {"e_invoice": str(request.enabled).lower()},
            )
        return pb.SetEInvoiceResponse(contract=contract_pb(after, contract_id=after.id, number=after.number))
