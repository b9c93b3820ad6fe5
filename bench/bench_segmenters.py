"""Benchmark the segmenter backends on this machine: speed, and quality against the box itself.

Run ``.venv/bin/python bench/bench_segmenters.py`` (``--help`` for options). It prints machine info, then:

1. classical: median ms per box at 768x768, and mean IoU of classical vs box-as-mask on
   (a) synthetic textured shapes drawn here (oracle boxes), (b) SynthCity test scenes (oracle boxes,
   every place instance), when ``evals.synthcity`` is importable;
2. SAM 2 with random tiny weights (speed only, IoU is meaningless): ``set_scene`` seconds and
   ``predict`` ms for 1/4/16 boxes at 768x768 (medians), and the number of encodes for a query that
   makes two predict calls (must be 1).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from tools.schemas import Box, InstancePrompt, Point
from tools.segmenters import Segmenter, make_segmenter


def machine_info() -> str:
    """Return one line about the CPU, threads and library versions."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = "n/a" if not hasattr(os, "getloadavg") else " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"cpu: {cpu}; cores: {os.cpu_count()}; load average: {load}; torch threads: {torch.get_num_threads()}; "
        f"python {platform.python_version()}; torch {torch.__version__}; opencv {cv2.__version__}"
    )


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Return the IoU of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def box_mask(box: Box, h: int, w: int) -> np.ndarray:
    """Return the box filled as an (H, W) bool mask, clipped to the image."""
    m = np.zeros((h, w), dtype=bool)
    x1, y1 = max(int(np.floor(box.x1)), 0), max(int(np.floor(box.y1)), 0)
    x2, y2 = min(int(np.ceil(box.x2)), w), min(int(np.ceil(box.y2)), h)
    m[y1:y2, x1:x2] = True
    return m


def mask_box(mask: np.ndarray, pad: float = 0.0) -> Box:
    """Return the XYXY bounding box of a mask (pixel edges), padded by ``pad`` pixels."""
    ys, xs = np.nonzero(mask)
    return Box(x1=xs.min() - pad, y1=ys.min() - pad, x2=xs.max() + 1 + pad, y2=ys.max() + 1 + pad)


# --- synthetic textured shapes (cf. reference/offline-assets.md 6.1) -----------------------------------------


def _random_polygon(rng: np.random.Generator, cx: float, cy: float, r: float) -> np.ndarray:
    kind = rng.integers(4)
    if kind == 0:  # irregular star-convex polygon
        n = int(rng.integers(5, 10))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = r * rng.uniform(0.6, 1.0, n)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
    elif kind == 1:  # L shape
        a, t = r, r * rng.uniform(0.35, 0.6)
        pts = np.array([[-a, -a], [-a + t, -a], [-a + t, a - t], [a, a - t], [a, a], [-a, a]]) + np.array([cx, cy])
    elif kind == 2:  # plus / cross
        a, t = r, r * rng.uniform(0.3, 0.5)
        pts = np.array(
            [[-t, -a], [t, -a], [t, -t], [a, -t], [a, t], [t, t], [t, a], [-t, a], [-t, t], [-a, t], [-a, -t], [-t, -t]]
        ) + np.array([cx, cy])
    else:  # hexagon
        ang = np.arange(6) * np.pi / 3 + rng.uniform(0, np.pi)
        pts = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)
    return pts.round().astype(np.int32)


