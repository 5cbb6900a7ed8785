"""HDO (hromadné dálkové ovládání) switching times and planned outages: parsing, normalisation, queries. No I/O.

A distribution operator publishes, per HDO code (povel, signal), when the low tariff (nízký tarif, NT) is on:
the spínací časy. Every input format is normalised to `CodeSchedule`s — per code, a validity period with either
weekly rules (day type → windows) or dated days (date → windows), windows in minutes from local midnight — and
expanded on demand to UTC windows in the operator's zone.

Formats `parse_schedule` reads (see ../shared/standards/hdo/README.md for the three ČEZ Distribuce generations):

- ``cez-legacy`` — ``{"data": [record…]}``, one record per (POVEL, PLATNOST day type) with ``CAS_ZAP_n``/``CAS_VYP_n``
  pairs and ``VALID_FROM``/``VALID_TO`` in epoch milliseconds (2099 and later: open-ended).
- ``cez-graphql`` — ``[{"data": {"hdoData": {"resultPrint": [{"povel", "rows": [{"day", "intervals"}]}]}}}]``, day
  names including "Neděle a svátky"; it carries no validity, so the import's ``valid_from`` applies.
- ``cez-dip`` — ``{"statusCode": 200, "data": {"signals": [{"signal", "den", "datum", "casy"}]}}``, one entry per
  signal and date; the signal ``a3b4dp01`` is the code ``A3B4DP1``.
- ``csv`` — our format for other operators, UTF-8, comma-separated, a header line then one line per code and day::

      code,valid_from,valid_to,days,windows
      A1B5DP6,2025-11-01,,mon-fri,00:00-06:00; 13:00-15:00; 21:00-24:00
      A1B5DP6,2025-11-01,2026-04-01,sat-sun+holidays,00:00-08:00; 12:00-24:00
      A1B5DP6,,,2025-12-24,00:00-24:00

  ``days`` is a day type — ``mon``…``sun``, a range such as ``mon-fri``, ``holidays``, or a day type with
  ``+holidays`` (public holidays follow that rule instead of their weekday) — or an ISO date for one dated day
  (``valid_from``/``valid_to`` then stay empty). ``valid_to`` is exclusive; empty means open-ended. ``windows`` are
  ``H:MM-H:MM`` separated by ``;``; an empty field means no low tariff that day. Lines starting with ``#`` and blank
  lines are skipped.

Times everywhere: ``H:MM`` or ``HH:MM`` (``7:5`` is 07:05); ``24:00`` and ``23:59`` as an end mean the end of the
day; an end before its start runs into the next day (``23:00-01:00``). Windows follow the wall clock, so on the
spring daylight-saving day a window over 02:00–03:00 is an hour shorter and on the autumn day an hour longer.
A malformed file is refused whole: `ImportRefused` names the line (CSV, JSON syntax) or record and the reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import icalendar

from kit import identifiers, places
from kit.errors import DomainError
from kit.places import AddressRange, Place, plain

ZONE = ZoneInfo("Europe/Prague")
COUNTRY = "CZ"
DAY = 24 * 60
# legacy and DIP data end a day at 23:59 or 24:00; both mean midnight
_DAY_ENDS = (23 * 60 + 59, DAY)
# the legacy API writes an open end as 2099-01-01
_OPEN_END_YEAR = 2099

LEGACY = "cez-legacy"
GRAPHQL = "cez-graphql"
DIP = "cez-dip"
CSV = "csv"
SCHEDULE_FORMATS = (LEGACY, GRAPHQL, DIP, CSV)
OUTAGES = "outages"

# minutes from local midnight; an end past DAY runs into the next day
Window = tuple[int, int]
# a concrete low-tariff window in UTC
Interval = tuple[datetime, datetime]


class ImportRefused(DomainError):
    """A file that cannot be imported; `reason` says why, `params` where (line or record) and what."""

    def __init__(self, problem: str, **where: object) -> None:
        super().__init__(
            f"hdo.import.{problem}",
            f"{problem} at {where}",
            field="file",
            params={k: str(v) for k, v in where.items()},
        )


# a year of every code of a region in the DIP format is about 17 MB
MAX_FILE_BYTES = 64 * 1024 * 1024
GZIP = "gzip"


def decode_content(content: bytes, encoding: str) -> bytes:
    """The file as uploaded: as is, or gunzipped, refused when larger than `MAX_FILE_BYTES` either way."""
    if encoding == GZIP:
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            content = inflater.decompress(content, MAX_FILE_BYTES + 1)
        except zlib.error:
            raise ImportRefused("encoding_invalid", value=encoding) from None
        if not inflater.eof and len(content) <= MAX_FILE_BYTES:
            raise ImportRefused("encoding_invalid", value=encoding)
    elif encoding:
        raise ImportRefused("encoding_invalid", value=encoding)
    if len(content) > MAX_FILE_BYTES:
        raise ImportRefused("too_large", max=MAX_FILE_BYTES)
    if not content.strip():
        raise ImportRefused("empty")
    return content


# --- times and windows ---------------------------------------------------------------------------

_TIME = re.compile(r"(\d{1,2}):(\d{1,2})")


def parse_time(text: str, *, end: bool = False) -> int:
    """Minutes from midnight; as an end, 23:59 and 24:00 are midnight at the day's end."""
    m = _TIME.fullmatch(text.strip())
    if m is None:
        raise ImportRefused("time_invalid", value=text)
    hours, minutes = int(m[1]), int(m[2])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise ImportRefused("time_invalid", value=text)
    value = hours * 60 + minutes
    return DAY if end and value in _DAY_ENDS else value


