"""Template extraction on synthetic photos of strokes painted along known polylines.

For each motif (straight, curve, closed, tee, cross, loop_stems) and for mixed scenes, it
paints ``--photos`` photos (2x2 cells of 128 px; random paint colour, stroke width 2-7 px,
skin-like texture, illumination, blur, sensor noise, JPEG), extracts a template with the
paint colour found automatically, and prints per group:

- distance: the mean distance of the extracted landmarks to their true line, pixels (median
  and worst photo), and the 95th percentile over all landmarks;
- completeness: mean distance from the true lines to the extracted ones, pixels (median);
- lines right / closed right: the share of photos with the right number of lines, and with
  every closed line closed and no open line closed;
- width error: median |measured - true| stroke width, pixels;
- time: median extraction time per photo, seconds.

Run: ``python scripts/bench_extract.py [--photos 10] [--seed 0] [--spacing 8]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from genlmk.template.benchmark import MOTIFS, make_scene, score_extraction
from genlmk.template.extract import extract_template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10, help="photos per group (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spacing", type=float, default=8.0, help="landmark spacing, pixels (default 8)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(
        f"{'group':<11} {'photos':>6} {'dist med':>8} {'dist max':>8} {'p95 lmk':>7} {'complete':>8} "
        f"{'lines ok':>8} {'closed ok':>9} {'width err':>9} {'time s':>6}"
    )
    totals = []
    for group in (*MOTIFS, "mixed"):
        rows = []
        for _ in range(args.photos):
            scene = make_scene(rng, motifs=None if group == "mixed" else [group] * 4)
            start = time.perf_counter()
            template = extract_template(scene.image, spacing=args.spacing)
            seconds = time.perf_counter() - start
            score = score_extraction(template, scene.polylines, scene.closed)
            rows.append((score, abs(template.marker.width - scene.width), seconds))
        totals.extend(rows)
        _print_row(group, rows)
    _print_row("all", totals)


def _print_row(group: str, rows: list) -> None:
    scores = [r[0] for r in rows]
    distances = np.array([s.mean_distance for s in scores])
    every = np.concatenate([s.distances for s in scores])
    print(
        f"{group:<11} {len(rows):>6} {np.median(distances):>8.3f} {distances.max():>8.3f} "
        f"{np.percentile(every, 95):>7.3f} {np.median([s.completeness for s in scores]):>8.3f} "
        f"{np.mean([s.lines_right for s in scores]):>8.0%} {np.mean([s.closed_right for s in scores]):>9.0%} "
        f"{np.median([r[1] for r in rows]):>9.2f} {np.median([r[2] for r in rows]):>6.2f}"
    )


if __name__ == "__main__":
    main()
