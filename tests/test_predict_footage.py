"""genlmk predict on footage: formats, crops, smoothing, progress, constant memory; evaluate either file."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from landmark_helpers import random_frames, tiny_landmarks_checkpoint
from video_helpers import sound_seconds, write_video_with_sound

from genlmk.cli.main import main
from genlmk.data.footage import find_footage
from genlmk.data.landmark_csv import write_landmark_csv
from genlmk.data.landmark_files import read_landmarks
from genlmk.data.video import read_video, write_video
from genlmk.inference.landmarker import Landmarker
from genlmk.inference.predict import PredictOptions, predict_frames
from genlmk.inference.smoothing import OneEuroFilter, OneEuroSettings


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    checkpoint = tiny_landmarks_checkpoint(root / "tiny.ckpt")
    write_video(root / "clip.mp4", random_frames(6, height=64, width=80), fps=20.0)
    return root, checkpoint


def _predict(checkpoint, video, out, *extra):
    args = [
        "predict",
        "--ckpt",
        str(checkpoint),
        "--input",
        str(video),
        "--out",
        str(out),
        "--batch-size",
        "4",
    ]
    assert main([*args, *extra]) == 0


def test_formats_crop_and_smoothing_write_the_model_and_the_filtered_landmarks(setup, tmp_path):
    root, checkpoint = setup
    extra = ["--formats", "csv,coco,npz", "--crop", "8,0,64,64", "--smooth", "one-euro", "--beta", "0.1"]
    _predict(checkpoint, root / "clip.mp4", tmp_path, *extra)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"landmarks{s}.{f}" for s in ("", "_smoothed") for f in ("csv", "json", "npz")] + [
        "overlay.mp4"
    ]
    frames = read_video(root / "clip.mp4")
    expected = Landmarker.from_checkpoint(checkpoint).predict(frames, np.tile([8, 0, 64, 64], (6, 1)))
    smoothed = OneEuroFilter(OneEuroSettings(beta=0.1), fps=20.0)(expected, np.arange(6))
    for stem, want in (("landmarks", expected), ("landmarks_smoothed", smoothed)):
        for suffix in ("csv", "json", "npz"):
            found, _, numbers = read_landmarks(tmp_path / f"{stem}.{suffix}")
            assert numbers == list(range(6)) and np.allclose(found, want, atol=2e-3), (stem, suffix)
    assert not np.allclose(smoothed, expected, atol=1e-2)  # the filter did something
    coco = json.loads((tmp_path / "landmarks.json").read_text())
    assert coco["images"][0]["file_name"] == "clip/000000.png" and coco["images"][0]["width"] == 80
    assert len(find_footage(tmp_path / "overlay.mp4")[0]) == 6


def test_a_box_per_frame_from_a_file_and_a_missing_box_is_an_error(setup, tmp_path, capsys):
    root, checkpoint = setup
    boxes = np.array([[i, i, 32 + 4 * i, 32 + 4 * i] for i in range(6)])
    rows = "".join(f"{i},{','.join(map(str, b))}\n" for i, b in enumerate(boxes))
    (tmp_path / "boxes.csv").write_text("frame,x,y,w,h\n" + rows)
    _predict(
        checkpoint,
        root / "clip.mp4",
        tmp_path / "out",
        "--boxes",
        str(tmp_path / "boxes.csv"),
        "--no-overlay",
    )
    expected = Landmarker.from_checkpoint(checkpoint).predict(read_video(root / "clip.mp4"), boxes)
    found, _, _ = read_landmarks(tmp_path / "out" / "landmarks.csv")
    assert np.allclose(found, expected, atol=1e-3)

    (tmp_path / "short.csv").write_text("frame,x,y,w,h\n" + "".join(rows.splitlines(True)[:3]))
    capsys.readouterr()
    args = [
        "predict",
        "--ckpt",
        str(checkpoint),
        "--input",
        str(root / "clip.mp4"),
        "--out",
        str(tmp_path / "o2"),
    ]
    assert main([*args, "--boxes", str(tmp_path / "short.csv")]) == 1
    assert capsys.readouterr().err.strip() == f"genlmk: error: {tmp_path / 'short.csv'}: no box for frame 3"


def test_bad_options_are_one_line_errors(setup, tmp_path, capsys):
    root, checkpoint = setup
    args = ["predict", "--ckpt", str(checkpoint), "--input", str(root / "clip.mp4"), "--out", str(tmp_path)]
    for extra, message in (
        (["--formats", "csv,txt"], "--formats: expected some of csv,coco,npz, got 'csv,txt'"),
        (["--crop", "1,2,3"], "--crop: expected x,y,w,h (four numbers), got '1,2,3'"),
        (
            ["--smooth", "one-euro", "--min-cutoff", "0"],
            "--smooth one-euro: one-euro filter needs min_cutoff > 0",
        ),
        (["--roi", "auto", "--roi-min-size", "0"], "--roi-smoothing must be in [0, 1), --roi-margin"),
    ):
        assert main([*args, *extra]) == 1
        assert capsys.readouterr().err.startswith(f"genlmk: error: {message}")


def test_evaluate_scores_the_model_and_the_smoothed_landmarks_in_one_table(setup, tmp_path, capsys):
    root, checkpoint = setup
    _predict(
        checkpoint,
        root / "clip.mp4",
        tmp_path,
        "--smooth",
        "one-euro",
        "--formats",
        "csv,npz",
        "--no-overlay",
    )
    raw, names, _ = read_landmarks(tmp_path / "landmarks.csv")
    write_landmark_csv(tmp_path / "gt.csv", raw + 1.0, names)  # ground truth 1 px off diagonally
    capsys.readouterr()
    preds = [str(tmp_path / "landmarks.npz"), str(tmp_path / "landmarks_smoothed.csv")]
    assert (
        main(
            [
                "evaluate",
                "landmarks",
                "--pred",
                *preds,
                "--gt",
                str(tmp_path / "gt.csv"),
                "--json",
                str(tmp_path / "s.json"),
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "landmarks.npz" in table and "landmarks_smoothed.csv" in table
    scores = json.loads((tmp_path / "s.json").read_text())
    assert [s["pred"] for s in scores] == preds
    assert scores[0]["flicker_percent"] == pytest.approx(0.0, abs=1e-3)  # error constant: no flicker
    assert scores[1]["flicker_percent"] > 0


def test_the_progress_bar_counts_frames_of_the_known_total(setup, tmp_path, capsys):
    _, checkpoint = setup
    landmarker = Landmarker.from_checkpoint(checkpoint)
    frames = random_frames(5)
    options = PredictOptions(batch_size=2, overlay=False, progress=True)
    predict_frames(landmarker, iter(frames), tmp_path / "a", options, name="clip", total=5)
    err = capsys.readouterr().err
    assert "predict clip: 100%" in err and "5/5" in err
    predict_frames(landmarker, iter(frames), tmp_path / "b", PredictOptions(overlay=False), total=5)
    assert capsys.readouterr().err == ""  # not a terminal: quiet


def _peak_bytes(landmarker, count, out):
    """Peak traced Python/NumPy memory of predicting ``count`` generated frames, every output on."""

    def frames():
        for index in range(count):
            yield random_frames(1, seed=index % 7)[0]

    options = PredictOptions(batch_size=16, formats=("csv", "coco", "npz"), smoothing=OneEuroSettings())
    tracemalloc.start()
    try:
        predict_frames(landmarker, frames(), out, options, fps=25.0)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_length_of_the_footage(setup, tmp_path):
    _, checkpoint = setup
    landmarker = Landmarker.from_checkpoint(checkpoint)
    _peak_bytes(landmarker, 16, tmp_path / "warm")  # first-use allocations (codecs, caches)
    short = _peak_bytes(landmarker, 80, tmp_path / "short")
    long = _peak_bytes(landmarker, 400, tmp_path / "long")
    # keeping the landmarks of the 320 more frames (68 x 2 float64 each, raw and smoothed) would
    # take 700 kB (a writer that kept its batches would fail this); the peaks differ by noise only
    assert long - short < 200_000, (short, long)
    assert len(read_landmarks(tmp_path / "long" / "landmarks.npz")[2]) == 400


def test_roi_auto_follows_the_subject_and_writes_found_frames(setup, tmp_path, capsys):
    import torch

    root, checkpoint = setup
    # a network whose last layer is zero answers its template in any crop: always a template-like subject
    state = torch.load(checkpoint, weights_only=False)
    last = [k for k in state["state_dict"] if k.startswith("landmarker.regressor.") and "weight" in k][-1]
    state["state_dict"][last].zero_()
    state["state_dict"][last.replace("weight", "bias")].zero_()
    still = tmp_path / "still.ckpt"
    torch.save(state, still)
    threads = torch.get_num_threads()
    _predict(
        still, root / "clip.mp4", tmp_path / "out", "--roi", "auto", "--formats", "csv,npz", "--no-overlay"
    )
    with np.load(tmp_path / "out" / "landmarks.npz") as archive:
        assert archive["found"].tolist() == [True] * 6
        assert np.isfinite(archive["landmarks"]).all()
    assert torch.get_num_threads() == threads  # one thread while tracking, then as before
    # the tiny checkpoint has no appearance, as those written before genlmk kept one
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "predates subject search by appearance" in warnings[0], warnings


def test_missing_frames_are_nan_with_found_false_and_reset_the_filter(setup, tmp_path):
    from genlmk.data.landmark_npz import LandmarkNpzWriter
    from genlmk.template import load_template

    template = load_template("face")
    count = template.num_landmarks
    points = np.stack([np.full((count, 2), 10.0), np.full((count, 2), np.nan), np.full((count, 2), 30.0)])
    writer = LandmarkNpzWriter(tmp_path / "gap.npz", template)
    writer.write(points, [0, 1, 2], np.tile([80, 64], (3, 1)))
    writer.close()
    with np.load(tmp_path / "gap.npz") as archive:
        assert archive["found"].tolist() == [True, False, True]
        assert np.isnan(archive["landmarks"][1]).all()
    smoothed = OneEuroFilter(OneEuroSettings(), fps=25.0)(points, np.arange(3))
    assert np.isnan(smoothed[1]).all()
    np.testing.assert_array_equal(smoothed[2], points[2])


def test_the_overlay_video_keeps_the_sound_of_the_input(setup, tmp_path):
    _, checkpoint = setup
    write_video_with_sound(tmp_path / "talk.mp4", frames=20)
    _predict(checkpoint, tmp_path / "talk.mp4", tmp_path / "out")
    assert len(read_video(tmp_path / "out" / "overlay.mp4")) == 20
    assert abs(sound_seconds(tmp_path / "out" / "overlay.mp4") - sound_seconds(tmp_path / "talk.mp4")) < 0.05


def test_predict_takes_a_list_of_frames_as_it_takes_their_stack(setup):
    from genlmk.errors import InputDataError

    _, checkpoint = setup
    landmarker = Landmarker.from_checkpoint(checkpoint)
    frames = random_frames(3, height=64, width=80)
    boxes = np.array([[0, 0, 40, 40], [10, 5, 50, 50], [-5, -5, 30, 30]])
    np.testing.assert_array_equal(landmarker.predict(list(frames), boxes), landmarker.predict(frames, boxes))
    np.testing.assert_array_equal(landmarker.predict(list(frames)), landmarker.predict(frames))
    with pytest.raises(InputDataError, match="of one size"):
        landmarker.predict([frames[0], frames[1, :32]])


def test_an_error_mid_way_stops_the_decoding_thread_and_closes_the_footage(setup, tmp_path, monkeypatch):
    import threading

    _, checkpoint = setup
    landmarker = Landmarker.from_checkpoint(checkpoint)
    closed = threading.Event()

    def endless_footage():
        try:
            while True:
                yield random_frames(1)[0]
        finally:
            closed.set()

    def network_fails(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(landmarker, "predict_with_visibility", network_fails)
    with pytest.raises(RuntimeError, match="out of memory"):
        predict_frames(
            landmarker, endless_footage(), tmp_path / "x", PredictOptions(batch_size=2, overlay=False)
        )
    assert closed.wait(timeout=5.0)
    assert not any(thread.name == "genlmk-decode" for thread in threading.enumerate())
