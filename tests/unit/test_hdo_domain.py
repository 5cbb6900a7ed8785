"""HDO parsing and normalisation on the operators' sample files (tests/fixtures/hdo) and files built here."""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.hdo import domain

PRAGUE = ZoneInfo("Europe/Prague")
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "hdo"
LEGACY_SAMPLE = SAMPLES / "cez_legacy_containers_stred_A3B7DP6.json"
DIP_SAMPLE = SAMPLES / "cez_dip_switch-times_signals.json"
ANY_DAY = date(2000, 1, 1)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=PRAGUE)


def timeline_of(schedules: tuple[domain.CodeSchedule, ...], code: str, first: date, last: date) -> domain.Timeline:
    versions = [domain.Version(1, s.valid_from, s) for s in schedules if s.code == code]
    return domain.Timeline(domain.expand(versions, first, last))


def csv_file(*lines: str) -> bytes:
    return "\n".join(["code,valid_from,valid_to,days,windows", *lines]).encode()


def legacy_record(code: str, platnost: str, *pairs: tuple[str, str], valid_to: int = 4070905200000) -> dict:
    record = {"POVEL": code, "PLATNOST": platnost, "VALID_FROM": 1635721200000, "VALID_TO": valid_to, "INFO": "TUV"}
    for n in range(1, 11):
        on, off = pairs[n - 1] if n <= len(pairs) else (None, None)
        record[f"CAS_ZAP_{n}"], record[f"CAS_VYP_{n}"] = on, off
    return record


def graphql_file(code: str, rows: list[tuple[str, list[str]]]) -> bytes:
    result = {"description": "Sazba D57d ", "povel": code, "kod_povelu": "405", "rows": []}
    result["rows"] = [{"day": day, "intervals": intervals, "__typename": "Row"} for day, intervals in rows]
    return json.dumps([{"data": {"hdoData": {"resultPrint": [result], "queryDescription": "povel"}}}]).encode()


def dip_file(*signals: tuple[str, str, str, str], status: object = 200) -> bytes:
    entries = [{"signal": s, "den": den, "datum": datum, "casy": casy} for s, den, datum, casy in signals]
    return json.dumps({"data": {"signals": entries, "amm": False}, "statusCode": status}).encode()


# --- the legacy sample ---------------------------------------------------------------------------


def test_legacy_sample_reads_as_its_consumers_expect() -> None:
    (schedule,) = domain.parse_schedule(LEGACY_SAMPLE.read_bytes(), domain.LEGACY, valid_from=ANY_DAY)
    assert (schedule.code, schedule.label, schedule.tariff) == ("A3B7DP6", "TUV", "D57d")
    assert schedule.valid_from == date(2021, 11, 1) and schedule.valid_to is None
    timeline = timeline_of((schedule,), "A3B7DP6", date(2021, 11, 15), date(2021, 11, 28))
    # Thursday 01:46: the Mon–Fri window 1:50–6:55 has not started yet
    assert domain.is_low_tariff(timeline, local(2021, 11, 18, 1, 46)) == (False, local(2021, 11, 18, 1, 50))
    # Sunday 15:30: inside the Sat–Sun window 15:10–18:15
    assert domain.is_low_tariff(timeline, local(2021, 11, 21, 15, 30)) == (True, local(2021, 11, 21, 18, 15))
    assert domain.is_low_tariff(timeline, local(2021, 11, 20, 3, 0)) == (True, local(2021, 11, 20, 6, 50))


def test_legacy_day_end_2359_joins_the_next_morning_and_validity_ends() -> None:
    records = [
        legacy_record("A1B5DP6", "Po - Ne", ("0:00", "6:00"), ("20:00", "23:59"), valid_to=1648764000000),
    ]
    (schedule,) = domain.parse_legacy(json.dumps({"data": records}).encode())
    assert schedule.valid_to == date(2022, 4, 1)
    timeline = timeline_of((schedule,), "A1B5DP6", date(2021, 11, 1), date(2021, 11, 7))
    assert domain.is_low_tariff(timeline, local(2021, 11, 2, 23, 59, 30)) == (True, local(2021, 11, 3, 6, 0))
    assert not schedule.covers(date(2022, 4, 1))


