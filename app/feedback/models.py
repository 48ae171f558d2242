"""CDS Hooks 2.0 feedback request models (spec section "Feedback"), lenient about extra fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from app.errors import InvalidRequest

MAX_ITEMS = 1000
_ID_MAX = 256
_URI_MAX = 1024
_COMMENT_MAX = 4000

# RFC 3339 section 5.6 date-time: the offset is mandatory, so a naive time is refused
# rather than guessed at.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _parse_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset")
        return value.astimezone(UTC)
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time such as 2021-12-11T10:05:31Z")
    text = value
    fraction = re.search(r"\.(\d+)", text)
    if fraction and len(fraction.group(1)) > 6:
        # datetime holds microseconds; nanosecond digits from some clients are dropped.
        text = text.replace(fraction.group(0), "." + fraction.group(1)[:6], 1)
    try:
        parsed = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("is not a valid calendar date-time") from None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-23:59 is a valid RFC 3339 time whose UTC lies past year 9999.
        raise ValueError("lies outside the years 0001-9999 once converted to UTC") from None


UtcTimestamp = Annotated[datetime, BeforeValidator(_parse_timestamp)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class FeedbackCoding(_Lenient):
    """Override reason coding; the Sandbox omits `system`, so only `code` is required."""

    code: str = Field(min_length=1, max_length=_ID_MAX)
    system: str | None = Field(default=None, max_length=_URI_MAX)
    display: str | None = Field(default=None, max_length=_URI_MAX)


class OverrideReason(_Lenient):
    reason: FeedbackCoding | None = None
    # Free text typed by a clinician: it may hold patient data, so it is stored, never logged.
    userComment: str | None = Field(default=None, max_length=_COMMENT_MAX)

    @model_validator(mode="after")
    def _reason_or_comment(self) -> OverrideReason:
        if self.reason is None and not self.userComment:
            raise ValueError("needs a reason or a userComment (cds-fb-3)")
        return self


class AcceptedSuggestion(_Lenient):
    id: str = Field(min_length=1, max_length=_ID_MAX)


class FeedbackItem(_Lenient):
    card: str = Field(min_length=1, max_length=_ID_MAX)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: tuple[AcceptedSuggestion, ...] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: UtcTimestamp

    @model_validator(mode="after")
    def _suggestions_when_accepted(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is accepted (cds-fb-2)")
        return self


class FeedbackRequest(_Lenient):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=MAX_ITEMS)


def _describe(error: ErrorDetails) -> str:
    """'field: problem' without the offending value (it may be patient data)."""
    where = ".".join(str(part) for part in error["loc"]) or "body"
    problem = error["msg"]
    if error["type"] == "value_error":
        problem = problem.removeprefix("Value error, ")
    return f"{where}: {problem}"


def parse_feedback(body: Any) -> list[FeedbackItem]:
    """Validate a feedback POST body; raise InvalidRequest naming each bad field."""
    if not isinstance(body, dict):
        raise InvalidRequest("Invalid feedback", details=["body: must be a JSON object"])
    try:
        return FeedbackRequest.model_validate(body).feedback
    except ValidationError as exc:
        details = [_describe(err) for err in exc.errors(include_url=False, include_input=False)]
        raise InvalidRequest("Invalid feedback", details=details[:50]) from None
