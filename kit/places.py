"""Whether a supply point lies in an outage's places: listed by EAN or inside one of its address ranges.

One rule for every service: hdo matches stored outages against a customer's supply points with it, accounts finds
the supply points an outage affects with it. No I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class AddressRange:
    """Part of an outage area; empty fields match anything, house numbers are inclusive."""

    postal_code: str = ""
    city: str = ""
    street: str = ""
    house_from: int | None = None
    house_to: int | None = None


@dataclass(frozen=True)
class Place:
    """A supply point as the caller knows it, to match outages against."""

    supply_point_id: str
    ean: str
    postal_code: str = ""
    city: str = ""
    street: str = ""
    house_number: str = ""


@lru_cache(maxsize=1024)
def plain(text: str) -> str:
    """Case and accents folded away: "Plzeňská" and "plzenska" are the same street."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _same(a: str, b: str) -> bool:
    return " ".join(plain(a).split()) == " ".join(plain(b).split())


def postal(value: str) -> str:
    """A postal code without its spaces ("503 41" is 50341)."""
    return value.replace(" ", "")


def in_range(area: AddressRange, place: Place) -> bool:
    if area.postal_code and postal(area.postal_code) != postal(place.postal_code):
        return False
    if area.city and not _same(area.city, place.city):
        return False
    if area.street and not _same(area.street, place.street):
        return False
    if area.house_from is not None or area.house_to is not None:
        low, high = area.house_from or 0, area.house_to if area.house_to is not None else 10**9
        # "2405/190": číslo popisné / orientační; either may be the one the operator lists
        if not any(low <= int(n) <= high for n in re.findall(r"\d+", place.house_number)):
            return False
    return True


def affected(eans: Iterable[str], areas: Iterable[AddressRange], place: Place) -> bool:
    if place.ean and place.ean in eans:
        return True
    return any(in_range(area, place) for area in areas)


def candidate_postal_codes(areas: Iterable[AddressRange]) -> frozenset[str] | None:
    """The postal codes (without spaces) a place must have to lie in one of `areas`, for narrowing a search before
    `affected` decides; None when an area names no postal code, so any place may lie in it."""
    codes = set()
    for area in areas:
        if not area.postal_code:
            return None
        codes.add(postal(area.postal_code))
    return frozenset(codes)
