"""socioagent's tools: the actions the agent takes, each a typed function in one registry.

``from tools import REGISTRY`` gives the registry; the tool modules register themselves in it the first time
it is used, so importing a small module such as `tools.errors` stays cheap.
"""

from __future__ import annotations

from typing import Any

import socioagent  # noqa: F401  (checks on import that no other package shadows ours)

__all__ = ["REGISTRY", "ToolContext", "register"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tools import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'tools' has no attribute {name!r}")