@pytest.mark.parametrize(
    ("records", "problem", "params"),
    [
        ([legacy_record("A1B5DP6", "Po - Pá", ("7:60", "8:00"))], "time_invalid", {"record": "1", "slot": "1"}),
        ([legacy_record("A1B5DP6", "Po - Pá", ("7:00", None))], "pair_incomplete", {"record": "1"}),
        ([legacy_record("A1B5DP6", "Všední dny", ("7:00", "8:00"))], "day_type_unknown", {"record": "1"}),
        (
            [legacy_record("A1B5DP6", "Po - Pá", ("1:00", "2:00")), legacy_record("A1B5DP6", "Po - Pá")],
            "day_type_duplicate",
            {"record": "2"},
        ),
        ([{"PLATNOST": "Po - Pá"}], "field_missing", {"record": "1", "name": "POVEL"}),
    ],
)
def test_legacy_malformed_records_are_named(records: list, problem: str, params: dict) -> None:
    with pytest.raises(domain.ImportRefused) as refused:
        domain.parse_legacy(json.dumps({"data": records}).encode())
    assert refused.value.reason == f"hdo.import.{problem}"
    assert params.items() <= refused.value.params.items()


def test_legacy_validity_out_of_range_is_refused() -> None:
    record = {**legacy_record("A1B5DP6", "Po - Pá", ("1:00", "2:00")), "VALID_FROM": 10**20}
    with pytest.raises(domain.ImportRefused) as refused:
        domain.parse_legacy(json.dumps({"data": [record]}).encode())
    assert refused.value.reason == "hdo.import.date_invalid" and refused.value.params["name"] == "VALID_FROM"


# --- the GraphQL generation ----------------------------------------------------------------------


def test_graphql_sundays_and_holidays_and_24_00() -> None:
    weekday = ["0:00 - 5:35", "6:30 - 8:55", "21:15 - 24:00"]
    rows = [(day, weekday) for day in ("Pondělí", "Úterý", "Středa", "Čtvrtek", "Pátek")]
    rows += [("Sobota", ["0:00 - 8:00", "20:00 - 24:00"]), ("Neděle a svátky", ["0:00 - 12:00", "13:00 - 24:00"])]
    (schedule,) = domain.parse_schedule(graphql_file("A3B4DP1", rows), domain.GRAPHQL, valid_from=date(2025, 12, 1))
    assert schedule.valid_from == date(2025, 12, 1) and schedule.tariff == "D57d"
    timeline = timeline_of((schedule,), "A3B4DP1", date(2025, 12, 1), date(2025, 12, 31))
    # Wednesday 24 December is Štědrý den, a public holiday: the Sunday rule applies
    assert domain.is_low_tariff(timeline, local(2025, 12, 24, 10, 0)) == (True, local(2025, 12, 24, 12, 0))
    assert domain.is_low_tariff(timeline, local(2025, 12, 23, 10, 0)) == (False, local(2025, 12, 23, 21, 15))
    # 21:15–24:00 meets the next morning's 0:00–5:35
    assert domain.is_low_tariff(timeline, local(2025, 12, 2, 22, 0)) == (True, local(2025, 12, 3, 5, 35))


def test_graphql_day_type_names() -> None:
    assert domain.parse_day_type("Pondělí - Pátek (20 hodin denně)") == domain.DayType(frozenset(range(5)))
    assert domain.parse_day_type("Neděle a svátky") == domain.DayType(frozenset({6}), True)
    assert domain.parse_day_type("So - Ne") == domain.DayType(frozenset({5, 6}))
    assert domain.parse_day_type("sat-sun+holidays") == domain.DayType(frozenset({5, 6}), True)
    assert domain.parse_day_type("fri-mon") == domain.DayType(frozenset({4, 5, 6, 0}))
    assert domain.parse_day_type("holidays") == domain.DayType(frozenset(), True)


# --- the DIP generation --------------------------------------------------------------------------


