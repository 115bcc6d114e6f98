"""The landmark benchmark on synthetic footage, end to end through the command line.

1. ``genlmk synth`` (unless the data folder exists),
2. ``genlmk fit`` with a preset (timed),
3. ``genlmk predict`` on the held-out test frames and on the smooth-motion and static clips,
4. ``genlmk evaluate landmarks`` on each, next to the untrained template (Delta = 0).

When the landmarker trains on the unmarked video, that video is scored too (set
``train_unmarked_video``): flicker on footage seen in training next to flicker on the unseen clips
shows how much of a temporal loss's effect carries over to new footage.

Usage:
    .venv/bin/python scripts/bench_landmarks.py --out runs/bench                  # the cpu preset
    .venv/bin/python scripts/bench_landmarks.py --out runs/bench_video --video    # unmarked video
    .venv/bin/python scripts/bench_landmarks.py --out runs/bench_flow --flow 1.0  # + flow loss
    .venv/bin/python scripts/bench_landmarks.py --out runs/bench_eq --equivariance 5  # + equivariance
    .venv/bin/python scripts/bench_landmarks.py --out runs/bench_order --order 1  # + line order
    .venv/bin/python scripts/bench_landmarks.py --out runs/bench_stable --config configs/landmarks/cpu.yaml \
        --config configs/landmarks/heatmap.yaml --config configs/landmarks/video.yaml  # presets, laid over
    (--steps N, --data DIR, --template NAME, --config YAML (repeatable), and any extra `genlmk fit` arguments
    after --; --flow / --equivariance / --order set those weights over the presets' own, --flow 0 turns the
    flow loss of the video preset off)

Prints a table and writes OUT/benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from genlmk.atomic_files import atomic_write
from genlmk.checkpoints import load_checkpoint
from genlmk.cli.fit import layered_init_args
from genlmk.data.landmark_csv import read_landmark_csv, write_landmark_csv
from genlmk.errors import GenlmkError
from genlmk.evaluation.landmarks import evaluate_landmark_files
from genlmk.template import Template

SETS = (("test", "test"), ("clip_smooth", "clip_smooth.mp4"), ("clip_static", "clip_static.mp4"))
TRAINING_VIDEO = ("train_unmarked_video", "train_unmarked_video.mp4")


def genlmk(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "genlmk", *args], check=True)


def fit_command(configs: list[str], data: Path, out: Path) -> list[str]:
    """``genlmk fit`` arguments for ``configs`` on a synth folder's marked frames and template,
    logging under ``out`` (the unmarked footage and any override are the caller's to add)."""
    return [
        "fit",
        *(arg for config in configs for arg in ("--config", config)),
        "--data.marked",
        str(data / "train_marked"),
        "--model.template",
        str(data / "template.yaml"),
        "--trainer.logger.init_args.save_dir",
        str(out),
    ]


def train(out: Path, fit: list[str]) -> tuple[Path, float]:
    """Run ``genlmk`` with the ``fit`` arguments.

    Returns:
        The newest last checkpoint under ``out``, and the seconds training took.
    """
    start = time.perf_counter()
    genlmk(*fit)
    seconds = time.perf_counter() - start
    return max(
        out.glob("landmarks/version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime
    ), seconds


def write_strict_json(path: Path, summary: dict) -> None:
    """Write ``summary`` as strict JSON: a figure a set does not have (NaN) is null."""

    def strict(value):
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: strict(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strict(v) for v in value]
        return value

    with atomic_write(path, "benchmark summary", "w", encoding="utf-8") as handle:
        handle.write(json.dumps(strict(summary), indent=2, allow_nan=False))


def untrained_predictions(data: Path, name: str, out: Path) -> Path:
    """The template itself (Delta = 0) as a prediction for every frame of a set."""
    template = Template.load(data / "template.yaml")
    gt, _, frames = read_landmark_csv(data / f"{name}_gt.csv", template.names)
    path = out / f"untrained_{name}.csv"
    write_landmark_csv(path, np.broadcast_to(template.points, gt.shape), template.names, frames[0])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="runs/synth_face", help="synthetic data folder (made if missing)")
    parser.add_argument("--template", default="face")
    parser.add_argument(
        "--config", action="append", help="landmarks preset (repeatable, laid over each other; default: cpu)"
    )
    parser.add_argument("--out", default="runs/bench")
    parser.add_argument("--steps", type=int, help="override trainer.max_steps")
    parser.add_argument(
        "--video", action="store_true", help="train on the unmarked video in consecutive pairs, not on frames"
    )
    parser.add_argument("--flow", type=float, help="flow loss weight (above 0 implies --video)")
    parser.add_argument("--equivariance", type=float, help="equivariance loss weight")
    parser.add_argument(
        "--order", type=float, help="line order loss weight (which lines: model.losses.order.lines)"
    )
    parser.add_argument("fit_args", nargs="*", help="extra genlmk fit arguments (after --)")
    args = parser.parse_args()
    data, out = Path(args.data), Path(args.out)
    # the presets first: a bad one stops the run before it makes any folder or data
    configs = args.config or ["configs/landmarks/cpu.yaml"]
    layered = layered_init_args(configs)
    data_args = layered["data"]
    out.mkdir(parents=True, exist_ok=True)
    if not (data / "template.yaml").is_file():
        genlmk("synth", "--template", args.template, "--out", str(data))

    fit = fit_command(configs, data, out)
    on_video = args.video or (args.flow or 0) > 0 or data_args.get("temporal", False)
    if on_video:
        fit += ["--data.unmarked", str(data / TRAINING_VIDEO[1]), "--data.temporal", "true"]
    else:
        fit += ["--data.unmarked", str(data / "train_unmarked")]
    chosen = {"flow": args.flow, "equivariance": args.equivariance, "order": args.order}
    for name, weight in chosen.items():
        if weight is not None:
            fit += [f"--model.losses.{name}.weight", str(weight)]
    if args.steps:
        fit += ["--trainer.max_steps", str(args.steps)]
    checkpoint, train_seconds = train(out, [*fit, *args.fit_args])

    # the weights the run trained with, whatever set them (presets, --flow, a --model.losses after --)
    losses = load_checkpoint(checkpoint)["hyper_parameters"]["losses"]
    trained_weights = {term: block["weight"] for term, block in losses.items()}

    rows = []
    for name, source in (*SETS, TRAINING_VIDEO) if on_video else SETS:
        genlmk("predict", "--ckpt", str(checkpoint), "--input", str(data / source), "--out", str(out / name))
        trained = evaluate_landmark_files(out / name / "landmarks.csv", data / f"{name}_gt.csv")
        untrained = evaluate_landmark_files(untrained_predictions(data, name, out), data / f"{name}_gt.csv")
        # flicker and gain need consecutive frames: the clips, not the independent test frames
        clip = source.endswith(".mp4")
        flick = trained["flicker_percent"] if clip else float("nan")
        gain = trained["motion_gain"] if clip else float("nan")
        rows.append(
            {
                "set": name,
                "nme": trained["nme_percent"],
                "flicker": flick,
                "motion_gain": gain,
                "untrained_nme": untrained["nme_percent"],
            }
        )
    summary = {
        "checkpoint": str(checkpoint),
        "train_seconds": train_seconds,
        "flow_weight": trained_weights["flow"],
        "equivariance_weight": trained_weights["equivariance"],
        "order_weight": trained_weights["order"],
        "unmarked": "video" if on_video else "frames",
        "command": " ".join(["genlmk", *fit, *args.fit_args]),
        "results": rows,
    }
    write_strict_json(out / "benchmark.json", summary)
    print(f"\ntraining: {train_seconds / 60:.1f} min  ({summary['command']})")
    print(f"{'set':20s} {'NME %':>7s} {'untrained NME %':>16s} {'ratio':>6s} {'flicker %':>10s} {'gain':>6s}")
    for row in rows:
        print(
            f"{row['set']:20s} {row['nme']:7.3f} {row['untrained_nme']:16.3f} "
            f"{row['nme'] / row['untrained_nme']:6.3f} {row['flicker']:10.3f} {row['motion_gain']:6.3f}"
        )


if __name__ == "__main__":
    try:
        main()
    except GenlmkError as exc:  # bad input: one line naming the file, no traceback
        raise SystemExit(f"error: {exc}") from None
