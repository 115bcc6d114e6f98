"""``genlmk evaluate motion`` end to end on synthetic footage, with a keypoint detector whose answer is known.

The detector is genlmk's landmarker backend (``--detector genlmk:CKPT``) given a fake landmarker
that finds the corners of a white square, so keypoint shifts are exact.
"""

from __future__ import annotations

import csv
import json
import shutil
import types

import numpy as np
import pytest
import torch
from torch import nn

from genlmk.cli.main import main
from genlmk.data.images import write_image
from genlmk.data.video import write_video

SIZE = 64


class SquareCorners:
    """A fake landmarker (the interface of genlmk.inference.landmarker.Landmarker) for a 4-point template.

    Finds the square painted in a frame: white squares give 4 corners, red squares lose the 4th
    corner (NaN), frames without a square give NaN everywhere.
    """

    def __init__(self) -> None:
        self.template = types.SimpleNamespace(name="square", num_landmarks=4)

    @classmethod
    def from_checkpoint(cls, path):
        return cls()

    def predict(self, frames: np.ndarray) -> np.ndarray:
        points = np.full((len(frames), 4, 2), np.nan, dtype=np.float32)
        for i, frame in enumerate(frames):
            ys, xs = np.nonzero(frame[..., 0] > 128)
            if len(xs):
                x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
                points[i] = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
                if frame[ys[0], xs[0], 1] < 128:  # red square: the last corner is "not found"
                    points[i, 3] = np.nan
        return points


@pytest.fixture(autouse=True)
def square_landmarker(monkeypatch):
    # patch the attribute (restored after each test); the backend imports it when it loads
    monkeypatch.setattr("genlmk.inference.landmarker.Landmarker", SquareCorners)


def square_frames(count: int, shift: int = 0, colour=(255, 255, 255), seed: int = 0) -> list[np.ndarray]:
    """Frames with a 16-px square moving along a path, displaced by (shift, shift)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):
        frame = np.full((SIZE, SIZE, 3), 30, dtype=np.uint8)
        frame += rng.integers(0, 20, frame.shape, dtype=np.uint8)  # texture, below the detection threshold
        x, y = 10 + 3 * i + shift, 12 + 2 * i + shift
        frame[y : y + 16, x : x + 16] = colour
        frames.append(frame)
    return frames


def write_frames(folder, frames) -> None:
    for i, frame in enumerate(frames):
        write_image(folder / f"{i:04d}.png", frame)


def evaluate(tmp_path, real, fake, *extra: str) -> int:
    inputs = ["--real", str(real), "--fake", str(fake), "--out", str(tmp_path / "scores")]
    backends = ["--detector", "genlmk:square.ckpt", "--identity", "none", "--fid-features", "none"]
    return main(
        ["evaluate", "motion", *inputs, *backends, "--lpips-weights", "none", "--size", str(SIZE), *extra]
    )


def load_results(tmp_path):
    data = json.loads((tmp_path / "scores" / "motion_metrics.json").read_text())
    with (tmp_path / "scores" / "motion_metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return data, rows


class ColourMoments(nn.Module):
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([images.mean(dim=(2, 3)), images.std(dim=(2, 3))], dim=1)


@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")
def test_identical_videos_score_zero_on_every_metric(tmp_path, capsys):
    import torchvision

    for name, seed in (("clip_a", 0), ("clip_b", 1)):
        write_video(tmp_path / "real" / f"{name}.mp4", square_frames(6, seed=seed))
    shutil.copytree(tmp_path / "real", tmp_path / "fake")
    fid_net = tmp_path / "moments.pt"
    torch.jit.save(torch.jit.script(ColourMoments()), fid_net)
    alexnet = tmp_path / "alexnet-owt-7be5be79.pth"
    features = torchvision.models.alexnet(weights=None).features.state_dict()
    torch.save({f"features.{k}": v for k, v in features.items()}, alexnet)

    status = evaluate(
        tmp_path,
        tmp_path / "real",
        tmp_path / "fake",
        "--identity", "torch.nn:Flatten", "--fid-features", str(fid_net), "--lpips-weights", str(alexnet),
    )  # fmt: skip
    assert status == 0
    printed = capsys.readouterr().out
    assert "AKD" in printed and "FID" in printed and "(overall)" in printed and "clip_b" in printed
    data, rows = load_results(tmp_path)
    overall = data["overall"]
    assert overall["frames"] == 12
    for key in ("akd", "mkr", "l1"):
        assert overall[key] == 0.0, key
    assert overall["aed"] == pytest.approx(0.0, abs=1e-6)
    assert overall["lpips"] == pytest.approx(0.0, abs=1e-6)
    assert overall["fid"] == pytest.approx(0.0, abs=1e-6)
    assert overall["akd_skipped"] == 0 and overall["aed_skipped"] == 0
    assert [row["video"] for row in rows] == ["clip_a", "clip_b", "(overall)"]
    assert [v["frames"] for v in data["videos"]] == [6, 6]
    assert data["settings"]["detector"] == "genlmk square landmarker"


@pytest.mark.parametrize("k", [1, 3])
def test_keypoints_shifted_by_k_pixels_give_akd_k(tmp_path, capsys, k):
    write_frames(tmp_path / "real" / "clip", square_frames(5))
    write_frames(tmp_path / "fake" / "clip", square_frames(5, shift=k))
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "fake") == 0
    data, _ = load_results(tmp_path)
    assert data["overall"]["akd"] == pytest.approx(k)  # |dx| = |dy| = k on every corner
    assert data["overall"]["mkr"] == 0.0
    assert data["overall"]["l1"] > 0.0
    assert "lpips" not in data["overall"] and "fid" not in data["overall"]


def test_detector_dropping_keypoints_gives_expected_mkr(tmp_path):
    # generated frames 0-3: red squares (corner 4 lost); frames 4-5: no square at all
    fake = square_frames(4, shift=2, colour=(255, 0, 0)) + [np.full((SIZE, SIZE, 3), 30, np.uint8)] * 2
    write_frames(tmp_path / "real" / "clip", square_frames(6))
    write_frames(tmp_path / "fake" / "clip", fake)
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "fake") == 0
    overall = load_results(tmp_path)[0]["overall"]
    assert overall["mkr"] == pytest.approx((4 * 0.25 + 2 * 1.0) / 6)
    assert overall["akd"] == pytest.approx(2.0)  # over the 3 corners found in both, frames 0-3
    assert overall["akd_skipped"] == 2


def one_line_error(capsys) -> str:
    """The error line (the last of stderr, after any progress lines); no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("genlmk: error: "), err
    return last