def test_dip_sample_several_signals_trailing_separators_and_midnight() -> None:
    schedules = domain.parse_schedule(DIP_SAMPLE.read_bytes(), domain.DIP, valid_from=ANY_DAY)
    assert sorted(s.code for s in schedules) == ["A3B4DP1", "A3B4DP2", "A3B4DP6"]
    boiler = next(s for s in schedules if s.code == "A3B4DP6")
    assert boiler.day_windows(date(2025, 8, 14)) == ((70, 311), (695, 836), (1330, 1431))
    timeline = timeline_of(schedules, "A3B4DP1", date(2025, 8, 14), date(2025, 8, 15))
    # Thursday 21:15–24:00 and Friday 00:00–05:35 are one window
    assert domain.is_low_tariff(timeline, local(2025, 8, 14, 23, 0)) == (True, local(2025, 8, 15, 5, 35))
    assert domain.is_low_tariff(timeline, local(2025, 8, 15, 9, 0)) == (False, local(2025, 8, 15, 9, 54))
    # the last known window ends at midnight; what follows is unknown
    assert domain.is_low_tariff(timeline, local(2025, 8, 16, 0, 30)) == (False, None)
    only_thursday = timeline_of(schedules, "A3B4DP6", date(2025, 8, 14), date(2025, 8, 15))
    assert [w[1] for w in only_thursday.windows][-1] == local(2025, 8, 14, 23, 51)


def test_dip_window_to_24_00_joins_the_next_day() -> None:
    content = dip_file(
        ("a1b5dp06", "Sobota", "03.01.2026", "17:00-24:00;"),
        ("a1b5dp06", "Neděle", "04.01.2026", " 00:00-06:00 ;  "),
    )
    timeline = timeline_of(domain.parse_dip(content), "A1B5DP6", date(2026, 1, 3), date(2026, 1, 4))
    assert timeline.windows == [(local(2026, 1, 3, 17), local(2026, 1, 4, 6))]


@pytest.mark.parametrize(
    ("content", "problem", "params"),
    [
        (dip_file(("a3b4dp01", "Čtvrtek", "14.08.2025", "00:00-24:01")), "time_invalid", {"record": "1"}),
        (dip_file(("a3b4dp01", "Čtvrtek", "14.08.2025", "0700-0800")), "time_invalid", {"value": "0700"}),
        (dip_file(("a3b4dp01", "Středa", "14.08.2025", "07:00-08:00")), "weekday_mismatch", {"record": "1"}),
        (dip_file(("a3b4dp01", "Čtvrtek", "2025-08-14", "07:00-08:00")), "date_invalid", {"record": "1"}),
        (dip_file(("a3b4dp01", "Čtvrtek", "14.08.2025", "")), "field_missing", {"name": "casy"}),
        (dip_file(("a3b4dp01", "Čtvrtek", "14.08.2025", "07:00-08:00"), status=500), "status_invalid", {}),
        (b'{"data": {"signals": [}', "json_invalid", {"line": "1"}),
    ],
)
def test_dip_malformed_files_are_refused(content: bytes, problem: str, params: dict) -> None:
    with pytest.raises(domain.ImportRefused) as refused:
        domain.parse_dip(content)
    assert refused.value.reason == f"hdo.import.{problem}"
    assert params.items() <= refused.value.params.items()


# --- times ---------------------------------------------------------------------------------------


def test_times() -> None:
    assert domain.parse_time("7:5") == 7 * 60 + 5
    assert domain.parse_time(" 07:05 ") == 7 * 60 + 5
    assert domain.parse_time("24:00", end=True) == domain.DAY
    assert domain.parse_time("23:59", end=True) == domain.DAY
    assert domain.parse_time("23:59") == 23 * 60 + 59
    for bad in ("24:01", "7:60", "0700", "24:00", "", "7", "-1:00", "7:00:00"):
        with pytest.raises(domain.ImportRefused):
            domain.parse_time(bad)
    assert domain.parse_windows("23:00-01:00") == ((23 * 60, domain.DAY + 60),)
    assert domain.parse_windows(" ;; 06:30-08:55;   00:00-05:35;;") == ((0, 335), (390, 535))
    with pytest.raises(domain.ImportRefused):
        domain.parse_windows("08:00-08:00")


def test_overnight_window_runs_into_the_next_day() -> None:
    schedules = domain.parse_csv(csv_file("X1,2025-01-01,,mon-sun,23:00-01:00"))
    timeline = timeline_of(schedules, "X1", date(2025, 1, 6), date(2025, 1, 7))
    assert domain.is_low_tariff(timeline, local(2025, 1, 7, 0, 30)) == (True, local(2025, 1, 7, 1))


def test_daylight_saving_days_follow_the_wall_clock() -> None:
    schedules = domain.parse_csv(csv_file("X1,2025-01-01,,mon-sun,01:00-04:00"))
    spring = timeline_of(schedules, "X1", date(2025, 3, 30), date(2025, 3, 30)).windows
    autumn = timeline_of(schedules, "X1", date(2025, 10, 26), date(2025, 10, 26)).windows
    assert spring == [(local(2025, 3, 30, 1), local(2025, 3, 30, 4))]
    assert spring[0][1] - spring[0][0] == timedelta(hours=2)
    assert autumn[0][1] - autumn[0][0] == timedelta(hours=4)


