"""The one rule for whether a supply point lies in an outage's places."""

from __future__ import annotations

import pytest

from kit.places import AddressRange, Place, affected, candidate_postal_codes, in_range

EAN = "859182400100000011"
HOME = Place("sp-1", "859182400100000028", "503 41", "Hradec Králové", "Pražská", "1204/12")


def test_a_listed_ean_is_affected_wherever_it_lies() -> None:
    assert affected({EAN}, [], Place("sp", EAN))
    assert not affected({EAN}, [], HOME)
    assert not affected(set(), [], Place("sp", ""))


@pytest.mark.parametrize(
    ("area", "inside"),
    [
        (AddressRange(postal_code="50341"), True),
        (AddressRange(city="hradec  kralove", street="PRAZSKA"), True),
        (AddressRange(street="Pražská", house_from=10, house_to=12), True),  # the orientation number counts
        (AddressRange(street="Pražská", house_from=1200), True),
        (AddressRange(street="Pražská", house_to=11), False),
        (AddressRange(postal_code="503 42"), False),
        (AddressRange(city="Pardubice"), False),
        (AddressRange(postal_code="50341", street="Gočárova"), False),
    ],
)
def test_address_ranges_fold_case_accents_and_spaces(area: AddressRange, inside: bool) -> None:
    assert in_range(area, HOME) is inside
    assert affected(set(), [AddressRange(city="Pardubice"), area], HOME) is inside


def test_a_search_is_narrowed_by_postal_code_only_when_every_area_names_one() -> None:
    assert candidate_postal_codes([AddressRange(postal_code="503 41"), AddressRange(postal_code="26601")]) == {
        "50341",
        "26601",
    }
    assert candidate_postal_codes([AddressRange(postal_code="503 41"), AddressRange(city="Beroun")]) is None
    assert candidate_postal_codes([]) == frozenset()
