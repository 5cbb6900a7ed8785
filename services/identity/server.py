"""gRPC surface of the identity service: protobuf in and out; rules in domain.py and oauth.py, SQL in store.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from portal.accounts.v1 import accounts_pb2
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.events.v1 import identity_pb2 as events
from portal.identity.v1 import identity_pb2 as pb
from portal.identity.v1 import identity_pb2_grpc

from kit import audit, bus, context
from kit.db import Database
from kit.errors import DomainError
from kit.identifiers import InvalidIdentifier
from kit.identifiers import customer_number as valid_customer_number
from kit.identifiers import email as valid_email

from . import domain, store
from .oauth_flow import OAuthFlow

SESSION_LIFETIME = timedelta(hours=8)
SECOND_FACTOR_WINDOW = timedelta(minutes=5)
VERIFY_PURPOSE = "verify_email"
RESET_PURPOSE = "reset_password"
# who the staff console's audit log names on one page
MAX_USERS_LISTED = 100
# a password check costs the same whether or not the e-mail exists, so timing does not reveal accounts
_DUMMY_HASH = domain.hash_password("not-a-real-password-just-for-timing")


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise DomainError("not_found") from None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def user_pb(row: Any) -> pb.User:
    return pb.User(
        id=str(row.id),
        email=row.email,
        email_verified=row.email_verified_at is not None,
        totp_enabled=row.totp_secret is not None,
        locale=row.locale,
        kind=row.kind,
        staff_roles=row.staff_roles,
        created_at=_ts(row.created_at),
    )


def grant_pb(row: Any) -> pb.AccessGrant:
    return pb.AccessGrant(
        id=str(row.id),
        user_id=str(row.user_id),
        customer_number=row.customer_number,
        role=row.role,
        capabilities=row.capabilities,
        supply_point_ids=row.supply_point_ids or [],
        expires_at=_ts(row.expires_at),
    )


def personal_token_pb(row: Any) -> pb.PersonalToken:
    return pb.PersonalToken(
        id=str(row.id),
        name=row.name,
        scopes=row.scopes,
        customer_numbers=row.customer_numbers,
        created_at=_ts(row.created_at),
        expires_at=_ts(row.expires_at),
        last_used_at=_ts(row.last_used_at),
        revoked_at=_ts(row.revoked_at),
    )


def _expiry(request: pb.CreatePersonalTokenRequest) -> datetime | None:
    if not request.HasField("expires_at"):
        return None
    try:
        return request.expires_at.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise DomainError("personal_token.expiry_invalid", field="expires_at") from None


def _email(value: str) -> str:
    try:
        return valid_email(domain.normalise_email(value))
    except InvalidIdentifier as err:
        raise DomainError(err.code, field="email", params=err.params) from None


def _check_policy(password: str, email: str, field: str = "password") -> None:
    problems = domain.check_password_policy(password, email)
    if problems:
        limits = {"min": str(domain.PASSWORD_MIN_LENGTH), "max": str(domain.PASSWORD_MAX_LENGTH)}
        raise DomainError(problems[0], field=field, params=limits)


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(
        self, db: Database, accounts: AccountsServiceStub, oauth: OAuthFlow, personal_token_key: bytes
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.oauth = oauth
        self.personal_token_key = personal_token_key

    # --- throttling ------------------------------------------------------------------------------

    async def _throttled(self, conn: Any, keys: list[str], now: datetime) -> None:
        rows = await store.throttle_rows(conn, keys)
        waits = [domain.retry_after(domain.Throttle(r.failures, r.last_failure_at), now) for r in rows.values()]
        wait = max(waits, default=0)
        if wait > 0:
            raise DomainError("throttled", retry_after=wait)

    async def _fail(self, keys: list[str], now: datetime) -> None:
        """Counts a failed attempt in its own transaction, so the refusal that follows cannot roll it back."""
        async with self.db.tenant() as conn:
            rows = await store.throttle_rows(conn, keys)
            for key in keys:
                row = rows.get(key)
                state = domain.Throttle(row.failures, row.last_failure_at) if row else domain.Throttle(0, None)
                state = domain.record_failure(state, now)
                await store.save_throttle(conn, key, state.failures, state.last_failure_at)

    # --- registration ----------------------------------------------------------------------------

    async def Register(self, request: pb.RegisterRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        email = _email(request.email)
        _check_policy(request.password, email)
        # a malformed number is a typo to point out, not a wrong proof to count against the caller
        number = valid_customer_number(request.customer_number)
        ctx = context.current()
        keys = domain.proof_throttle_keys(request.client_address or ctx.client_address, number)
        async with self.db.tenant() as conn:
            await self._throttled(conn, keys, now)
        proof = accounts_pb2.VerifyOwnershipProofRequest(customer_number=number)
        if request.WhichOneof("proof") == "authorization_code":
            proof.authorization_code = request.authorization_code
        elif request.WhichOneof("proof") == "last_invoice":
            proof.last_invoice.invoice_number = request.last_invoice.invoice_number
            proof.last_invoice.amount = request.last_invoice.amount
        else:
            raise DomainError("proof.invalid")
        verdict = await self.accounts.VerifyOwnershipProof(proof)
        if not verdict.valid:
            await self._fail(keys, now)
            raise DomainError("proof.invalid")
        token = domain.new_token()
        locale = request.locale or ctx.locale or "cs"
        async with self.db.tenant() as conn:
            if await store.user_by_email(conn, email) is not None:
                raise DomainError("email.taken", field="email")
            if await store.owner_exists(conn, verdict.customer_number):
                # the number already has an owner: access comes by their invitation, not a second registration
                raise DomainError("customer.registered", field="customer_number")
            user_id = await store.insert_user(
                conn,
                email=email,
                password_hash=domain.hash_password(request.password),
                locale=locale,
                kind="customer",
                created_at=now,
            )
            await store.insert_grant(
                conn, user_id=user_id, customer_number=verdict.customer_number, role="owner", created_at=now
            )
            expires = now + domain.EMAIL_VERIFICATION_TTL
            await store.insert_link_token(conn, domain.token_hash(token), user_id, VERIFY_PURPOSE, expires)
            await audit.record(
                conn,
                "user",
                str(user_id),
                "registered",
                None,
                {"email": email, "customer_number": number},
                customer_number=number,
            )
            await bus.emit(
                conn,
                self.db.service,
                events.UserRegistered(user_id=str(user_id), customer_number=number, email=email, locale=locale),
            )
            await bus.emit(
                conn,
                self.db.service,
                events.EmailVerificationRequested(
                    user_id=str(user_id), email=email, locale=locale, token=token, expires_at=_ts(expires)
                ),
            )
        return pb.RegisterResponse(user_id=str(user_id))

    async def VerifyEmail(self, request: pb.VerifyEmailRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        async with self.db.tenant() as conn:
            row = await self._use_link(conn, request.token, VERIFY_PURPOSE, now)
            user = await store.user_by_id(conn, row.user_id)
            if user.email_verified_at is None:
                await store.update_user(conn, row.user_id, email_verified_at=now)
                await audit.record(conn, "user", str(row.user_id), "email.verified", None, {"email": user.email})
                await bus.emit(conn, self.db.service, events.EmailVerified(user_id=str(row.user_id), email=user.email))
        return pb.VerifyEmailResponse(user_id=str(user.id), email=user.email)

    async def _use_link(self, conn: Any, token: str, purpose: str, now: datetime) -> Any:
        if not token or len(token) > 200:
            raise DomainError("token.invalid")
        row = await store.link_token(conn, domain.token_hash(token), purpose)
        if row is None:
            raise DomainError("token.invalid")
        if row.used_at is not None:
            raise DomainError("token.used")
        if row.expires_at <= now:
            raise DomainError("token.expired")
        await store.use_link_token(conn, row.token_hash, now)
        return row

    # --- signing in ------------------------------------------------------------------------------

    async def Authenticate(self, request: pb.AuthenticateRequest, rpc: grpc.aio.ServicerContext) -> Any:
        if request.login_ticket:
            return await self._second_factor(request)
        now = datetime.now(UTC)
        keys = domain.login_throttle_keys(request.email, request.client_address or context.current().client_address)
        async with self.db.tenant() as conn:
            await self._throttled(conn, keys, now)
            user = await store.user_by_email(conn, domain.normalise_email(request.email))
        password_ok = domain.verify_password(user.password_hash if user else _DUMMY_HASH, request.password)
        if user is None or not password_ok or user.status != "active":
            await self._fail(keys, now)
            raise DomainError("credentials.invalid")
        if user.email_verified_at is None:
            raise DomainError("email.unverified", status=grpc.StatusCode.FAILED_PRECONDITION)
        async with self.db.tenant() as conn:
            await store.clear_throttle(conn, keys[0])
            if domain.needs_rehash(user.password_hash):
                await store.update_user(conn, user.id, password_hash=domain.hash_password(request.password))
            if user.totp_secret:
                ticket = await store.insert_session(
                    conn, user.id, request.client_address, now, now + SECOND_FACTOR_WINDOW, second_factor_pending=True
                )
                return pb.AuthenticateResponse(outcome="totp_required", user_id=str(user.id), session_id=str(ticket))
            session_id = await store.insert_session(conn, user.id, request.client_address, now, now + SESSION_LIFETIME)
        return pb.AuthenticateResponse(outcome="ok", user_id=str(user.id), session_id=str(session_id))

    async def _second_factor(self, request: pb.AuthenticateRequest) -> Any:
        """The TOTP step, on the ticket the password step issued; a wrong code counts as a failed attempt."""
        now = datetime.now(UTC)
        try:
            ticket_id = uuid.UUID(request.login_ticket)
        except ValueError:
            raise DomainError("token.invalid") from None
        async with self.db.tenant() as conn:
            ticket = await store.live_session(conn, ticket_id, now, second_factor_pending=True)
            if ticket is None:
                raise DomainError("token.expired")
            user = await store.user_by_id(conn, ticket.user_id, lock=True)
            keys = domain.login_throttle_keys(user.email, request.client_address or ticket.client_address)
            await self._throttled(conn, keys, now)
            step = domain.verify_totp(user.totp_secret or "", request.totp_code, now, user.totp_last_step)
            if step is not None:
                await store.update_user(conn, user.id, totp_last_step=step)
                await store.end_session(conn, ticket_id, now)
                session_id = await store.insert_session(
                    conn, user.id, ticket.client_address, now, now + SESSION_LIFETIME
                )
        if step is None:
            await self._fail(keys, now)
            raise DomainError("totp.invalid", field="code")
        return pb.AuthenticateResponse(outcome="ok", user_id=str(user.id), session_id=str(session_id))

    async def EndSession(self, request: pb.EndSessionRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        # only this sign-in ends: the gateway revokes its own tokens, other browsers and apps keep theirs
        async with self.db.tenant() as conn:
            await store.end_session(conn, _uuid(request.session_id), now)
        return pb.EndSessionResponse()

    async def GetUser(self, request: pb.GetUserRequest, rpc: grpc.aio.ServicerContext) -> Any:
        user_id = self._self_or_staff(request.user_id)
        async with self.db.tenant() as conn:
            row = await store.user_by_id(conn, user_id)
        if row is None:
            raise DomainError("not_found")
        return pb.GetUserResponse(user=user_pb(row))

    def _self_or_staff(self, requested: str) -> uuid.UUID:
        ctx = context.current()
        if ctx.subject_kind in (context.STAFF, context.SYSTEM) or requested == ctx.subject:
            return _uuid(requested)
        raise DomainError("not_found")

    def _me(self) -> uuid.UUID:
        ctx = context.current()
        if ctx.subject_kind != context.USER and ctx.subject_kind != context.STAFF:
            raise DomainError("unauthenticated")
        return _uuid(ctx.subject)

    # --- credentials -----------------------------------------------------------------------------

    async def _reauthenticate(self, conn: Any, user_id: uuid.UUID, password: str, now: datetime) -> Any:
        user = await store.user_by_id(conn, user_id, lock=True)
        if user is None:
            raise DomainError("not_found")
        keys = [f"account:{user.email}"]
        await self._throttled(conn, keys, now)
        if not domain.verify_password(user.password_hash, password):
            await self._fail(keys, now)
            raise DomainError("credentials.invalid", field="current_password")
        return user

    async def ChangePassword(self, request: pb.ChangePasswordRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        user_id = self._me()
        async with self.db.tenant() as conn:
            user = await self._reauthenticate(conn, user_id, request.current_password, now)
            _check_policy(request.new_password, user.email, "new_password")
            await store.update_user(conn, user_id, password_hash=domain.hash_password(request.new_password))
            await audit.record(conn, "user", str(user_id), "password.changed", None, None)
            await bus.emit(
                conn,
                self.db.service,
                events.PasswordChanged(user_id=str(user_id), email=user.email, locale=user.locale),
            )
        return pb.ChangePasswordResponse()

    async def RequestPasswordReset(self, request: pb.RequestPasswordResetRequest, rpc: grpc.aio.ServicerContext) -> Any:
        """Answers the same whether or not the e-mail has a login, so it cannot be used to find accounts."""
        now = datetime.now(UTC)
        email = domain.normalise_email(request.email)
        keys = [f"reset:{request.client_address or context.current().client_address}", f"reset-account:{email}"]
        async with self.db.tenant() as conn:
            await self._throttled(conn, keys, now)
            user = await store.user_by_email(conn, email)
            if user is not None and user.status == "active":
                token = domain.new_token()
                expires = now + domain.PASSWORD_RESET_TTL
                await store.retire_link_tokens(conn, user.id, RESET_PURPOSE, now)
                await store.insert_link_token(conn, domain.token_hash(token), user.id, RESET_PURPOSE, expires)
                await bus.emit(
                    conn,
                    self.db.service,
                    events.PasswordResetRequested(
                        user_id=str(user.id),
                        email=user.email,
                        locale=request.locale or user.locale,
                        token=token,
                        expires_at=_ts(expires),
                    ),
                )
        # every request counts, so the endpoint cannot be used to flood someone's mailbox
        await self._fail(keys, now)
        return pb.RequestPasswordResetResponse()

    async def ResetPassword(self, request: pb.ResetPasswordRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        async with self.db.tenant() as conn:
            row = await self._use_link(conn, request.token, RESET_PURPOSE, now)
            user = await store.user_by_id(conn, row.user_id, lock=True)
            _check_policy(request.new_password, user.email, "new_password")
            values: dict[str, Any] = {"password_hash": domain.hash_password(request.new_password)}
            if user.email_verified_at is None:
                # the link came to this mailbox, which proves it as well as the verification link would
                values["email_verified_at"] = now
            await store.update_user(conn, user.id, **values)
            await store.end_user_sessions(conn, user.id, now)
            await self.oauth.revoke_user_tokens(conn, user.id, now)
            # a reset is how an account is taken back from whoever knew the password: their tokens go with them
            for token in await store.revoke_user_personal_tokens(conn, user.id, now):
                await self._personal_token_revoked(conn, token)
            await store.clear_throttle(conn, f"account:{user.email}")
            await audit.record(conn, "user", str(user.id), "password.reset", None, None)
            await bus.emit(
                conn,
                self.db.service,
                events.PasswordChanged(user_id=str(user.id), email=user.email, locale=user.locale),
            )
        return pb.ResetPasswordResponse()

    async def ChangeLoginEmail(self, request: pb.ChangeLoginEmailRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        user_id = self._me()
        new_email = _email(request.new_email)
        token = domain.new_token()
        async with self.db.tenant() as conn:
            user = await self._reauthenticate(conn, user_id, request.current_password, now)
            if new_email != user.email:
                if await store.user_by_email(conn, new_email) is not None:
                    raise DomainError("email.taken", field="new_email")
                await store.update_user(conn, user_id, email=new_email, email_verified_at=None)
                expires = now + domain.EMAIL_VERIFICATION_TTL
                await store.insert_link_token(conn, domain.token_hash(token), user_id, VERIFY_PURPOSE, expires)
                await audit.record(
                    conn, "user", str(user_id), "email.changed", {"email": user.email}, {"email": new_email}
                )
                await bus.emit(
                    conn,
                    self.db.service,
                    events.EmailVerificationRequested(
                        user_id=str(user_id), email=new_email, locale=user.locale, token=token, expires_at=_ts(expires)
                    ),
                )
        return pb.ChangeLoginEmailResponse()

    # --- second factor ---------------------------------------------------------------------------

    async def BeginTotpEnrollment(self, request: pb.BeginTotpEnrollmentRequest, rpc: grpc.aio.ServicerContext) -> Any:
        user_id = self._me()
        secret = domain.new_totp_secret()
        async with self.db.tenant() as conn:
            user = await store.user_by_id(conn, user_id)
            await store.update_user(conn, user_id, totp_pending_secret=secret)
        issuer = context.current().tenant_id
        return pb.BeginTotpEnrollmentResponse(
            secret=secret, provisioning_uri=domain.provisioning_uri(secret, user.email, issuer)
        )

    async def ConfirmTotpEnrollment(
        self, request: pb.ConfirmTotpEnrollmentRequest, rpc: grpc.aio.ServicerContext
    ) -> Any:
        now = datetime.now(UTC)
        user_id = self._me()
        async with self.db.tenant() as conn:
            user = await store.user_by_id(conn, user_id, lock=True)
            if not user.totp_pending_secret:
                raise DomainError("totp.not_started")
            step = domain.verify_totp(user.totp_pending_secret, request.code, now, 0)
            if step is None:
                raise DomainError("totp.invalid", field="code")
            await store.update_user(
                conn, user_id, totp_secret=user.totp_pending_secret, totp_pending_secret=None, totp_last_step=step
            )
            await audit.record(conn, "user", str(user_id), "totp.enabled", None, None)
        return pb.ConfirmTotpEnrollmentResponse()

    async def DisableTotp(self, request: pb.DisableTotpRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        user_id = self._me()
        async with self.db.tenant() as conn:
            user = await store.user_by_id(conn, user_id, lock=True)
            if not user.totp_secret:
                raise DomainError("totp.not_enabled")
            if domain.verify_totp(user.totp_secret, request.code, now, user.totp_last_step) is None:
                raise DomainError("totp.invalid", field="code")
            await store.update_user(conn, user_id, totp_secret=None, totp_pending_secret=None)
            await audit.record(conn, "user", str(user_id), "totp.disabled", None, None)
        return pb.DisableTotpResponse()

    # --- grants and tokens -----------------------------------------------------------------------

    async def GetCustomerLocale(self, request: pb.GetCustomerLocaleRequest, rpc: grpc.aio.ServicerContext) -> Any:
        if context.current().subject_kind != context.SYSTEM:
            raise DomainError("forbidden")
        async with self.db.tenant() as conn:
            locale = await store.owner_locale(conn, request.customer_number.strip()[:32], datetime.now(UTC))
        return pb.GetCustomerLocaleResponse(locale=locale)

    async def ListUsers(self, request: pb.ListUsersRequest, rpc: grpc.aio.ServicerContext) -> Any:
        if context.current().subject_kind not in (context.STAFF, context.SYSTEM):
            raise DomainError("forbidden")
        if len(request.user_ids) > MAX_USERS_LISTED:
            raise DomainError("page_size.invalid", field="user_ids")
        wanted = {uuid.UUID(i) for i in request.user_ids if _is_uuid(i)}
        async with self.db.tenant() as conn:
            rows = await store.users_by_ids(conn, sorted(wanted))
        return pb.ListUsersResponse(users=[user_pb(r) for r in rows])

    async def ListAudit(self, request: pb.ListAuditRequest, rpc: grpc.aio.ServicerContext) -> Any:
        return await audit.list_audit(self.db, request, pb.ListAuditResponse)

    async def ListGrants(self, request: pb.ListGrantsRequest, rpc: grpc.aio.ServicerContext) -> Any:
        user_id = self._self_or_staff(request.user_id)
        async with self.db.tenant() as conn:
            rows = await store.live_grants(conn, user_id, datetime.now(UTC))
        return pb.ListGrantsResponse(grants=[grant_pb(r) for r in rows])

    async def HandleOAuth(self, request: pb.HandleOAuthRequest, rpc: grpc.aio.ServicerContext) -> Any:
        return pb.HandleOAuthResponse(http=await self.oauth.handle(request))

    async def ResolveAccessToken(self, request: pb.ResolveAccessTokenRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        if domain.is_personal_token(request.access_token):
            return await self._resolve_personal_token(request.access_token, now)
        async with self.db.tenant() as conn:
            token = await self.oauth.active_token(conn, request.access_token, now)
            if token is None:
                return pb.ResolveAccessTokenResponse(active=False)
            user = await store.user_by_id(conn, token.user_id)
            if user is None or user.status != "active":
                return pb.ResolveAccessTokenResponse(active=False)
            grants = await store.live_grants(conn, user.id, now)
        return _resolved(token.client_id, token.scope.split(), token.access_expires_at, user, grants)

    async def _resolve_personal_token(self, value: str, now: datetime) -> pb.ResolveAccessTokenResponse:
        """A personal access token speaks for its user with the user's live grants (those of its customer numbers
        when it is limited to some) and its scopes; the gateway's intersection of the two is all it may do."""
        if len(value) > 512:
            return pb.ResolveAccessTokenResponse(active=False)
        async with self.db.tenant() as conn:
            token = await store.personal_token_by_hash(conn, domain.personal_token_hash(self.personal_token_key, value))
            if token is None or not domain.personal_token_live(token.revoked_at, token.expires_at, now):
                return pb.ResolveAccessTokenResponse(active=False)
            user = await store.user_by_id(conn, token.user_id)
            if user is None or user.status != "active" or user.kind != "customer":
                return pb.ResolveAccessTokenResponse(active=False)
            grants = [
                g
                for g in await store.live_grants(conn, user.id, now)
                if domain.personal_token_covers(token.customer_numbers, g.customer_number)
            ]
            if domain.personal_token_use_due(token.last_used_at, now):
                await store.personal_token_used(conn, token.id, now, domain.LAST_USED_PRECISION)
        return _resolved(domain.PERSONAL_TOKEN_CLIENT_ID, token.scopes, token.expires_at, user, grants)

    # --- personal access tokens ------------------------------------------------------------------

    async def CreatePersonalToken(self, request: pb.CreatePersonalTokenRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        # only a signed-in user: a token (a third-party client's or a personal one) never makes tokens
        user_id = self._me()
        name = domain.personal_token_name(request.name)
        scopes = domain.personal_token_scopes(list(request.scopes))
        expires_at = domain.personal_token_expiry(_expiry(request), now)
        value = domain.new_personal_token()
        async with self.db.tenant() as conn:
            # the lock makes the limit and the name check hold against two creations at once
            user = await store.user_by_id(conn, user_id, lock=True)
            if user is None:
                raise DomainError("not_found")
            live = await store.live_personal_tokens(conn, user_id, now)
            domain.check_new_personal_token(user.kind == "customer", [t.name for t in live], name)
            granted = frozenset(g.customer_number for g in await store.live_grants(conn, user_id, now))
            numbers = domain.personal_token_customer_numbers(list(request.customer_numbers), granted)
            row = await store.insert_personal_token(
                conn,
                user_id=user_id,
                token_hash=domain.personal_token_hash(self.personal_token_key, value),
                name=name,
                scopes=scopes,
                customer_numbers=numbers,
                created_at=now,
                expires_at=expires_at,
            )
            await audit.record(
                conn,
                "personal_token",
                str(row.id),
                "created",
                None,
                {"name": name, "scopes": scopes, "customer_numbers": numbers, "expires_at": expires_at.isoformat()},
            )
            await bus.emit(
                conn,
                self.db.service,
                events.PersonalTokenCreated(
                    token_id=str(row.id),
                    user_id=str(user_id),
                    name=name,
                    scopes=scopes,
                    customer_numbers=numbers,
                    expires_at=_ts(expires_at),
                ),
            )
        return pb.CreatePersonalTokenResponse(token=personal_token_pb(row), value=value)

    async def ListPersonalTokens(self, request: pb.ListPersonalTokensRequest, rpc: grpc.aio.ServicerContext) -> Any:
        user_id = self._me()
        async with self.db.tenant() as conn:
            rows = await store.listed_personal_tokens(conn, user_id, datetime.now(UTC) - domain.EXPIRED_TOKENS_LISTED)
        return pb.ListPersonalTokensResponse(
            tokens=[personal_token_pb(r) for r in rows], max_active=domain.MAX_ACTIVE_PERSONAL_TOKENS
        )

    async def RevokePersonalToken(self, request: pb.RevokePersonalTokenRequest, rpc: grpc.aio.ServicerContext) -> Any:
        now = datetime.now(UTC)
        user_id = self._me()
        token_id = _uuid(request.token_id)
        async with self.db.tenant() as conn:
            row = await store.personal_token_of(conn, token_id, user_id)
            if row is None:
                raise DomainError("not_found")
            # revoking twice (a double click, a retry) answers the same and records nothing new
            if row.revoked_at is None:
                row = await store.revoke_personal_token(conn, token_id, now)
                await self._personal_token_revoked(conn, row)
        return pb.RevokePersonalTokenResponse(token=personal_token_pb(row))

    async def _personal_token_revoked(self, conn: Any, row: Any) -> None:
        await audit.record(conn, "personal_token", str(row.id), "revoked", None, {"name": row.name})
        await bus.emit(
            conn,
            self.db.service,
            events.PersonalTokenRevoked(token_id=str(row.id), user_id=str(row.user_id), name=row.name),
        )


def _resolved(
    client_id: str, scopes: list[str], expires_at: datetime, user: Any, grants: list[Any]
) -> pb.ResolveAccessTokenResponse:
    return pb.ResolveAccessTokenResponse(
        active=True,
        client_id=client_id,
        scopes=scopes,
        expires_at=_ts(expires_at),
        user=user_pb(user),
        grants=[grant_pb(g) for g in grants],
    )