def test_unequal_frame_counts_are_a_one_line_error(tmp_path, capsys):
    write_frames(tmp_path / "real" / "clip", square_frames(5))
    write_frames(tmp_path / "fake" / "clip", square_frames(4))
    assert evaluate(tmp_path, tmp_path / "real" / "clip", tmp_path / "fake" / "clip") == 1
    message = one_line_error(capsys)
    assert "4 frames, but the real" in message and "has 5 (frames are paired by index)" in message


def test_missing_generated_video_is_a_one_line_error(tmp_path, capsys):
    for name in ("a", "b", "c"):
        write_video(tmp_path / "real" / f"{name}.mp4", square_frames(2))
    for name in ("a", "c"):
        write_video(tmp_path / "fake" / f"{name}.mp4", square_frames(2))
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "fake") == 1
    assert "no generated video for 'b' (videos are paired by name)" in one_line_error(capsys)
    write_video(tmp_path / "fake" / "b.mp4", square_frames(2))
    write_video(tmp_path / "fake" / "d.mp4", square_frames(2))
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "fake") == 1
    assert "no real video for 'd'" in one_line_error(capsys)


def test_undetectable_real_frame_is_an_error_unless_skipped(tmp_path, capsys):
    real = square_frames(4)
    real[2] = np.full((SIZE, SIZE, 3), 30, np.uint8)  # the subject left the frame
    write_frames(tmp_path / "real" / "clip", real)
    write_frames(tmp_path / "fake" / "clip", square_frames(4))
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "fake") == 1
    message = one_line_error(capsys)
    assert "0002.png: genlmk square landmarker found nothing in this real frame" in message
    assert "--skip-undetected-real" in message
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "fake", "--skip-undetected-real") == 0
    overall = load_results(tmp_path)[0]["overall"]
    assert overall["akd"] == 0.0 and overall["akd_skipped"] == 1


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    write_frames(tmp_path / "real" / "clip", square_frames(2))
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "nowhere") == 1
    assert "nowhere: no such file or folder" in one_line_error(capsys)
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "real", "--detector", "openpose") == 1
    assert "unknown keypoint detector 'openpose'" in one_line_error(capsys)
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "real", "--fid-features", "missing.pth") == 1
    assert "missing.pth: FID Inception-v3 weights file not found" in one_line_error(capsys)
    assert evaluate(tmp_path, tmp_path / "real", tmp_path / "real", "--size", "4") == 1
    assert "--size must be at least 16" in one_line_error(capsys)
