"""EventBridge schedule expressions, in UTC: ``rate(5 minutes)``, ``cron(0 12 * * ? *)``, ``at(2030-01-01T09:00:00)``.

cron has six fields (minutes, hours, day of month, month, day of week, year) with ``, - * /``;
day of month adds ``?``, ``L``, ``LW`` and ``nW`` (the weekday nearest day n); day of week (1 = SUN,
or SUN-SAT) adds ``?``, ``L`` / ``nL`` (the last such day of the month) and ``n#k`` (the k-th such day).
One of the two day fields must be ``?``, as EventBridge requires. ``at(...)`` is EventBridge
Scheduler's one-time schedule.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_HORIZON_DAYS = 366 * 30  # an expression that fires no more within this is treated as finished


class ScheduleError(ValueError):
    """Not a valid schedule expression; the message says why."""


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, moment: datetime, anchor: datetime) -> datetime:
        """The first ``anchor + k * period`` strictly after ``moment``."""
        elapsed = (moment - anchor).total_seconds()
        periods = max(0, int(elapsed // self.seconds) + 1)
        return anchor + timedelta(seconds=periods * self.seconds)


@dataclass(frozen=True)
class At:
    when: datetime

    def next_after(self, moment: datetime, anchor: datetime) -> datetime | None:
        return self.when if self.when > moment else None


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: str  # the day-of-month field, kept as text: L and W depend on the month
    months: frozenset[int]
    weekdays: str  # the day-of-week field, likewise
    years: frozenset[int]

    def next_after(self, moment: datetime, anchor: datetime) -> datetime | None:
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        for _ in range(_HORIZON_DAYS):
            if day.year > max(self.years):
                return None
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
                continue
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: date) -> bool:
        if self.days != "?":
            return _month_day_matches(self.days, day)
        return _weekday_matches(self.weekdays, day)


ScheduleExpression = Rate | Cron | At


def parse(expression: str) -> ScheduleExpression:
    text = expression.strip()
    if text.startswith("rate("):
        return _rate(text)
    if text.startswith("cron(") and text.endswith(")"):
        return _cron(text[5:-1])
    if text.startswith("at(") and text.endswith(")"):
        try:
            when = datetime.strptime(text[3:-1].strip(), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise ScheduleError("at() takes yyyy-mm-ddThh:mm:ss (UTC), e.g. at(2030-01-01T09:00:00)") from None
        return At(when.replace(tzinfo=UTC))
    raise ScheduleError("A schedule expression is rate(value unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss)")


def _rate(text: str) -> Rate:
    found = _RATE.match(text)
    if found is None:
        raise ScheduleError("A rate is rate(value unit) with unit minute(s), hour(s) or day(s), e.g. rate(5 minutes)")
    value, unit = int(found.group(1)), found.group(2)
    if value < 1:
        raise ScheduleError("The value of a rate must be a positive number")
    if (value == 1) != (not unit.endswith("s")):
        raise ScheduleError(f"Use the singular unit for a value of 1 and the plural otherwise (got {value} {unit})")
    return Rate(value * _UNIT_SECONDS[unit.rstrip("s")])


def _cron(text: str) -> Cron:
    fields = text.split()
    if len(fields) != 6:
        raise ScheduleError("A cron expression has 6 fields: minutes hours day-of-month month day-of-week year")
    minutes, hours, days, months, weekdays, years = fields
    if (days == "?") == (weekdays == "?"):
        raise ScheduleError("Exactly one of day-of-month and day-of-week must be '?'")
    if days != "?":
        _check_month_days(days)
    if weekdays != "?":
        _check_weekdays(weekdays)
    return Cron(
        _values(minutes, 0, 59, "minutes"),
        _values(hours, 0, 23, "hours"),
        days,
        _values(months, 1, 12, "month", MONTHS),
        weekdays,
        _values(years, 1970, 2199, "year"),
    )


def _number(text: str, low: int, high: int, field: str, names: dict[str, int] | None = None) -> int:
    value = (names or {}).get(text.upper())
    if value is None:
        if not text.isdigit():
            raise ScheduleError(f"Invalid value {text!r} in the {field} field")
        value = int(text)
    if not low <= value <= high:
        raise ScheduleError(f"{value} is out of range {low}-{high} in the {field} field")
    return value


def _values(text: str, low: int, high: int, field: str, names: dict[str, int] | None = None) -> frozenset[int]:
    """``*``, ``a``, ``a-b`` (wrapping when a > b), each optionally ``/step``, joined by commas."""
    found: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, 1, high - low + 1, field) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, last_text = base.split("-", 1)
            first, last = _number(first_text, low, high, field, names), _number(last_text, low, high, field, names)
        else:
            first = _number(base, low, high, field, names)
            last = high if step_text else first
        span = (last - first) % (high - low + 1) if last < first else last - first
        found.update(low + (first - low + offset) % (high - low + 1) for offset in range(0, span + 1, step))
    return frozenset(found)


def _check_month_days(text: str) -> None:
    for part in text.split(","):
        if re.fullmatch(r"\d{1,2}W", part):
            _number(part[:-1], 1, 31, "day-of-month")
        elif part not in ("L", "LW"):
            _values(part, 1, 31, "day-of-month")


def _check_weekdays(text: str) -> None:
    for part in text.split(","):
        special = re.fullmatch(r"(\w+)(L|#[1-5])", part)
        if part == "L":
            continue
        if special:
            _number(special.group(1), 1, 7, "day-of-week", DAYS)
        else:
            _values(part, 1, 7, "day-of-week", DAYS)


def _weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Python's Monday = 0; EventBridge's Sunday = 1


def _nearest_weekday(day: date, target: int) -> date:
    last = calendar.monthrange(day.year, day.month)[1]
    wanted = day.replace(day=min(target, last))
    if wanted.weekday() == 5:  # Saturday: the Friday before, unless that leaves the month
        return wanted - timedelta(days=1) if wanted.day > 1 else wanted + timedelta(days=2)
    if wanted.weekday() == 6:  # Sunday: the Monday after, unless that leaves the month
        return wanted + timedelta(days=1) if wanted.day < last else wanted - timedelta(days=2)
    return wanted


def _month_day_matches(text: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    for part in text.split(","):
        if part == "L":
            hit = day.day == last
        elif part == "LW":
            hit = _nearest_weekday(day, last) == day
        elif part.endswith("W"):
            hit = _nearest_weekday(day, int(part[:-1])) == day
        else:
            hit = day.day in _values(part, 1, 31, "day-of-month")
        if hit:
            return True
    return False


def _weekday_matches(text: str, day: date) -> bool:
    weekday = _weekday(day)
    last = calendar.monthrange(day.year, day.month)[1]
    for part in text.split(","):
        special = re.fullmatch(r"(\w+)(L|#([1-5]))", part)
        if part == "L":
            hit = weekday == 7  # the last day of the week: every Saturday
        elif special and special.group(2) == "L":
            hit = weekday == _number(special.group(1), 1, 7, "day-of-week", DAYS) and day.day > last - 7
        elif special:
            nth = int(special.group(3))
            hit = weekday == _number(special.group(1), 1, 7, "day-of-week", DAYS) and (day.day - 1) // 7 + 1 == nth
        else:
            hit = weekday in _values(part, 1, 7, "day-of-week", DAYS)
        if hit:
            return True
    return False
