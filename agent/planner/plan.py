"""The typed spatial plan of a chat question: entity sets, the operations on them, and what to answer.

A plan is a tree: leaves are entity sets (a phrase read at name, class or function level), inner nodes are
operations. Both planners (offline grammar, LLM) produce it; the executor evaluates it; it is shown to the user
and stored with the answer. `plan_text` writes a plan back as a canonical English question that the offline
planner reads to the same plan (tested for every operation).

Operations (``op``):

- ``entities``: the features of a class, a function or a name;
- ``within`` / ``beyond``: features at most / more than a distance from a reference set (``near`` and ``far``
  are ``within`` / ``beyond`` `NEAR_M`);
- ``inside`` / ``outside`` / ``intersecting``: topological relations to a reference set;
- ``nearest``: the ``k`` features nearest to a reference set;
- ``largest`` / ``smallest``: the ``k`` features of greatest / least area;
- ``and`` / ``or``: the intersection / union of sets; ``not``: a set minus another.

>>> p = Plan(query="parks near hospitals", output="features", root=Distance(op="within",
...     features=Entities(phrase="parks", level="class", key="park"),
...     reference=Entities(phrase="hospitals", level="class", key="hospital"), distance=500, unit="m", near=True))
>>> plan_text(p)
'parks near hospitals'
>>> p.root.distance_m
500.0
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.taxonomy import CLASSES, FUNCTIONS

NEAR_M = 500.0
"""What "near" (and "close to", "next to", "around") means, in metres; "far from" is beyond it."""

UNITS_M: dict[str, float] = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048}
"""The distance units a plan takes, in metres."""

Unit = Literal["m", "km", "mi", "ft"]
Output = Literal["features", "count", "distance", "name"]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Entities(_Node):
    """A set of features: every feature of a class or function, or the features of one name."""

    op: Literal["entities"] = "entities"
    phrase: str = Field(description="the words of the question that name the set, e.g. 'hospitals'")
    level: Literal["name", "class", "function"] = Field(description="how the phrase is read")
    key: str = Field(description="class key (e.g. 'hospital'), function key (e.g. 'healthcare') or the name itself")

    @model_validator(mode="after")
    def _known_key(self) -> Entities:
        if self.level == "class" and self.key not in CLASSES:
            raise ValueError(f"class {self.key!r} is not in the taxonomy (e.g. 'park', 'hospital', 'school')")
        if self.level == "function" and self.key not in FUNCTIONS:
            raise ValueError(f"function {self.key!r} is not in the taxonomy; choose one of {sorted(FUNCTIONS)}")
        if not self.key.strip():
            raise ValueError("an entity set needs a key")
        return self


class Distance(_Node):
    """Features within (at most) or beyond (more than) a distance of any feature of a reference set."""

    op: Literal["within", "beyond"]
    features: Node
    reference: Node
    distance: float = Field(ge=0, description="the distance in `unit`, 0 or more")
    unit: Unit = "m"
    near: bool = Field(False, description="the question said 'near' / 'far from' instead of a number")

    @property
    def distance_m(self) -> float:
        """The distance in metres."""
        return float(self.distance) * UNITS_M[self.unit]


class Topology(_Node):
    """Features inside, outside of, or intersecting a reference set."""

    op: Literal["inside", "outside", "intersecting"]
    features: Node
    reference: Node


class Nearest(_Node):
    """The ``k`` features nearest to a reference set, nearest first."""

    op: Literal["nearest"] = "nearest"
    features: Node
    reference: Node
    k: int = Field(1, ge=1, le=1000)


class Extreme(_Node):
    """The ``k`` features of greatest (``largest``) or least (``smallest``) area."""

    op: Literal["largest", "smallest"]
    features: Node
    k: int = Field(1, ge=1, le=1000)


class Combine(_Node):
    """The intersection (``and``) or union (``or``) of two or more sets."""

    op: Literal["and", "or"]
    items: list[Node] = Field(min_length=2)


class Exclude(_Node):
    """The features of one set that are not in another."""

    op: Literal["not"] = "not"
    features: Node
    exclude: Node


Node = Annotated[Entities | Distance | Topology | Nearest | Extreme | Combine | Exclude, Field(discriminator="op")]

for _m in (Distance, Topology, Nearest, Extreme, Combine, Exclude):
    _m.model_rebuild()


class Plan(BaseModel):
    """A whole question: the set to compute (``root``) and what to answer about it (``output``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str = Field(description="the question, verbatim")
    root: Node
    output: Output = Field(
        "features",
        description="features (list them), count (how many), distance (how far: the nearest's distance), name",
    )

    @field_validator("query")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the question is empty")
        return v


def _num(v: float) -> str:
    return f"{v:g}"


def _group(node: Node) -> str:
    """Write a node for a subject or reference position: entity sets bare, anything else in parentheses."""
    text = node_text(node)
    return text if isinstance(node, Entities) else f"({text})"


def node_text(node: Node) -> str:
    """Write one node as canonical English (see `plan_text`)."""
    if isinstance(node, Entities):
        return node.phrase
    if isinstance(node, Distance):
        f, r = _group(node.features), _group(node.reference)
        if node.near and node.distance_m == NEAR_M:
            return f"{f} near {r}" if node.op == "within" else f"{f} far from {r}"
        d = f"{_num(node.distance)} {node.unit}"
        return f"{f} within {d} of {r}" if node.op == "within" else f"{f} more than {d} from {r}"
    if isinstance(node, Topology):
        return f"{_group(node.features)} {node.op} {_group(node.reference)}"
    if isinstance(node, Nearest):
        k = f"{node.k} " if node.k > 1 else ""
        return f"the {k}nearest {_group(node.features)} to {_group(node.reference)}"
    if isinstance(node, Extreme):
        k = f"{node.k} " if node.k > 1 else ""
        return f"the {k}{node.op} {_group(node.features)}"
    if isinstance(node, Combine):
        return f" {node.op} ".join(f"({node_text(i)})" for i in node.items)
    return f"({node_text(node.features)}) but not ({node_text(node.exclude)})"


def plan_text(plan: Plan) -> str:
    """Write a plan as a canonical question that `agent.planner.offline.plan_offline` reads back to the same plan."""
    body = node_text(plan.root)
    prefix = {"features": "", "count": "how many ", "distance": "how far is ", "name": "what is the name of "}
    return prefix[plan.output] + body


def walk(node: Node) -> list[Node]:
    """Return a node and all nodes below it, parents first."""
    out: list[Node] = [node]
    for child in children(node):
        out.extend(walk(child))
    return out


def children(node: Node) -> list[Node]:
    """Return the direct children of a node."""
    if isinstance(node, Entities):
        return []
    if isinstance(node, Combine):
        return list(node.items)
    if isinstance(node, Exclude):
        return [node.features, node.exclude]
    if isinstance(node, Extreme):
        return [node.features]
    return [node.features, node.reference]
