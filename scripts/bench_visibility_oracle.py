"""What the visibility losses ask for when the landmarks are right: photo-face frames turned by yaw and
pitch, their true landmarks, and only the visibility logits optimised.

No network is trained, so this isolates the loss terms from the landmarker: for each weight of the
prior ``mean(-log v)`` (``--prior``, repeatable) and each mix of the terms that see the visibility
(``image``: L1 of the rendering on the unmarked frame against the marked frame of the same pose, as
the cycle term compares them; ``chamfer``: the visibility-weighted paint chamfer; ``both``), every
landmark of every frame starts visible (the network's starting logit) and its logit takes ``--steps``
Adam steps. The flags are then scored against the frames' ground-truth visibility
(:func:`genlmk.evaluation.landmarks.visibility_flag_scores`).

The ground truth is geometric (the landmark's surface faces the camera), the losses see paint: near
the silhouette a visible stroke can be so foreshortened that its pixels mix with the skin and the
paint segmentation finds nothing, and the losses then rightly call it hidden; precision against the
ground truth has that ceiling.

Usage:
    .venv/bin/python scripts/bench_visibility_oracle.py --out runs/vis_oracle
    (--size, --steps, --prior W (repeatable; default 0.05 0.5 5), --cycle and --chamfer: those terms'
    weights, as in the cpu preset)

Prints a table and writes OUT/visibility_oracle.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from bench_landmarks import write_strict_json

from genlmk.data.realistic_face import MARKED_SESSION, HeadPose, PhotoFace
from genlmk.errors import GenlmkError
from genlmk.evaluation.landmarks import visibility_flag_scores
from genlmk.losses import (
    chamfer_to_paint,
    estimate_paint_color,
    paint_weights,
    sample_paint_points,
    visibility_prior,
)
from genlmk.networks.deformation import VISIBLE_START
from genlmk.rendering import MarkerRenderer, ink_samples, sample_visibility

POSES = tuple(HeadPose(yaw=yaw, pitch=pitch) for yaw in (-25, -15, 0, 15, 25) for pitch in (-8, 8))
MIXES = {"image": (True, False), "chamfer": (False, True), "both": (True, True)}


def render_pairs(size: int) -> tuple[PhotoFace, dict[str, torch.Tensor], np.ndarray]:
    """The subject, and for every pose of :data:`POSES` its marked and unmarked frame (B, 3, S, S)
    in [0, 1], true landmarks (B, 68, 2) pixels, and (B, 68) bool visibility."""
    face = PhotoFace(size, jpeg=None)
    frames: dict[str, list] = {"marked": [], "unmarked": [], "landmarks": []}
    visible = []
    for pose in POSES:
        for key, marked in (("marked", True), ("unmarked", False)):
            # the same generator state for both: the two frames differ by the paint alone
            frame = face.render(pose, MARKED_SESSION, marked, np.random.default_rng(0), photometric=False)
            frames[key].append(torch.from_numpy(frame.image).permute(2, 0, 1).float() / 255.0)
        frames["landmarks"].append(torch.from_numpy(frame.landmarks).float())
        visible.append(frame.visible)
    return face, {key: torch.stack(values) for key, values in frames.items()}, np.stack(visible)


def fit_visibility(
    renderer: MarkerRenderer,
    frames: dict[str, torch.Tensor],
    color: torch.Tensor,
    prior: float,
    mix: tuple[bool, bool],
    weights: tuple[float, float],
    steps: int,
) -> np.ndarray:
    """Visibility (B, 68) in [0, 1] after ``steps`` Adam steps on the logits alone.

    Args:
        mix: (use the image L1, use the weighted chamfer). weights: (cycle, chamfer) weights.
    """
    image, chamfer = mix
    landmarks, marked = frames["landmarks"], frames["marked"]
    huber = 2.0 * renderer.template.marker.width
    stroke, _ = ink_samples(landmarks, renderer.sampling)
    logits = torch.full(landmarks.shape[:2], VISIBLE_START, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.05)
    for _ in range(steps):
        visible = torch.sigmoid(logits)
        loss = prior * visibility_prior(logits)
        if image:
            painted = renderer(frames["unmarked"], landmarks, visible).images
            loss = loss + weights[0] * F.l1_loss(painted, marked)
        if chamfer:
            paint, valid = sample_paint_points(paint_weights(marked, color), 512)
            sampled = sample_visibility(visible, renderer.sampling)
            loss = loss + weights[1] * chamfer_to_paint(stroke, paint, valid, huber, stroke_weights=sampled)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return torch.sigmoid(logits).detach().double().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/vis_oracle")
    parser.add_argument("--size", type=int, default=128, help="frame size, pixels")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps on the logits")
    parser.add_argument("--prior", type=float, action="append", help="prior weights (default 0.05, 0.5, 5)")
    parser.add_argument("--cycle", type=float, default=10.0, help="weight of the image L1 (the cycle term)")
    parser.add_argument("--chamfer", type=float, default=5.0, help="weight of the chamfer")
    args = parser.parse_args()
    torch.manual_seed(0)
    face, frames, visible = render_pairs(args.size)
    renderer = MarkerRenderer(face.template)
    color = estimate_paint_color(frames["marked"], torch.tensor(face.template.marker.color_unit))
    if color is not None:  # as fitting does with paint_color auto
        renderer.compositor.color.copy_(color)
    else:
        color = renderer.compositor.color
    rows = []
    for prior in args.prior or [0.05, 0.5, 5.0]:
        for name, mix in MIXES.items():
            flags = fit_visibility(
                renderer, frames, color, prior, mix, (args.cycle, args.chamfer), args.steps
            )
            rows.append(
                {
                    "prior": prior,
                    "terms": name,
                    **visibility_flag_scores(flags, visible),
                    "mean_v_visible": float(flags[visible].mean()),
                    "mean_v_hidden": float(flags[~visible].mean()) if (~visible).any() else float("nan"),
                }
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "frames": len(POSES),
        "size": args.size,
        "steps": args.steps,
        "hidden_fraction": float(1 - visible.mean()),
    }
    write_strict_json(
        out / "visibility_oracle.json",
        {**summary, "cycle": args.cycle, "chamfer": args.chamfer, "results": rows},
    )
    print(
        f"{len(POSES)} frames of {args.size} px, {100 * summary['hidden_fraction']:.1f}% of landmarks hidden"
    )
    keys = ("visibility_accuracy", "hidden_recall", "hidden_precision", "predicted_hidden_fraction")
    keys += ("mean_v_visible", "mean_v_hidden")
    head = ("prior", "terms", "accuracy", "recall", "precision", "called", "v visible", "v hidden")
    print(f"{head[0]:>8s} {head[1]:8s}" + "".join(f" {h:>9s}" for h in head[2:]))
    for row in rows:
        print(f"{row['prior']:8.3g} {row['terms']:8s}" + "".join(f" {row[k]:9.3f}" for k in keys))


if __name__ == "__main__":
    try:
        main()
    except GenlmkError as exc:  # bad input: one line naming the file, no traceback
        raise SystemExit(f"error: {exc}") from None