def window(start: str, end: str) -> Window:
    first, last = parse_time(start), parse_time(end, end=True)
    if last == first:
        raise ImportRefused("window_empty", value=f"{start}-{end}")
    # an end before the start is the next morning
    return (first, last if last > first else last + DAY)


# a region's dump repeats the same few strings on every day of every code
@lru_cache(maxsize=4096)
def parse_windows(text: str) -> tuple[Window, ...]:
    """``"00:00-05:35;   06:30-08:55; …;"`` (any spaces, trailing separators) → windows in order."""
    result = []
    for part in text.split(";"):
        if not part.strip():
            continue
        start, sep, end = part.partition("-")
        if not sep:
            raise ImportRefused("window_invalid", value=part.strip())
        result.append(window(start, end))
    return tuple(sorted(result))


# --- day types -----------------------------------------------------------------------------------

_WEEKDAY_NAMES = (
    ("po", "pondeli", "mon", "monday"),
    ("ut", "utery", "tue", "tuesday"),
    ("st", "streda", "wed", "wednesday"),
    ("ct", "ctvrtek", "thu", "thursday"),
    ("pa", "patek", "fri", "friday"),
    ("so", "sobota", "sat", "saturday"),
    ("ne", "nedele", "sun", "sunday"),
)
_WEEKDAYS = {name: day for day, names in enumerate(_WEEKDAY_NAMES) for name in names}
# "… a svátky", "…+holidays": public holidays follow the rule
_HOLIDAYS_SUFFIX = re.compile(r"(.*?)\s*(?:(?<![a-z])a\s+|\+)?\s*(?:svatky|holidays?)")


@dataclass(frozen=True)
class DayType:
    """The days a rule applies to; with `holidays`, public holidays follow it whatever their weekday."""

    weekdays: frozenset[int]
    holidays: bool = False

    def key(self) -> str:
        return "".join(str(d) for d in sorted(self.weekdays)) + ("+h" if self.holidays else "")

    @classmethod
    def from_key(cls, key: str) -> DayType:
        days, _, flag = key.partition("+")
        return cls(frozenset(int(d) for d in days), bool(flag))


def _weekday(name: str, original: str) -> int:
    try:
        return _WEEKDAYS[name.strip()]
    except KeyError:
        raise ImportRefused("day_type_unknown", value=original) from None