# --- our CSV -------------------------------------------------------------------------------------


def test_csv_weekly_dated_and_validity() -> None:
    content = csv_file(
        "# A1B5DP6 for the winter",
        "A1B5DP6,2025-11-01,2026-04-01,mon-fri,00:00-06:00; 13:00-15:00",
        "A1B5DP6,2025-11-01,2026-04-01,sat-sun+holidays,00:00-08:00",
        "",
        "A1B5DP6,,,2025-12-31,10:00-11:00",
    )
    weekly, dated = domain.parse_schedule(content, domain.CSV, valid_from=ANY_DAY)
    assert weekly.valid_to == date(2026, 4, 1) and dated.valid_from == date(2025, 12, 31)
    versions = [domain.Version(1, weekly.valid_from, weekly), domain.Version(2, dated.valid_from, dated)]
    assert domain.resolve(versions, date(2025, 12, 31)).schedule is dated
    assert domain.resolve(versions, date(2026, 1, 1)).schedule.day_windows(date(2026, 1, 1)) == ((0, 480),)
    assert domain.resolve(versions, date(2026, 4, 1)) is None


def test_csv_a_dated_day_on_the_first_day_of_a_season_wins_that_day() -> None:
    content = csv_file("A1,2025-12-24,,mon-sun,00:00-06:00", "A1,,,2025-12-24,10:00-11:00")
    weekly, dated = domain.parse_csv(content)
    versions = [domain.Version(1, weekly.valid_from, weekly), domain.Version(2, dated.valid_from, dated)]
    assert domain.resolve(versions, date(2025, 12, 24)).schedule is dated
    assert domain.resolve(versions, date(2025, 12, 25)).schedule is weekly


def test_csv_lines_are_counted_as_an_editor_shows_them() -> None:
    content = csv_file('A1,2025-01-01,,mon,"01:00-02:00;', '03:00-04:00"', "A1,2025-01-01,,tue,7:60-8:00")
    with pytest.raises(domain.ImportRefused) as refused:
        domain.parse_csv(content)
    assert refused.value.params["line"] == "4"


@pytest.mark.parametrize(
    ("lines", "problem", "line"),
    [
        (["A1,2025-01-01,,mon-fri,07:00-7:60"], "time_invalid", "2"),
        (["A1,2025-01-01,,mon-fri,07:00-08:00", "A1,2025-01-01,,mon-fri,09:00-10:00"], "day_type_duplicate", "3"),
        (["A1,2025-01-01,,weekdays,07:00-08:00"], "day_type_unknown", "2"),
        (["A1,2025-01-01,,mon-fri"], "columns_invalid", "2"),
        (["A1,,,mon-fri,07:00-08:00"], "field_missing", "2"),
        (["A1,2025-01-01,2024-01-01,mon-fri,07:00-08:00"], "validity_invalid", "2"),
        (["A1,2025-02-30,,mon-fri,07:00-08:00"], "date_invalid", "2"),
    ],
)
def test_csv_malformed_lines_are_named(lines: list[str], problem: str, line: str) -> None:
    with pytest.raises(domain.ImportRefused) as refused:
        domain.parse_csv(csv_file(*lines))
    assert refused.value.reason == f"hdo.import.{problem}"
    assert refused.value.params["line"] == line


def test_format_detection() -> None:
    assert domain.detect_format(LEGACY_SAMPLE.read_bytes()) == domain.LEGACY
    assert domain.detect_format(DIP_SAMPLE.read_bytes()) == domain.DIP
    assert domain.detect_format(graphql_file("A1B5DP6", [("Pondělí", ["0:00 - 1:00"])])) == domain.GRAPHQL
    assert domain.detect_format(csv_file("A1,2025-01-01,,mon,1:00-2:00")) == domain.CSV
    assert domain.detect_format(b'{"operator": "X", "outages": []}') == domain.OUTAGES


