"""Benchmark landmark prediction on the CPU: the network, Landmarker.predict, and `genlmk predict`.

    python scripts/bench_predict.py [--config configs/landmarks/cpu.yaml] [--threads 2] [--frames 1000]
    python scripts/bench_predict.py --config configs/landmarks/cpu.yaml \
        --config configs/landmarks/heatmap.yaml     # the heatmap head
    python scripts/bench_predict.py --compile --skip-e2e   # also compiled with torch.compile
    python scripts/bench_predict.py --skip-e2e --roi-ckpt fit/landmarks.ckpt  # tracked 1080p

Prints medians over several runs of:
- the landmark network alone (float images at the model input size): latency at batch 1 and
  throughput at batch 64;
- ``Landmarker.predict`` on uint8 frames at the model input size (adds the input preparation
  and the mapping to frame pixels), and on frames twice that size (adds the resize);
- end-to-end ``genlmk predict`` frames per second on a synthetic video (SyntheticSubject, smooth
  motion, --video-size px, --frames frames), including decoding and writing landmarks.csv, with
  and without overlay.mp4;
- with ``--roi-ckpt CKPT`` (a trained landmarker), ``genlmk predict --roi auto`` on a
  --roi-width x --roi-height video (--frames frames) where the subject (--video-size px) moves
  across a noisy canvas: frames/s including decoding, tracking and writing landmarks.npz (no
  overlay) next to decoding alone (the bound on that figure), lost frames, and the NME (mean
  point error over the square root of the ground truth's bounding-box area) of the tracked
  landmarks against that of the same checkpoint on ground-truth crops of the same frames; the
  same on a --roi-fast-frames video where the subject crosses the canvas in that many frames
  (lost frames and NME); with ``--roi-leave`` also on the first video with the subject covered
  for a stretch (lost frames while it is away and while it is there, NME while it is there);
- with ``--compile``, the network and ``predict`` again, compiled by ``Landmarker.compile`` for
  each batch size (inductor; needs a C++ compiler), and the compile times.
The network comes from the ``landmarker`` block and ``image_size`` of the config (several
``--config`` files are laid over each other as ``genlmk fit`` does, per ``model.init_args`` key), with random
weights (speed does not depend on them). The load average is printed: on a shared machine,
compare figures taken under similar load only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from genlmk.checkpoints import KIND_KEY, TEMPLATE_KEY, atomic_torch_save
from genlmk.cli.fit import layered_init_args
from genlmk.cli.main import main as genlmk_main
from genlmk.data.canvas import canvas_background, moving_boxes, place_on_canvas
from genlmk.data.synthetic import MotionRange, SyntheticSubject
from genlmk.data.video import VideoWriter, iter_video_frames
from genlmk.errors import GenlmkError
from genlmk.inference.landmarker import Landmarker
from genlmk.inference.streaming import batched_frames
from genlmk.networks.deformation import build_landmarker
from genlmk.template import load_template

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(call: Callable[[], object], repeats: int, runs: int, warmup: int = 10) -> float:
    """Median over ``runs`` of the mean time of ``repeats`` calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(repeats):
            call()
        times.append((time.perf_counter() - start) / repeats)
    return statistics.median(times)


def load_preset(configs: list[Path]) -> tuple[dict, tuple[int, int], str]:
    init = layered_init_args(configs)["model"]
    size = init.get("image_size", [128, 128])
    return init.get("landmarker") or {}, (int(size[0]), int(size[1])), init.get("template", "face")


def write_checkpoint(path: Path, config: dict, size: tuple[int, int], template_name: str) -> None:
    template = load_template(template_name)
    points = torch.as_tensor(template.rescaled(size).points, dtype=torch.float32)
    network = build_landmarker(config, points, size)
    atomic_torch_save(
        {
            KIND_KEY: "landmarks",
            TEMPLATE_KEY: template.to_dict(),
            "hyper_parameters": {"image_size": list(size), "landmarker": config},
            "state_dict": {f"landmarker.{k}": v for k, v in network.state_dict().items()},
        },
        path,
    )


