"""SCF cron: 7-field and legacy 5-field expressions, day/week OR, next-fire times."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.runtime.cron import CronError, next_fire, parse


def dt(*a):
    return datetime(*a)


@pytest.mark.parametrize(
    "expr, after, expected",
    [
        ("*/5 * * * * * *", dt(2024, 1, 1, 0, 0, 3), dt(2024, 1, 1, 0, 0, 5)),
        ("0 */5 * * * * *", dt(2024, 1, 1, 0, 0, 0), dt(2024, 1, 1, 0, 5, 0)),
        ("0 0 2 * * * *", dt(2024, 1, 1, 3, 0, 0), dt(2024, 1, 2, 2, 0, 0)),
        ("*/5 * * * *", dt(2024, 1, 1, 0, 3, 30), dt(2024, 1, 1, 0, 5, 0)),  # legacy 5-field
        ("0 0 12 1 * MON *", dt(2024, 1, 2, 0, 0, 0), dt(2024, 1, 8, 12, 0, 0)),  # day OR week: next Monday
        ("0 0 12 1 * MON *", dt(2024, 1, 29, 13, 0, 0), dt(2024, 2, 1, 12, 0, 0)),  # ... or the 1st
        ("0 0 0 29 2 * *", dt(2023, 3, 1), dt(2024, 2, 29)),  # leap day
        ("0 30 9 * * 1-5 *", dt(2024, 1, 5, 10, 0, 0), dt(2024, 1, 8, 9, 30, 0)),  # skip the weekend
        ("0 0 0 1 JAN ? 2030", dt(2024, 6, 1), dt(2030, 1, 1)),
        ("0 0 0 * * 7 *", dt(2024, 1, 1), dt(2024, 1, 7)),  # 7 = Sunday
        ("0 0 0 1 1 * 2020", dt(2024, 1, 1), None),
    ],
)
def test_next_fire(expr, after, expected):
    assert next_fire(expr, after) == expected


@pytest.mark.parametrize(
    "expr, words",
    [("* * *", "3 fields"), ("61 * * * * * *", "second field: 61"), ("* * * * 13 * *", "month field"),
     ("? * * * * * *", "only allowed"), ("*/0 * * * * * *", "bad step"), ("5-1 * * * * * *", "backwards"),
     ("x * * * *", "minute field")],
)
def test_bad_expressions_name_the_field(expr, words):
    with pytest.raises(CronError, match=words):
        parse(expr)


@settings(max_examples=60, deadline=None)
@given(
    sec=st.sampled_from(["*", "0", "*/15", "10,20"]),
    minute=st.sampled_from(["*", "0", "*/7", "5-9"]),
    hour=st.sampled_from(["*", "3", "*/6"]),
    day=st.sampled_from(["*", "1", "15", "28-31"]),
    week=st.sampled_from(["*", "MON", "0,6", "?"]),
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_next_fire_matches_and_nothing_earlier_does(sec, minute, hour, day, week, start):
    cron = parse(f"{sec} {minute} {hour} {day} * {week} *")
    fire = cron.next_after(start)
    assert fire is not None and fire > start and cron.matches(fire)
    # brute force over a bounded window: no earlier matching second exists
    if fire - start < timedelta(hours=2):
        t = start.replace(microsecond=0) + timedelta(seconds=1)
        while t < fire:
            assert not cron.matches(t)
            t += timedelta(seconds=1)