def test_same_content_same_hash_whatever_the_layout() -> None:
    a = domain.parse_csv(csv_file("A1,2025-01-01,,mon-fri,1:00-2:00; 3:00-4:00", "A1,2025-01-01,,sat,5:0-6:00"))
    b = domain.parse_csv(csv_file("A1,2025-01-01,,sat,05:00-06:00", "A1,2025-01-01,,mon-fri,03:00-04:00;01:00-02:00;"))
    assert a[0].content_hash() == b[0].content_hash()
    assert domain.CodeSchedule.from_json(a[0].as_json()) == a[0]


# --- history -------------------------------------------------------------------------------------


def test_a_later_import_counts_from_its_start_and_never_rewrites_the_past() -> None:
    winter = domain.parse_csv(csv_file("A1,2025-11-01,,mon-sun,00:00-08:00"))[0]
    correction = domain.parse_csv(csv_file("A1,2025-11-01,,mon-sun,10:00-18:00"))[0]
    today = date(2026, 1, 15)
    assert domain.effective_from(winter, today, []) == date(2025, 11, 1)
    assert domain.effective_from(correction, today, [(winter.valid_from, None)]) == today
    versions = [domain.Version(1, date(2025, 11, 1), winter), domain.Version(2, today, correction)]
    assert domain.resolve(versions, date(2026, 1, 14)).schedule is winter
    assert domain.resolve(versions, today).schedule is correction
    spring = domain.parse_csv(csv_file("A1,2026-04-01,,mon-sun,00:00-04:00"))[0]
    assert domain.effective_from(spring, today, [(winter.valid_from, None)]) == date(2026, 4, 1)


# --- properties ----------------------------------------------------------------------------------

window_points = st.lists(st.integers(0, domain.DAY), min_size=0, max_size=8, unique=True).map(sorted)


def _pairs(points: list[int]) -> tuple[domain.Window, ...]:
    return tuple((points[i], points[i + 1]) for i in range(0, len(points) - 1, 2))


@settings(max_examples=150, deadline=None)
@given(
    weekday=window_points,
    weekend=window_points,
    probes=st.lists(st.integers(0, 14 * 24 * 3600 - 1), min_size=1, max_size=30),
)
def test_is_low_tariff_agrees_with_the_windows_and_week_hours_add_up(
    weekday: list[int], weekend: list[int], probes: list[int]
) -> None:
    rules = (
        (domain.DayType(frozenset(range(5))), _pairs(weekday)),
        (domain.DayType(frozenset({5, 6})), _pairs(weekend)),
    )
    schedule = domain.CodeSchedule("P1", date(2025, 1, 1), None, weekly=rules)
    monday = date(2025, 1, 13)
    intervals = domain.expand([domain.Version(1, schedule.valid_from, schedule)], monday, monday + timedelta(days=13))
    timeline = domain.Timeline(intervals)
    start = local(2025, 1, 13)
    for offset in probes:
        at = start + timedelta(seconds=offset)
        on, until = domain.is_low_tariff(timeline, at)
        assert on == any(a <= at < b for a, b in intervals)
        if on:
            assert at < until and all(not (a <= until < b) for a, b in intervals)
        elif until is not None:
            assert at < until and any(a == until for a, _ in intervals)
    published = sum(b - a for w in (weekday, weekend) for a, b in _pairs(w) for _ in range(5 if w is weekday else 2))
    assert domain.week_low_tariff(timeline.windows, monday + timedelta(days=3)) == timedelta(minutes=published)


def test_is_low_tariff_random_instants_match_a_linear_scan() -> None:
    rng = random.Random(6)
    schedules = domain.parse_schedule(DIP_SAMPLE.read_bytes(), domain.DIP, valid_from=ANY_DAY)
    timeline = timeline_of(schedules, "A3B4DP1", date(2025, 8, 13), date(2025, 8, 16))
    base = local(2025, 8, 13)
    for _ in range(2000):
        at = base + timedelta(seconds=rng.randrange(4 * 24 * 3600))
        assert domain.is_low_tariff(timeline, at)[0] == any(a <= at < b for a, b in timeline.windows)


# --- iCalendar -----------------------------------------------------------------------------------


def test_calendar_feed_parses_back_to_exactly_the_windows() -> None:
    schedules = domain.parse_schedule(DIP_SAMPLE.read_bytes(), domain.DIP, valid_from=ANY_DAY)
    windows = timeline_of(schedules, "A3B4DP1", date(2025, 8, 14), date(2025, 8, 15)).windows
    feed = domain.calendar("A3B4DP1", windows, name="NT A3B4DP1", generated_at=datetime(2025, 8, 1, tzinfo=UTC))
    parsed = icalendar.Calendar.from_ical(feed)
    events = [(e.decoded("dtstart"), e.decoded("dtend")) for e in parsed.walk("VEVENT")]
    assert events == windows
    assert len({e["uid"] for e in parsed.walk("VEVENT")}) == len(windows)


