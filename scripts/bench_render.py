"""Marker renderer benchmark: forward + backward time per batch of 16 images at 128 px.

Usage: .venv/bin/python scripts/bench_render.py [--template face] [--batch 16] [--size 128] [--repeats 9]
Prints the median (and min/max) seconds per batch for each backend, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from genlmk.rendering import BACKENDS, MarkerRenderer, MarkerRenderSettings
from genlmk.template import load_template


def time_backend(backend: str, template, batch: int, repeats: int) -> list[float]:
    renderer = MarkerRenderer(template, MarkerRenderSettings(backend=backend))
    images = torch.rand(batch, 3, template.height, template.width)
    base = torch.as_tensor(template.points, dtype=torch.float32)
    landmarks = (base + 0.5 * torch.randn(batch, *base.shape)).requires_grad_(True)
    times = []
    for i in range(repeats + 2):  # two warm-up runs
        landmarks.grad = None
        start = time.perf_counter()
        out = renderer(images, landmarks)
        (out.images.mean() + out.coverage.mean()).backward()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="face")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    template = load_template(args.template).rescaled((args.size, args.size))
    print(
        f"marker renderer, forward+backward, batch {args.batch} x 3 x {args.size} x {args.size}, "
        f"template {template.name} ({template.num_landmarks} landmarks), {args.threads} threads, "
        f"{args.repeats} runs"
    )
    medians = {}
    for backend in BACKENDS:
        times = time_backend(backend, template, args.batch, args.repeats)
        medians[backend] = statistics.median(times)
        print(
            f"  {backend:10s} median {medians[backend] * 1e3:8.1f} ms   min {min(times) * 1e3:8.1f} ms   "
            f"max {max(times) * 1e3:8.1f} ms"
        )
    print(f"  pytorch3d / splat: {medians['pytorch3d'] / medians['splat']:.1f}x")


if __name__ == "__main__":
    main()