def parse_day_type(text: str) -> DayType:
    """ "Po - Pá", "So - Ne", "Pondělí", "Neděle a svátky", "Pondělí - Pátek (20 hodin denně)", "sat-sun+holidays"."""
    folded = re.sub(r"\(.*?\)", "", plain(text)).strip()
    suffix = _HOLIDAYS_SUFFIX.fullmatch(folded)
    with_holidays = suffix is not None
    if suffix is not None:
        folded = suffix[1]
    if not folded:
        if with_holidays:
            return DayType(frozenset(), True)
        raise ImportRefused("day_type_unknown", value=text)
    first, sep, last = folded.partition("-")
    if not sep:
        return DayType(frozenset({_weekday(first, text)}), with_holidays)
    a, b = _weekday(first, text), _weekday(last, text)
    days = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
    return DayType(frozenset(days), with_holidays)


@lru_cache(maxsize=64)
def public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


def is_holiday(day: date, country: str = COUNTRY) -> bool:
    return day in public_holidays(country, day.year)


# --- schedules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeSchedule:
    """One HDO code's switching times for a validity period, as the operator published them."""

    code: str
    valid_from: date
    # exclusive; None: open-ended
    valid_to: date | None
    weekly: tuple[tuple[DayType, tuple[Window, ...]], ...] = ()
    dated: tuple[tuple[date, tuple[Window, ...]], ...] = ()
    # purpose (TUV = hot water, ET = heating) and distribution tariff, where the operator says
    label: str = ""
    tariff: str = ""
    _dated_index: dict[date, tuple[Window, ...]] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._dated_index.update(self.dated)

    def covers(self, day: date) -> bool:
        if day < self.valid_from or (self.valid_to is not None and day >= self.valid_to):
            return False
        return bool(self.weekly) or day in self._dated_index

    def day_windows(self, day: date, country: str = COUNTRY) -> tuple[Window, ...]:
        if day in self._dated_index:
            return self._dated_index[day]
        weekday = day.weekday()
        if is_holiday(day, country):
            for day_type, windows in self.weekly:
                if day_type.holidays:
                    return windows
        candidates = [(len(t.weekdays), w) for t, w in self.weekly if weekday in t.weekdays]
        return min(candidates)[1] if candidates else ()

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "weekly": [[t.key(), [list(w) for w in ws]] for t, ws in self.weekly],
            "dated": [[d.isoformat(), [list(w) for w in ws]] for d, ws in self.dated],
            "label": self.label,
            "tariff": self.tariff,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> CodeSchedule:
        return cls(
            code=value["code"],
            valid_from=date.fromisoformat(value["valid_from"]),
            valid_to=date.fromisoformat(value["valid_to"]) if value["valid_to"] else None,
            weekly=tuple((DayType.from_key(k), tuple((a, b) for a, b in ws)) for k, ws in value["weekly"]),
            dated=tuple((date.fromisoformat(d), tuple((a, b) for a, b in ws)) for d, ws in value["dated"]),
            label=value.get("label", ""),
            tariff=value.get("tariff", ""),
        )

    def content_hash(self) -> str:
        """Equal for equal switching times and validity, however the file was laid out."""
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True).encode()).hexdigest()


_CODE = re.compile(r"([A-Z]\d+[A-Z]\d+DP)0*(\d+)")


def normalise_code(raw: str) -> str:
    """ "a3b4dp01" (DIP signal) and "A3B4DP1" (povel) are one code."""
    code = raw.strip().upper()
    m = _CODE.fullmatch(code)
    return f"{m[1]}{m[2]}" if m else code


