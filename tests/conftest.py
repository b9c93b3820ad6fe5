"""Repo-wide test setup: offline by construction, and the shared fixtures.

- `openai_server`: a real OpenAI-protocol HTTP server on 127.0.0.1 with scripted answers
  (tests/fixtures/openai_server.py).
- `tiny_qwen25vl_path` / `tiny_qwen3vl_path`: tiny random-initialised Qwen2.5-VL / Qwen3-VL checkpoints
  saved to disk once per session (tests/fixtures/tiny_qwen.py).
"""

from __future__ import annotations

import os

# Nothing in the test suite may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["tests.fixtures.openai_server", "tests.fixtures.tiny_qwen"]
