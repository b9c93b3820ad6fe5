"""Every flag an error message names is a real flag of the command that shows the message.

The messages are read from the source: every string literal but docstrings (f-strings with their fields as
``{}``), so messages built in helpers and hint tables count too. The flags are read from the real
command tree (`socioagent.flags.command_flags`). A message that names a command (``socio eval --out``) is
checked against that command; otherwise against every command that can show it, by the module it is in
(`AUDIENCE`): a policy's message must hold for every command that builds policies.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from socioagent.cli import app
from socioagent.flags import flag_names

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["agent", "tools", "evals", "train", "socioagent", "prompts"]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
COMMAND = re.compile(r"\bsocio ((?:train|models) [a-z]+|[a-z]+)")

EXTERNAL = {  # flags of other programs that messages quote, and the word that must name that program
    "--limit-mm-per-prompt": "vLLM", "--max-model-len": "vLLM", "--mm-processor-kwargs": "vLLM",
    "--generation-config": "vLLM", "--reasoning-parser": "vLLM", "--nproc-per-node": "torchrun",
    "--no-build-isolation": "pip", "--no-deps": "pip",
}  # fmt: skip
OWN_PROGRAMS = {"socioagent/make_policy.py"}
"""Modules with their own argparse flags (``make policy``'s recipe and its model card), not socio's."""
KNOWN_GAPS = {("ask", "--timeout"), ("chat", "--timeout")}
"""Flags a shared message names that a command lacks on purpose: socio ask/chat give the policy server's
timeout no flag of its own (``--timeout`` is not offered there: ``PLANNER_EXCLUDE`` in socioagent/ask_command.py).
Listed here so the gap is visible; each entry is a message a user of that command may find misleading."""

FLAGS = {c: f | {"--help"} for c, f in flag_names(app).items()}
BACKEND = {c for c, f in FLAGS.items() if {"--policy", "--base-url", "--segmenter"} <= f}
WRITERS = {c for c, f in FLAGS.items() if "--out" in f}
AUDIENCE: list[tuple[str, set[str], bool]] = [  # module prefix, commands, whether every one must have the flag
    ("agent/policies/", BACKEND, True),
    ("agent/backends.py", BACKEND, True),
    ("agent/protocol.py", BACKEND, True),
    ("agent/context.py", BACKEND, True),
    ("agent/explain.py", {"segment", "demo"}, True),
    ("tools/segmenters/", BACKEND, True),
    ("tools/outdir.py", WRITERS, True),
    ("agent/scene_", {"segment"}, True),
    ("socioagent/scene_command.py", {"segment"}, True),
    ("tools/raster_", {"segment"}, True),
    ("evals/synthcity/", {"synth"}, True),
    ("socioagent/synth_command.py", {"synth"}, True),
    ("evals/", {"eval"}, True),
    ("socioagent/eval_command.py", {"eval"}, True),
    ("train/", {"train sft", "train grpo"}, False),
    ("socioagent/train_command.py", {"train sft", "train grpo"}, False),
    ("socioagent/make_policy.py", {"train sft", "train grpo"}, False),
    ("agent/serving/", {"mcp", "serve"}, False),
    ("agent/chat/", {"ask", "chat"}, False),
    ("agent/planner/", {"ask", "chat"}, False),
    ("socioagent/ask_command.py", {"ask", "chat"}, False),
]


def audience(rel: str) -> tuple[set[str], bool]:
    """Return the commands that can show a message of module ``rel`` and whether each must have its flags."""
    for prefix, commands, every in AUDIENCE:
        if rel.startswith(prefix):
            return commands, every
    return set(FLAGS), False  # elsewhere: the flag must exist on some command


def problems(text: str, commands: set[str], every: bool) -> list[str]:
    """Return what is wrong with the flags a message names (empty when each is real where it is shown)."""
    out = []
    spans = [(m.start(), m.group(1)) for m in COMMAND.finditer(text)]
    for m in FLAG.finditer(text):
        flag = m.group(0)
        named = [c for pos, c in spans if pos < m.start()]
        if flag in EXTERNAL:
            if EXTERNAL[flag].lower() not in text.lower():
                out.append(f"{flag} is {EXTERNAL[flag]}'s flag, but the message does not say {EXTERNAL[flag]}")
            continue
        if named and named[-1] in FLAGS:
            if flag not in FLAGS[named[-1]]:
                out.append(f"{flag} is not a flag of socio {named[-1]}")
            continue
        have = [c for c in commands if flag in FLAGS.get(c, set()) or (c, flag) in KNOWN_GAPS]
        if not have:
            out.append(f"{flag} is a flag of no command that shows this message ({', '.join(sorted(commands))})")
        elif every and len(have) < len(commands):
            out.append(f"{flag} is missing from socio {', '.join(sorted(commands - set(have)))}")
    return out


def messages(path: Path) -> list[tuple[int, str]]:
    """Return every string literal of a module but its docstrings (an f-string's fields become ``{}``).

    Messages are often built in helpers (a hint table, a function returning the text), so every literal
    counts, not only those inside a ``raise``: one that names a flag is user-facing.
    """
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    found, inner = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inner |= {id(v) for v in node.values}
    for node in ast.walk(tree):
        if id(node) in docstrings or id(node) in inner:
            continue
        text = "".join(pieces(node)) if isinstance(node, ast.Constant | ast.JoinedStr) else ""
        if FLAG.search(text):
            found.append((node.lineno, text))
    return found


def pieces(node: ast.AST) -> list[str]:
    """Return a node's string literals in source order; an f-string's fields become ``{}``."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, ast.JoinedStr):
        return [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
    if isinstance(node, ast.Subscript):
        return pieces(node.value)
    return [p for child in ast.iter_child_nodes(node) for p in pieces(child)]


@functools.cache
def all_messages() -> list[tuple[str, int, str]]:
    out = []
    for top in SOURCES:
        for p in sorted((ROOT / top).rglob("*.py")):
            rel = p.relative_to(ROOT).as_posix()
            if rel not in OWN_PROGRAMS:
                out += [(rel, line, text) for line, text in messages(p)]
    return out


def test_the_checker_catches_a_made_up_flag():
    assert problems("check the server, or raise --max-retry", BACKEND, True) == [
        "--max-retry is a flag of no command that shows this message (" + ", ".join(sorted(BACKEND)) + ")"
    ]
    assert problems("rerun with socio eval --workers 1", set(FLAGS), False) == []
    assert problems("use socio synth --workers 2", set(FLAGS), False) == ["--workers is not a flag of socio synth"]
    assert problems("give --raster", BACKEND, True)  # only socio segment has it
    assert problems("vLLM: --limit-mm-per-prompt", BACKEND, True) == []
    assert problems("pass --limit-mm-per-prompt", BACKEND, True)


def test_the_scan_reads_the_messages_the_issue_named():
    texts = [t for _, _, t in all_messages()]
    assert any("--max-retries" in t for t in texts) and any("--timeout" in t for t in texts)
    assert len(texts) > 150


@pytest.mark.parametrize("rel", sorted({rel for rel, _, _ in all_messages()}))
def test_every_flag_in_a_message_is_real(rel):
    commands, every = audience(rel)
    bad = [f"{rel}:{line}: {p}  <- {text[:120]!r}" for r, line, text in all_messages() if r == rel
           for p in problems(text, commands, every)]  # fmt: skip
    assert not bad, "\n".join(bad)
