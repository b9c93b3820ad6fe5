"""Build the small policy's architecture from scratch: a ~1 M-parameter Qwen2.5-VL with its own tokenizer.

The model is a real `Qwen2_5_VLForConditionalGeneration` (transformers classes, M-RoPE, the Qwen2.5-VL vision
tower at toy width), with a word-level tokenizer that knows what the small policy reads and writes: the Qwen
special tokens, digits (one token each, as Qwen's tokenizer splits numbers), JSON punctuation, the answer
format's words, the words of its prompt templates, and the taxonomy's class, function and feature-kind
names; anything else (place names) is ``<unk>``, which costs nothing because the map-layer lookup has already
matched the query against the names. A ChatML chat template, and a processor whose pixel budget fits the
crops the policy is shown. Sizes follow the CPU spike (reference/tiny-vlm.md, model "S"): text 128 wide,
3 layers; vision 96 wide, depth 2.

``build_tiny_vlm(folder)`` writes a complete checkpoint folder (config, random weights, tokenizer, processor,
``socioagent.json`` naming its input mode) that `socio train sft --model folder` starts from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                  "<|image_pad|>", "<|video_pad|>"]  # fmt: skip
FORMAT_TOKENS = ["<think>", "</think>", "<answer>", "</answer>", "bbox_2d", "points"]
PUNCTUATION = list("[]{}:,\".-_<>/|()=+*#!?;'")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""ChatML without a system turn (it would cost tokens and teach nothing)."""


def vocabulary(prompt_texts: list[str]) -> list[str]:
    """Return the word list: format tokens' neighbours, prompt words, taxonomy names (sorted, deduplicated)."""
    from tools.taxonomy import CLASSES, FUNCTIONS

    words: set[str] = {"user", "assistant", "poi", "landuse", "road", "building", "water", "other", "name",
                       "class", "function", "unknown", "block", "area", "point", "none"}  # fmt: skip
    for text in prompt_texts:
        words |= set(re.findall(r"[A-Za-z]+", text))
    for key in [*CLASSES, *FUNCTIONS]:
        words |= set(re.findall(r"[A-Za-z]+", key.replace("_", " ")))
    return sorted(w for w in words if w not in FORMAT_TOKENS)


def build_tokenizer(prompt_texts: list[str]) -> Any:
    """Return the small policy's `PreTrainedTokenizerFast` (word level, digits split, a ChatML template)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for tok in ["<pad>", "<unk>", *map(str, range(10)), *PUNCTUATION, *vocabulary(prompt_texts)]:
        vocab.setdefault(tok, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(r"[0-9]|[^A-Za-z0-9]"), behavior="isolated")]
    )
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(SPECIAL_TOKENS)
    tok.add_tokens(FORMAT_TOKENS)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_vlm(
    folder: str | Path,
    prompt_texts: list[str],
    crop_px: int = 140,
    policy_config: dict[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """Write a random-initialised small policy checkpoint into ``folder`` and return it.

    Args:
        folder: where to write it (created if missing).
        prompt_texts: the prompt templates' texts, whose words join the vocabulary.
        crop_px: side of the images the policy is shown (the processor's pixel budget allows a square of it).
        policy_config: written as ``socioagent.json`` (the input mode the hf policy reads); None: standard inputs.
        seed: torch seed of the random weights.
    """
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    folder = Path(folder)
    tok = build_tokenizer(prompt_texts)
    ids = {t: tok.convert_tokens_to_ids(t) for t in [*SPECIAL_TOKENS, "<pad>"]}
    cfg = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=128, intermediate_size=384, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]},
                         bos_token_id=ids["<|im_start|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<pad>"],
                         tie_word_embeddings=False),
        vision_config=dict(depth=2, hidden_size=96, intermediate_size=192, num_heads=4, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, window_size=crop_px + 28,
                           out_hidden_size=128, fullatt_block_indexes=[1], in_channels=3),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    gc = model.generation_config
    gc.eos_token_id, gc.pad_token_id, gc.bos_token_id = ids["<|im_end|>"], ids["<pad>"], ids["<|im_start|>"]
    budget = (crop_px + 14) ** 2
    proc = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2, min_pixels=28 * 28,
                                              max_pixels=budget),
        tokenizer=tok, video_processor=Qwen2VLVideoProcessor(), chat_template=CHAT_TEMPLATE,
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    if policy_config is not None:
        (folder / "socioagent.json").write_text(json.dumps(policy_config, indent=2, sort_keys=True) + "\n")
    return folder
