"""Chat-question planners: text in, a typed spatial plan (`agent.planner.plan.Plan`) out.

- `agent.planner.plan`: the plan types and `plan_text` (plan -> canonical question);
- `agent.planner.offline`: `plan_offline`, a grammar over the taxonomy (no weights, no network);
- `agent.planner.llm`: `plan_with_llm`, any OpenAI-compatible server with tool calling, validated, repaired once.
"""

from agent.planner.plan import NEAR_M, Plan, plan_text

__all__ = ["NEAR_M", "Plan", "plan_text"]
