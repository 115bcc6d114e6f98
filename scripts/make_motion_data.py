"""Write synthetic moving-subject videos in the First Order Motion Model layout (train/ and test/).

Usage: python scripts/make_motion_data.py data/motion-synth [--train 24] [--test 4] [--frames 32] [--size 64]
The `cpu` motion preset (configs/motion/cpu.yaml) trains on this folder.
"""

from __future__ import annotations

import argparse

from genlmk.data.synthetic_motion import write_synthetic_motion_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="output folder")
    parser.add_argument("--train", type=int, default=24, help="training videos (default 24)")
    parser.add_argument("--test", type=int, default=4, help="test videos (default 4)")
    parser.add_argument("--frames", type=int, default=32, help="frames per video (default 32)")
    parser.add_argument("--size", type=int, default=64, help="frame size in pixels (default 64)")
    parser.add_argument("--format", choices=("png", "mp4"), default="png", help="frame folders or mp4 files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = write_synthetic_motion_dataset(
        args.root, args.train, args.test, args.frames, args.size, args.seed, args.format
    )
    what = f"{args.train} training and {args.test} test videos ({args.frames} frames, {args.size} px)"
    print(f"wrote {what} to {root}")


if __name__ == "__main__":
    main()
