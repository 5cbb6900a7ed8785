"""What an outage notice says in each language, and when its reminder is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifications import domain

OUTAGE = domain.Outage(
    operator="ČEZ Distribuce",
    reference="110004711",
    starts_at=datetime(2030, 3, 10, 6, 30, tzinfo=UTC),
    ends_at=datetime(2030, 3, 10, 13, tzinfo=UTC),
    reason="Výměna sloupu",
)
PLACE = domain.AffectedPlace("859182400102345677", "Plzeňská", "1187", "266 01", "Beroun")


TIMES = {"cs": "7:30–14:00", "bg": "7:30–14:00", "en": "7:30 AM–2:00 PM"}


def spaced(text: str) -> str:
    """Babel separates "г." and "AM" by narrow no-break spaces."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def render(template: str, locale: str, **changes: object) -> domain.Message:
    fields: dict[str, object] = {
        "brand": "Volta Energie",
        "outage_line": "+420 800 555 011",
        "customer_line": "+420 800 555 010",
        "time_zone": "Europe/Prague",
        "outage": OUTAGE,
        "places": [PLACE],
        **changes,
    }
    return domain.render_outage(template, locale, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("locale", domain.LOCALES)
@pytest.mark.parametrize(
    "template",
    [domain.OUTAGE_PLANNED, domain.OUTAGE_CHANGED, domain.OUTAGE_CANCELLED, domain.OUTAGE_REMINDER],
)
def test_every_notice_names_the_brand_time_place_and_reference(template: str, locale: str) -> None:
    message = render(template, locale, previous=OUTAGE)
    assert "Volta Energie" in message.subject and TIMES[locale] in spaced(message.subject)  # Prague time
    for part in ("859182400102345677, Plzeňská 1187, 266 01 Beroun", "110004711", "ČEZ Distribuce", "+420 800 555 010"):
        assert part in message.body
    assert "{" not in message.subject + message.body


def test_the_subjects_tell_planned_changed_cancelled_and_reminder_apart() -> None:
    subjects = {render(t, "en", previous=OUTAGE).subject for t in domain.OUTAGE_TEMPLATES}
    assert len(subjects) == len(domain.OUTAGE_TEMPLATES)


def test_a_change_shows_the_new_and_the_old_times() -> None:
    moved = domain.Outage(
        OUTAGE.operator, OUTAGE.reference, OUTAGE.starts_at + timedelta(days=1), OUTAGE.ends_at + timedelta(days=1), ""
    )
    body = render(domain.OUTAGE_CHANGED, "cs", outage=moved, previous=OUTAGE).body
    assert "Nový termín: pondělí 11. března 2030 7:30–14:00" in body
    assert "Původně: neděle 10. března 2030 7:30–14:00" in body
    assert "Důvod: neuvedeno" in body


def test_an_outage_over_midnight_names_both_days_in_the_tenants_zone() -> None:
    start, end = datetime(2030, 3, 10, 21, tzinfo=UTC), datetime(2030, 3, 11, 1, tzinfo=UTC)
    period = spaced(domain.period(start, end, "bg", "Europe/Sofia"))
    assert period == "неделя, 10 март 2030 г. 23:00 – понеделник, 11 март 2030 г. 3:00"


def test_several_supply_points_in_one_notice_in_ean_order() -> None:
    other = domain.AffectedPlace("859182400102345660", "Plzeňská", "1189", "266 01", "Beroun")
    body = render(domain.OUTAGE_PLANNED, "en", places=[PLACE, other]).body
    assert body.index("859182400102345660") < body.index("859182400102345677")


START = datetime(2030, 3, 10, 6, 30, tzinfo=UTC)
LEAD = timedelta(hours=48)


@pytest.mark.parametrize(
    ("noticed_at", "now", "due"),
    [
        (START - timedelta(days=10), START - timedelta(hours=49), None),  # not yet
        (START - timedelta(days=10), START - timedelta(hours=48), True),
        (START - timedelta(days=10), START - timedelta(hours=1), True),  # late (service was down) but before it
        (START - timedelta(days=10), START, False),  # too late: it has started
        (START - timedelta(hours=30), START - timedelta(hours=20), False),  # the notice itself came inside the lead
    ],
)
def test_a_reminder_is_due_once_the_lead_begins_unless_the_notice_was_that_late(
    noticed_at: datetime, now: datetime, due: bool | None
) -> None:
    assert domain.reminder_due(START, noticed_at, now, LEAD) is due
