"""Motion-transfer inference benchmark: keypoint detector on 2 frames + generator, one 256 px frame pair.

Usage: python scripts/bench_motion.py [--ckpt vox-cpk.pth.tar] [--size 256] [--threads 2] [--repeats 9]
Without --ckpt the networks have the vox-256 sizes and random weights (the time does not depend on
the values). The networks run as ``genlmk animate`` runs them (``MotionTransfer``: eval mode,
channels-last layout, inference mode). Prints the median (and min/max) seconds per frame pair and
the process's peak resident memory. One pair = the keypoints of the source and the driving frame
(one detector call on both) and one generator call.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch

from genlmk.geometry.keypoints import Keypoints
from genlmk.inference.motion import MotionTransfer
from genlmk.networks.fomm import VOX_256, build_generator, build_kp_detector


def animate_pair(model: MotionTransfer, frames: torch.Tensor) -> torch.Tensor:
    """Keypoints of (source, driving) in one detector call, then the generator: (1, 3, S, S)."""
    kp = model.kp_detector(frames)
    source = Keypoints(kp.value[:1], kp.jacobian[:1])
    driving = Keypoints(kp.value[1:], kp.jacobian[1:])
    return model.generator(frames[:1], source, driving).prediction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", help="a released FOMM checkpoint or a genlmk motion checkpoint")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    if args.size < 128:
        # the detector's hourglass halves a quarter-size frame five times: 128 px is the least it takes
        raise SystemExit(f"--size must be at least 128 px for the vox-256 networks, got {args.size}")
    torch.set_num_threads(args.threads)
    if args.ckpt:
        model = MotionTransfer.from_checkpoint(args.ckpt)
    else:
        model = MotionTransfer(build_kp_detector(VOX_256).eval(), build_generator(VOX_256).eval())
    frames = torch.nn.functional.avg_pool2d(torch.rand(2, 3, args.size, args.size), 5, 1, 2)
    frames = frames.contiguous(memory_format=torch.channels_last)  # the layout MotionTransfer feeds
    times = []
    with torch.inference_mode():
        for i in range(args.repeats + 2):  # two warm-up runs
            start = time.perf_counter()
            animate_pair(model, frames)
            if i >= 2:
                times.append(time.perf_counter() - start)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"FOMM inference ({'checkpoint ' + args.ckpt if args.ckpt else 'vox-256 sizes, random weights'}), "
        f"one {args.size} px frame pair, batch 1, {args.threads} threads, {args.repeats} runs"
    )
    print(
        f"  keypoints (2 frames) + generator: median {statistics.median(times):.3f} s   "
        f"min {min(times):.3f} s   max {max(times):.3f} s"
    )
    print(f"  peak memory (RSS): {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
