"""The core claim, checked end to end: a small landmarker trained for about a minute on synthetic
frames finds the landmarks far better than the untrained template does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genlmk.cli.main import main
from genlmk.data.landmark_csv import read_landmark_csv, write_landmark_csv
from genlmk.data.synthetic import SynthConfig, write_synthetic_dataset
from genlmk.evaluation.landmarks import evaluate_landmark_files
from genlmk.template import Template, load_template

ROOT = Path(__file__).resolve().parents[1]
SIZE = 64
STEPS = 300
SEED = 0


def _fit_args(data: Path, runs: Path, seed: int) -> list[str]:
    """The cpu preset at SIZE px with networks of a few ten thousand weights, no validation."""
    return [
        "fit",
        "--config",
        str(ROOT / "configs/landmarks/cpu.yaml"),
        "--seed_everything",
        str(seed),
        "--data.marked",
        str(data / "train_marked"),
        "--data.unmarked",
        str(data / "train_unmarked"),
        "--data.batch_size",
        "8",
        "--data.val_fraction",
        "0.05",
        "--model.template",
        str(data / "template.yaml"),
        "--model.image_size",
        f"[{SIZE}, {SIZE}]",
        "--model.landmarker",
        '{"channels": [8, 16, 32, 32], "hidden": 64, "coords": true}',
        "--model.generator",
        '{"ngf": 8, "blocks": 2, "residual": true}',
        "--model.discriminator",
        '{"ndf": 8, "layers": 2}',
        "--model.image_log_every",
        "0",
        "--trainer.max_steps",
        str(STEPS),
        "--trainer.limit_val_batches",
        "0",
        "--trainer.num_sanity_val_steps",
        "0",
        "--trainer.callbacks",
        json.dumps(
            [
                {
                    "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                    "init_args": {"save_last": True, "save_top_k": 0},
                }
            ]
        ),
        "--trainer.logger.init_args.save_dir",
        str(runs),
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.enable_model_summary",
        "false",
    ]


@pytest.mark.slow
def test_a_minute_of_training_brings_the_nme_well_below_the_untrained_templates(tmp_path):
    data = tmp_path / "synth"
    config = SynthConfig(size=SIZE, train_marked=160, train_unmarked=160, test=40, clip_frames=2, seed=SEED)
    write_synthetic_dataset(load_template("face"), data, config)
    assert main(_fit_args(data, tmp_path / "runs", SEED)) == 0
    checkpoint = next((tmp_path / "runs").glob("landmarks/version_*/checkpoints/last.ckpt"))
    predict = ["predict", "--ckpt", str(checkpoint), "--input", str(data / "test"), "--no-overlay"]
    assert main([*predict, "--out", str(tmp_path / "pred")]) == 0

    template = Template.load(data / "template.yaml")
    gt, _, frames = read_landmark_csv(data / "test_gt.csv", template.names)
    untrained_csv = tmp_path / "untrained.csv"
    write_landmark_csv(untrained_csv, np.broadcast_to(template.points, gt.shape), template.names, frames[0])
    truth = data / "test_gt.csv"
    trained = evaluate_landmark_files(tmp_path / "pred" / "landmarks.csv", truth)["nme_percent"]
    # the untrained landmarker's answer: the template itself (a zero deformation) on every frame
    untrained = evaluate_landmark_files(untrained_csv, truth)["nme_percent"]
    print(f"NME trained {trained:.2f} % untrained {untrained:.2f} % ratio {trained / untrained:.3f}")
    assert trained < 0.7 * untrained
