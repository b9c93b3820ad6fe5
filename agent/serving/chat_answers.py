"""Chat answers (`agent.chat.ask`) as web-app answer records: the sentence, the plan, EPSG:4326 features."""

from __future__ import annotations

import importlib.util


def chat_available() -> bool:
    """Return whether `agent.chat` (spatial questions over maps and scenes) is installed."""
    return importlib.util.find_spec("agent.chat") is not None
