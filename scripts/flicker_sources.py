"""Split trained landmarkers' flicker by source: encoding, lighting changes, sensor noise, motion.

Renders a static and a smooth-motion clip of the synthetic subject a dataset was made with (its
``synth.json``) under the four conditions of :mod:`genlmk.evaluation.flicker_sources`, runs every
checkpoint on them and prints flicker (percent of the box diagonal) per condition, with each
checkpoint's ratio to the first one's.

Usage:
    .venv/bin/python scripts/flicker_sources.py --data runs/synth_face \\
        --ckpt flow0=runs/flow1500_w0/landmarks/version_0/checkpoints/last.ckpt \\
        --ckpt flow20=runs/fw20_win31/landmarks/version_0/checkpoints/last.ckpt
    (--frames N, --seed S: the clips' length and the seed of their poses, lighting and noise)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from genlmk.atomic_files import atomic_write
from genlmk.data.synthetic import load_synthetic_dataset
from genlmk.errors import GenlmkError
from genlmk.evaluation.flicker_sources import CONDITIONS, flicker_by_source
from genlmk.inference.landmarker import Landmarker


def parse_checkpoint(text: str) -> tuple[str, str]:
    name, separator, path = text.partition("=")
    if not separator or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=CHECKPOINT, got {text!r}")
    return name, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("runs/synth_face"), help="a `genlmk synth` folder")
    parser.add_argument(
        "--ckpt", type=parse_checkpoint, action="append", required=True, help="NAME=CHECKPOINT (repeat)"
    )
    parser.add_argument("--frames", type=int, default=120, help="frames per clip")
    parser.add_argument("--seed", type=int, default=7, help="seed of the clips' poses, lighting and noise")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.frames < 2:
        raise SystemExit(f"--frames must be at least 2 for flicker, got {args.frames}")

    names = [name for name, _ in args.ckpt]
    if len(set(names)) < len(names):
        raise SystemExit(f"--ckpt names must differ, got {names}")
    try:
        subject, config = load_synthetic_dataset(args.data)
        predictors = {name: Landmarker.from_checkpoint(path) for name, path in args.ckpt}
    except GenlmkError as exc:
        raise SystemExit(str(exc)) from None
    figures = {}
    for clip, moving in (("static", False), ("smooth", True)):
        poses = subject.clip_poses(np.random.default_rng(args.seed), config.motion, args.frames, moving)
        figures[clip] = flicker_by_source(predictors, subject, poses, seed=args.seed, fps=config.fps)

    headers = names + [f"{n}/{names[0]}" for n in names[1:]]
    width = max(9, *(len(h) for h in headers)) + 2
    print(f"{'clip':7s} {'condition':15s}" + "".join(f"{h:>{width}s}" for h in headers))
    for clip, by_condition in figures.items():
        for condition in CONDITIONS:
            row = by_condition[condition]
            base = row[names[0]]
            cells = [f"{row[n]:{width}.3f}" for n in names]
            cells += [f"{row[n] / base:{width}.2f}" if base > 0 else f"{'-':>{width}s}" for n in names[1:]]
            print(f"{clip:7s} {condition:15s}" + "".join(cells))
    if args.out:
        try:
            with atomic_write(args.out, "flicker figures", "w", encoding="utf-8") as handle:
                json.dump({"seed": args.seed, "frames": args.frames, "flicker": figures}, handle, indent=2)
        except GenlmkError as exc:
            raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main()
