"""Draw a run's metrics.jsonl as curves.png: reward per stage, losses, KL, validation gIoU, against the step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANELS = (
    ("reward", ("localize_reward", "refine_reward", "sft_loss")),
    ("IoU", ("final_iou", "val_giou")),
    ("update", ("kl", "clip_fraction", "grad_norm")),
)


def draw_curves(rows: list[dict[str, Any]], path: Path) -> None:
    """Write the metrics that ``rows`` hold as one PNG (panels without data are left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tools.files import atomic_write_bytes

    panels = [(t, [k for k in keys if any(k in r for r in rows)]) for t, keys in PANELS]
    panels = [(t, keys) for t, keys in panels if keys]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.4), squeeze=False)
    for ax, (title, keys) in zip(axes[0], panels, strict=True):
        for k in keys:
            pts = [(r["step"], r[k]) for r in rows if k in r and r[k] is not None]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="." if len(pts) < 40 else None, label=k)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
