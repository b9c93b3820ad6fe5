"""The offline planner: a small grammar over everyday phrasings, entity phrases read by `tools.query.entity`.

No weights, no network (the bundled MiniLM only reads entity phrases no rule knows). A question is read as::

    question   := [output words] expression [trailing words]
    expression := "(" expression ")" | expression ("but not" | "except" | "excluding") expression
                | "(" expression ")" ("and" | "or") "(" expression ")" ...
                | subject condition (("and" | "or") ["not"] condition)*
    subject    := ["the" [K] ("largest" | "smallest" | "nearest")] entity-list
    condition  := ["not"] relation reference      (reference: an expression, so relations nest to the right)

Output words: "how many" / "number of" / "count" / "are there any" (count), "how far" / "distance between"
(distance), "what is the name of" / "which" (name). Relations: "within D of", "less than D from", "closer than
D to", "D from", "more than D from", "at least D from", "near" / "close to" / "next to" / "around" (within
`NEAR_M`), "far from" (beyond it), "inside" / "in" / "within" (no distance), "outside", "intersecting" /
"overlapping" / "crossing", "nearest to". Units: m, km, mi, ft in their usual spellings; numbers as digits or
"a" / "one" ... "ten" / "half a"; "a 5 minute walk" is 400 m (`WALK_M_PER_MIN`). An entity list ("parks and
playgrounds", "cafes, bars or pubs") is the union of its phrases.

Anything not understood raises `InputError` naming the part ("I could not read 'xyzzy' as a kind of place").

>>> plan_offline("parks within 1 km of hospitals").root.op
'within'
>>> p = plan_offline("How many playgrounds are there?"); (p.output, p.root.key)
('count', 'playground')
>>> p = plan_offline("the nearest pharmacy to the university"); (p.root.op, p.root.k, p.root.reference.key)
('nearest', 1, 'university')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.planner.lexicon import (
    BETWEEN,
    CONNECT_TAIL,
    EXCLUDE,
    LIST_SPLIT,
    OUTPUT_PREFIXES,
    POST_SUPERLATIVE,
    RELATION_ONE,
    RELATION_RE,
    RELATIONS,
    SUPERLATIVE,
    TO_RE,
    TRAILING,
    is_wrapped,
    mask_parens,
    read_distance,
    read_number,
)
from agent.planner.plan import (
    NEAR_M,
    Combine,
    Distance,
    Entities,
    Exclude,
    Extreme,
    Nearest,
    Node,
    Output,
    Plan,
    Topology,
)
from tools.errors import InputError
from tools.query.entity import read_entity


@dataclass
class _Ctx:
    names: Sequence[str]
    use_text_model: bool
    output: Output


def _find_relation(masked: str, start: int, allow_to: bool) -> tuple[str, re.Match[str]] | None:
    """Return the first relation at or after ``start`` in the parenthesis-masked text, with its kind."""
    pos = start
    while True:
        m = RELATION_RE.search(masked, pos)
        t = TO_RE.search(masked, pos) if allow_to else None
        if t is not None and (m is None or t.start() < m.start()):
            return "nearest_to", t
        if m is None:
            return None
        kind = next(RELATIONS[i][0] for i in range(len(RELATIONS)) if m.group(f"r{i}") is not None)
        if m.start() == 0 or masked[m.start() - 1] == " ":
            return kind, _rematch(masked, m, kind)
        pos = m.end()


def _rematch(masked: str, m: re.Match[str], kind: str) -> re.Match[str]:
    """Return the relation's match with its own named groups (``num``, ``unit``) for a distance form."""
    for k, rx in RELATION_ONE:
        if k != kind:
            continue
        mm = rx.match(masked, m.start())
        if mm is not None and mm.end() == m.end():
            return mm
    return m


def _strip_tail(text: str) -> tuple[str, bool]:
    """Drop connector words from the end of a subject ("cafes that are"); return it and whether it ended in 'not'."""
    words = text.split()
    negated = False
    while words and (words[-1] in CONNECT_TAIL or words[-1] in ("not", "aren't", "isn't", "arent", "isnt")):
        negated |= words[-1] in ("not", "aren't", "isn't", "arent", "isnt")
        words.pop()
    return " ".join(words), negated


def _entity_list(text: str, ctx: _Ctx) -> Node:
    """Read a subject or reference without relations: one phrase, a parenthesised expression, or a list (union)."""
    text = text.strip()
    if not text:
        raise InputError("the question names no kind of place here; say what to find, e.g. 'parks near schools'")
    if is_wrapped(text):
        return _expression(text[1:-1].strip(), ctx)
    whole = read_entity(text, ctx.names, use_text_model=False)
    if whole.level == "name":
        return Entities(phrase=str(whole.key), level="name", key=str(whole.key))
    parts = [p for p in LIST_SPLIT.split(text) if p.strip()]
    if len(parts) > 1:
        return Combine(op="or", items=[_phrase(p, ctx) for p in parts])
    return _phrase(text, ctx)


