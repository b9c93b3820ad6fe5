"""Query understanding: the one place where a query's text is read (name, class or function).

- `tools.query.words`: normalisation, the one plural rule (`singular`), taxonomy phrases (`match_class`,
  `match_function`) and the "places for <function>" form (`function_request`);
- `tools.query.levels`: `infer_level`, the text-only level of a query (for datasets without level labels);
- `tools.query.names`: fuzzy matching of a query to feature names (`name_score`, `best_name_matches`);
- `tools.query.semantic`: the MiniLM fallback for free text (`match_taxonomy`);
- `tools.query.entity`: `read_entity(phrase, names) -> EntityReading`, one entity phrase of a spatial question
  (name / class / function, typos tolerated; the chat planner's reader);
- `tools.query.reading`: `read_query(text) -> QueryReading` without a scene, and
  `interpret_query(text, features) -> QueryTarget` with one (used by the map lookup and the rule policy).

The taxonomy's data (classes, functions, synonyms, OSM tags) stays in `tools.taxonomy`.
"""

from __future__ import annotations

from tools.query.entity import EntityReading, read_entity
from tools.query.levels import infer_level
from tools.query.names import NAME_MATCH_THRESHOLD, best_name_matches, name_score
from tools.query.reading import QueryReading, QueryTarget, interpret_query, read_query
from tools.query.semantic import TaxonomyMatch, match_taxonomy
from tools.query.words import function_request, match_class, match_function, normalize, singular

__all__ = [
    "NAME_MATCH_THRESHOLD",
    "EntityReading",
    "QueryReading",
    "QueryTarget",
    "TaxonomyMatch",
    "best_name_matches",
    "function_request",
    "infer_level",
    "interpret_query",
    "match_class",
    "match_function",
    "match_taxonomy",
    "name_score",
    "normalize",
    "read_entity",
    "read_query",
    "singular",
]
