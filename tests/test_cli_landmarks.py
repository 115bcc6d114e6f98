"""End to end through the command line: synth -> fit -> predict -> evaluate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from training_helpers import tiny_model_args

from genlmk.checkpoints import KIND_KEY, TEMPLATE_KEY, load_checkpoint
from genlmk.cli.main import main
from genlmk.data.footage import find_footage
from genlmk.data.landmark_csv import read_landmark_csv
from genlmk.inference.landmarker import Landmarker


def _fit_args(root, out, steps=4):
    return [
        "fit",
        "--config",
        "configs/landmarks/cpu.yaml",
        "--data.marked",
        str(root / "train_marked"),
        "--data.unmarked",
        str(root / "train_unmarked"),
        "--data.batch_size",
        "2",
        "--data.val_fraction",
        "0.25",
        "--data.unmarked_gt",
        str(root / "train_unmarked_gt.csv"),
        "--model.template",
        str(root / "template.yaml"),
        "--model.image_size",
        "[64, 64]",
        *tiny_model_args(coords=True),
        "--model.image_log_every",
        "2",
        "--trainer.max_steps",
        str(steps),
        "--trainer.val_check_interval",
        "2",
        "--trainer.log_every_n_steps",
        "1",
        "--trainer.logger.init_args.save_dir",
        str(out),
        "--trainer.enable_progress_bar",
        "false",
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    assert (
        main(
            [
                "synth",
                "--template",
                "face",
                "--out",
                str(root),
                "--size",
                "64",
                "--train",
                "8",
                "--test",
                "2",
                "--clip-frames",
                "5",
            ]
        )
        == 0
    )
    out = tmp_path_factory.mktemp("runs")
    assert main(_fit_args(root, out)) == 0
    [checkpoint] = list(out.glob("landmarks/version_*/checkpoints/last.ckpt"))
    return root, checkpoint


def test_fit_writes_a_self_contained_checkpoint_and_tensorboard_logs(trained):
    _, checkpoint = trained
    state = load_checkpoint(checkpoint, kind="landmarks")
    assert state[KIND_KEY] == "landmarks" and state["global_step"] == 4
    assert state[TEMPLATE_KEY]["landmarks"][0]["name"] == "jaw_00"
    assert len(state["genlmk_image_pools"]["marked"]["images"]) == 8
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(checkpoint.parents[1])).Reload()
    assert {"train/total", "train/chamfer", "train/spring", "val/nme", "val/chamfer"} <= set(
        events.Tags()["scalars"]
    )
    assert any(tag.startswith("train/unmarked+landmarks") for tag in events.Tags()["images"])


def test_landmarker_from_checkpoint_matches_the_trained_system(trained):
    from genlmk.systems.landmarks import LandmarkGAN

    root, checkpoint = trained
    system = LandmarkGAN.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    landmarker = Landmarker.from_checkpoint(checkpoint)
    frames = np.stack(list(find_footage(root / "test")[0].frames()))
    with torch.no_grad():
        expected = system(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255).numpy()
    assert np.abs(landmarker.predict(frames) - expected).max() < 1e-4


def test_predictions_are_in_pixels_of_the_input_frames(trained):
    _, checkpoint = trained
    landmarker = Landmarker.from_checkpoint(checkpoint)
    frames = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    big = np.repeat(np.repeat(frames, 3, axis=1), 2, axis=2)  # 192 x 128: 3x taller, 2x wider
    assert np.allclose(landmarker.predict(big), landmarker.predict(frames) * [2.0, 3.0], atol=1e-3)


def test_predict_writes_csv_and_overlay_then_evaluate_scores_it(trained, tmp_path, capsys):
    root, checkpoint = trained
    assert (
        main(
            [
                "predict",
                "--ckpt",
                str(checkpoint),
                "--input",
                str(root / "clip_smooth.mp4"),
                "--out",
                str(tmp_path),
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    predicted, names, frames = read_landmark_csv(tmp_path / "landmarks.csv")
    assert predicted.shape == (5, 68, 2) and frames == list(range(5)) and names[0] == "jaw_00"
    assert len(find_footage(tmp_path / "overlay.mp4")[0]) == 5
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "landmarks",
                "--pred",
                str(tmp_path / "landmarks.csv"),
                "--gt",
                str(root / "clip_smooth_gt.csv"),
                "--template",
                str(root / "template.yaml"),
                "--json",
                str(tmp_path / "scores.json"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "NME %" in printed and "flicker %" in printed and "along %" in printed
    assert "per line of face" in printed and "#0 jaw_00..jaw_16" in printed
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert [line["points"] for line in scores["lines"]] == [17, 5, 5, 4, 5, 6, 6, 12, 8]
    assert scores["along_percent"] ** 2 + scores["across_percent"] ** 2 == pytest.approx(
        scores["flicker_percent"] ** 2
    )
    gt, _, _ = read_landmark_csv(root / "clip_smooth_gt.csv", names)
    from genlmk.metrics.landmarks import box_diagonal, nme

    assert scores["nme_percent"] == pytest.approx(nme(predicted, gt, box_diagonal(gt)), rel=1e-3)
