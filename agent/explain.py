"""What a person must read on the terminal about a result: why nothing was found, and any cap that was hit.

`notices` returns the lines (``socio segment`` and ``socio demo`` print them on stderr); they name the flag that
changes the outcome. A result with instances and no cap hit gives none.
"""

from __future__ import annotations

import re

from agent.result import AgentResult

TOO_MANY = "too_many_items"
_THINK = re.compile(r"<think>(.*?)</think>", re.S)


def capped(result: AgentResult) -> bool:
    """Return True when an answer held more instances than ``--max-instances`` (the rest were dropped)."""
    return any(TOO_MANY in s.repairs for s in result.stages)


def empty_reason(result: AgentResult) -> str:
    """Return why a result has no instance, from its stages: a failed answer, or the policy's own reasoning."""
    if not result.stages:
        return "the policy was never asked (no stage ran)"
    failed = [s for s in result.stages if not s.ok]
    if failed and all(not s.prompts for s in result.stages):
        s = failed[0]
        return (f"the policy's {s.stage} answer was unusable ({s.failure}; {len(failed)} format failure(s)): "
                "see stages[].raw in result.json; a model policy may need another --prompt-dir, --max-tokens "
                "or --model")  # fmt: skip
    first = result.stages[0]
    if not first.prompts:
        m = _THINK.search(first.raw)
        said = " ".join((m.group(1) if m else first.reasoning or "").split())
        return f"the policy found no place for the query: {said}" if said else (
            "the policy answered with no place for the query (its answer is stages[0].raw in result.json)")  # fmt: skip
    return (f"the policy proposed {len(first.prompts)} box(es) but the segmenter kept no mask in them; try "
            "--segmenter sam2 (or another --refine)")  # fmt: skip


def notices(result: AgentResult, max_instances: int) -> list[str]:
    """Return the warning lines for a result: the cap hit, and the reason for 0 instances."""
    lines = []
    if capped(result):
        lines.append(f"warning: an answer held more than --max-instances {max_instances} instances; only the first "
                     f"{max_instances} were kept: rerun with a larger --max-instances to keep them all")  # fmt: skip
    if not result.instances:
        lines.append(f"0 instances: {empty_reason(result)}")
    return lines
