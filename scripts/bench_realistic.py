"""The landmark benchmark on the photo-face subject, next to dlib's supervised 68-point detector.

1. ``write_photo_face_dataset`` (unless ``--data`` names a folder that has one),
2. ``genlmk fit`` with the cpu, heatmap and sessions presets (timed; through :mod:`bench_landmarks`),
3. ``genlmk predict`` on the held-out test frames, the head-turn + talking clip and the static clip,
4. the same frames through dlib's 68-point detector (when dlib imports),
5. for each: NME in % of the inter-ocular distance (outer eye corners, iBUG 36 and 45), NME of the
   visible and of the hidden landmarks, mean signed error (px, x and y) and flicker (clips); for a
   checkpoint that predicts visibility (``landmarker.visibility``) also how well its flags find the
   hidden landmarks (accuracy, recall and precision of "hidden").

dlib's figures are over the frames where it finds a face (``found``); genlmk predicts every frame.
The ``genlmk 1e`` rows score the clips' ``landmarks_smoothed.csv`` of ``genlmk predict --smooth
one-euro`` (the default filter settings). The ``template`` rows score the untrained template
itself (Delta = 0) as the prediction.

Usage:
    .venv/bin/python scripts/bench_realistic.py --out runs/bench_real
    (--data DIR reuses footage, --config NAME|YAML (repeatable; default cpu, heatmap, sessions),
    --steps, --size, --train/--test/--clip-frames frame counts, --seed, and any extra `genlmk fit`
    arguments after --)

Prints a table and writes OUT/benchmark.json and OUT/clip_smooth_overlay.png (eight frames of the
head-turn clip: ground truth green, predictions blue where the landmark is visible, red rings where
the head hides it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from bench_landmarks import fit_command, genlmk, train, untrained_predictions, write_strict_json

from genlmk.cli.fit import layered_init_args
from genlmk.data.images import read_image, write_image
from genlmk.data.landmark_csv import read_landmark_csv
from genlmk.data.landmark_files import read_landmarks, read_visibility
from genlmk.data.realistic_face import (
    PhotoSynthConfig,
    read_visibility_csv,
    visibility_path,
    write_photo_face_dataset,
)
from genlmk.data.synthetic import load_synthetic_dataset
from genlmk.data.video import read_video
from genlmk.errors import GenlmkError, InputDataError
from genlmk.evaluation.landmarks import landmark_scores, normalizer, visibility_flag_scores, visibility_scores

SETS = (("test", "test"), ("clip_smooth", "clip_smooth.mp4"), ("clip_static", "clip_static.mp4"))
# the recommended CPU recipe for footage of two capture sessions
RECIPE = ("cpu", "heatmap", "sessions")
INTER_OCULAR = "eye_r_0,eye_l_3"  # outer eye corners, iBUG 36 and 45 (templates/face.yaml)


def score(
    pred: np.ndarray, data: Path, name: str, keep: np.ndarray | None = None, flags: np.ndarray | None = None
) -> dict:
    """Figures of (F, 68, 2) predictions of a set's frames against its truth and visibility.

    Args:
        keep: (F,) bool, the frames to score (default all); flicker uses consecutive kept frames.
        flags: (F, 68) predicted visibility in [0, 1], scored when given.
    """
    gt, names, frames = read_landmark_csv(data / f"{name}_gt.csv")
    visible = read_visibility_csv(visibility_path(data / f"{name}_gt.csv"), names, frames)
    keep = np.ones(len(frames), dtype=bool) if keep is None else keep
    if not keep.any():
        return {"found": 0.0}
    pred, gt, visible = pred[keep], gt[keep], visible[keep]
    numbers = np.asarray(frames)[keep]
    scale, _ = normalizer(gt, names, INTER_OCULAR, str(data / f"{name}_gt.csv"))
    consecutive = np.flatnonzero(np.diff(numbers) == 1) if name != "test" else np.array([], dtype=int)
    figures = {
        "found": float(keep.mean()),
        **landmark_scores(pred, gt, scale, consecutive),
        **visibility_scores(pred, gt, scale, visible),
    }
    if flags is not None:
        figures.update(visibility_flag_scores(flags[keep], visible))
    return figures


def predictions(path: Path, data: Path, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(F, 68, 2) predictions of a landmark file and their (F, 68) visibility (None when the file
    has none), in the frame order of the set's ground truth.

    Raises:
        InputDataError: a ground-truth frame has no prediction.
    """
    _, names, frames = read_landmark_csv(data / f"{name}_gt.csv")
    pred, _, predicted = read_landmarks(path, names)
    position = {frame: i for i, frame in enumerate(predicted)}
    if any(frame not in position for frame in frames):
        raise InputDataError(f"{path}: a frame of {name}_gt.csv is not predicted")
    order = [position[frame] for frame in frames]
    flags = read_visibility(path, names)
    return pred[order], None if flags is None else flags[order]


