"""Landmark visibility (``landmarker.visibility``): the head, the renderer's fading, the losses,
predictions and their files, and models without it left as they were."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import run_script, small_template_dict
from landmark_helpers import (
    TINY_HEATMAP_LANDMARKER,
    TINY_LANDMARKER,
    random_frames,
    tiny_landmarks_checkpoint,
)
from training_helpers import landmark_data, landmark_fit_args

from genlmk.cli.main import main
from genlmk.data.coco_keypoints import read_coco_keypoints
from genlmk.data.images import read_image
from genlmk.data.landmark_csv import COLUMNS, read_landmark_csv, write_landmark_csv
from genlmk.data.landmark_files import read_landmarks, read_visibility
from genlmk.data.realistic_face import write_visibility_csv
from genlmk.errors import ConfigError
from genlmk.evaluation.landmarks import evaluate_landmark_files, visibility_flag_scores
from genlmk.geometry.boxes import crop_to_frame, whole_frame_boxes
from genlmk.inference.landmarker import Landmarker
from genlmk.inference.outputs import LandmarkOutputs
from genlmk.inference.predict import tracked_visibility
from genlmk.losses import chamfer_to_paint, visibility_prior
from genlmk.networks.deformation import VISIBLE_START, LandmarkDeformationNet, build_landmarker
from genlmk.rendering import MarkerRenderer, MarkerRenderSettings, ink_samples
from genlmk.template import Template
from genlmk.visualization import draw_landmarks


def _line_template() -> Template:
    """Three landmarks on one horizontal line, a - b - c, on a 40 x 16 canvas."""
    landmarks = [{"name": n, "x": x, "y": 8.0} for n, x in (("a", 6.0), ("b", 20.0), ("c", 34.0))]
    return Template.from_dict(
        small_template_dict(size=[40, 16], landmarks=landmarks, lines=[["a", "b", "c"]]), source="<test>"
    )


@pytest.mark.parametrize("head", ["offsets", "affine", "heatmap"])
def test_visibility_head_gives_one_probability_per_landmark_starting_visible(head):
    points = torch.rand(5, 2) * 32
    network = LandmarkDeformationNet(points, (32, 32), (4, 8, 8, 8), 8, head=head, visibility=True)
    images = torch.rand(3, 3, 32, 32)
    landmarks, visible = network.landmarks_and_visibility(images)
    assert landmarks.shape == (3, 5, 2) and visible.shape == (3, 5)
    assert torch.allclose(visible, torch.sigmoid(torch.tensor(VISIBLE_START)), atol=0.01)
    assert torch.equal(landmarks, network.landmarks(images))
    plain = LandmarkDeformationNet(points, (32, 32), (4, 8, 8, 8), 8, head=head)
    assert plain.landmarks_and_visibility(images)[1] is None and not plain.has_visibility
    assert set(network.state_dict()) - set(plain.state_dict()) == {"visibility.weight", "visibility.bias"}


def test_a_visibility_option_that_is_not_a_boolean_is_a_config_error():
    with pytest.raises(ConfigError, match="landmarker: visibility must be true or false, got 'yes'"):
        build_landmarker({"visibility": "yes"}, torch.rand(5, 2) * 32, (32, 32))


def test_heatmap_visibility_reads_features_without_reshaping_the_heatmaps():
    network = LandmarkDeformationNet(
        torch.rand(5, 2) * 32, (32, 32), (4, 8, 8, 8), 8, head="heatmap", visibility=True
    )
    _, visible = network.landmarks_and_visibility(torch.rand(2, 3, 32, 32))
    visible.sum().backward()
    assert network.heatmaps.logits.weight.grad is None  # the heatmap weights are detached
    assert network.heatmaps.up4[0].weight.grad.abs().sum() > 0  # the features are read


@pytest.mark.parametrize("backend", ["splat", "pytorch3d"])
def test_renderer_with_all_ones_visibility_paints_exactly_as_without(backend, face_template):
    renderer = MarkerRenderer(face_template, MarkerRenderSettings(backend=backend))
    images = torch.rand(2, 3, *face_template.size[::-1])
    landmarks = torch.as_tensor(face_template.points, dtype=torch.float32).expand(2, -1, -1) + torch.randn(
        2, 1, 2
    )
    plain = renderer(images, landmarks)
    ones = renderer(images, landmarks, torch.ones(2, face_template.num_landmarks))
    assert torch.equal(plain.images, ones.images) and torch.equal(plain.coverage, ones.coverage)


def test_a_hidden_endpoint_fades_its_stretch_to_no_ink():
    template = _line_template()
    renderer = MarkerRenderer(template, MarkerRenderSettings(backend="splat"))
    landmarks = torch.as_tensor(template.points, dtype=torch.float32)[None]
    hidden_c = torch.tensor([[1.0, 1.0, 0.0]])
    _, lengths = ink_samples(landmarks, renderer.sampling, hidden_c)
    _, full = ink_samples(landmarks, renderer.sampling)
    on_bc = renderer.sampling.start == 1
    assert torch.equal(lengths[0, ~on_bc], full[0, ~on_bc])  # a - b: both ends visible, untouched
    share = lengths[0, on_bc] / full[0, on_bc]
    assert torch.allclose(share, 1.0 - renderer.sampling.t[on_bc])  # linear fade towards c
    coverage = renderer.coverage(landmarks, hidden_c)[0, 0]
    plain = renderer.coverage(landmarks)[0, 0]
    fading = coverage[8, 21:34] / plain[8, 21:34]  # from b towards c, pixel by pixel
    assert (fading.diff() < 0).all() and fading[-1] < 0.15  # at the hidden end, little paint
    assert torch.allclose(coverage[8, 7], plain[8, 7])  # at the visible end, the same paint
    assert renderer.coverage(landmarks, torch.zeros(1, 3)).max() == 0  # all hidden: no ink at all


def test_chamfer_does_not_pull_hidden_stroke_points_onto_the_paint():
    paint = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]])
    stroke = torch.tensor([[[0.0, 0.5], [2.0, 0.5], [2.0, 9.0]]], requires_grad=True)  # the last far off
    valid = torch.tensor([True])
    weights = torch.tensor([[1.0, 1.0, 0.0]])
    loss = chamfer_to_paint(stroke, paint, valid, huber=4.0, stroke_weights=weights)
    loss.backward()
    assert stroke.grad[0, 2].abs().max() == 0  # the hidden point feels no pull
    near = chamfer_to_paint(stroke[:, :2].detach(), paint, valid, huber=4.0)
    assert torch.allclose(loss, near)  # ... and costs nothing
    alike = torch.full((1, 3), 0.3)  # equal weights change nothing: no reward for hiding as such
    assert torch.allclose(
        chamfer_to_paint(stroke, paint, valid, stroke_weights=alike), chamfer_to_paint(stroke, paint, valid)
    )


def test_visibility_prior_is_minus_log_v_with_a_pull_that_stays_when_hidden():
    logits = torch.tensor([[4.0, 0.0, -30.0]], requires_grad=True)
    prior = visibility_prior(logits)
    expected = -torch.log(torch.sigmoid(logits.detach())).mean()
    assert torch.allclose(prior, expected)
    prior.backward()
    assert logits.grad[0, 2] == pytest.approx(-1 / 3, rel=1e-6)  # hidden: still pulled back
    assert abs(logits.grad[0, 0]) < 0.01  # visible: left alone


def test_system_with_visibility_renders_through_it_and_adds_the_prior(tiny_system):
    system = tiny_system(landmarker={"channels": [4, 8, 8, 8], "hidden": 16, "visibility": True})
    unmarked, marked = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    _, parts, images = system.generator_losses(unmarked, marked)
    assert torch.isfinite(parts["visibility"]) and images["visibility_unmarked"].shape == (2, 68)
    torch.nn.init.constant_(system.landmarker.visibility.bias, -30.0)  # every landmark hidden
    _, _, images = system.generator_losses(unmarked, marked)
    assert torch.allclose(images["fake_marked"], unmarked, atol=1e-6)  # no paint drawn
    plain = tiny_system()
    _, parts, images = plain.generator_losses(unmarked, marked)
    assert "visibility" not in parts and "visibility_unmarked" not in images


def test_checkpoint_without_visibility_predicts_exactly_as_its_network_and_writes_plain_files(tmp_path):
    checkpoint = tiny_landmarks_checkpoint(tmp_path / "old.ckpt", landmarker=TINY_LANDMARKER)
    landmarker = Landmarker.from_checkpoint(checkpoint)
    frames = random_frames(3, 48, 40)
    boxes = whole_frame_boxes(3, (40, 48))
    with torch.inference_mode():
        network = landmarker.network.landmarks(landmarker.prepare(frames, boxes)).numpy()
    expected = crop_to_frame(network, boxes, landmarker.image_size)
    landmarks, visible = landmarker.predict_with_visibility(frames)
    assert not landmarker.has_visibility and visible is None
    assert np.array_equal(landmarks, expected) and np.array_equal(landmarker.predict(frames), expected)
    outputs = LandmarkOutputs(tmp_path, "landmarks", ("csv", "coco", "npz"), landmarker.template)
    outputs.write(landmarks, np.arange(3), np.tile([40, 48], (3, 1)), ["a", "b", "c"])
    outputs.close()
    assert (tmp_path / "landmarks.csv").read_text().splitlines()[0] == ",".join(COLUMNS)
    assert "visible" not in np.load(tmp_path / "landmarks.npz").files
    for suffix in ("csv", "npz"):
        assert read_visibility(tmp_path / f"landmarks.{suffix}") is None
    assert np.all(read_visibility(tmp_path / "landmarks.json") == 1.0)  # COCO: v = 2 throughout


@pytest.mark.parametrize("landmarker", [TINY_LANDMARKER, TINY_HEATMAP_LANDMARKER], ids=["offsets", "heatmap"])
def test_visibility_round_trips_through_csv_coco_and_npz(landmarker, tmp_path):
    checkpoint = tiny_landmarks_checkpoint(
        tmp_path / "vis.ckpt", landmarker={**landmarker, "visibility": True}
    )
    model = Landmarker.from_checkpoint(checkpoint)
    frames = random_frames(4, 48, 40)
    landmarks, visible = model.predict_with_visibility(frames)
    assert model.has_visibility and visible.shape == (4, 68)
    assert (visible < 0.5).any() and (visible >= 0.5).any()
    assert np.array_equal(landmarks, model.predict(frames))
    outputs = LandmarkOutputs(tmp_path, "landmarks", ("csv", "coco", "npz"), model.template, visibility=True)
    outputs.write(landmarks, np.arange(4), np.tile([40, 48], (4, 1)), [f"{k}.png" for k in range(4)], visible)
    outputs.close()
    names = list(model.template.names)
    assert np.allclose(read_visibility(tmp_path / "landmarks.csv", names), visible, atol=5e-4)
    assert np.array_equal(read_visibility(tmp_path / "landmarks.npz", names), visible)
    assert np.array_equal(read_visibility(tmp_path / "landmarks.json", names), (visible >= 0.5) * 1.0)
    # positions read as before, hidden landmarks included (COCO v = 1 keeps its coordinates)
    for suffix in ("csv", "json", "npz"):
        assert np.allclose(read_landmarks(tmp_path / f"landmarks.{suffix}", names)[0], landmarks, atol=1e-3)
    coco, _, _ = read_coco_keypoints(tmp_path / "landmarks.json")
    assert np.isfinite(coco).all()
    # `genlmk evaluate` reads the CSV with its extra column and scores the flags
    truth = read_visibility(tmp_path / "landmarks.csv", names) >= 0.5  # the flags as written, 3 decimals
    truth[0, :5] = ~truth[0, :5]  # five flags wrong
    write_landmark_csv(tmp_path / "set_gt.csv", landmarks, names)
    write_visibility_csv(tmp_path / "set_visible.csv", truth, tuple(names))
    result = evaluate_landmark_files(tmp_path / "landmarks.csv", tmp_path / "set_gt.csv")
    assert result["nme_percent"] < 1e-3
    assert result["visibility_accuracy"] == pytest.approx(1 - 5 / visible.size)


def test_visibility_flag_scores_count_hidden_landmarks_found():
    predicted = np.array([[0.9, 0.2, 0.1, 0.8], [np.nan, np.nan, np.nan, np.nan]])
    visible = np.array([[True, False, True, False], [False, False, False, False]])
    scores = visibility_flag_scores(predicted, visible)
    assert scores["visibility_accuracy"] == pytest.approx(0.5)
    assert scores["hidden_recall"] == pytest.approx(0.5)  # of the two hidden, one called hidden
    assert scores["hidden_precision"] == pytest.approx(0.5)  # of the two called hidden, one is
    assert scores["predicted_hidden_fraction"] == pytest.approx(0.5)
    assert np.isnan(visibility_flag_scores(np.ones((1, 2)), np.ones((1, 2), bool))["hidden_recall"])


def test_a_tiny_fit_with_visibility_predicts_flags_into_every_format(tmp_path):
    data = landmark_data(tmp_path / "data", frames=6)
    runs = tmp_path / "runs"
    args = landmark_fit_args(data, runs, steps=2, every=2)
    args += ["--model.landmarker.visibility", "true", "--model.losses.visibility.weight", "0.1"]
    args += ["--model.image_log_every", "1"]  # the logged overlays draw the flags too
    assert main(args) == 0
    [checkpoint] = list(runs.glob("landmarks/version_*/checkpoints/last.ckpt"))
    model = Landmarker.from_checkpoint(checkpoint)
    assert model.has_visibility
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = EventAccumulator(str(checkpoint.parents[1])).Reload().Tags()
    assert {"train/visible", "train/visibility"} <= set(tags["scalars"])
    assert any(tag.startswith("train/unmarked+landmarks") for tag in tags["images"])
    out = tmp_path / "pred"
    assert main(["predict", "--ckpt", str(checkpoint), "--input", str(data / "unmarked"), "--out", str(out),
                 "--formats", "csv,coco,npz", "--no-overlay"]) == 0  # fmt: skip
    landmarks, _, _ = read_landmark_csv(out / "landmarks.csv")
    flags = read_visibility(out / "landmarks.csv")
    assert np.isfinite(landmarks).all() and flags.shape == (6, 4) and ((flags >= 0) & (flags <= 1)).all()
    assert np.load(out / "landmarks.npz")["visible"].shape == (6, 4)
    coco = json.loads((out / "landmarks.json").read_text())
    assert {v for a in coco["annotations"] for v in a["keypoints"][2::3]} <= {1, 2}
    # several batches with the overlay drawing the flags, then the tracker's crops
    assert main(["predict", "--ckpt", str(checkpoint), "--input", str(data / "unmarked"), "--out",
                 str(tmp_path / "drawn"), "--batch-size", "2"]) == 0  # fmt: skip
    np.testing.assert_allclose(read_visibility(tmp_path / "drawn" / "landmarks.csv"), flags, atol=1e-3)
    frames = [read_image(path) for path in sorted((data / "unmarked").glob("*.png"))[:3]]
    boxes = np.array([[0, 0, 32, 32], [0, 0, 0, 0], [4, 4, 24, 24]])
    tracked = tracked_visibility(model, frames, boxes)
    assert np.isnan(tracked[1]).all() and np.isfinite(tracked[[0, 2]]).all()
    np.testing.assert_allclose(tracked[0], model.predict_with_visibility(frames[:1])[1][0])


def test_visibility_oracle_bench_scores_each_prior_and_mix(tmp_path):
    result = run_script(
        "bench_visibility_oracle.py", "--out", tmp_path, "--size", 48, "--steps", 2, "--prior", 0.5
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "visibility_oracle.json").read_text())
    assert summary["frames"] == 10 and 0 < summary["hidden_fraction"] < 0.5
    assert [(row["prior"], row["terms"]) for row in summary["results"]] == [
        (0.5, "image"),
        (0.5, "chamfer"),
        (0.5, "both"),
    ]
    assert all(0 <= row["visibility_accuracy"] <= 1 for row in summary["results"])
    assert "recall" in result.stdout and "both" in result.stdout


def test_overlays_draw_landmarks_predicted_hidden_as_rings():
    template = _line_template()
    image = np.zeros((16, 40, 3), dtype=np.uint8)
    points = np.asarray(template.points)
    shown = draw_landmarks(image, points, template, radius=3, visibility=np.array([0.9, 0.9, 0.9]))
    ringed = draw_landmarks(image, points, template, radius=3, visibility=np.array([0.9, 0.9, 0.2]))
    assert np.array_equal(shown, draw_landmarks(image, points, template, radius=3))  # visible: dots as before
    # round c at (34, 8): a filled dot, or a ring (empty just above the centre, drawn 2.5 px out)
    assert shown[6, 33, 0] == 255 and ringed[6, 33, 0] < 32 and ringed[5, 32, 0] > 200
    assert np.array_equal(ringed[:, :20], shown[:, :20])  # a and its dot untouched


def test_a_compiled_landmarker_gives_the_same_flags_for_padded_batches(tmp_path):
    visibility = {**TINY_LANDMARKER, "visibility": True}
    model = Landmarker.from_checkpoint(tiny_landmarks_checkpoint(tmp_path / "v.ckpt", landmarker=visibility))
    frames = random_frames(5, 48, 40)
    landmarks, visible = model.predict_with_visibility(frames)
    model.compile(batch_size=2, backend="eager")  # 5 frames: pieces of 2, the last one padded
    compiled_landmarks, compiled_visible = model.predict_with_visibility(frames)
    assert np.allclose(compiled_landmarks, landmarks, atol=1e-4) and compiled_visible.shape == (5, 68)
    assert np.allclose(compiled_visible, visible, atol=1e-5)
