"""Batch prompts and completions for one forward pass and read the completion tokens' log-probs.

Both trainers need the same thing: for a list of (prompt as the model saw it, completion tokens), the
log-prob of every completion token under a model, in one padded forward pass. Prompts are left-padded and
completions right-padded, so every completion starts at the same position and ``logits_to_keep`` keeps only
the logits that predict completion tokens. The processor's per-token tensors (``mm_token_type_ids``, which
Qwen-VL's M-RoPE needs: without it positions silently fall back to 1-D) are padded alongside; the image
tensors (``pixel_values``, ``image_grid_thw``) are concatenated in batch order, as the model expects.

SFT's loss is the negative mean of these log-probs over the answer tokens; GRPO's is `train.grpo.policy_loss`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from train.episodes import PromptInputs
from train.grpo import completion_logprobs

SEQUENCE_TENSORS = ("mm_token_type_ids", "token_type_ids")
"""Processor outputs with one value per prompt token: padded with the prompt, not concatenated."""
SKIP_TENSORS = ("input_ids", "attention_mask")


@dataclass(frozen=True)
class Completion:
    """One prompt and the completion tokens to score under it."""

    prompt: PromptInputs
    completion_ids: tuple[int, ...]


def prompt_inputs(inputs: Any, image_ids: Sequence[str] = ()) -> PromptInputs:
    """Return the `PromptInputs` of one processor output (batch of one), tensors kept on their device."""
    ids = tuple(int(t) for t in inputs["input_ids"][0].tolist())
    tensors = {k: v for k, v in inputs.items() if k not in SKIP_TENSORS}
    return PromptInputs(prompt_ids=ids, image_ids=tuple(image_ids), tensors=tensors)


def collate(batch: Sequence[Completion], pad_id: int, device: Any) -> tuple[dict[str, Any], Any, int]:
    """Return the model inputs of a batch, the (B, T) completion mask and T.

    Raises:
        ValueError: the batch is empty, or a completion is empty.
    """
    import torch

    if not batch:
        raise ValueError("cannot collate an empty batch")
    if any(not c.completion_ids for c in batch):
        raise ValueError("a completion has no tokens; drop it or give it the end-of-turn token")
    p_max = max(len(c.prompt.prompt_ids) for c in batch)
    t_max = max(len(c.completion_ids) for c in batch)
    ids, mask, cmask = [], [], []
    per_token: dict[str, list[Any]] = {}
    stacked: dict[str, list[Any]] = {}
    for c in batch:
        p, t = len(c.prompt.prompt_ids), len(c.completion_ids)
        left, right = p_max - p, t_max - t
        ids.append([pad_id] * left + list(c.prompt.prompt_ids) + list(c.completion_ids) + [pad_id] * right)
        mask.append([0] * left + [1] * (p + t) + [0] * right)
        cmask.append([1] * t + [0] * right)
        for k, v in c.prompt.tensors.items():
            if k in SEQUENCE_TENSORS:
                row = v[0].to(device)
                zeros = torch.zeros(left, dtype=row.dtype, device=device)
                tail = torch.zeros(t + right, dtype=row.dtype, device=device)
                per_token.setdefault(k, []).append(torch.cat([zeros, row, tail]))
            else:
                stacked.setdefault(k, []).append(v.to(device))
    inputs: dict[str, Any] = {
        "input_ids": torch.tensor(ids, device=device),
        "attention_mask": torch.tensor(mask, device=device),
    }
    inputs |= {k: torch.stack(v) for k, v in per_token.items()}
    inputs |= {k: torch.cat(v, 0) for k, v in stacked.items()}
    completion_mask = torch.tensor(cmask, device=device, dtype=torch.float32)
    return inputs, completion_mask, t_max


def batch_logprobs(model: Any, batch: Sequence[Completion], pad_id: int, temperature: float = 1.0) -> tuple[Any, Any]:
    """Return (B, T) log-probs of the completion tokens under ``model`` and the (B, T) completion mask.

    Padding positions hold meaningless values: weigh them by the mask. Gradients flow when called outside
    ``torch.no_grad``.
    """
    device = next(model.parameters()).device
    inputs, completion_mask, t = collate(batch, pad_id, device)
    out = model(**inputs, logits_to_keep=t + 1, use_cache=False)
    logits = out.logits[:, :-1]
    targets = inputs["input_ids"][:, -t:]
    logps = completion_logprobs(logits, targets, temperature)
    return logps, completion_mask
