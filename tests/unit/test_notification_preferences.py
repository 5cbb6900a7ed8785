"""Delivery preferences and the SMS text of outage notices: pure rules of the notifications service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kit import identifiers
from kit.errors import DomainError
from services.notifications import domain

OUTAGE = domain.Outage(
    operator="ČEZ Distribuce",
    reference="OP-1",
    starts_at=datetime(2031, 5, 14, 6, 0, tzinfo=UTC),
    ends_at=datetime(2031, 5, 14, 11, 30, tzinfo=UTC),
    reason="Výměna sloupu",
)
MOVED = domain.Outage(
    "ČEZ Distribuce", "OP-1", datetime(2031, 5, 15, 7, tzinfo=UTC), datetime(2031, 5, 15, 13, tzinfo=UTC), ""
)
PLACE = domain.AffectedPlace("859182400100000019", "Plzeňská", "1187", "266 01", "Beroun")
OTHER = domain.AffectedPlace("859182400100000026", "Plzeňská", "1189", "266 01", "Beroun")
PHONE = "+420601234567"


def reason_of(**kwargs: object) -> str:
    with pytest.raises(DomainError) as refused:
        domain.choose(**kwargs)  # type: ignore[arg-type]
    return refused.value.reason


def test_a_kind_never_chosen_goes_by_email() -> None:
    assert domain.with_defaults({}) == {"outages": frozenset({"email"})}
    assert domain.with_defaults({"outages": ["sms"]}) == {"outages": frozenset({"sms"})}


def test_sms_and_both_can_be_chosen_with_a_phone() -> None:
    assert domain.choose("outages", ["sms"], phone=PHONE, sms_available=True) == {"sms"}
    assert domain.choose("outages", ["email", "sms", "sms"], phone=PHONE, sms_available=True) == {"email", "sms"}
    assert domain.choose("outages", ["email"], phone="", sms_available=False) == {"email"}


def test_outage_notices_cannot_be_switched_off() -> None:
    assert reason_of(kind="outages", channels=[], phone=PHONE, sms_available=True) == "preferences.channel_required"


def test_sms_needs_a_phone_and_a_gateway() -> None:
    assert reason_of(kind="outages", channels=["sms"], phone="", sms_available=True) == "preferences.phone_missing"
    assert reason_of(kind="outages", channels=["email", "sms"], phone=PHONE, sms_available=False) == (
        "preferences.sms_unavailable"
    )


def test_unknown_kinds_and_channels_are_refused_naming_the_field() -> None:
    with pytest.raises(DomainError) as refused:
        domain.choose("invoices", ["email"], phone=PHONE, sms_available=True)
    assert (refused.value.reason, refused.value.field) == ("preferences.kind_unknown", "kind")
    with pytest.raises(DomainError) as refused:
        domain.choose("outages", ["email", "pigeon"], phone=PHONE, sms_available=True)
    assert (refused.value.reason, refused.value.field) == ("preferences.channel_unknown", "outages")


@pytest.mark.parametrize(
    ("chosen", "email", "phone", "used"),
    [
        ({"email"}, "a@b.example", PHONE, ("email",)),
        ({"sms"}, "a@b.example", PHONE, ("sms",)),
        ({"email", "sms"}, "a@b.example", PHONE, ("email", "sms")),
        # the phone was removed after SMS was chosen: the notice still arrives, by e-mail
        ({"sms"}, "a@b.example", "", ("email",)),
        ({"email"}, "", PHONE, ("sms",)),
        ({"email", "sms"}, "", "", ()),
    ],
)
def test_channels_used_are_the_chosen_ones_that_reach(chosen, email, phone, used) -> None:
    assert domain.channels_to_use(frozenset(chosen), email=email, phone=phone) == used


@pytest.mark.parametrize(
    ("phone", "country", "number"),
    [
        ("+420 601 234 567", "CZ", "+420601234567"),
        ("601234567", "CZ", "+420601234567"),
        ("00420601234567", "CZ", "+420601234567"),
        ("0887 123 456", "BG", "+359887123456"),
        ("", "CZ", ""),
        ("601-234-567", "CZ", ""),
        ("601234567", "DE", ""),
    ],
)
def test_the_sms_number_is_e164_or_none(phone: str, country: str, number: str) -> None:
    assert domain.sms_number(phone, country) == number


def test_e164_without_a_country_code_needs_a_known_country() -> None:
    with pytest.raises(identifiers.InvalidIdentifier) as refused:
        identifiers.e164("601234567", "DE")
    assert refused.value.code == "phone.country"


def sms(template: str, locale: str, places=(PLACE,), previous=None, brand="Volta Energie") -> str:
    return domain.render_outage_sms(
        template,
        locale,
        brand=brand,
        outage_line="800 850 860",
        time_zone="Europe/Prague",
        outage=OUTAGE,
        places=list(places),
        previous=previous,
    )


@pytest.mark.parametrize("template", list(domain.OUTAGE_SMS))
@pytest.mark.parametrize("locale", domain.LOCALES)
def test_every_notice_has_an_sms_with_when_and_where(template: str, locale: str) -> None:
    text = sms(template, locale, previous=MOVED)
    # local time in Prague: 6:00 UTC is 8:00 in summer
    assert "8:00-13:30" in text and "2031" in text and PLACE.ean in text
    assert text.startswith("Volta Energie: ")
    if locale == "bg":
        # Cyrillic is sent as UCS-2: 70 characters a part, at most two parts
        assert len(text) <= 134
    else:
        assert domain.is_gsm(text) and len(text) <= domain.SMS_LENGTH, text


def test_the_sms_is_in_the_customers_language() -> None:
    assert sms(domain.OUTAGE_PLANNED, "cs").startswith("Volta Energie: planovane preruseni dodavky elektriny 14.5.2031")
    assert "planned power outage 14 May 2031 8:00-13:30" in sms(domain.OUTAGE_PLANNED, "en")
    assert "прекъсване на тока 14.05.2031 8:00-13:30" in sms(domain.OUTAGE_PLANNED, "bg")
    changed = sms(domain.OUTAGE_CHANGED, "cs", previous=MOVED)
    assert "15.5.2031 9:00-15:00" in changed and "se rusi" in sms(domain.OUTAGE_CANCELLED, "cs")


def test_several_supply_points_are_counted_not_listed() -> None:
    text = sms(domain.OUTAGE_PLANNED, "cs", places=(PLACE, OTHER))
    assert "odberna mista: 2" in text and PLACE.ean not in text


def test_czech_letters_are_folded_into_the_gsm_alphabet() -> None:
    text = sms(domain.OUTAGE_PLANNED, "cs", brand="Energie Říčany")
    assert text.startswith("Energie Ricany: ") and domain.is_gsm(text)
    assert domain.gsm_folded("Plzeň, Müller, ČEZ") == "Plzen, Müller, CEZ"


def test_an_outage_past_midnight_names_both_days() -> None:
    late = domain.Outage("x", "1", datetime(2031, 5, 14, 20, tzinfo=UTC), datetime(2031, 5, 15, 2, tzinfo=UTC), "")
    assert domain.sms_period(late.starts_at, late.ends_at, "cs", "Europe/Prague") == "14.5.2031 22:00-15.5.2031 4:00"