def write_synthetic_video(path: Path, template_name: str, size: int, frames: int) -> None:
    subject = SyntheticSubject(load_template(template_name), size, seed=0)
    rng = np.random.default_rng(0)
    poses = subject.clip_poses(rng, MotionRange(), frames, moving=True)
    with VideoWriter(path, fps=25.0) as writer:
        for pose in poses:
            writer.write(subject.render(pose, rng, marked=False)[0])


def bench_network(
    landmarker_for: Callable[[int], Landmarker], runs: int, label: str = ""
) -> list[tuple[str, str]]:
    """Rows for the network and ``predict`` at batch 1 and 64; ``landmarker_for(batch)`` gives the
    landmarker to time at that batch size, ``label`` goes after each row's name."""
    rows = []
    gen = np.random.default_rng(0)
    for batch, repeats in ((1, 200), (64, 10)):
        landmarker = landmarker_for(batch)
        width, height = landmarker.image_size
        images = torch.rand(batch, 3, height, width)
        frames = gen.integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
        big = gen.integers(0, 256, (batch, 2 * height, 2 * width, 3), dtype=np.uint8)
        cases = (
            ("network", lambda images=images, lm=landmarker: lm.run_network(images)),
            (f"predict {width}x{height} uint8", lambda f=frames, lm=landmarker: lm.predict(f)),
            (f"predict {2 * width}x{2 * height} uint8", lambda f=big, lm=landmarker: lm.predict(f)),
        )
        with torch.inference_mode():
            for name, call in cases:
                seconds = median_seconds(call, repeats, runs)
                figure = f"{seconds * 1e3:.3f} ms" if batch == 1 else f"{batch / seconds:.0f} frames/s"
                rows.append((f"{name}{label}, batch {batch}", figure))
    return rows


def compiling(checkpoint: Path, rows: list[tuple[str, str]]) -> Callable[[int], Landmarker]:
    """``batch -> Landmarker`` compiled for that batch size; each compile time is added to ``rows``."""

    def landmarker_for(batch: int) -> Landmarker:
        landmarker = Landmarker.from_checkpoint(checkpoint)
        seconds = landmarker.compile(batch)
        rows.append((f"torch.compile time, batch {batch}", f"{seconds:.1f} s"))
        return landmarker

    return landmarker_for


def bench_end_to_end(checkpoint: Path, video: Path, frames: int, runs: int) -> list[tuple[str, str]]:
    rows = []
    for label, extra in (("with overlay", []), ("without overlay", ["--no-overlay"])):
        times = []
        for run in range(runs):
            with tempfile.TemporaryDirectory() as out:
                args = ["predict", "--ckpt", str(checkpoint), "--input", str(video), "--out", out, *extra]
                start = time.perf_counter()
                if genlmk_main(args) != 0:
                    raise SystemExit(f"genlmk predict failed (run {run})")
                times.append(time.perf_counter() - start)
        rows.append((f"genlmk predict, {label}", f"{frames / statistics.median(times):.0f} frames/s"))
    return rows


