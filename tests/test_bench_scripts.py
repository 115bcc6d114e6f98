"""The benchmark scripts run end to end at toy sizes and print the figures they promise.

They are timed on the development machine; here only that they work (their figures are not
checked against targets: timings on a test machine mean nothing).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import HAS_CXX, run_script

from genlmk.data.images import read_image
from genlmk.data.synthetic import SynthConfig, write_synthetic_dataset
from genlmk.template import load_template


def _figure(text: str, pattern: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return float(match.group(1))


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("bench") / "synth"
    config = SynthConfig(size=64, train_marked=8, train_unmarked=8, test=2, clip_frames=3, seed=1)
    write_synthetic_dataset(load_template("face"), data, config)
    return data


def test_bench_flow_prints_the_flow_error_of_each_method(toy_data):
    result = run_script("bench_flow.py", "--video", toy_data / "train_unmarked_video.mp4", "--windows", 15)
    assert result.returncode == 0, result.stderr
    assert _figure(result.stdout, r"ground-truth motion ([\d.]+) %") > 0
    assert _figure(result.stdout, r"farneback\s+15\s+([\d.]+)") > 0
    assert _figure(result.stdout, r"dis\s+-\s+([\d.]+)") > 0


def test_bench_flow_with_a_template_adds_the_along_line_gain_and_the_aperture_corrected_flow(toy_data):
    video = toy_data / "train_unmarked_video.mp4"
    result = run_script("bench_flow.py", "--video", video, "--windows", 15, "--template", "face")
    assert result.returncode == 0, result.stderr
    row = re.search(r"farneback\s+15\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", result.stdout)
    error, gain, aperture_error, aperture_gain = (float(v) for v in row.groups())
    assert error > 0 and aperture_error > 0 and 0.5 < gain < 1.5 and 0.5 < aperture_gain < 1.5
    wrong = run_script("bench_flow.py", "--video", video, "--windows", 15, "--template", "hand")
    assert wrong.returncode != 0 and "is not in" in wrong.stderr and "_gt.csv" in wrong.stderr


def test_bench_render_compares_the_two_rasterizers():
    result = run_script("bench_render.py", "--batch", 2, "--size", 32, "--repeats", 1, "--threads", 1)
    assert result.returncode == 0, result.stderr
    assert _figure(result.stdout, r"splat\s+median\s+([\d.]+) ms") > 0
    assert _figure(result.stdout, r"pytorch3d / splat: ([\d.]+)x") > 0


def test_bench_predict_prints_latency_throughput_and_end_to_end_rate():
    args = ("--runs", 1, "--frames", 10, "--video-size", 64, "--e2e-runs", 1, "--threads", 1)
    result = run_script("bench_predict.py", *args)
    assert result.returncode == 0, result.stderr
    assert _figure(result.stdout, r"network, batch 1\s+([\d.]+) ms") > 0
    assert _figure(result.stdout, r"network, batch 64\s+(\d+) frames/s") > 0
    assert _figure(result.stdout, r"genlmk predict, without overlay\s+(\d+) frames/s") > 0


def test_bench_predict_lays_a_second_preset_over_the_first():
    presets = ("--config", "configs/landmarks/cpu.yaml", "--config", "configs/landmarks/heatmap.yaml")
    result = run_script("bench_predict.py", *presets, "--runs", 1, "--threads", 1, "--skip-e2e")
    assert result.returncode == 0, result.stderr
    assert "cpu.yaml + heatmap.yaml: landmarker {" in result.stdout and "'head': 'heatmap'" in result.stdout
    assert _figure(result.stdout, r"network, batch 1\s+([\d.]+) ms") > 0


def test_bench_predict_names_a_missing_preset_in_one_line(tmp_path):
    result = run_script("bench_predict.py", "--config", tmp_path / "gone.yaml", "--skip-e2e")
    assert result.returncode != 0
    assert result.stderr.strip() == f"error: {tmp_path / 'gone.yaml'}: preset file not found"


@pytest.mark.skipif(not HAS_CXX, reason="torch.compile's inductor backend needs a C++ compiler")
def test_bench_predict_times_the_compiled_network_too():
    result = run_script("bench_predict.py", "--runs", 1, "--threads", 1, "--skip-e2e", "--compile")
    assert result.returncode == 0, result.stderr
    assert _figure(result.stdout, r"network \(torch.compile\), batch 64\s+(\d+) frames/s") > 0
    assert _figure(result.stdout, r"torch.compile time, batch 1\s+([\d.]+) s") > 0


def test_bench_motion_times_a_frame_pair_and_refuses_frames_the_networks_cannot_take():
    result = run_script("bench_motion.py", "--size", 128, "--repeats", 1, "--threads", 1)
    assert result.returncode == 0, result.stderr
    assert _figure(result.stdout, r"generator: median ([\d.]+) s") > 0
    too_small = run_script("bench_motion.py", "--size", 64, "--repeats", 1)
    assert too_small.returncode != 0
    assert "--size must be at least 128 px" in too_small.stderr


def test_bench_extract_scores_every_group_of_photos():
    result = run_script("bench_extract.py", "--photos", 1)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^all\s+\d+\s", result.stdout, re.MULTILINE), result.stdout


def test_bench_landmarks_lays_presets_over_each_other_and_a_weight_flag_over_them(toy_data, tmp_path):
    out = tmp_path / "bench"
    presets = [("--config", f"configs/landmarks/{name}.yaml") for name in ("cpu", "heatmap", "video")]
    fit = ("--data.batch_size", 2, "--model.image_size", "[64, 64]", "--trainer.val_check_interval", 2)
    args = ("--data", toy_data, "--out", out, "--steps", 1, *sum(presets, ()), "--flow", 0, "--", *fit)
    result = run_script("bench_landmarks.py", *args)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "benchmark.json").read_text())
    # the video preset's consecutive frames and its other terms stay; --flow 0 takes its flow loss out
    assert summary["unmarked"] == "video" and summary["flow_weight"] == 0.0
    assert (summary["equivariance_weight"], summary["order_weight"]) == (5.0, 1.0)
    assert "--config configs/landmarks/video.yaml" in summary["command"]


def test_bench_landmarks_reports_the_weights_a_fit_argument_set(toy_data, tmp_path):
    out = tmp_path / "bench"
    presets = [("--config", f"configs/landmarks/{name}.yaml") for name in ("cpu", "heatmap", "video")]
    weights = ("--model.losses.flow.weight", 7, "--model.losses.equivariance.weight", 2)
    fit = ("--data.batch_size", 2, "--model.image_size", "[64, 64]", *weights)
    result = run_script(
        "bench_landmarks.py", "--data", toy_data, "--out", out, "--steps", 1, *sum(presets, ()), "--", *fit
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "benchmark.json").read_text())
    # the weights given after -- changed only their own terms: the video preset's order term stays
    assert (summary["flow_weight"], summary["equivariance_weight"], summary["order_weight"]) == (
        7.0,
        2.0,
        1.0,
    )


def test_bench_landmarks_refuses_a_missing_preset_before_making_anything(tmp_path):
    out, data = tmp_path / "bench", tmp_path / "synth"
    gone = tmp_path / "gone.yaml"
    result = run_script("bench_landmarks.py", "--data", data, "--out", out, "--config", gone)
    assert result.returncode != 0
    assert result.stderr.strip() == f"error: {gone}: preset file not found"
    assert not out.exists() and not data.exists()


def test_bench_landmarks_trains_predicts_and_writes_strict_json(toy_data, tmp_path):
    out = tmp_path / "bench"
    fit = ("--data.batch_size", 2, "--model.image_size", "[64, 64]", "--trainer.val_check_interval", 2)
    weights = ("--flow", 5, "--equivariance", 3)
    result = run_script(
        "bench_landmarks.py", "--data", toy_data, "--out", out, "--steps", 2, *weights, "--", *fit
    )
    assert result.returncode == 0, result.stderr
    # parse_constant sees NaN / Infinity, which strict JSON readers reject
    summary = json.loads((out / "benchmark.json").read_text(), parse_constant=pytest.fail)
    assert summary["flow_weight"] == 5.0 and summary["unmarked"] == "video"
    assert (
        summary["equivariance_weight"] == 3.0
        and "--model.losses.equivariance.weight 3.0" in summary["command"]
    )
    assert Path(summary["checkpoint"]).is_file()
    rows = {row["set"]: row for row in summary["results"]}
    # trained on video: the training video is scored beside the unseen clips
    assert set(rows) == {"test", "clip_smooth", "clip_static", "train_unmarked_video"}
    assert rows["test"]["flicker"] is None and rows["clip_smooth"]["flicker"] > 0
    assert rows["train_unmarked_video"]["flicker"] > 0
    assert all(row["untrained_nme"] > 0 for row in rows.values())
    assert not list(out.glob(".*.tmp"))  # written through a temporary file, renamed into place


def _dlib_imports() -> bool:
    from genlmk.errors import GenlmkError
    from genlmk.evaluation.dlib_face import DlibFaceLandmarks

    try:
        DlibFaceLandmarks()
    except GenlmkError:
        return False
    return True


def test_bench_realistic_makes_photo_face_footage_trains_and_scores_genlmk_and_dlib(tmp_path):
    out = tmp_path / "bench"
    footage = ("--size", 48, "--train", 4, "--test", 2, "--clip-frames", 3)
    fit = ("--data.batch_size", 2, "--trainer.val_check_interval", 2)
    result = run_script("bench_realistic.py", "--out", out, *footage, "--steps", 2, "--", *fit)
    assert result.returncode == 0, result.stderr
    assert (out / "data" / "synth_photo.json").is_file() and (out / "data" / "test_visible.csv").is_file()
    summary = json.loads((out / "benchmark.json").read_text(), parse_constant=pytest.fail)
    assert summary["frame_size"] == 48 and "--model.image_size [48, 48]" in summary["command"]
    # the recommended CPU recipe for two capture sessions
    assert "--config cpu --config heatmap --config sessions" in summary["command"]
    assert "inter-ocular" in summary["normalizer"] and Path(summary["checkpoint"]).is_file()
    ours = {row["set"]: row for row in summary["results"] if row["method"] == "genlmk"}
    assert set(ours) == {"test", "clip_smooth", "clip_static"}
    for row in ours.values():
        assert row["found"] == 1.0 and row["nme_percent"] > 0 and row["nme_visible_percent"] > 0
        assert 0 < row["visible_fraction"] <= 1 and {"bias_x_px", "bias_y_px", "nme_hidden_percent"} <= set(
            row
        )
    assert ours["test"]["flicker_percent"] is None and ours["clip_static"]["flicker_percent"] > 0
    # the clips also through predict's one-euro filter: steadier than the raw landmarks
    smoothed = {row["set"]: row for row in summary["results"] if row["method"] == "genlmk 1e"}
    assert set(smoothed) == {"clip_smooth", "clip_static"}
    assert smoothed["clip_static"]["flicker_percent"] < ours["clip_static"]["flicker_percent"]
    # eight head-turn frames, 4x enlarged, in two rows of four
    assert read_image(out / "clip_smooth_overlay.png").shape == (2 * 4 * 48, 4 * 4 * 48, 3)
    # the untrained template as the prediction: a still template on a still head does not flicker
    template = {row["set"]: row for row in summary["results"] if row["method"] == "template"}
    assert set(template) == set(ours) and template["clip_static"]["flicker_percent"] == 0.0
    header = re.search(
        r"^set\s+method\s+found\s+NME\s+NME vis\s+NME hid\s+bias x\s+bias y\s+flicker$",
        result.stdout,
        re.MULTILINE,
    )
    assert header, result.stdout
    assert _figure(result.stdout, r"\ntest\s+genlmk\s+100\.000\s+([\d.]+)") > 0
    dlib_rows = [row for row in summary["results"] if row["method"] == "dlib 68"]
    if _dlib_imports():
        assert summary["dlib"] and [row["set"] for row in dlib_rows] == ["test", "clip_smooth", "clip_static"]
        assert re.search(r"^clip_static\s+dlib 68\s+[\d.]+", result.stdout, re.MULTILINE), result.stdout
    else:
        assert not summary["dlib"] and not dlib_rows and "dlib: not importable" in result.stdout


def test_bench_realistic_refuses_a_data_folder_without_visibility(toy_data, tmp_path):
    result = run_script("bench_realistic.py", "--data", toy_data, "--out", tmp_path / "bench")
    assert result.returncode != 0
    assert result.stderr.strip().startswith(f"error: {toy_data}: no test_visible.csv")


def test_bench_roi_training_trains_from_large_videos_and_from_the_same_clips_cropped(tmp_path):
    footage = ("--frames", 12, "--test", 3, "--size", 64, "--canvas", "320x180")
    sides = ("--marked-side", 110, "--unmarked-side", 90, "--block", 32)
    result = run_script("bench_roi_training.py", "--out", tmp_path, "--steps", 1, *footage, *sides)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "large_marked.mp4").is_file() and (
        tmp_path / "data" / "small_unmarked.mp4"
    ).is_file()
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith(("1080p", "pre-cropped"))]
    assert [row[0] for row in rows] == ["1080p", "pre-cropped"]
    for row in rows:  # test NME, bias, NME through predict --roi auto, frames lost, minutes
        lost = int(row[-2])
        assert float(row[-5]) > 0 and 0 <= lost <= 3
        assert float(row[-3]) > 0 or (lost == 3 and row[-3] == "nan")
