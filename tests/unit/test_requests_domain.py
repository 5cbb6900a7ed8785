"""The request state machine and the catalog's field checks, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kit import authz, demo
from kit.errors import DomainError
from services.notifications import domain as notices
from services.requests import domain

BREAKER = next(t for t in domain.DEFAULT_CATALOG if t.code == "breaker_change")
FREE_TEXT = next(t for t in domain.DEFAULT_CATALOG if t.code == "free_text")


def test_staff_walks_a_request_to_its_resolution() -> None:
    state = domain.SUBMITTED
    state = domain.transition(state, "accept", domain.STAFF, "")
    assert state == domain.ACCEPTED
    state = domain.transition(state, "start", domain.STAFF, "")
    state = domain.transition(state, "ask_customer", domain.STAFF, "Send a photo of the breaker.")
    assert state == domain.WAITING
    state = domain.transition(state, "add_info", domain.CUSTOMER, "Photo sent by post.")
    assert state == domain.IN_PROGRESS
    assert domain.transition(state, "resolve", domain.STAFF, "Done on 3 December.") == domain.RESOLVED


@pytest.mark.parametrize(
    ("state", "action", "by", "reason"),
    [
        # the customer takes no staff step
        (domain.SUBMITTED, "accept", domain.CUSTOMER, ""),
        (domain.IN_PROGRESS, "resolve", domain.CUSTOMER, "done"),
        # staff do not answer for the customer
        (domain.WAITING, "add_info", domain.STAFF, "info"),
    ],
)
def test_each_side_takes_only_its_own_steps(state: str, action: str, by: str, reason: str) -> None:
    with pytest.raises(DomainError) as err:
        domain.transition(state, action, by, reason)
    assert err.value.reason == "forbidden"


@pytest.mark.parametrize(
    ("state", "action", "by"),
    [
        (domain.IN_PROGRESS, "cancel", domain.CUSTOMER),
        (domain.RESOLVED, "reject", domain.STAFF),
        (domain.CANCELLED, "accept", domain.STAFF),
        (domain.SUBMITTED, "add_info", domain.CUSTOMER),
        (domain.SUBMITTED, "resolve", domain.STAFF),
    ],
)
def test_steps_not_from_this_state_are_refused(state: str, action: str, by: str) -> None:
    with pytest.raises(DomainError) as err:
        domain.transition(state, action, by, "because")
    assert err.value.reason == "precondition.request_state"
    assert err.value.params == {"state": state, "action": action}


@pytest.mark.parametrize(
    ("state", "action", "by"),
    [
        (domain.SUBMITTED, "reject", domain.STAFF),
        (domain.IN_PROGRESS, "resolve", domain.STAFF),
        (domain.IN_PROGRESS, "ask_customer", domain.STAFF),
        (domain.WAITING, "add_info", domain.CUSTOMER),
        (domain.ACCEPTED, "cancel", domain.STAFF),
    ],
)
def test_a_reason_is_required_where_the_other_side_needs_one(state: str, action: str, by: str) -> None:
    with pytest.raises(DomainError) as err:
        domain.transition(state, action, by, "   ")
    assert err.value.reason == "request.reason_required"


def test_the_customer_cancels_without_a_reason_while_nobody_works_on_it() -> None:
    for state in (domain.SUBMITTED, domain.ACCEPTED, domain.WAITING):
        assert domain.transition(state, "cancel", domain.CUSTOMER, "") == domain.CANCELLED


def test_unknown_actions_and_overlong_reasons_are_refused() -> None:
    with pytest.raises(DomainError, match="request.action_unknown"):
        domain.transition(domain.SUBMITTED, "approve", domain.STAFF, "")
    with pytest.raises(DomainError, match="request.reason_too_long"):
        domain.transition(domain.SUBMITTED, "reject", domain.STAFF, "x" * (domain.MAX_REASON + 1))


def test_available_actions_follow_the_machine() -> None:
    assert domain.available_actions(domain.WAITING, domain.CUSTOMER) == ("add_info", "cancel")
    assert domain.available_actions(domain.IN_PROGRESS, domain.CUSTOMER) == ()
    assert domain.available_actions(domain.SUBMITTED, domain.STAFF) == ("accept", "start", "reject", "cancel")
    assert domain.available_actions(domain.RESOLVED, domain.STAFF) == ()


def test_overdue_only_while_it_is_the_suppliers_turn() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    past = now - timedelta(seconds=1)
    assert domain.is_overdue(domain.IN_PROGRESS, past, now)
    assert not domain.is_overdue(domain.WAITING, past, now)
    assert not domain.is_overdue(domain.RESOLVED, past, now)
    assert not domain.is_overdue(domain.SUBMITTED, now + timedelta(days=1), now)


def test_values_are_checked_against_the_fields_of_the_type() -> None:
    assert domain.parse_values(BREAKER, [("breaker_amps", "25"), ("phases", "3"), ("note", " ")]) == {
        "breaker_amps": "25",
        "phases": "3",
    }
    cases = [
        ([("breaker_amps", "27"), ("phases", "3")], "request.field_choice", "breaker_amps"),
        ([("phases", "3")], "request.field_required", "breaker_amps"),
        ([("breaker_amps", "25"), ("phases", "3"), ("colour", "red")], "request.field_unknown", "colour"),
        ([("breaker_amps", "25"), ("phases", "3"), ("wanted_from", "2026-13-01")], "date.invalid", "wanted_from"),
    ]
    for values, reason, field in cases:
        with pytest.raises(DomainError) as err:
            domain.parse_values(BREAKER, values)
        assert (err.value.reason, err.value.field) == (reason, field)
    with pytest.raises(DomainError, match="request.field_too_long"):
        domain.parse_values(FREE_TEXT, [("subject", "x" * 201), ("description", "d")])


def test_allowed_contract_types_come_from_the_permission_matrix() -> None:
    esco = demo.tenant("esco").permission_matrix
    assert domain.allowed_contract_types(BREAKER, esco) == (demo.BUNDLED,)
    assert domain.allowed_contract_types(FREE_TEXT, esco) == (demo.BUNDLED, demo.SUPPLY_ONLY)
    assert BREAKER.capability == authz.BREAKER_CHANGE_REQUEST


def test_only_staff_choose_the_channel() -> None:
    assert domain.channel_of("phone", domain.CUSTOMER) == "portal"
    assert domain.channel_of("phone", domain.STAFF) == "phone"
    with pytest.raises(DomainError, match="request.channel_invalid"):
        domain.channel_of("pigeon", domain.STAFF)


def test_page_tokens_round_trip_and_refuse_garbage() -> None:
    at, request_id = datetime(2026, 12, 1, 8, 30, tzinfo=UTC), uuid.uuid4()
    assert domain.decode_page_token(domain.encode_page_token(at, request_id)) == (at, request_id)
    with pytest.raises(DomainError, match="page_token.invalid"):
        domain.decode_page_token("not-a-token")


def test_the_customer_is_told_the_new_state_in_their_language() -> None:
    told = notices.render_request(
        "cs",
        brand="Volta Energie",
        request_type="breaker_change",
        state="waiting_for_customer",
        reason="Pošlete fotografii jističe.",
        customer_line="+420 800 555 010",
    )
    assert told.subject == "Volta Energie: vaše žádost (změna hlavního jističe) je nyní ve stavu čeká na vás"
    assert "Poznámka: Pošlete fotografii jističe." in told.body and "+420 800 555 010" in told.body
    quiet = notices.render_request(
        "en", brand="B", request_type="unknown", state="resolved", reason="", customer_line="1"
    )
    assert "Note:" not in quiet.body and '"request" is now: resolved' in quiet.body
