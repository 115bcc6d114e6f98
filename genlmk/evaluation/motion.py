"""Scoring motion transfer: generated videos against the real videos they reconstruct.

The First Order Motion Model protocol (Siarohin et al. 2019, with its pose-evaluation scripts):
frames are brought to a fixed size (256 x 256), each generated frame is compared with the real frame
of the same video and index, and every score is averaged over all frames of all videos:

- L1: mean absolute pixel difference (images in [0, 1]);
- LPIPS: learned perceptual distance;
- AKD / MKR: keypoint distance in pixels at that size / share of real keypoints missing in the
  generated frame, from a keypoint detector (dlib face landmarks for faces);
- AED: squared distance of unit-norm identity embeddings;
- FID: over all frames together (not per video: a video has too few frames for its statistics).

Per video, the same scores over that video's frames.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from genlmk.data.footage import Footage
from genlmk.data.images import resize_rgb
from genlmk.errors import InputDataError
from genlmk.evaluation.interfaces import IdentityEmbedder, KeypointDetector
from genlmk.evaluation.pairing import FootagePair
from genlmk.evaluation.report import Column, format_table, write_csv, write_json
from genlmk.evaluation.user_networks import frames_to_images
from genlmk.metrics import (
    AverageEuclideanDistance,
    AverageKeypointDistance,
    FrameAverage,
    FrechetDistance,
    L1Distance,
    LPIPSDistance,
    MissingKeypointRate,
)

OVERALL = "(overall)"

# every column a motion report can have, in display order; a report shows those it computed
MOTION_COLUMNS = (
    Column("video", "video"),
    Column("frames", "frames", "d"),
    Column("l1", "L1", ".4f"),
    Column("lpips", "LPIPS", ".4f"),
    Column("akd", "AKD", ".3f"),
    Column("mkr", "MKR", ".3f"),
    Column("akd_skipped", "AKD skipped", "d"),
    Column("aed", "AED", ".4f"),
    Column("aed_skipped", "AED skipped", "d"),
    Column("fid", "FID", ".3f"),
)


@dataclass(frozen=True)
class MotionSettings:
    """How frames are scored.

    Attributes:
        size: frames (real and generated) are resized to ``size`` x ``size`` pixels before scoring;
            the protocol's 256 makes AKD comparable with published numbers.
        batch_size: frames per batch through detectors and networks.
        skip_undetected_real: skip (and count) frames whose real frame shows no detectable subject,
            instead of stopping with an error.
        device: where LPIPS, FID and identity networks run.
    """

    size: int = 256
    batch_size: int = 16
    skip_undetected_real: bool = False
    device: str = "cpu"


@dataclass
class MotionReport:
    """Scores per video and overall, and what produced them.

    Attributes:
        videos: one row per video: ``video``, ``frames`` and the metric keys of :data:`MOTION_COLUMNS`.
        overall: the same over all frames, plus ``fid`` when computed.
        settings: inputs and backends, for the JSON file.
    """

    videos: list[dict[str, Any]]
    overall: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def columns(self) -> list[Column]:
        """The columns this report has values for."""
        return [c for c in MOTION_COLUMNS if c.key in self.overall]

    def rows(self) -> list[dict[str, Any]]:
        """The per-video rows, then the overall row (named ``(overall)``)."""
        return [*self.videos, self.overall]

    def table(self) -> str:
        return format_table(self.rows(), self.columns())

    def write(self, out_dir: str | Path, stem: str = "motion_metrics") -> tuple[Path, Path]:
        """Write ``<stem>.json`` (settings, overall, videos) and ``<stem>.csv`` (rows per video, overall)."""
        out_dir = Path(out_dir)
        json_path, csv_path = out_dir / f"{stem}.json", out_dir / f"{stem}.csv"
        write_json(json_path, {"settings": self.settings, "overall": self.overall, "videos": self.videos})
        write_csv(csv_path, self.rows(), self.columns())
        return json_path, csv_path


def frame_label(footage: Footage, index: int) -> str:
    """Where a frame comes from, for messages: the image file, or the video and frame index."""
    return f"{footage.path} frame {index}" if footage.is_video else str(footage.frame_files[index])


def paired_batches(
    pair: FootagePair, batch_size: int, size: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (first frame index, real (B, size, size, 3), generated (B, size, size, 3)) uint8 batches.

    Raises:
        InputDataError: one side decodes fewer frames than the other.
    """
    real_batch: list[np.ndarray] = []
    fake_batch: list[np.ndarray] = []
    frames = itertools.zip_longest(pair.real.frames(), pair.fake.frames())
    for index, (real, fake) in enumerate(frames):
        if real is None or fake is None:
            short = pair.real if real is None else pair.fake
            raise InputDataError(f"{short.path}: ended after {index} frames while the other side went on")
        real_batch.append(resize_rgb(real, (size, size)))
        fake_batch.append(resize_rgb(fake, (size, size)))
        if len(real_batch) == batch_size:
            yield index + 1 - batch_size, np.stack(real_batch), np.stack(fake_batch)
            real_batch, fake_batch = [], []
    if real_batch:
        yield index + 1 - len(real_batch), np.stack(real_batch), np.stack(fake_batch)


