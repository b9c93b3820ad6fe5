"""One-shot GPU benchmark of a real-size GRPO step: Qwen2.5-VL-3B (random weights, its real config) with LoRA,
G = 8, both stages, SAM 2.1-L (random weights) on 768-px SynthCity scenes. No download: the model is built
from its configuration here and saved locally; the tokenizer is a stand-in with Qwen's vocabulary size and
special-token ids (random weights emit random tokens, so answers run to --max-new-tokens: an upper bound).

Reports time per GRPO step, peak GPU memory, rollouts per minute. Targets (issue 7): fits one 80 GB GPU,
>= 64 rollouts/min. On CPU, ``--tiny`` runs the same code path at toy size (a smoke test of this script).

Usage on a lent GPU (carry sam2 as a wheel; see the device notes):
    python bench/bench_grpo_gpu.py --steps 2 --max-new-tokens 256
    python bench/bench_grpo_gpu.py --tiny --steps 1          # CPU smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

QWEN25_VL_3B = dict(
    text_config=dict(vocab_size=151936, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                     num_attention_heads=16, num_key_value_heads=2, max_position_embeddings=128000,
                     rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
                     bos_token_id=151643, eos_token_id=151645, pad_token_id=151643, tie_word_embeddings=True),
    vision_config=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, patch_size=14,
                       spatial_merge_size=2, temporal_patch_size=2, window_size=112, out_hidden_size=2048,
                       fullatt_block_indexes=[7, 15, 23, 31], in_channels=3),
    image_token_id=151655, video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653,
)  # fmt: skip
"""Qwen2.5-VL-3B-Instruct's architecture (config.json of the published checkpoint), rope in transformers-5 form."""

SPECIAL = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645, "<|vision_start|>": 151652,
           "<|vision_end|>": 151653, "<|image_pad|>": 151655, "<|video_pad|>": 151656}  # fmt: skip


def build_model(folder: Path, tiny: bool) -> Path:
    """Save a random-weights Qwen2.5-VL (3B, or the tests' tiny one) with a processor into ``folder``."""
    if tiny:
        from tests.fixtures.tiny_qwen import build_tiny_qwen25vl

        return build_tiny_qwen25vl(folder)
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    from tests.fixtures.tiny_qwen import CHAT_TEMPLATE, MULTI_CHAR_TOKENS, PUNCTUATION

    vocab = {"<unk>": 0}
    for tok in [*map(str, range(10)), *PUNCTUATION, *MULTI_CHAR_TOKENS]:
        vocab.setdefault(tok, len(vocab))
    while len(vocab) < 151643:
        vocab[f"<t{len(vocab)}>"] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(r"[0-9]|[^A-Za-z0-9]"), behavior="isolated")]
    )
    tok.decoder = decoders.Fuse()
    for name, idx in sorted(SPECIAL.items(), key=lambda kv: kv[1]):
        while tok.get_vocab_size() < idx:
            tok.add_special_tokens([f"<|reserved_{tok.get_vocab_size()}|>"])
        tok.add_special_tokens([name])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<|endoftext|>",
                                   eos_token="<|im_end|>")  # fmt: skip
    fast.chat_template = CHAT_TEMPLATE
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(**QWEN25_VL_3B)).to(torch.bfloat16)
    gc = model.generation_config
    gc.eos_token_id, gc.pad_token_id, gc.bos_token_id = 151645, 151643, 151643
    image_processor = Qwen2VLImageProcessor(min_pixels=3136, max_pixels=768 * 768)
    proc = Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=fast, video_processor=Qwen2VLVideoProcessor(),
                               chat_template=CHAT_TEMPLATE)  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=REPO / "runs" / "bench_grpo_gpu")
    ap.add_argument("--tiny", action="store_true", help="toy sizes on CPU: a smoke test of this script")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    import torch

    from evals.synthcity import generate
    from tools.segmenters import make_segmenter
    from train.config import GRPOConfig, LoRASettings
    from train.data import TrainData
    from train.grpo_loop import GRPOJob, train_grpo

    cuda = torch.cuda.is_available()
    size = 128 if args.tiny else 768
    data = args.root / f"synth-{size}"
    if not (data / "train" / "settings.json").is_file():
        generate(data, "train", 4, seed=0, size=size, formats=("raw",), progress=False)
    t0 = time.perf_counter()
    model = build_model(args.root / ("tiny" if args.tiny else "qwen25vl-3b-random"), args.tiny)
    build_s = time.perf_counter() - t0
    seg_spec = "sam2:random:tiny" if args.tiny else "sam2:random:large"
    kw = {"image_size": 256} if args.tiny else {}
    segmenter = make_segmenter(seg_spec, device="cuda" if cuda else "cpu", **kw)
    cfg = GRPOConfig(steps=args.steps, group_size=args.group_size, batch_size=args.group_size, micro_batch_size=2,
                     max_new_tokens=args.max_new_tokens, learning_rate=1e-5, gradient_checkpointing=not args.tiny,
                     lora=LoRASettings(rank=16, alpha=32, dropout=0.0), save_every=1000)  # fmt: skip
    out = args.root / f"run-{int(time.time())}"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    job = GRPOJob(TrainData.open(f"synth:{data}"), str(model), out, segmenter, seg_spec,
                  device="cuda" if cuda else "cpu", progress=False)  # fmt: skip
    train_grpo(job, cfg)
    wall = time.perf_counter() - t0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    chains = 2 * args.group_size * args.steps  # stage-1 and stage-2 answers
    result = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "model": "tiny" if args.tiny else "Qwen2.5-VL-3B (random weights)",
        "segmenter": seg_spec,
        "steps": args.steps,
        "group_size": args.group_size,
        "max_new_tokens": args.max_new_tokens,
        "build_s": round(build_s, 1),
        "wall_s_incl_load": round(wall, 1),
        "rollouts_per_s_median": sorted(r["rollouts_per_s"] for r in rows)[len(rows) // 2],
        "answers_per_min_incl_update": round(60 * chains / wall, 1),
        "encodes_per_group": [r["encodes_per_group"] for r in rows],
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
    }
    print(json.dumps(result, indent=2))
    (args.root / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