def _phrase(text: str, ctx: _Ctx) -> Node:
    text = text.strip()
    if is_wrapped(text):
        return _expression(text[1:-1].strip(), ctx)
    r = read_entity(text, ctx.names, use_text_model=ctx.use_text_model)
    if r.level == "unknown" or r.key is None:
        raise InputError(
            f"I could not read {text!r} as a kind of place or a name in the data; use a class ('parks', "
            "'hospitals'), a function ('places for education') or a name the map holds"
        )
    return Entities(phrase=r.key if r.level == "name" else text, level=r.level, key=r.key)


def _subject(text: str, ctx: _Ctx) -> tuple[Node, tuple[str, int] | None]:
    """Read a subject; return it and a pending superlative (``largest``/``smallest``/``nearest``, k)."""
    text = text.strip()
    m = SUPERLATIVE.match(text)
    pending: tuple[str, int] | None = None
    if m is None:
        pm = POST_SUPERLATIVE.match(text)
        if pm is not None:
            m, text = pm, pm.group("rest")
            pending = (_superlative_op(pm.group("which")), 1)
            return _entity_list(text, ctx), pending
        return _entity_list(text, ctx), None
    k = int(read_number(m.group("k"))) if m.group("k") else 1
    pending = (_superlative_op(m.group("which")), k)
    return _entity_list(m.group("rest"), ctx), pending


def _superlative_op(word: str) -> str:
    return {"largest": "largest", "biggest": "largest", "greatest": "largest", "smallest": "smallest",
            "tiniest": "smallest", "nearest": "nearest", "closest": "nearest"}[word]  # fmt: skip


def _condition(kind: str, m: re.Match[str], subject: Node, reference: Node) -> Node:
    if kind in ("within", "beyond"):
        value, unit = read_distance(m)
        return Distance(op=kind, features=subject, reference=reference, distance=value, unit=unit)
    if kind == "near":
        return Distance(op="within", features=subject, reference=reference, distance=NEAR_M, unit="m", near=True)
    if kind == "far":
        return Distance(op="beyond", features=subject, reference=reference, distance=NEAR_M, unit="m", near=True)
    return Topology(op=kind, features=subject, reference=reference)


def _clause(text: str, ctx: _Ctx) -> Node:
    """Read ``subject condition (connector condition)*`` (see the module docstring)."""
    masked = mask_parens(text)
    sup = SUPERLATIVE.match(masked)
    allow_to = bool(sup and sup.group("which") in ("nearest", "closest")) or ctx.output == "distance"
    first = _find_relation(masked, 0, allow_to)
    if first is None:
        subject, pending = _subject(text, ctx)
        if pending is not None and pending[0] == "nearest":
            raise InputError(f"'nearest' needs a place to be near to in {text!r}; say e.g. 'the nearest pharmacy to "
                             "the university'")  # fmt: skip
        return _superlative(subject, pending, None)
    kind, m = first
    subject_text, negated = _strip_tail(text[: m.start()].strip())
    if not subject_text:
        raise InputError(f"the question names no place before {m.group(0)!r}; say what to find, e.g. 'parks "
                         f"{m.group(0)} hospitals'")  # fmt: skip
    subject, pending = _subject(subject_text, ctx)
    conds: list[tuple[str, bool, Node]] = []  # (connector, negated, condition)
    nearest_ref: Node | None = None
    connector = "and"
    while True:
        ref_start = m.end()
        nxt = _next_condition(masked, ref_start)
        ref_text = text[ref_start : nxt[0] if nxt else len(text)].strip()
        if kind == "nearest_to":
            nearest_ref = _reference(ref_text, ctx, m)
        else:
            cond = _condition(kind, m, subject, _reference(ref_text, ctx, m))
            conds.append((connector, negated, cond))
        if nxt is None:
            break
        _, connector, negated, kind, m = nxt
    node = _combine(subject, conds)
    if kind == "nearest_to" and pending is None:
        pending = ("nearest", 1)
    return _superlative(node, pending, nearest_ref)


def _reference(text: str, ctx: _Ctx, m: re.Match[str]) -> Node:
    if not text:
        raise InputError(f"{m.group(0)!r} needs a place after it; say e.g. '{m.group(0)} hospitals'")
    return _expression(text, ctx)


_CONNECTOR_RE = re.compile(r"\s+(and|or|but)\s+(?:(?:that|which)\s+)?(?:(?:are|is)\s+)?(?:also\s+)?(not\s+)?$")


def _next_condition(masked: str, start: int) -> tuple[int, str, bool, str, re.Match[str]] | None:
    """Return the next sibling condition after ``start``: a relation preceded by 'and' / 'or' (+ 'not')."""
    pos = start
    while True:
        found = _find_relation(masked, pos, False)
        if found is None:
            return None
        kind, m = found
        c = _CONNECTOR_RE.search(masked[: m.start()])
        if c is not None and c.start() >= start:
            conn = "or" if c.group(1) == "or" else "and"
            return c.start(), conn, bool(c.group(2)), kind, m
        pos = m.end()


def _combine(subject: Node, conds: list[tuple[str, bool, Node]]) -> Node:
    node: Node | None = None
    for connector, negated, cond in conds:
        item: Node = Exclude(features=subject, exclude=cond) if negated else cond
        if node is None:
            node = item
        elif isinstance(node, Combine) and node.op == connector:
            node = Combine(op=connector, items=[*node.items, item])
        else:
            node = Combine(op=connector, items=[node, item])
    return node if node is not None else subject


