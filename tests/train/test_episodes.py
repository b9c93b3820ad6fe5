"""Episode and Group: the data contract refuses inconsistent records with a message saying what to keep."""

import pytest

from train.episodes import Episode, Group, PromptInputs

INPUTS = PromptInputs(prompt_ids=(1, 2, 3), image_ids=("s/map", "s/sat"))


def episode(group_id: str = "g", stage: str = "localize", **kw) -> Episode:
    return Episode(stage, "s", group_id, INPUTS, (4, 5), (-0.5, -1.0), **kw)


def test_one_logprob_per_completion_token():
    with pytest.raises(ValueError, match="2 completion tokens but 1 behaviour log-probs"):
        Episode("localize", "s", "g", INPUTS, (4, 5), (-0.5,))


def test_prompt_ids_are_required():
    with pytest.raises(ValueError, match="token ids"):
        PromptInputs(prompt_ids=())


def test_parent_only_for_stage_two():
    assert episode(stage="refine", parent=3).parent == 3
    with pytest.raises(ValueError, match="parent is for stage-2"):
        episode(parent=0)


def test_group_membership_and_size():
    with pytest.raises(ValueError, match="GRPO needs >= 2"):
        Group("g", "localize", [episode()])
    with pytest.raises(ValueError, match="does not belong"):
        Group("g", "localize", [episode(), episode("h")])
    with pytest.raises(ValueError, match="does not belong"):
        Group("g", "refine", [episode(stage="refine"), episode()])


def test_rewards_then_advantages():
    g = Group("g", "localize", [episode(), episode()])
    with pytest.raises(ValueError, match="call set_rewards first"):
        _ = g.rewards
    with pytest.raises(ValueError, match="2 episodes but 1 rewards"):
        g.set_rewards([{"format": 1.0}, {"format": 0.0}], [1.0])
    with pytest.raises(ValueError, match="not finite"):
        g.set_rewards([{}, {}], [1.0, float("nan")])
    g.set_rewards([{"format": 1.0}, {"format": 0.0}], [1.0, 0.0])
    assert g.rewards == [1.0, 0.0]
    assert g.episodes[0].reward_terms == {"format": 1.0}
    g.set_advantages([1.0, -1.0])
    assert [e.advantage for e in g.episodes] == [1.0, -1.0]


def test_the_prompt_inputs_are_shared_by_reference():
    g = Group("g", "localize", [episode(), episode()])
    assert g.episodes[0].inputs is g.episodes[1].inputs