class _WeeklyRules:
    """Day-type rules gathered per (code, validity) while a file is read; a day type given twice is refused."""

    def __init__(self) -> None:
        self.rules: dict[tuple[str, date, date | None], list[tuple[DayType, tuple[Window, ...]]]] = {}
        self.labels: dict[tuple[str, date, date | None], tuple[str, str]] = {}

    def add(
        self,
        key: tuple[str, date, date | None],
        day_type: DayType,
        windows: tuple[Window, ...],
        where: dict[str, object],
        label: str = "",
        tariff: str = "",
    ) -> None:
        code, valid_from, valid_to = key
        if valid_to is not None and valid_to <= valid_from:
            raise ImportRefused("validity_invalid", code=code, **where)
        rules = self.rules.setdefault(key, [])
        if any(t == day_type for t, _ in rules):
            raise ImportRefused("day_type_duplicate", code=code, **where)
        rules.append((day_type, windows))
        self.labels.setdefault(key, (label, tariff))

    def schedules(self) -> list[CodeSchedule]:
        result = []
        for key, rules in self.rules.items():
            label, tariff = self.labels[key]
            result.append(
                CodeSchedule(*key, weekly=tuple(sorted(rules, key=lambda r: r[0].key())), label=label, tariff=tariff)
            )
        return result


def _dated_schedule(code: str, days: dict[date, tuple[Window, ...]]) -> CodeSchedule:
    ordered = tuple(sorted(days.items()))
    return CodeSchedule(code, ordered[0][0], ordered[-1][0] + timedelta(days=1), (), ordered)