def _superlative(node: Node, pending: tuple[str, int] | None, nearest_ref: Node | None) -> Node:
    if pending is None:
        if nearest_ref is not None:
            return Nearest(features=node, reference=nearest_ref, k=1)
        return node
    op, k = pending
    if op == "nearest":
        if nearest_ref is None:
            raise InputError("'nearest' needs a place to be near to; say e.g. 'the nearest pharmacy to the university'")
        return Nearest(features=node, reference=nearest_ref, k=k)
    return Extreme(op=op, features=node, k=k)


def _expression(text: str, ctx: _Ctx) -> Node:
    text = text.strip()
    if is_wrapped(text):
        return _expression(text[1:-1], ctx)
    masked = mask_parens(text)
    ex = EXCLUDE.search(masked)
    if ex is not None:
        base = _expression(text[: ex.start()], ctx)
        rest = text[ex.end() :].strip()
        found = _find_relation(mask_parens(rest), 0, False)
        if found is not None and found[1].start() == 0:  # "... except those within 200 m of a park"
            kind, m = found
            cond = _condition(kind, m, base, _reference(rest[m.end() :].strip(), ctx, m))
            return Exclude(features=base, exclude=cond)
        return Exclude(features=base, exclude=_expression(rest, ctx))
    groups = _paren_groups(text, masked)
    if groups is not None:
        op, items = groups
        return Combine(op=op, items=[_expression(i, ctx) for i in items])
    return _clause(text, ctx)


_GROUPS_RE = re.compile(r"^\(_*\)(?:\s+(and|or)\s+\(_*\))+$")


def _paren_groups(text: str, masked: str) -> tuple[str, list[str]] | None:
    """Split ``(A) and (B) and (C)`` into its groups (one connector throughout), else None."""
    if not _GROUPS_RE.match(masked):
        return None
    ops = set(re.findall(r"\)\s+(and|or)\s+\(", masked))
    if len(ops) != 1:
        raise InputError(f"mixing 'and' and 'or' between groups is ambiguous in {text!r}; add parentheses")
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                items.append(text[start + 1 : i])
    return ops.pop(), items


def _clean(query: str) -> str:
    t = query.strip().lower().replace("’", "'")
    t = re.sub(r"[?!.;:]+$", "", t)
    t = re.sub(r"[?!;:\"]", " ", t)
    t = re.sub(r"(\d),(\d{3})\b", r"\1\2", t)  # 1,000 m
    t = re.sub(r"(\d)\s*(km|m|mi|ft)\b", r"\1 \2", t)
    return re.sub(r"\s+", " ", t).strip()


def _output(text: str) -> tuple[Output, str]:
    for output, pattern in OUTPUT_PREFIXES:
        m = re.match(pattern, text + " ")
        if m is not None:
            rest = text[m.end() :].strip()
            if output == "features":
                return _output(rest) if rest else ("features", rest)
            return output, rest
    return "features", text


def plan_offline(query: str, names: Sequence[str] = (), use_text_model: bool = True) -> Plan:
    """Read a question into a `Plan` with the grammar (see the module docstring).

    Args:
        query: the question, e.g. ``"parks within 1 km of hospitals"``.
        names: feature names the data holds, so that a name ("Kaisaniemen puisto") reads as a name.
        use_text_model: let the bundled MiniLM read entity phrases no taxonomy word names.

    Raises:
        InputError: the question is empty, or a part of it could not be read (the message names the part).
    """
    if not query or not query.strip():
        raise InputError("the question is empty; ask e.g. 'parks within 1 km of hospitals'")
    text = _clean(query)
    output, body = _output(text)
    body = TRAILING.sub("", body).strip()
    body = re.sub(r"^(?:all\s+(?:the\s+)?|any\s+|every\s+)", "", body)
    if output == "count":
        body = re.sub(r"^the\s+(?!(?:\d+\s+)?(?:largest|biggest|smallest|nearest|closest)\b)", "", body)
    if not body:
        raise InputError(f"I could not find what to look for in {query!r}; ask e.g. 'how many playgrounds are there'")
    ctx = _Ctx(names=names, use_text_model=use_text_model, output=output)
    if output == "distance":
        b = BETWEEN.match(body)
        if b is not None:
            a, c = b.group("a"), b.group("b")
            near = re.match(r"^(?:the\s+)?(?:nearest|closest)\s+(.+)$", c)
            if near is not None:  # "between the library and the nearest park": the park nearest to the library
                a, c = near.group(1), a
            root: Node = Nearest(features=_entity_list(a, ctx), reference=_entity_list(c, ctx))
            return Plan(query=query, root=root, output=output)
    root = _expression(body, ctx)
    if output == "distance" and not isinstance(root, Nearest):
        raise InputError(f"'how far' needs two places in {query!r}; ask e.g. 'how far is the nearest pharmacy from "
                         "the university'")  # fmt: skip
    return Plan(query=query, root=root, output=output)