def set_frames(data: Path, source: str) -> np.ndarray:
    """(F, H, W, 3) uint8 frames of a set: its PNG folder in name order, or its video."""
    if source.endswith(".mp4"):
        return read_video(data / source)
    return np.stack([read_image(path) for path in sorted((data / source).glob("*.png"))])


def overlay_sheet(data: Path, name: str, source: str, pred: np.ndarray, path: Path, count: int = 8) -> None:
    """Write ``count`` evenly spaced frames of a set, 4x enlarged, as one PNG: ground truth as small
    green dots, predictions of visible landmarks as filled blue dots, of hidden ones (by the
    ground truth's visibility) as red rings."""
    import cv2

    frames = set_frames(data, source)
    gt, names, numbers = read_landmark_csv(data / f"{name}_gt.csv")
    visible = read_visibility_csv(visibility_path(data / f"{name}_gt.csv"), names, numbers)
    zoom, tiles = 4, []
    for k in np.linspace(0, len(frames) - 1, count).astype(int):
        tile = cv2.resize(frames[k], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        for point in gt[k] * zoom:
            cv2.circle(tile, tuple(int(v) for v in point), 2, (0, 255, 0), -1)
        for point, shown in zip(pred[k] * zoom, visible[k]):
            centre = tuple(int(v) for v in point)
            if shown:
                cv2.circle(tile, centre, 3, (40, 120, 255), -1)
            else:
                cv2.circle(tile, centre, 5, (255, 0, 0), 2)
        tiles.append(tile)
    rows = [np.hstack(tiles[i : i + 4]) for i in range(0, len(tiles) - len(tiles) % 4, 4)]
    write_image(path, np.vstack(rows))


def dlib_rows(data: Path) -> list[dict] | None:
    """dlib's figures on every set, or None when dlib (the ``eval`` extra) is not installed."""
    try:
        from genlmk.evaluation.dlib_face import DlibFaceLandmarks

        detector = DlibFaceLandmarks(upsample=1)
    except GenlmkError:
        return None
    rows = []
    for name, source in SETS:
        found = detector.detect(set_frames(data, source))
        keep = found.found.all(dim=1).numpy()
        rows.append(
            {"set": name, "method": "dlib 68", **score(found.points.double().numpy(), data, name, keep)}
        )
    return rows


def make_data(args: argparse.Namespace) -> Path:
    """The footage folder: ``--data`` when it holds photo-face footage, else written under ``--out``."""
    data = Path(args.data) if args.data else Path(args.out) / "data"
    if (data / "template.yaml").is_file():
        load_synthetic_dataset(data)  # refuses a folder that is not a synth folder
        if not visibility_path(data / "test_gt.csv").is_file():
            raise InputDataError(
                f"{data}: no test_visible.csv; not photo-face footage (genlmk synth --subject photo-face)"
            )
        return data
    config = PhotoSynthConfig(
        size=args.size,
        train_marked=args.train,
        train_unmarked=args.train,
        test=args.test,
        train_video=2,  # the benchmark trains on frames; the video is not used
        clip_frames=args.clip_frames,
        seed=args.seed,
    )
    write_photo_face_dataset(data, config)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="photo-face footage folder to reuse (default: made under OUT/data)")
    parser.add_argument("--out", default="runs/bench_real")
    parser.add_argument(
        "--config", action="append", help="landmarks preset, name or YAML (default: cpu, then sessions)"
    )
    parser.add_argument("--steps", type=int, help="override trainer.max_steps")
    parser.add_argument("--size", type=int, default=128, help="frame size of new footage, pixels")
    parser.add_argument("--train", type=int, default=300, help="frames per training set of new footage")
    parser.add_argument("--test", type=int, default=60, help="held-out frames of new footage")
    parser.add_argument("--clip-frames", type=int, default=60, help="frames per clip of new footage")
    parser.add_argument("--seed", type=int, default=0, help="seed of new footage")
    parser.add_argument(
        "--roi",
        choices=("none", "auto"),
        default="none",
        help="auto: train with data.roi auto and predict with --roi auto (the part found and followed)",
    )
    parser.add_argument("fit_args", nargs="*", help="extra genlmk fit arguments (after --)")
    args = parser.parse_args()
    configs = args.config or list(RECIPE)
    layered_init_args(configs)  # a bad preset stops the run before it makes any folder or data
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = make_data(args)
    size = read_image(next((data / "test").glob("*.png"))).shape[0]

    fit = [*fit_command(configs, data, out), "--data.unmarked", str(data / "train_unmarked")]
    fit += ["--model.image_size", f"[{size}, {size}]"]
    if args.steps:
        fit += ["--trainer.max_steps", str(args.steps)]
    if args.roi == "auto":
        fit += ["--data.roi", "auto"]
    checkpoint, train_seconds = train(out, [*fit, *args.fit_args])

    rows = []
    for name, source in SETS:
        genlmk(
            "predict",
            "--ckpt",
            str(checkpoint),
            "--input",
            str(data / source),
            "--out",
            str(out / name),
            "--roi",
            args.roi,
            "--smooth",
            "one-euro",
        )
        methods = [("genlmk", out / name / "landmarks.csv")]
        if name != "test":  # the test frames are unrelated stills: nothing to filter over time
            methods.append(("genlmk 1e", out / name / "landmarks_smoothed.csv"))
        methods.append(("template", untrained_predictions(data, name, out)))
        for method, path in methods:
            pred, flags = predictions(path, data, name)
            # --roi auto writes frames where it lost the part as missing: scored as not found
            found = np.isfinite(pred).all(axis=(1, 2))
            rows.append({"set": name, "method": method, **score(pred, data, name, found, flags=flags)})
    head_turn, _ = predictions(out / "clip_smooth" / "landmarks.csv", data, "clip_smooth")
    overlay_sheet(data, "clip_smooth", "clip_smooth.mp4", head_turn, out / "clip_smooth_overlay.png")
    dlib = dlib_rows(data)
    rows += dlib or []
    summary = {
        "data": str(data),
        "frame_size": size,
        "checkpoint": str(checkpoint),
        "train_seconds": train_seconds,
        "command": " ".join(["genlmk", *fit, *args.fit_args]),
        "normalizer": "inter-ocular distance (outer eye corners, iBUG 36 and 45)",
        "dlib": dlib is not None,
        "results": rows,
    }
    write_strict_json(out / "benchmark.json", summary)

    print(f"\ntraining: {train_seconds / 60:.1f} min  ({summary['command']})")
    print(f"frames {size}x{size} px; NME in % of the inter-ocular distance; bias in px; flicker in %")
    head = ("set", "method", "found", "NME", "NME vis", "NME hid", "bias x", "bias y", "flicker")
    print(f"{head[0]:12s} {head[1]:9s}" + "".join(f" {h:>8s}" for h in head[2:]))
    keys = ("nme_percent", "nme_visible_percent", "nme_hidden_percent", "bias_x_px", "bias_y_px")
    for row in rows:
        figures = [100 * row["found"], *(row.get(k, float("nan")) for k in (*keys, "flicker_percent"))]
        print(f"{row['set']:12s} {row['method']:9s}" + "".join(f" {v:8.3f}" for v in figures))
    flagged = [row for row in rows if "visibility_accuracy" in row]
    if flagged:
        print("\npredicted visibility (a landmark is called hidden below 0.5):")
        keys = ("visibility_accuracy", "hidden_recall", "hidden_precision", "predicted_hidden_fraction")
        print(f"{'set':12s} {'method':9s} {'accuracy':>9s} {'recall':>9s} {'precision':>9s} {'called':>9s}")
        for row in flagged:
            print(f"{row['set']:12s} {row['method']:9s}" + "".join(f" {row[k]:9.3f}" for k in keys))
    if dlib is None:
        print("dlib: not importable (install the eval extra: pip install 'genlmk[eval]'), no dlib rows")


if __name__ == "__main__":
    try:
        main()
    except GenlmkError as exc:  # bad input: one line naming the file, no traceback
        raise SystemExit(f"error: {exc}") from None
