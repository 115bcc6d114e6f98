"""``genlmk predict``: run a trained landmarker on footage."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from genlmk.data.footage import Footage, find_footage
from genlmk.data.landmark_csv import LandmarkCsvWriter
from genlmk.data.video import VideoWriter
from genlmk.inference.streaming import batched_frames
from genlmk.visualization import draw_landmarks

if TYPE_CHECKING:
    from genlmk.inference.landmarker import Landmarker


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "predict",
        help="run a trained landmarker on a video or frames: landmarks.csv and an overlay video",
        description="Writes OUT/landmarks.csv (frame,name,x,y in pixels of the input frames; frames in "
        "decode order or sorted file-name order) and OUT/overlay.mp4. A folder of several videos or "
        "frame folders gives one OUT/<name>/ each.",
    )
    parser.add_argument("--ckpt", required=True, help="landmarks checkpoint from genlmk fit")
    parser.add_argument("--input", required=True, help="video, folder of frames, or folder of either")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--batch-size", type=int, default=64, help="frames per batch (64)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cpu)")
    parser.add_argument("--no-overlay", action="store_true", help="skip the overlay video")
    parser.set_defaults(func=run)


def predict_footage(
    landmarker: Landmarker, footage: Footage, out: Path, batch_size: int, overlay: bool
) -> int:
    """Predict every frame of ``footage``; write ``out/landmarks.csv`` (and ``overlay.mp4``)."""
    out.mkdir(parents=True, exist_ok=True)
    writer = LandmarkCsvWriter(out / "landmarks.csv", landmarker.template.names)
    video = VideoWriter(out / "overlay.mp4", fps=footage.fps) if overlay else None
    try:
        frames = tqdm(footage.frames(), desc=f"predict {footage.name}", unit="frame", disable=None)
        for batch in batched_frames(frames, batch_size):
            landmarks = landmarker.predict(batch)
            writer.write(landmarks)
            if video is not None:
                for frame, points in zip(batch, landmarks):
                    video.write(draw_landmarks(frame, points, landmarker.template))
    except BaseException:
        if video is not None:
            video.abort()
        raise
    finally:
        writer.close()
    if video is not None:
        video.close()
    return writer.frames_written


def run(args: argparse.Namespace) -> int:
    from genlmk.inference.landmarker import Landmarker

    landmarker = Landmarker.from_checkpoint(args.ckpt, device=args.device)
    footages = find_footage(args.input)
    out = Path(args.out)
    for footage in footages:
        target = out if len(footages) == 1 else out / footage.name
        count = predict_footage(landmarker, footage, target, args.batch_size, not args.no_overlay)
        print(f"{footage.name}: {count} frames -> {target / 'landmarks.csv'}")
    return 0
