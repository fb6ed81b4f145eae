"""When EventBridge-style schedules fire (UTC), including the Quartz-style L, W and # forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kindling.functions.schedule_expressions import ScheduleError, parse

START = datetime(2026, 12, 1, 8, 7, 30, tzinfo=UTC)  # a Tuesday


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fires(expression: str, count: int = 3, after: datetime = START) -> list[datetime]:
    schedule = parse(expression)
    found, moment = [], after
    for _ in range(count):
        moment = schedule.next_after(moment, START)
        if moment is None:
            break
        found.append(moment)
    return found


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", [at(2026, 12, 1, 8, 8, 30), at(2026, 12, 1, 8, 9, 30), at(2026, 12, 1, 8, 10, 30)]),
        ("rate(2 hours)", [at(2026, 12, 1, 10, 7, 30), at(2026, 12, 1, 12, 7, 30), at(2026, 12, 1, 14, 7, 30)]),
        ("rate(3 days)", [at(2026, 12, 4, 8, 7, 30), at(2026, 12, 7, 8, 7, 30), at(2026, 12, 10, 8, 7, 30)]),
        ("cron(0 12 * * ? *)", [at(2026, 12, 1, 12), at(2026, 12, 2, 12), at(2026, 12, 3, 12)]),
        ("cron(*/20 8 * * ? *)", [at(2026, 12, 1, 8, 20), at(2026, 12, 1, 8, 40), at(2026, 12, 2, 8, 0)]),
        ("cron(15,45 9-10 * * ? *)", [at(2026, 12, 1, 9, 15), at(2026, 12, 1, 9, 45), at(2026, 12, 1, 10, 15)]),
        ("cron(0 18 ? * MON-FRI *)", [at(2026, 12, 1, 18), at(2026, 12, 2, 18), at(2026, 12, 3, 18)]),
        ("cron(0 0 ? * FRI-MON *)", [at(2026, 12, 4), at(2026, 12, 5), at(2026, 12, 6)]),
        ("cron(0 0 ? * 1 *)", [at(2026, 12, 6), at(2026, 12, 13), at(2026, 12, 20)]),  # 1 = Sunday
        ("cron(0 9 L * ? *)", [at(2026, 12, 31, 9), at(2027, 1, 31, 9), at(2027, 2, 28, 9)]),
        ("cron(0 9 LW * ? *)", [at(2026, 12, 31, 9), at(2027, 1, 29, 9), at(2027, 2, 26, 9)]),
        ("cron(0 9 1W * ? *)", [at(2026, 12, 1, 9), at(2027, 1, 1, 9), at(2027, 2, 1, 9)]),
        ("cron(0 9 1W 5 ? 2027)", [at(2027, 5, 3, 9)]),  # May 1st 2027 is a Saturday
        ("cron(0 9 6W * ? 2026-2027)", [at(2026, 12, 7, 9), at(2027, 1, 6, 9), at(2027, 2, 5, 9)]),
        ("cron(0 10 ? * 3#2 *)", [at(2026, 12, 8, 10), at(2027, 1, 12, 10), at(2027, 2, 9, 10)]),  # 2nd Tuesday
        ("cron(0 10 ? * 6L *)", [at(2026, 12, 25, 10), at(2027, 1, 29, 10), at(2027, 2, 26, 10)]),  # last Friday
        ("cron(0 10 ? * L *)", [at(2026, 12, 5, 10), at(2026, 12, 12, 10), at(2026, 12, 19, 10)]),  # Saturdays
        ("cron(0 0 29 FEB ? *)", [at(2028, 2, 29), at(2032, 2, 29), at(2036, 2, 29)]),
        ("cron(30 6 1 JAN,JUL ? 2027)", [at(2027, 1, 1, 6, 30), at(2027, 7, 1, 6, 30)]),
        ("at(2026-12-01T08:09:05)", [at(2026, 12, 1, 8, 9, 5)]),
        ("at(2026-12-01T08:00:00)", []),
    ],
)
def test_next_firings(expression: str, expected: list[datetime]) -> None:
    assert fires(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(5 minute)", "plural"),
        ("rate(1 minutes)", "singular"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 weeks)", "unit"),
        ("cron(0 12 * * *)", "6 fields"),
        ("cron(0 12 * * * *)", "'?'"),
        ("cron(0 12 ? * ? *)", "'?'"),
        ("cron(60 12 * * ? *)", "out of range"),
        ("cron(0 12 * FOO ? *)", "Invalid value"),
        ("cron(0 12 ? * 8 *)", "out of range"),
        ("every day", "schedule expression"),
        ("at(tomorrow)", "yyyy-mm-dd"),
    ],
)
def test_invalid_expressions_say_why(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse(expression)
