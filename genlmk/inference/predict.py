"""Running a landmarker over footage: crops, batches, smoothing, landmark files and an overlay video.

Frames stream through in batches (decoded one at a time, written as they are done), so memory
stays constant whatever the length of the footage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from genlmk.data.boxes import BoxTrack
from genlmk.data.footage import Footage
from genlmk.data.images import resize_rgb
from genlmk.data.video import VideoWriter, probe_video
from genlmk.errors import OutputError
from genlmk.inference.outputs import LandmarkOutputs
from genlmk.inference.smoothing import OneEuroFilter, OneEuroSettings
from genlmk.inference.streaming import batched_frames, prefetched
from genlmk.inference.tracking import RoiTracker
from genlmk.visualization import draw_landmarks

if TYPE_CHECKING:
    from genlmk.inference.landmarker import Landmarker

LANDMARKS_STEM = "landmarks"
SMOOTHED_STEM = "landmarks_smoothed"
OVERLAY_NAME = "overlay.mp4"


@dataclass(frozen=True)
class PredictOptions:
    """How :func:`predict_frames` runs.

    Attributes:
        batch_size: frames per batch through the network.
        formats: landmark file formats to write (``csv``, ``coco``, ``npz``).
        overlay: write ``overlay.mp4`` (landmarks and lines drawn on the frames; the smoothed
            landmarks when smoothing is on, and the crop box when there is one; landmarks
            predicted hidden as rings; frames of another size than the first are resized to it).
        crop: one box ``(4,)`` ``x, y, w, h`` for all frames, a box per frame, or None (whole frames).
        smoothing: one-euro filter settings; when given, ``landmarks_smoothed.*`` is written
            next to the model's own ``landmarks.*``.
        progress: show a progress bar; None: only on a terminal (tqdm's rule).
        roi: ``none`` (``crop`` or whole frames) or ``auto``: find the subject, then follow it
            with a :class:`genlmk.inference.tracking.RoiTracker` (frames where it is lost are
            written as missing; torch runs on one thread meanwhile, as set again after).
        roi_margin: share of the training framing's side added on each side of the tracked crop.
        roi_smoothing: weight of the past in the tracked crop's filter, in [0, 1).
        roi_min_size: smallest subject the find step looks for, share of the frame's short side.
    """

    batch_size: int = 64
    formats: tuple[str, ...] = ("csv",)
    overlay: bool = True
    crop: np.ndarray | BoxTrack | None = None
    smoothing: OneEuroSettings | None = None
    progress: bool | None = None
    roi: str = "none"
    roi_margin: float = 0.0
    roi_smoothing: float = 0.6
    roi_min_size: float = 0.15

    def boxes(self, frames: np.ndarray) -> np.ndarray | None:
        """Crop boxes (B, 4) for frame numbers (B,), or None for whole frames."""
        if self.crop is None:
            return None
        if isinstance(self.crop, BoxTrack):
            return self.crop.lookup(frames)
        return np.broadcast_to(np.asarray(self.crop, dtype=np.int64), (len(frames), 4))


def predict_frames(
    landmarker: Landmarker,
    frames: Iterable[np.ndarray],
    out: Path,
    options: PredictOptions,
    *,
    name: str = "frames",
    fps: float = 25.0,
    total: int | None = None,
    file_name: Callable[[int], str] | None = None,
    audio_from: Path | None = None,
) -> int:
    """Predict every frame of a stream and write the results to ``out``.

    Args:
        landmarker: the trained landmarker.
        frames: (H, W, 3) uint8 RGB frames in order; numbered from 0.
        out: output folder: ``landmarks.<csv|json|npz>``, ``landmarks_smoothed.*``, ``overlay.mp4``.
        options: see :class:`PredictOptions`.
        name: shown in the progress bar and the COCO file's description.
        fps: frame rate (the overlay's, and the time base of the smoothing filter).
        total: the number of frames if known (the progress bar shows frames / total).
        file_name: frame number -> the COCO image ``file_name``; default ``<name>/<frame:06d>.png``.
        audio_from: a video whose sound the overlay video gets (copied, when it has sound).

    A landmarker with visibility also writes each landmark's visibility (see
    :class:`~genlmk.inference.outputs.LandmarkOutputs`; the smoothed files carry the unsmoothed
    visibility); with ``roi="auto"`` it costs a second network pass over the tracked crops.

    Returns:
        The number of frames predicted.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write predictions here ({exc.strerror or exc})") from None
    template = landmarker.template
    file_name = file_name or (lambda frame: f"{name}/{frame:06d}.png")
    description = f"genlmk {template.name} landmarks of {name}"
    flags = landmarker.has_visibility
    outputs = [LandmarkOutputs(out, LANDMARKS_STEM, options.formats, template, description, flags)]
    smoother = None
    if options.smoothing is not None:
        smoother = OneEuroFilter(options.smoothing, fps=fps)
        smoothed = description + ", smoothed"
        outputs.append(LandmarkOutputs(out, SMOOTHED_STEM, options.formats, template, smoothed, flags))
    video = VideoWriter(out / OVERLAY_NAME, fps=fps, audio_from=audio_from) if options.overlay else None
    tracker = roi_tracker(landmarker, options) if options.roi == "auto" else None
    count = 0
    overlay_size: tuple[int, int] | None = None
    threads = torch.get_num_threads()
    # decoding runs ahead, by up to a batch, while the network and the writers work
    decoded = prefetched(frames, options.batch_size)
    try:
        if tracker is not None:
            # the network sees a few crops at a time: its threads gain nothing there and
            # busy-wait for the cores the decoder needs
            torch.set_num_threads(1)
        disable = None if options.progress is None else not options.progress
        stream = tqdm(decoded, total=total, desc=f"predict {name}", unit="frame", disable=disable)
        for batch in batched_frames(stream, options.batch_size):
            numbers = np.arange(count, count + len(batch))
            if tracker is None:
                boxes = options.boxes(numbers)
                landmarks, visibility = landmarker.predict_with_visibility(batch, boxes)
            else:
                landmarks, boxes = tracker.track(batch)
                visibility = tracked_visibility(landmarker, batch, boxes) if flags else None
            results = [landmarks] if smoother is None else [landmarks, smoother(landmarks, numbers)]
            height, width = batch[0].shape[:2]
            sizes = np.broadcast_to([width, height], (len(batch), 2))
            files = [file_name(int(f)) for f in numbers]
            for writer, points in zip(outputs, results):
                writer.write(points, numbers, sizes, files, visibility)
            if video is not None:
                overlay_size = overlay_size or (width, height)
                for index, frame in enumerate(batch):
                    shown = None if visibility is None else visibility[index]
                    canvas = draw_landmarks(frame, results[-1][index], template, visibility=shown)
                    if boxes is not None and boxes[index][2] > 0:
                        draw_box(canvas, boxes[index])
                    # a folder of stills may mix sizes: the video takes the first frame's
                    video.write(resize_rgb(canvas, overlay_size))
            count += len(batch)
        if tracker is not None:
            tracker.require_found(name, count)
    except BaseException:
        for writer in outputs:
            writer.abort()
        if video is not None:
            video.abort()
        raise
    finally:
        decoded.close()  # on an error too: the decoding thread stops and closes the footage
        torch.set_num_threads(threads)
    for writer in outputs:
        writer.close()
    if video is not None:
        video.close()
    return count


def tracked_visibility(landmarker: Landmarker, frames: Sequence[np.ndarray], boxes: np.ndarray) -> np.ndarray:
    """The visibility (B, N) of the landmarks found in the tracker's crops ``boxes`` (B, 4) of
    B (H, W, 3) frames; NaN where the subject was lost (an all-zero box)."""
    visibility = np.full((len(frames), landmarker.template.num_landmarks), np.nan)
    found = np.flatnonzero(boxes[:, 2] > 0)
    if len(found):
        visibility[found] = landmarker.predict_with_visibility([frames[i] for i in found], boxes[found])[1]
    return visibility


def roi_tracker(landmarker: Landmarker, options: PredictOptions) -> RoiTracker:
    """The tracker ``--roi auto`` runs: the landmarker on crops, judged against its template, the
    subject found by the landmarker's appearance (when its checkpoint has one)."""
    template = landmarker.template.rescaled(landmarker.image_size).points
    return RoiTracker(
        landmarker.predict,
        template,
        landmarker.image_size,
        margin=options.roi_margin,
        smoothing=options.roi_smoothing,
        appearance=landmarker.appearance,
        min_size=options.roi_min_size,
    )


def draw_box(image: np.ndarray, box: np.ndarray, color: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Draw a crop box ``x, y, w, h`` (whole pixels) as a 1-pixel outline on its edge pixels, in place."""
    import cv2

    x, y, w, h = (int(v) for v in box)
    cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), color, 1)
    return image


def known_length(footage: Footage) -> int | None:
    """The number of frames when known without decoding (a frame folder, or a video whose
    container says), else None."""
    if not footage.is_video:
        return len(footage.frame_files)
    return probe_video(footage.path).frames or None


def predict_footage(landmarker: Landmarker, footage: Footage, out: Path, options: PredictOptions) -> int:
    """:func:`predict_frames` on a video or frame folder; COCO ``file_name`` are the frame files'
    names for a folder, ``<video stem>/<frame:06d>.png`` for a video (frames from 0); a video's
    sound is copied into the overlay."""
    files = [f.name for f in footage.frame_files]
    return predict_frames(
        landmarker,
        footage.frames(),
        out,
        options,
        name=footage.name,
        fps=footage.fps,
        total=known_length(footage),
        file_name=(lambda frame: files[frame]) if files else None,
        audio_from=footage.path if footage.is_video else None,
    )