# --- outages -------------------------------------------------------------------------------------

EAN = "859182400100000011"


def outages_file(*outages: dict, operator: str = "ČEZ Distribuce") -> bytes:
    return json.dumps({"operator": operator, "outages": list(outages)}).encode()


def outage(**changes: object) -> dict:
    base = {
        "id": "110004711",
        "start": "2026-12-10T07:30",
        "end": "2026-12-10T14:00",
        "reason": "Výměna sloupu",
        "eans": [EAN],
        "areas": [
            {"postal_code": "503 41", "city": "Hradec Králové", "street": "Pražská", "house_from": 1, "house_to": 40}
        ],
    }
    return {**base, **changes}


def test_outages_parse_in_the_operators_zone_and_match_places() -> None:
    (notice,) = domain.parse_outages(outages_file(outage()))
    assert notice.starts_at == local(2026, 12, 10, 7, 30) and notice.operator == "ČEZ Distribuce"
    assert domain.affects(notice, domain.Place("sp-1", EAN))
    assert domain.affects(notice, domain.Place("sp-2", "", "50341", "hradec  králové", "Pražská", "1204/12"))
    assert not domain.affects(notice, domain.Place("sp-3", "", "50341", "Hradec Králové", "Pražská", "41"))
    assert not domain.affects(notice, domain.Place("sp-4", "", "50341", "Hradec Králové", "Gočárova", "12"))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"end": "2026-12-10T07:00"}, "period_invalid"),
        ({"start": "10.12.2026 7:30"}, "datetime_invalid"),
        ({"eans": ["859182400100000017"]}, "ean_invalid"),
        ({"eans": [], "areas": []}, "places_missing"),
        ({"areas": [{"house_from": 1}]}, "area_invalid"),
    ],
)
def test_malformed_outages_are_refused(changes: dict, problem: str) -> None:
    with pytest.raises(domain.ImportRefused) as refused:
        domain.parse_outages(outages_file(outage(), outage(id="2", **changes)))
    assert refused.value.reason == f"hdo.import.{problem}" and refused.value.params["record"] == "2"


def test_outage_states() -> None:
    (notice,) = domain.parse_outages(outages_file(outage()))
    (moved,) = domain.parse_outages(outages_file(outage(end="2026-12-10T15:00")))
    (cancelled,) = domain.parse_outages(outages_file(outage(cancelled=True)))
    digest = notice.content_hash()
    assert domain.outage_transition(None, 0, "", notice) == (domain.PLANNED, 1)
    assert domain.outage_transition(None, 0, "", cancelled) is None
    assert domain.outage_transition(domain.PLANNED, 1, digest, notice) is None
    assert domain.outage_transition(domain.PLANNED, 1, digest, moved) == (domain.CHANGED, 2)
    assert domain.outage_transition(domain.CHANGED, 2, moved.content_hash(), cancelled) == (domain.CANCELLED, 3)
    assert domain.outage_transition(domain.CANCELLED, 3, digest, cancelled) is None
    assert domain.outage_transition(domain.CANCELLED, 3, digest, notice) == (domain.CHANGED, 4)


def test_uploads_may_come_gzipped_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    content = DIP_SAMPLE.read_bytes()
    assert domain.decode_content(gzip.compress(content), domain.GZIP) == content
    assert domain.decode_content(content, "") == content
    for data, encoding, problem in (
        (content, "br", "encoding_invalid"),
        (b"not gzip", domain.GZIP, "encoding_invalid"),
        (gzip.compress(content)[:-20], domain.GZIP, "encoding_invalid"),
        (b"  \n", "", "empty"),
    ):
        with pytest.raises(domain.ImportRefused) as refused:
            domain.decode_content(data, encoding)
        assert refused.value.reason == f"hdo.import.{problem}"
    monkeypatch.setattr(domain, "MAX_FILE_BYTES", 100)
    for data, encoding in ((content, ""), (gzip.compress(content), domain.GZIP)):
        with pytest.raises(domain.ImportRefused) as refused:
            domain.decode_content(data, encoding)
        assert refused.value.reason == "hdo.import.too_large"