def _json(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportRefused("encoding_invalid") from None
    except json.JSONDecodeError as err:
        raise ImportRefused("json_invalid", line=err.lineno) from None


def _text(record: dict[str, Any], key: str, where: dict[str, object]) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ImportRefused("field_missing", name=key, **where)
    return value


def _epoch_date(value: Any, key: str, where: dict[str, object], zone: ZoneInfo) -> date:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ImportRefused("field_missing", name=key, **where)
    try:
        return datetime.fromtimestamp(value / 1000, zone).date()
    except (OverflowError, OSError, ValueError):
        raise ImportRefused("date_invalid", name=key, value=value, **where) from None


def _located(where: dict[str, object], parse: Callable[..., Any], *args: Any) -> Any:
    """Runs a parser, adding the line or record to what it refuses."""
    try:
        return parse(*args)
    except ImportRefused as err:
        raise ImportRefused(err.reason.removeprefix("hdo.import."), **err.params, **where) from None


def parse_legacy(content: bytes, zone: ZoneInfo = ZONE) -> tuple[CodeSchedule, ...]:
    doc = _json(content)
    records = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(records, list) or not records:
        raise ImportRefused("shape_invalid", expected=LEGACY)
    weekly = _WeeklyRules()
    for index, record in enumerate(records, start=1):
        where: dict[str, object] = {"record": index}
        if not isinstance(record, dict):
            raise ImportRefused("shape_invalid", **where)
        code = normalise_code(_text(record, "POVEL", where))
        day_type = _located(where, parse_day_type, _text(record, "PLATNOST", where))
        valid_from = _epoch_date(record.get("VALID_FROM"), "VALID_FROM", where, zone)
        valid_to: date | None = _epoch_date(record.get("VALID_TO"), "VALID_TO", where, zone)
        if valid_to is not None and valid_to.year >= _OPEN_END_YEAR:
            valid_to = None
        windows = []
        for n in range(1, 11):
            # an empty string is an unused slot, not midnight
            on, off = record.get(f"CAS_ZAP_{n}") or "", record.get(f"CAS_VYP_{n}") or ""
            if not isinstance(on, str) or not isinstance(off, str) or bool(on.strip()) != bool(off.strip()):
                raise ImportRefused("pair_incomplete", slot=n, **where)
            if on.strip():
                windows.append(_located({"slot": n, **where}, window, on, off))
        weekly.add(
            (code, valid_from, valid_to),
            day_type,
            tuple(sorted(windows)),
            where,
            str(record.get("INFO") or ""),
            str(record.get("SAZBA") or ""),
        )
    return tuple(weekly.schedules())


def parse_graphql(content: bytes, valid_from: date) -> tuple[CodeSchedule, ...]:
    doc = _json(content)
    answers = doc if isinstance(doc, list) else [doc]
    weekly = _WeeklyRules()
    index = 0
    for answer in answers:
        try:
            prints = answer["data"]["hdoData"]["resultPrint"]
        except (KeyError, TypeError):
            raise ImportRefused("shape_invalid", expected=GRAPHQL) from None
        if not isinstance(prints, list):
            raise ImportRefused("shape_invalid", expected=GRAPHQL)
        for result in prints:
            index += 1
            where: dict[str, object] = {"record": index}
            if not isinstance(result, dict) or not isinstance(result.get("rows"), list):
                raise ImportRefused("shape_invalid", **where)
            code = normalise_code(_text(result, "povel", where))
            tariff = str(result.get("description") or "").replace("Sazba", "").strip()
            for row in result["rows"]:
                if not isinstance(row, dict) or not isinstance(row.get("intervals"), list):
                    raise ImportRefused("shape_invalid", **where)
                day_type = _located(where, parse_day_type, _text(row, "day", where))
                windows: list[Window] = []
                for interval in row["intervals"]:
                    if not isinstance(interval, str):
                        raise ImportRefused("window_invalid", value=str(interval), **where)
                    windows.extend(_located(where, parse_windows, interval))
                weekly.add((code, valid_from, None), day_type, tuple(sorted(windows)), where, tariff=tariff)
    if not weekly.rules:
        raise ImportRefused("shape_invalid", expected=GRAPHQL)
    return tuple(weekly.schedules())


_CZECH_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _czech_date(text: str, where: dict[str, object]) -> date:
    """DD.MM.YYYY."""
    m = _CZECH_DATE.fullmatch(text.strip())
    try:
        if m is None:
            raise ValueError(text)
        return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        raise ImportRefused("date_invalid", value=text, **where) from None


def parse_dip(content: bytes) -> tuple[CodeSchedule, ...]:
    doc = _json(content)
    if not isinstance(doc, dict) or doc.get("statusCode") != 200 or isinstance(doc.get("statusCode"), bool):
        raise ImportRefused("status_invalid", expected=DIP)
    signals = doc.get("data", {}).get("signals") if isinstance(doc.get("data"), dict) else None
    if not isinstance(signals, list) or not signals:
        raise ImportRefused("shape_invalid", expected=DIP)
    codes: dict[str, dict[date, tuple[Window, ...]]] = {}
    for index, entry in enumerate(signals, start=1):
        where: dict[str, object] = {"record": index}
        if not isinstance(entry, dict):
            raise ImportRefused("shape_invalid", **where)
        code = normalise_code(_text(entry, "signal", where))
        raw_day = _text(entry, "datum", where)
        day = _czech_date(raw_day, where)
        if plain(_text(entry, "den", where)).strip() != _WEEKDAY_NAMES[day.weekday()][1]:
            raise ImportRefused("weekday_mismatch", value=entry["den"], **where)
        days = codes.setdefault(code, {})
        if day in days:
            raise ImportRefused("date_duplicate", code=code, value=raw_day, **where)
        days[day] = _located(where, parse_windows, _text(entry, "casy", where))
    return tuple(_dated_schedule(code, days) for code, days in codes.items())


CSV_HEADER = ["code", "valid_from", "valid_to", "days", "windows"]


def _iso_date(text: str, where: dict[str, object]) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ImportRefused("date_invalid", value=text, **where) from None


def parse_csv(content: bytes) -> tuple[CodeSchedule, ...]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused("encoding_invalid") from None
    reader = csv.reader(io.StringIO(text))
    # the line a record ends on, which is where an editor shows it
    rows = [
        (reader.line_num, row) for row in reader if row and "".join(row).strip() and not row[0].lstrip().startswith("#")
    ]
    if not rows or [c.strip().lower() for c in rows[0][1]] != CSV_HEADER:
        raise ImportRefused("header_invalid", line=rows[0][0] if rows else 1, expected=",".join(CSV_HEADER))
    weekly = _WeeklyRules()
    dated: dict[str, dict[date, tuple[Window, ...]]] = {}
    for line, row in rows[1:]:
        where: dict[str, object] = {"line": line}
        if len(row) != len(CSV_HEADER):
            raise ImportRefused("columns_invalid", expected=len(CSV_HEADER), **where)
        raw_code, raw_from, raw_to, days, raw_windows = (c.strip() for c in row)
        if not raw_code:
            raise ImportRefused("field_missing", name="code", **where)
        code = normalise_code(raw_code)
        windows = _located(where, parse_windows, raw_windows)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", days):
            if raw_from or raw_to:
                raise ImportRefused("validity_invalid", code=code, **where)
            day = _iso_date(days, where)
            if day in dated.setdefault(code, {}):
                raise ImportRefused("date_duplicate", code=code, value=days, **where)
            dated[code][day] = windows
            continue
        if not raw_from:
            raise ImportRefused("field_missing", name="valid_from", **where)
        key = (code, _iso_date(raw_from, where), _iso_date(raw_to, where) if raw_to else None)
        weekly.add(key, _located(where, parse_day_type, days), windows, where)
    schedules = weekly.schedules() + [_dated_schedule(code, days) for code, days in dated.items()]
    if not schedules:
        raise ImportRefused("empty")
    return tuple(schedules)


def detect_format(content: bytes) -> str:
    """The format of an uploaded file, from its shape; CSV when it is not JSON."""
    stripped = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith((b"{", b"[")):
        return CSV
    doc = _json(content)
    if isinstance(doc, list) or (
        isinstance(doc, dict) and isinstance(doc.get("data"), dict) and "hdoData" in doc["data"]
    ):
        return GRAPHQL
    if isinstance(doc, dict) and isinstance(doc.get("outages"), list):
        return OUTAGES
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict) and "signals" in doc["data"]:
        return DIP
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return LEGACY
    raise ImportRefused("format_unknown")


