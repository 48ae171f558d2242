from datetime import date

import pytest

from app.normalize.dates import add_days, age_in_years, duration_days, parse_date
from app.normalize.errors import Malformed


@pytest.mark.parametrize(
    ("raw", "end", "expected"),
    [
        ("2024-03-05", False, date(2024, 3, 5)),
        ("2024-03-05T23:59:00-05:00", False, date(2024, 3, 5)),  # date as written, no tz shift
        ("2024-03-05T10:00:00Z", False, date(2024, 3, 5)),
        ("2024-03", False, date(2024, 3, 1)),
        ("2024-03", True, date(2024, 3, 31)),
        ("2024-02", True, date(2024, 2, 29)),
        ("1958", False, date(1958, 1, 1)),
        ("1958", True, date(1958, 12, 31)),
        (None, False, None),
    ],
)
def test_parse_date(raw: str | None, end: bool, expected: date | None) -> None:
    assert parse_date(raw, end=end) == expected


@pytest.mark.parametrize(
    "raw", ["03/05/2024", "2024-13-01", "2023-02-29", "yesterday", 20240305, "", ["2024-01-01"]]
)
def test_parse_date_rejects(raw: object) -> None:
    with pytest.raises(Malformed):
        parse_date(raw)


@pytest.mark.parametrize(
    ("duration", "days"),
    [
        ({"value": 30, "unit": "days"}, 30.0),
        ({"value": 30, "unit": "day"}, 30.0),
        ({"value": 30, "code": "d", "unit": "whatever"}, 30.0),
        ({"value": 2, "unit": "wk"}, 14.0),
        ({"value": 1, "unit": "mo"}, 30.0),  # CDC GetDurationInDays: mo = 30 d
        ({"value": 1, "unit": "a"}, 365.0),
        ({"value": 72, "unit": "h"}, 3.0),
        ({"value": 5, "unit": "fortnights"}, None),
        ({"unit": "d"}, None),
        (None, None),
    ],
)
def test_duration_days(duration: dict | None, days: float | None) -> None:
    assert duration_days(duration) == days


def test_duration_wrong_type() -> None:
    with pytest.raises(Malformed):
        duration_days({"value": "30", "unit": "d"})


def test_add_days_rounds_part_days_up() -> None:
    assert add_days(date(2024, 1, 1), 1.5) == date(2024, 1, 3)
    assert add_days(date(2024, 1, 1), 30) == date(2024, 1, 31)


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(1959, 6, 1), date(2024, 6, 1), 65),  # birthday today
        (date(1959, 6, 2), date(2024, 6, 1), 64),  # birthday tomorrow
        (date(2000, 2, 29), date(2023, 2, 28), 22),
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2024, 6, 1), date(2024, 6, 1), 0),
    ],
)
def test_age(birth: date, today: date, age: int) -> None:
    assert age_in_years(birth, today) == age
