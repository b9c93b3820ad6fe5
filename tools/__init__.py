"""socioagent's tools: the actions the agent takes, each a typed function in one registry.

Importing this package registers every tool in `REGISTRY`.
"""

from tools import draw_box, map_lookup, render, segment  # noqa: F401 - importing registers the tools
from tools.registry import REGISTRY, ToolContext, register

__all__ = ["REGISTRY", "ToolContext", "register"]
