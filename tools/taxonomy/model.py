"""The taxonomy's two record types, and the parser of the compact class tables of `tools.taxonomy.osm_*`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SocioFunction:
    """A socio-function: what a group of places is for."""

    key: str
    label: str
    synonyms: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class SocioClass:
    """A socio-class: a kind of place, with the words people use for it and its OSM tags.

    Attributes:
        key: stable snake_case key (written into datasets and results).
        label: the natural-language name, singular.
        function: the key of the one function the class serves.
        synonyms: other words people use for it (matched after the plural rule of `tools.query.words`).
        description: one line describing it (read by the MiniLM fallback).
        osm_tags: the OSM ``(key, value)`` tags whose features are of this class; a tag belongs to one class.
        parent: the key of a broader class this one is a kind of (``bakery`` -> ``shop``), if any: a query for
            the parent also finds this class (`tools.taxonomy.class_members`).
    """

    key: str
    label: str
    function: str
    synonyms: tuple[str, ...]
    description: str
    osm_tags: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    parent: str | None = None


def _article(label: str) -> str:
    return "an" if label[0] in "aeiou" else "a"


def parse_class_table(table: str, function: str | None = None) -> list[SocioClass]:
    """Parse a compact class table, one class a line: ``key | label | function | tags | synonyms | description``.

    ``key`` may be written ``key<parent``; ``function`` may be ``-`` when the ``function`` argument gives it;
    ``tags`` are ``k=v`` separated by spaces; ``synonyms`` are separated by commas; an empty description
    becomes "a <label>". Blank lines and lines starting with ``#`` are skipped.

    >>> parse_class_table("bakery<shop | bakery | commerce | shop=bakery | bakeries, bread shop |")[0].parent
    'shop'

    Raises:
        ValueError: a line does not have six columns, or a tag is not ``k=v`` (a bug in the table).
    """
    out: list[SocioClass] = []
    for raw in table.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cols = [c.strip() for c in line.split("|")]
        if len(cols) != 6:
            raise ValueError(f"class table line needs 6 columns separated by '|': {line!r}")
        key, label, fn, tags, synonyms, description = cols
        key, _, parent = key.partition("<")
        pairs = []
        for tag in tags.split():
            k, sep, v = tag.partition("=")
            if not sep or not k or not v:
                raise ValueError(f"class table tag {tag!r} is not key=value: {line!r}")
            pairs.append((k, v))
        fn = function if fn == "-" and function else fn
        out.append(
            SocioClass(
                key=key,
                label=label,
                function=fn,
                synonyms=tuple(s.strip() for s in synonyms.split(",") if s.strip()),
                description=description or f"{_article(label)} {label}",
                osm_tags=tuple(pairs),
                parent=parent or None,
            )
        )
    return out