def parse_schedule(content: bytes, fmt: str, *, valid_from: date, zone: ZoneInfo = ZONE) -> tuple[CodeSchedule, ...]:
    """Every code's schedule in the file; `valid_from` applies where the format carries no validity."""
    if fmt == LEGACY:
        return parse_legacy(content, zone)
    if fmt == GRAPHQL:
        return parse_graphql(content, valid_from)
    if fmt == DIP:
        return parse_dip(content)
    if fmt == CSV:
        return parse_csv(content)
    raise ImportRefused("format_unknown", value=fmt)


# --- versions and expansion ----------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """An imported schedule as stored: later imports (higher `seq`) win from their `effective_from` on."""

    seq: int
    effective_from: date
    schedule: CodeSchedule


def effective_from(schedule: CodeSchedule, today: date, earlier: Iterable[tuple[date, date | None]]) -> date:
    """Where a new import starts to count: its validity start, but never before today over days that an earlier
    import (its validity periods given) already answered for, so the past reads as it was valid then."""
    start = schedule.valid_from
    if start >= today:
        return start
    answered = any(valid_from < today and (valid_to is None or valid_to > start) for valid_from, valid_to in earlier)
    return today if answered else start


def resolve(versions: Sequence[Version], day: date) -> Version | None:
    """The version valid on `day`: the latest import that counts from then and covers it."""
    best: Version | None = None
    for v in versions:
        if v.effective_from <= day and v.schedule.covers(day) and (best is None or v.seq > best.seq):
            best = v
    return best


