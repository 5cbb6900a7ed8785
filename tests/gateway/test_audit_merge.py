"""The staff console's merged audit log: the services' pages merged by time, each service's place kept in the page
token, so paging through shows every entry once and in order, and a forged token is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from portal.common.v1 import common_pb2

from gateway.staff.audit_pages import DONE, Answer, decode_positions, encode_positions, merge
from kit import fields
from kit.errors import DomainError

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def trail(minutes: list[int]) -> list[common_pb2.AuditEntry]:
    """A service's trail newest first: ids grow with time, `minutes` after START."""
    ordered = sorted(minutes, reverse=True)
    return [common_pb2.AuditEntry(id=str(m + 1), at=fields.timestamp(START + timedelta(minutes=m))) for m in ordered]


def page_of(trails: dict[str, list[common_pb2.AuditEntry]], positions: dict[str, str], size: int) -> dict[str, Answer]:
    """What each service answers for its position, as kit.audit.listing does."""
    answers = {}
    for key, entries in trails.items():
        if positions[key] == DONE:
            continue
        below = [e for e in entries if not positions[key] or int(e.id) < int(positions[key])]
        answers[key] = Answer(below[:size], len(below) > size)
    return answers


def test_paging_through_the_merged_log_shows_every_entry_once_newest_first():
    trails = {"accounts": trail([0, 3, 4, 9, 10, 11]), "requests": trail([1, 2, 5, 6]), "hdo": trail([7])}
    positions = dict.fromkeys(trails, "")
    seen: list[tuple[str, str]] = []
    pages = 0
    while True:
        taken, after = merge(page_of(trails, positions, 3), positions, 3)
        seen += [(k, e.id) for k, e in taken]
        pages += 1
        if after is None:
            break
        positions = decode_positions(encode_positions(after), list(trails))
    assert pages == 4
    minutes = [int(i) - 1 for _, i in seen]
    assert minutes == sorted(minutes, reverse=True) and len(seen) == len(set(seen)) == 11


def test_a_service_with_nothing_more_is_not_asked_again():
    trails = {"accounts": trail([5, 6]), "hdo": trail([])}
    positions = dict.fromkeys(trails, "")
    taken, after = merge(page_of(trails, positions, 10), positions, 10)
    assert [e.id for _, e in taken] == ["7", "6"] and after is None
    taken, after = merge(page_of(trails, positions, 1), positions, 1)
    assert after == {"accounts": "7", "hdo": DONE}


@pytest.mark.parametrize("token", ["x", "e30", encode_positions({"accounts": "1"}), encode_positions({"a": "1; drop"})])
def test_a_forged_token_is_refused(token):
    with pytest.raises(DomainError) as refused:
        decode_positions(token, ["a"] if "drop" in token else ["accounts", "hdo"])
    assert refused.value.reason == "page_token.invalid"