def write_moving_canvas_video(
    path: Path, template_name: str, subject_size: int, canvas: tuple[int, int], frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """A video of the cartoon subject pasted at a moving place on a noisy ``(width, height)`` canvas.

    Returns:
        (F, N, 2) ground-truth landmarks in frame pixels and (F, 4) the pasted squares ``x, y, w, h``.
    """
    subject = SyntheticSubject(load_template(template_name), subject_size, seed=0)
    rng = np.random.default_rng(0)
    poses = subject.clip_poses(rng, MotionRange(), frames, moving=True)
    background = canvas_background(canvas, rng)
    boxes = moving_boxes(frames, canvas, subject_size)
    truth = []
    with VideoWriter(path, fps=25.0) as writer:
        for pose, box in zip(poses, boxes, strict=True):
            image, landmarks = subject.render(pose, rng, marked=False)
            writer.write(place_on_canvas(image, background, box, rng))
            truth.append(landmarks + box[:2])
    return np.stack(truth), boxes


def normalized_error(points: np.ndarray, truth: np.ndarray) -> float:
    """Mean point error over found frames / the square root of the truth's bounding-box area."""
    found = np.isfinite(points).all(axis=(1, 2))
    extent = truth.max(axis=1) - truth.min(axis=1)
    errors = np.linalg.norm(points - truth, axis=-1).mean(axis=1) / np.sqrt(extent.prod(axis=1))
    return float(errors[found].mean())


def bench_tracking(
    checkpoint: Path, tmp: Path, template_name: str, args: argparse.Namespace
) -> list[tuple[str, str]]:
    """``genlmk predict --roi auto`` on a moving subject in a large frame against ground-truth crops."""
    canvas = (args.roi_width, args.roi_height)
    video = tmp / "moving.mp4"
    truth, squares = write_moving_canvas_video(video, template_name, args.video_size, canvas, args.frames)
    start = time.perf_counter()
    decoded = sum(1 for _ in iter_video_frames(video))
    decode_seconds = time.perf_counter() - start
    tracked, found, seconds = track_video(checkpoint, video, tmp / "tracked")
    rows = [
        (f"decoding alone (RGB frames), {canvas[0]}x{canvas[1]}", f"{decoded / decode_seconds:.0f} frames/s"),
        (f"--roi auto {canvas[0]}x{canvas[1]}, decode+track+write", f"{args.frames / seconds:.0f} frames/s"),
        *scored_tracking("", checkpoint, video, tracked, found, truth, squares),
    ]
    if args.roi_fast_frames:
        fast = tmp / "fast.mp4"
        fast_truth, fast_squares = write_moving_canvas_video(
            fast, template_name, args.video_size, canvas, args.roi_fast_frames
        )
        fast_tracked, fast_found, _ = track_video(checkpoint, fast, tmp / "fast")
        label = f"across in {args.roi_fast_frames} frames: "
        rows += scored_tracking(label, checkpoint, fast, fast_tracked, fast_found, fast_truth, fast_squares)
    return rows + (bench_leaving(checkpoint, video, tmp, truth, squares) if args.roi_leave else [])


def scored_tracking(
    label: str,
    checkpoint: Path,
    video: Path,
    tracked: np.ndarray,
    found: np.ndarray,
    truth: np.ndarray,
    squares: np.ndarray,
) -> list[tuple[str, str]]:
    """Lost frames and the NME of (F, N, 2) tracked landmarks next to the same checkpoint's on the
    (F, 4) ground-truth squares of the video's frames."""
    landmarker = Landmarker.from_checkpoint(checkpoint)
    # streamed: 1000 frames of 1080p would take 6 GB at once
    batches = batched_frames(iter_video_frames(video), 64)
    on_truth = np.concatenate(
        [landmarker.predict(batch, squares[i * 64 : i * 64 + len(batch)]) for i, batch in enumerate(batches)]
    )
    tracked_nme, truth_nme = normalized_error(tracked, truth), normalized_error(on_truth, truth)
    return [
        (f"{label}--roi auto lost frames", f"{int((~found).sum())} of {len(found)}"),
        (f"{label}NME tracked", f"{tracked_nme:.4f}"),
        (f"{label}NME on ground-truth crops", f"{truth_nme:.4f}"),
        (f"{label}NME tracked / ground-truth crops", f"{tracked_nme / truth_nme:.3f}"),
    ]


def track_video(checkpoint: Path, video: Path, out: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """``genlmk predict --roi auto`` (npz, no overlay): (F, N, 2) landmarks, (F,) found, seconds."""
    command = ["predict", "--ckpt", str(checkpoint), "--input", str(video), "--out", str(out)]
    command += ["--roi", "auto", "--no-overlay", "--formats", "npz"]
    start = time.perf_counter()
    if genlmk_main(command) != 0:
        raise SystemExit(f"genlmk predict --roi auto {video.name} failed")
    seconds = time.perf_counter() - start
    with np.load(out / "landmarks.npz") as archive:
        return archive["landmarks"], archive["found"], seconds


def bench_leaving(
    checkpoint: Path, video: Path, tmp: Path, truth: np.ndarray, squares: np.ndarray
) -> list[tuple[str, str]]:
    """The moving-canvas video with the subject gone for a stretch: covered, in frames 10-16 % of
    the way through, by the same square of the frame turned half a turn (background there, as the
    subject is far from the centre then). Lost frames in and out of that stretch, and the NME of
    the rest."""
    gap = range(len(truth) // 10, len(truth) * 16 // 100)
    covered = tmp / "leaving.mp4"
    with VideoWriter(covered, fps=25.0) as writer:
        for index, frame in enumerate(iter_video_frames(video)):
            if index in gap:
                x, y, w, h = squares[index]
                frame = frame.copy()
                frame[y : y + h, x : x + w] = frame[::-1, ::-1][y : y + h, x : x + w]
            writer.write(frame)
    tracked, found, _ = track_video(checkpoint, covered, tmp / "leaving")
    away = np.zeros(len(found), dtype=bool)
    away[gap.start : gap.stop] = True
    return [
        ("subject away: lost frames while away", f"{int((~found[away]).sum())} of {len(gap)}"),
        ("subject away: lost frames while there", f"{int((~found[~away]).sum())} of {int((~away).sum())}"),
        ("subject away: NME tracked while there", f"{normalized_error(tracked[~away], truth[~away]):.4f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, action="append", help="landmarks preset (repeatable; default: the cpu preset)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (median)")
    parser.add_argument("--frames", type=int, default=1000, help="frames of the end-to-end video")
    parser.add_argument("--video-size", type=int, default=256, help="side of the end-to-end video, px")
    parser.add_argument("--e2e-runs", type=int, default=3, help="end-to-end runs per figure (median)")
    parser.add_argument("--skip-e2e", action="store_true", help="only the network and predict figures")
    parser.add_argument(
        "--roi-ckpt",
        type=Path,
        help="a trained landmarks checkpoint: also time and score --roi auto on a moving-canvas video",
    )
    parser.add_argument("--roi-width", type=int, default=1920, help="moving-canvas video width (1920)")
    parser.add_argument("--roi-height", type=int, default=1080, help="moving-canvas video height (1080)")
    parser.add_argument(
        "--roi-fast-frames",
        type=int,
        default=100,
        help="with --roi-ckpt: also a video where the subject crosses the canvas in this many frames "
        "(lost frames and NME; 0: skip)",
    )
    parser.add_argument(
        "--roi-leave",
        action="store_true",
        help="with --roi-ckpt: also the video with the subject gone for a stretch (lost and re-found)",
    )
    parser.add_argument(
        "--compile", action="store_true", help="also the network and predict compiled with torch.compile"
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    configs = args.config or [ROOT / "configs/landmarks/cpu.yaml"]
    config, size, template_name = load_preset(configs)
    names = " + ".join(path.name for path in configs)
    print(f"{names}: landmarker {config}, input {size[0]}x{size[1]}, template {template_name}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load before: {os.getloadavg()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "landmarker.ckpt"
        write_checkpoint(checkpoint, config, size, template_name)
        eager = Landmarker.from_checkpoint(checkpoint)
        rows += bench_network(lambda batch: eager, args.runs)
        if args.compile:
            compile_rows: list[tuple[str, str]] = []
            rows += bench_network(compiling(checkpoint, compile_rows), args.runs, " (torch.compile)")
            rows += compile_rows
        if not args.skip_e2e:
            video = Path(tmp) / "synthetic.mp4"
            write_synthetic_video(video, template_name, args.video_size, args.frames)
            rows += bench_end_to_end(checkpoint, video, args.frames, args.e2e_runs)
        if args.roi_ckpt is not None:
            rows += bench_tracking(args.roi_ckpt, Path(tmp), template_name, args)
    width = max(len(name) for name, _ in rows)
    for name, figure in rows:
        print(f"{name.ljust(width)}  {figure:>16}")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    try:
        main()
    except GenlmkError as exc:  # bad input: one line naming the file, no traceback
        raise SystemExit(f"error: {exc}") from None