def _instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    day += timedelta(days=minute // DAY)
    minute %= DAY
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone).astimezone(UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with touching and overlapping windows joined (24:00 of one day meets 00:00 of the next)."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def expand(
    versions: Sequence[Version], first: date, last: date, *, zone: ZoneInfo = ZONE, country: str = COUNTRY
) -> list[Interval]:
    """The low-tariff windows of local days `first`..`last` (inclusive) in UTC, merged across midnight."""
    intervals = []
    day = first
    while day <= last:
        version = resolve(versions, day)
        if version is not None:
            for start, end in version.schedule.day_windows(day, country):
                begins, ends = _instant(day, start, zone), _instant(day, end, zone)
                if begins < ends:
                    intervals.append((begins, ends))
        day += timedelta(days=1)
    return merge(intervals)


def overlapping(intervals: Sequence[Interval], start: datetime, end: datetime) -> list[Interval]:
    return [w for w in intervals if w[0] < end and w[1] > start]


def local_day_bounds(first: date, last: date, zone: ZoneInfo = ZONE) -> tuple[datetime, datetime]:
    """UTC instants of local midnight before `first` and after `last`."""
    return _instant(first, 0, zone), _instant(last, DAY, zone)


class Timeline:
    """Merged windows with their starts and ends as epoch seconds, for bisecting."""

    __slots__ = ("windows", "starts", "ends")

    def __init__(self, intervals: Iterable[Interval]) -> None:
        self.windows = merge(intervals)
        self.starts = [w[0].timestamp() for w in self.windows]
        self.ends = [w[1].timestamp() for w in self.windows]


def is_low_tariff(timeline: Timeline, at: datetime) -> tuple[bool, datetime | None]:
    """Whether NT is on at `at`, and until when it stays so (None: beyond the known data)."""
    t = at.timestamp()
    i = bisect_right(timeline.starts, t) - 1
    if i >= 0 and t < timeline.ends[i]:
        return True, timeline.windows[i][1]
    nxt = i + 1
    return False, (timeline.windows[nxt][0] if nxt < len(timeline.windows) else None)


def low_tariff_duration(intervals: Iterable[Interval], start: datetime, end: datetime) -> timedelta:
    """How long NT is on between `start` and `end` (windows clipped to them)."""
    total = timedelta()
    for a, b in intervals:
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += hi - lo
    return total


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def week_low_tariff(intervals: Iterable[Interval], day: date, zone: ZoneInfo = ZONE) -> timedelta:
    """NT time in the local Monday-to-Sunday week holding `day`."""
    return low_tariff_duration(intervals, *local_day_bounds(*week_of(day), zone))


# --- iCalendar -----------------------------------------------------------------------------------


