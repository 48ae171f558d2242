"""CDS Hooks 2.0 response models: strict, frozen, and serialized without nulls."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.urls import AbsoluteUrl

# A card's severity (CDS Hooks 2.0); the rules compute it before building the card.
Indicator: TypeAlias = Literal["info", "warning", "critical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Coding(_Strict):
    code: str
    system: str
    display: str | None = None


class Source(_Strict):
    label: str
    url: AbsoluteUrl | None = None
    icon: AbsoluteUrl | None = None
    topic: Coding | None = None


class Action(_Strict):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _resource_for_type(self) -> Action:
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete" and not self.resourceId:
            raise ValueError("a delete action needs a resourceId")
        return self


class Suggestion(_Strict):
    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: tuple[Action, ...] | None = Field(default=None, min_length=1)


class Link(_Strict):
    label: str
    url: AbsoluteUrl
    type: Literal["absolute", "smart"]
    appContext: str | None = None

    @model_validator(mode="after")
    def _app_context_only_for_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only allowed on smart links (cds-resp-3)")
        return self


class OverrideReason(Coding):
    display: str  # required for override reasons (cds-resp-4)


class Card(_Strict):
    uuid: str | None = None
    summary: str = Field(max_length=139)  # "<140-character summary"
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: tuple[Suggestion, ...] | None = Field(default=None, min_length=1)
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: tuple[OverrideReason, ...] | None = Field(default=None, min_length=1)
    links: tuple[Link, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _selection_behavior_with_suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when suggestions are present")
        return self


class CdsResponse(_Strict):
    cards: tuple[Card, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Spec JSON: no null or empty optional fields, but `cards` always present."""
        return {"cards": [card.model_dump(mode="json", exclude_none=True) for card in self.cards]}
