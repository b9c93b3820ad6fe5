"""Shared pydantic types that cross tool, policy and agent boundaries.

Every geometry here is in **image pixels of the scene's satellite image** (XYXY boxes, x to the right,
y down, origin at the top-left corner of the top-left pixel), unless a field says otherwise.
Conversions to and from model frames and map CRSs live in `tools.coords` alone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Level = Literal["name", "class", "function", "unknown"]
"""How a query names its target: a proper name, a socio-class, or a socio-function."""


class Box(BaseModel):
    """An axis-aligned box, XYXY in image pixels, with x1 <= x2 and y1 <= y2."""

    model_config = ConfigDict(frozen=True)

    x1: float
    y1: float
    x2: float
    y2: float

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if self.x1 > self.x2 or self.y1 > self.y2:
            raise ValueError(f"box corners are out of order: {self.as_list()}; expected x1<=x2 and y1<=y2")
        return self

    def as_list(self) -> list[float]:
        """Return ``[x1, y1, x2, y2]``."""
        return [self.x1, self.y1, self.x2, self.y2]

    @property
    def width(self) -> float:
        """Width in pixels."""
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        """Height in pixels."""
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        """Area in square pixels."""
        return self.width * self.height

    def contains(self, x: float, y: float) -> bool:
        """Return True if the point lies inside the box or on its border."""
        return self.x1 <= x <= self.x2 and self.y1 <= y <= self.y2

    def clip(self, width: int, height: int) -> Box:
        """Return the box clipped to an image of the given size."""
        return Box(
            x1=min(max(self.x1, 0.0), width),
            y1=min(max(self.y1, 0.0), height),
            x2=min(max(self.x2, 0.0), width),
            y2=min(max(self.y2, 0.0), height),
        )


class Point(BaseModel):
    """A prompt point in image pixels; label 1 marks the target, 0 marks background."""

    model_config = ConfigDict(frozen=True)

    x: float
    y: float
    label: Literal[0, 1] = 1


class InstancePrompt(BaseModel):
    """One target instance as the policy sees it: a box and optional points."""

    box: Box
    points: list[Point] = Field(default_factory=list)


class Feature(BaseModel):
    """One feature of a scene's vector layers, as `map_lookup` returns it.

    Attributes:
        id: stable id within the scene.
        kind: what the feature is: a point of interest, a land-use fill, a road, a building.
        name: proper name (POIs), if any.
        cls: socio-class key from `tools.taxonomy` (``"school"``), if known.
        function: socio-function key from `tools.taxonomy` (``"education"``), if known.
        box: bounding box in image pixels (a degenerate box for a point).
        point: a representative point in image pixels (the POI itself, or a point inside the polygon).
        score: match score of the lookup, 1.0 for an exact match.
    """

    id: str
    kind: Literal["poi", "landuse", "road", "building", "other"]
    name: str | None = None
    cls: str | None = None
    function: str | None = None
    box: Box
    point: Point
    score: float = 1.0


class MaskRef(BaseModel):
    """A mask held by the scene store, and what is known about it."""

    mask_id: str
    scene_id: str
    box: Box | None = None
    score: float = 0.0
    area: int = 0