def synthetic_scene(seed: int, size: int = 768, n_shapes: int = 4) -> tuple[np.ndarray, list[np.ndarray]]:
    """Draw a noisy background with a road grid and textured filled polygons; return (image, gt masks)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(90, 160, 3)
    img = np.clip(base + rng.normal(0, 14, (size, size, 3)), 0, 255).astype(np.uint8)
    img = cv2.GaussianBlur(img, (3, 3), 0)
    for k in range(1, 4):
        c = int(k * size / 4 + rng.integers(-20, 20))
        cv2.line(img, (c, 0), (c, size), (60, 60, 60), 8)
        cv2.line(img, (0, c), (size, c), (60, 60, 60), 8)
    masks: list[np.ndarray] = []
    occupied = np.zeros((size, size), bool)
    for _ in range(50):
        if len(masks) == n_shapes:
            break
        r = float(rng.uniform(30, 110))
        cx, cy = rng.uniform(r + 5, size - r - 5, 2)
        pts = _random_polygon(rng, cx, cy, r)
        m = np.zeros((size, size), np.uint8)
        cv2.fillPoly(m, [pts], 1)
        m = m.astype(bool)
        if (m & occupied).any() or m.sum() < 400:
            continue
        colour = rng.integers(20, 235, 3)
        fill = np.clip(colour + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
        if rng.random() < 0.4:  # tree blobs inside, as in a park
            for _ in range(int(rng.integers(10, 40))):
                bx, by = rng.uniform(cx - r, cx + r), rng.uniform(cy - r, cy + r)
                cv2.circle(fill, (int(bx), int(by)), int(rng.integers(3, 9)), (colour * 0.6).tolist(), -1)
        img[m] = fill[m]
        occupied |= cv2.dilate(m.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        masks.append(m)
    return img, masks


# --- evaluation ----------------------------------------------------------------------------------------------


def eval_iou(
    segmenter: Segmenter,
    scenes: Callable[[], list[tuple[str, np.ndarray, list[np.ndarray]]]],
    pad: float = 2.0,
    points: bool = False,
    pad_frac: float = 0.0,
) -> dict[str, float]:
    """Return mean IoU of the segmenter and of the box-as-mask with oracle boxes, and the fallback rate.

    Each box is the instance's bounding box padded by ``pad`` pixels plus ``pad_frac`` of its longer side
    on every side (a loose box, as a policy might draw it), clipped to the image.
    """
    seg_ious, box_ious, fallbacks, ms = [], [], 0, []
    for scene_id, image, gts in scenes():
        if not gts:
            continue
        h, w = image.shape[:2]
        prompts = []
        for gt in gts:
            pts = []
            if points:
                ys, xs = np.nonzero(cv2.erode(gt.astype(np.uint8), np.ones((5, 5), np.uint8)))
                if len(xs):
                    j = len(xs) // 2
                    pts.append(Point(x=float(xs[j]), y=float(ys[j]), label=1))
            ys, xs = np.nonzero(gt)
            slack = pad + pad_frac * max(np.ptp(xs) + 1, np.ptp(ys) + 1)
            prompts.append(InstancePrompt(box=mask_box(gt, slack).clip(w, h), points=pts))
        segmenter.set_scene(scene_id, image)
        t = time.perf_counter()
        res = segmenter.predict(prompts)
        ms.append((time.perf_counter() - t) * 1000 / len(prompts))
        for gt, prompt, m, src in zip(gts, prompts, res.masks, res.sources, strict=True):
            seg_ious.append(iou(m, gt))
            box_ious.append(iou(box_mask(prompt.box, h, w), gt))
            fallbacks += src == "box-fallback"
    return {
        "n": len(seg_ious),
        "seg": float(np.mean(seg_ious)),
        "box": float(np.mean(box_ious)),
        "worse": float(np.mean(np.array(seg_ious) < np.array(box_ious) - 1e-9)),
        "fallback": fallbacks / max(1, len(seg_ious)),
        "ms_per_box": statistics.median(ms),
    }


def synthetic_scenes(n: int, size: int = 768) -> Callable[[], list[tuple[str, np.ndarray, list[np.ndarray]]]]:
    """Return a loader of ``n`` synthetic scenes."""

    @functools.cache
    def load() -> list[tuple[str, np.ndarray, list[np.ndarray]]]:
        out = []
        for seed in range(n):
            img, masks = synthetic_scene(seed, size)
            out.append((f"shapes-{seed}", img, masks))
        return out

    return load


def synthcity_scenes(n: int) -> Callable[[], list[tuple[str, np.ndarray, list[np.ndarray]]]]:
    """Return a loader of ``n`` SynthCity test scenes with one gt mask per place instance."""

    @functools.cache
    def load() -> list[tuple[str, np.ndarray, list[np.ndarray]]]:
        from evals.synthcity import generate_sample

        out = []
        for i in range(n):
            s = generate_sample(seed=0, index=i, split="test")
            gts = [s.instance_labels == inst["label"] for inst in s.instances]
            out.append((f"synthcity-{i}", s.scene.sat, [g for g in gts if g.any()]))
        return out

    return load


def random_boxes(rng: np.random.Generator, n: int, size: int) -> list[InstancePrompt]:
    """Return ``n`` random box prompts of 40-250 px inside a size x size image."""
    out = []
    for _ in range(n):
        w, h = rng.uniform(40, 250, 2)
        x, y = rng.uniform(0, size - w), rng.uniform(0, size - h)
        out.append(InstancePrompt(box=Box(x1=x, y1=y, x2=x + w, y2=y + h)))
    return out


def bench_classical_speed(size: int = 768, repeats: int = 5) -> dict[str, float]:
    """Return median ms per box of the classical segmenter on synthetic scenes (4-box queries, oracle boxes)."""
    seg = make_segmenter("classical")
    per_box = []
    for seed in range(repeats):
        img, masks = synthetic_scene(100 + seed, size)
        seg.set_scene(f"speed-{seed}", img)
        prompts = [InstancePrompt(box=mask_box(m, 2.0)) for m in masks]
        t = time.perf_counter()
        seg.predict(prompts)
        per_box.append((time.perf_counter() - t) * 1000 / len(prompts))
    return {"ms_per_box_median": statistics.median(per_box), "boxes_per_query": len(prompts)}


def sync(device: str) -> None:
    """Wait for the queued GPU work of a CUDA device, so a timer stopped after it measures the work."""
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


def bench_sam2(model: str = "random:tiny", size: int = 768, repeats: int = 3) -> dict[str, float]:
    """Return SAM 2 set_scene seconds and predict ms for 1/4/16 boxes (medians), and encodes per query."""
    import warnings

    import torch

    from tools.segmenters.sam2_backend import Sam2Segmenter

    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)

    rng = np.random.default_rng(0)
    t = time.perf_counter()
    seg = Sam2Segmenter(model=model, device="auto")
    out: dict[str, float] = {"build_s": time.perf_counter() - t}
    images = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(repeats + 1)]
    encode_s = []
    for i, img in enumerate(images):
        sync(seg.device)
        t = time.perf_counter()
        seg.set_scene(f"enc-{i}", img)
        sync(seg.device)  # CUDA runs the encoder asynchronously: stop the clock when it has finished
        if i:  # the first encode is a warm-up
            encode_s.append(time.perf_counter() - t)
    out["set_scene_s_median"] = statistics.median(encode_s)
    for n in (1, 4, 16):
        prompts = random_boxes(rng, n, size)
        seg.predict(prompts)  # warm-up
        times = []
        for _ in range(repeats):
            sync(seg.device)
            t = time.perf_counter()
            seg.predict(prompts)
            sync(seg.device)
            times.append((time.perf_counter() - t) * 1000)
        out[f"predict_ms_{n}_boxes_median"] = statistics.median(times)
    before = seg.encode_count
    query_image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    seg.set_scene("query", query_image)  # stage 1: localize -> segment
    seg.predict(random_boxes(rng, 3, size))
    seg.set_scene("query", query_image)  # stage 2: refine -> segment
    seg.predict(random_boxes(rng, 3, size))
    out["encodes_per_query"] = seg.encode_count - before
    out["device"] = seg.device  # type: ignore[assignment]
    out["torch_threads"] = torch.get_num_threads()
    return out


def _fmt(r: dict) -> str:
    return ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items())


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", type=int, default=20, help="synthetic scenes for the IoU table (0 skips)")
    ap.add_argument("--synthcity", type=int, default=50, help="SynthCity test samples for the IoU table (0 skips)")
    ap.add_argument("--sam2", default="random:tiny", help="SAM 2 model to time ('' skips)")
    args = ap.parse_args()
    print(machine_info())

    print("\n== classical: speed at 768x768 ==")
    print(_fmt(bench_classical_speed()))

    print("\n== classical vs box-as-mask, oracle boxes (bbox + 2 px, + a slack of 5% / 10% of the box) ==")
    print("| data | prompt | instances | classical mIoU | box mIoU | worse than box | fallback | ms/box |")
    print("|---|---|---|---|---|---|---|---|")
    classical = make_segmenter("classical")
    loaders = [("shapes", synthetic_scenes(args.shapes))] if args.shapes else []
    if args.synthcity:
        loaders.append(("synthcity-test", synthcity_scenes(args.synthcity)))
    variants = [(0.0, False), (0.0, True), (0.05, False), (0.1, False)]
    for name, loader in loaders:
        for pad_frac, pts in variants:
            try:
                r = eval_iou(classical, loader, points=pts, pad_frac=pad_frac)
            except ImportError as e:
                print(f"| {name} | skipped: {e} |")
                break
            prompt = ("box" if not pad_frac else f"box + {pad_frac:.0%} slack") + (" + 1 positive point" if pts else "")
            print(
                f"| {name} | {prompt} | {r['n']} | {r['seg']:.3f} | {r['box']:.3f} | {r['worse']:.1%} "
                f"| {r['fallback']:.1%} | {r['ms_per_box']:.0f} |"
            )

    if args.sam2:
        print(f"\n== SAM 2 {args.sam2} at 768x768 (random weights: speed only) ==")
        print(_fmt(bench_sam2(args.sam2)))


if __name__ == "__main__":
    main()