class MotionEvaluator:
    """Scores pairs of real and generated footage.

    Args:
        detector: keypoint detector for AKD and MKR (None: no keypoint scores).
        identity: identity embedder for AED (None: no AED).
        lpips_network: LPIPS network (:func:`genlmk.metrics.build_lpips`; None: no LPIPS).
        fid_network: FID feature network, images in [0, 1] -> (N, D) (None: no FID).
        settings: frame size, batch size, error policy, device.
    """

    def __init__(
        self,
        detector: KeypointDetector | None = None,
        identity: IdentityEmbedder | None = None,
        lpips_network: nn.Module | None = None,
        fid_network: nn.Module | None = None,
        settings: MotionSettings | None = None,
    ) -> None:
        self.detector = detector
        self.identity = identity
        self.settings = settings or MotionSettings()
        self.device = torch.device(self.settings.device)
        self.lpips_network = lpips_network.to(self.device) if lpips_network is not None else None
        self.fid_network = fid_network

    def _frame_metrics(self) -> dict[str, FrameAverage]:
        metrics: dict[str, FrameAverage] = {"l1": L1Distance()}
        if self.lpips_network is not None:
            metrics["lpips"] = LPIPSDistance(network=self.lpips_network).to(self.device)
        if self.detector is not None:
            metrics["akd"] = AverageKeypointDistance()
            metrics["mkr"] = MissingKeypointRate()
        if self.identity is not None:
            metrics["aed"] = AverageEuclideanDistance()
        return metrics

    def _require_real(self, found: Tensor, pair: FootagePair, start: int, what: str, option: str) -> None:
        if self.settings.skip_undetected_real or bool(found.all()):
            return
        index = start + int((~found).nonzero()[0])
        raise InputDataError(
            f"{frame_label(pair.real, index)}: {what} found nothing in this real frame; every real frame "
            f"must show the subject (--skip-undetected-real skips such frames, --{option} none the metric)"
        )

    def _score_batch(
        self,
        metrics: dict[str, FrameAverage],
        fid: FrechetDistance | None,
        pair: FootagePair,
        start: int,
        real_frames: np.ndarray,
        fake_frames: np.ndarray,
    ) -> None:
        real, fake = frames_to_images(real_frames), frames_to_images(fake_frames)
        metrics["l1"].update(real, fake)
        if "lpips" in metrics or fid is not None:
            real_dev, fake_dev = real.to(self.device), fake.to(self.device)
            if "lpips" in metrics:
                metrics["lpips"].update(real_dev, fake_dev)
            if fid is not None:
                fid.update(real_dev, fake_dev)
        if self.detector is not None:
            real_kp, fake_kp = self.detector.detect(real_frames), self.detector.detect(fake_frames)
            self._require_real(real_kp.found.any(dim=-1), pair, start, self.detector.name, "detector")
            metrics["akd"].update(real_kp.points, fake_kp.points, real_kp.found, fake_kp.found)
            metrics["mkr"].update(real_kp.found, fake_kp.found)
        if self.identity is not None:
            real_id, fake_id = self.identity.embed(real_frames), self.identity.embed(fake_frames)
            self._require_real(real_id.found, pair, start, self.identity.name, "identity")
            metrics["aed"].update(real_id.vectors, fake_id.vectors, real_id.found, fake_id.found)

    @staticmethod
    def _row(name: str, frames: int, metrics: dict[str, FrameAverage]) -> dict[str, Any]:
        row: dict[str, Any] = {"video": name, "frames": frames}
        for key, metric in metrics.items():
            row[key] = float(metric.compute())
        for key in ("akd", "aed"):
            if key in metrics:
                row[f"{key}_skipped"] = int(metrics[key].skipped)
        return row

    def evaluate(
        self, pairs: Sequence[FootagePair], on_video: Callable[[dict[str, Any]], None] | None = None
    ) -> MotionReport:
        """Score every pair; ``on_video`` is called with each video's row as soon as it is done."""
        overall = self._frame_metrics()
        fid = FrechetDistance(self.fid_network).to(self.device) if self.fid_network is not None else None
        rows = []
        batch_size, size = self.settings.batch_size, self.settings.size
        for pair in pairs:
            metrics = self._frame_metrics()
            frames = 0  # as decoded (a container's frame count can be off)
            for start, real_frames, fake_frames in paired_batches(pair, batch_size, size):
                self._score_batch(metrics, fid, pair, start, real_frames, fake_frames)
                frames += len(real_frames)
            for key, metric in metrics.items():
                overall[key].merge_state(metric)
            rows.append(self._row(pair.name, frames, metrics))
            if on_video is not None:
                on_video(rows[-1])
        summary = self._row(OVERALL, sum(row["frames"] for row in rows), overall)
        if fid is not None:
            summary["fid"] = float(fid.compute()) if summary["frames"] >= 2 else float("nan")
        settings = {
            **asdict(self.settings),
            "detector": self.detector.name if self.detector else None,
            "identity": self.identity.name if self.identity else None,
            "lpips": self.lpips_network is not None,
            "fid": type(self.fid_network).__name__ if self.fid_network is not None else None,
        }
        return MotionReport(rows, summary, settings)
