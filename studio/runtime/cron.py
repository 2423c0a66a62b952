"""SCF timer cron expressions (RUNTIME_SPEC.md §3.4): next-fire times, pure and clock-free.

Two forms are accepted:
  7 fields  `sec min hour day month week year`   (SCF's own form)
  5 fields  `min hour day month week`            (legacy; seconds = 0, any year)
Each field takes `*`, `?` (day/week only), numbers, `a-b`, `a,b`, `*/n`, `a/n`, `a-b/n`;
months and weekdays also take names (JAN..DEC, SUN..SAT). Weekdays are 0-6 with 0 = Sunday
(7 is Sunday too). As in classic cron, when both day-of-month and day-of-week are restricted a
day matches if EITHER matches (SCF: "day and week are OR-ed").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MONTHS = {n: i + 1 for i, n in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
WEEKDAYS = {n: i for i, n in enumerate("SUN MON TUE WED THU FRI SAT".split())}

# name, low, high, names
FIELDS_7 = (
    ("second", 0, 59, None),
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day", 1, 31, None),
    ("month", 1, 12, MONTHS),
    ("week", 0, 7, WEEKDAYS),
    ("year", 1970, 2099, None),
)


class CronError(ValueError):
    """The expression is malformed; the message names the field and the bad part."""


@dataclass(frozen=True)
class Cron:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday."""
    years: frozenset[int]
    day_any: bool
    week_any: bool

    def day_matches(self, when: datetime) -> bool:
        dom = when.day in self.days
        dow = (when.isoweekday() % 7) in self.weekdays
        if self.day_any and self.week_any:
            return True
        if self.day_any:
            return dow
        if self.week_any:
            return dom
        return dom or dow

    def matches(self, when: datetime) -> bool:
        return (
            when.second in self.seconds
            and when.minute in self.minutes
            and when.hour in self.hours
            and when.month in self.months
            and when.year in self.years
            and self.day_matches(when)
        )

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after` (same tzinfo), or None if there is none."""
        t = after.replace(microsecond=0) + timedelta(seconds=1)
        limit_year = max(self.years)
        while t.year <= limit_year:
            if t.year not in self.years:
                t = t.replace(year=t.year + 1, month=1, day=1, hour=0, minute=0, second=0)
                continue
            if t.month not in self.months:
                t = _next_month(t)
                continue
            if not self.day_matches(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
                continue
            if t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0, second=0)
                continue
            if t.minute not in self.minutes:
                t = (t + timedelta(minutes=1)).replace(second=0)
                continue
            if t.second not in self.seconds:
                t = t + timedelta(seconds=1)
                continue
            return t
        return None


def _next_month(t: datetime) -> datetime:
    if t.month == 12:
        return t.replace(year=t.year + 1, month=1, day=1, hour=0, minute=0, second=0)
    return t.replace(month=t.month + 1, day=1, hour=0, minute=0, second=0)


def _value(token: str, name: str, low: int, high: int, names: dict[str, int] | None) -> int:
    upper = token.upper()
    if names and upper in names:
        return names[upper]
    if not token.isdigit():
        raise CronError(f"{name} field: {token!r} is not a number")
    value = int(token)
    if not low <= value <= high:
        raise CronError(f"{name} field: {value} is outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: dict[str, int] | None) -> tuple[set[int], bool]:
    """The values a field allows, and whether it was unrestricted (`*` or `?`)."""
    if text in ("*", "?"):
        if text == "?" and name not in ("day", "week"):
            raise CronError(f"{name} field: '?' is only allowed for day and week")
        return set(range(low, high + 1)), True
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{name} field: empty list item in {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name} field: bad step {step_text!r} in {part!r}")
            step = int(step_text)
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if start > end:
                raise CronError(f"{name} field: range {base!r} runs backwards")
        else:
            start = _value(base, name, low, high, names)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    return values, False


def parse(expression: str) -> Cron:
    """Parse a 7-field or legacy 5-field expression; raises CronError naming the bad field."""
    parts = expression.split()
    if len(parts) == 5:
        parts = ["0", *parts, "*"]
    elif len(parts) != 7:
        raise CronError(
            f"cron {expression!r} has {len(parts)} fields; SCF takes 7 (sec min hour day month week year) or 5"
        )
    parsed = [_field(text, *spec) for text, spec in zip(parts, FIELDS_7, strict=True)]
    weekdays = {0 if d == 7 else d for d in parsed[5][0]}
    return Cron(
        expression=expression,
        seconds=frozenset(parsed[0][0]),
        minutes=frozenset(parsed[1][0]),
        hours=frozenset(parsed[2][0]),
        days=frozenset(parsed[3][0]),
        months=frozenset(parsed[4][0]),
        weekdays=frozenset(weekdays),
        years=frozenset(parsed[6][0]),
        day_any=parsed[3][1],
        week_any=parsed[5][1],
    )


def next_fire(expression: str | Cron, after: datetime) -> datetime | None:
    cron = parse(expression) if isinstance(expression, str) else expression
    return cron.next_after(after)