def calendar(code: str, intervals: Sequence[Interval], *, name: str, generated_at: datetime) -> bytes:
    """An iCalendar feed with one event per low-tariff window, for calendar applications to subscribe to."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//energy-portal//hdo//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    cal.add("x-published-ttl", "PT12H")
    for start, end in intervals:
        event = icalendar.Event()
        # stable per window, so a calendar updates events instead of duplicating them
        event.add("uid", f"{code}-{start:%Y%m%dT%H%M%SZ}@hdo.energy-portal")
        event.add("dtstamp", generated_at)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", f"NT {code}")
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()


# --- planned outages (plánované odstávky) --------------------------------------------------------

PLANNED = "planned"
CHANGED = "changed"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class OutageNotice:
    """One planned outage as an operator announced it in an import."""

    operator: str
    external_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    cancelled: bool
    eans: tuple[str, ...]
    areas: tuple[AddressRange, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "reason": self.reason,
            "eans": list(self.eans),
            "areas": [a.__dict__ for a in self.areas],
        }

    def content_hash(self) -> str:
        """What a customer is told about; a cancellation is a state, not content."""
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True).encode()).hexdigest()


def affects(notice: OutageNotice, place: Place) -> bool:
    return places.affected(notice.eans, notice.areas, place)


def outage_transition(
    stored_state: str | None, stored_version: int, stored_hash: str, notice: OutageNotice
) -> tuple[str, int] | None:
    """The new (state, version) of an outage after an import, or None when nothing changed.

    A cancellation the customer never heard of as planned is not news; an outage missing from a later import stays
    as it was (imports may be partial)."""
    if stored_state is None:
        return None if notice.cancelled else (PLANNED, 1)
    if notice.cancelled:
        return None if stored_state == CANCELLED else (CANCELLED, stored_version + 1)
    if stored_state != CANCELLED and notice.content_hash() == stored_hash:
        return None
    return CHANGED, stored_version + 1


def _outage_time(value: Any, where: dict[str, object], key: str, zone: ZoneInfo) -> datetime:
    if not isinstance(value, str):
        raise ImportRefused("field_missing", name=key, **where)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ImportRefused("datetime_invalid", value=value, **where) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _house(value: Any, where: dict[str, object]) -> int | None:
    if value is None or value == "":
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ImportRefused("house_number_invalid", value=str(value), **where)
    return value


def _area(value: Any, where: dict[str, object]) -> AddressRange:
    if not isinstance(value, dict):
        raise ImportRefused("area_invalid", **where)
    texts = {k: value.get(k) or "" for k in ("postal_code", "city", "street")}
    if not all(isinstance(v, str) for v in texts.values()):
        raise ImportRefused("area_invalid", **where)
    area = AddressRange(
        **{k: " ".join(v.split()) for k, v in texts.items()},
        house_from=_house(value.get("house_from"), where),
        house_to=_house(value.get("house_to"), where),
    )
    if not (area.postal_code or area.city or area.street):
        raise ImportRefused("area_invalid", **where)
    return area


def parse_outages(content: bytes, zone: ZoneInfo = ZONE) -> tuple[OutageNotice, ...]:
    """Our JSON for planned outages::

        {"operator": "ČEZ Distribuce",
         "outages": [{"id": "110004711", "start": "2026-12-10T07:30", "end": "2026-12-10T14:00",
                      "reason": "Výměna sloupu", "cancelled": false,
                      "eans": ["859182400100000016"],
                      "areas": [{"postal_code": "503 41", "city": "Hradec Králové", "street": "Pražská",
                                 "house_from": 1, "house_to": 40}]}]}

    Times without an offset are local in the operator's zone. `id` is the operator's number of the outage: importing
    it again with other times, reason or places is a change; with `"cancelled": true`, a cancellation.
    """
    doc = _json(content)
    if not isinstance(doc, dict) or not isinstance(doc.get("outages"), list):
        raise ImportRefused("shape_invalid", expected=OUTAGES)
    operator = _text(doc, "operator", {"record": 0}).strip()
    notices = []
    seen: set[str] = set()
    for index, item in enumerate(doc["outages"], start=1):
        where: dict[str, object] = {"record": index}
        if not isinstance(item, dict):
            raise ImportRefused("shape_invalid", **where)
        external_id = _text(item, "id", where).strip()
        if external_id in seen:
            raise ImportRefused("outage_duplicate", value=external_id, **where)
        seen.add(external_id)
        starts_at = _outage_time(item.get("start"), where, "start", zone)
        ends_at = _outage_time(item.get("end"), where, "end", zone)
        if ends_at <= starts_at:
            raise ImportRefused("period_invalid", **where)
        raw_eans, raw_areas = item.get("eans") or [], item.get("areas") or []
        if not isinstance(raw_eans, list) or not isinstance(raw_areas, list) or not (raw_eans or raw_areas):
            raise ImportRefused("places_missing", **where)
        eans = []
        for raw in raw_eans:
            try:
                eans.append(identifiers.ean(str(raw)))
            except DomainError as err:
                raise ImportRefused("ean_invalid", value=str(raw), detail=err.reason, **where) from None
        notices.append(
            OutageNotice(
                operator=operator,
                external_id=external_id,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=str(item.get("reason") or "").strip(),
                cancelled=item.get("cancelled") is True,
                eans=tuple(sorted(set(eans))),
                areas=tuple(_area(a, where) for a in raw_areas),
            )
        )
    return tuple(notices)
