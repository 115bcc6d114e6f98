from __future__ import annotations

import numpy as np
import pytest

from genlmk.data.landmark_csv import read_landmark_csv, write_landmark_csv
from genlmk.errors import ConfigError, InputDataError
from genlmk.evaluation.landmarks import evaluate_landmark_files
from genlmk.geometry.polylines import line_tangents
from genlmk.metrics.landmarks import (
    box_diagonal,
    flicker,
    flicker_along_across,
    motion_gain,
    nme,
)
from genlmk.template import Template

GT = np.array([[[0.0, 0.0], [30.0, 0.0], [30.0, 40.0], [0.0, 40.0]]] * 5)  # box diagonal 50


def test_nme_known_answers():
    assert nme(GT, GT, box_diagonal(GT)) == 0.0
    assert nme(GT + np.array([3.0, 4.0]), GT, box_diagonal(GT)) == pytest.approx(10.0)  # 5 px of 50


def test_flicker_is_zero_for_a_constant_error_and_known_for_jitter():
    diag = box_diagonal(GT)
    assert flicker(GT + np.array([2.0, 1.0]), GT, diag) == pytest.approx(0.0)
    jitter = GT.copy()
    jitter[1::2] += [1.0, 0.0]  # the error alternates 0, 1 px: every change is 1 px
    assert flicker(jitter, GT, diag) == pytest.approx(100.0 * 1.0 / 50.0)
    jumps_once = GT.copy()
    jumps_once[3:] += [2.0, 0.0]  # only the transition 2 -> 3 changes the error, by 2 px
    assert flicker(jumps_once, GT, diag, np.array([0, 1, 3])) == pytest.approx(0.0)
    assert flicker(jumps_once, GT, diag, np.array([2, 3])) == pytest.approx(
        100.0 * np.sqrt(2.0**2 / 2) / 50.0
    )


def test_motion_gain_is_one_when_following_the_motion_and_the_damping_factor_when_lagging():
    moving = GT + np.arange(5.0)[:, None, None] * np.array([1.5, -0.5])  # the subject drifts
    assert motion_gain(moving + 3.0, moving) == pytest.approx(1.0)  # constant offset: full motion
    centre = moving.mean(axis=0, keepdims=True)
    damped = centre + 0.6 * (moving - centre)  # 60 % of every displacement from the mean pose
    assert motion_gain(damped, moving) == pytest.approx(0.6)
    assert motion_gain(damped, moving, np.array([0, 2])) == pytest.approx(0.6)
    assert np.isnan(motion_gain(GT + 1.0, GT))  # a static subject has no motion to follow


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="both be"):
        nme(GT[:, :3], GT, box_diagonal(GT))
    with pytest.raises(ValueError, match="at least two frames"):
        flicker(GT[:1], GT[:1], box_diagonal(GT[:1]))


def test_evaluate_files_known_answer_with_box_and_named_normalisers(tmp_path):
    names = ["eye_r_0", "eye_r_1", "eye_l_0", "eye_l_1"]
    write_landmark_csv(tmp_path / "gt.csv", GT, names)
    write_landmark_csv(tmp_path / "pred.csv", GT + np.array([0.0, 2.5]), names)
    result = evaluate_landmark_files(tmp_path / "pred.csv", tmp_path / "gt.csv")
    assert result["nme_percent"] == pytest.approx(5.0) and result["flicker_percent"] == pytest.approx(0.0)
    assert np.isnan(result["motion_gain"])  # the ground truth does not move
    # eye centres (15, 0) and (15, 40): inter-ocular distance 40
    by_eyes = evaluate_landmark_files(tmp_path / "pred.csv", tmp_path / "gt.csv", "eye_r_*,eye_l_*")
    assert by_eyes["nme_percent"] == pytest.approx(100 * 2.5 / 40)
    with pytest.raises(ConfigError, match="matches no landmark"):
        evaluate_landmark_files(tmp_path / "pred.csv", tmp_path / "gt.csv", "nose*,eye_l_*")


def test_flicker_along_and_across_lines_split_the_flicker_exactly():
    diag = box_diagonal(GT)
    tangents = line_tangents(GT, [(0, 1), (2, 3)])  # top edge along x, bottom edge along -x
    sliding = GT.copy()
    sliding[1::2] += [1.0, 0.0]  # the error alternates 0, 1 px along the lines
    along, across = flicker_along_across(sliding, GT, diag, tangents)
    assert along == pytest.approx(flicker(sliding, GT, diag)) and across == pytest.approx(0.0)
    noisy = GT + np.random.default_rng(0).normal(0.0, 0.5, GT.shape)
    along, across = flicker_along_across(noisy, GT, diag, tangents)
    assert along > 0 and across > 0
    assert along**2 + across**2 == pytest.approx(flicker(noisy, GT, diag) ** 2)


def _square_template(names: list[str]) -> Template:
    return Template.from_dict(
        {
            "name": "square",
            "size": [64, 64],
            "landmarks": [{"name": n, "x": float(x), "y": float(y)} for n, (x, y) in zip(names, GT[0])],
            "lines": [names[:2], names[2:]],
            "marker": {"color": [0, 0, 255], "width": 2},
        }
    )


def test_evaluate_files_with_a_template_scores_each_line(tmp_path):
    names = ["top_a", "top_b", "bottom_a", "bottom_b"]
    write_landmark_csv(tmp_path / "gt.csv", GT, names)
    pred = GT.copy()
    pred[1::2, 2:] += [0.0, 2.0]  # only the bottom line jitters, across itself, by 2 px
    pred_path, gt_path = tmp_path / "pred.csv", tmp_path / "gt.csv"
    write_landmark_csv(pred_path, pred, names)
    result = evaluate_landmark_files(pred_path, gt_path, template=_square_template(names))
    top, bottom = result["lines"]
    assert (top["line"], top["points"], bottom["line"]) == ("#0 top_a..top_b", 2, "#1 bottom_a..bottom_b")
    assert top["nme_percent"] == 0.0 and top["flicker_percent"] == 0.0
    assert bottom["flicker_percent"] == pytest.approx(100 * 2.0 / 50)
    assert bottom["across_percent"] == pytest.approx(bottom["flicker_percent"])
    assert bottom["along_percent"] == pytest.approx(0.0)
    assert result["across_percent"] == pytest.approx(result["flicker_percent"])
    renamed = ["top_a", "top_b", "bottom_a", "chin"]
    with pytest.raises(ConfigError, match=r"landmark 'chin' is not in .*gt.csv \(1 of 4 missing\)"):
        evaluate_landmark_files(pred_path, gt_path, template=_square_template(renamed))


def test_evaluate_files_needs_every_ground_truth_frame(tmp_path):
    names = ["a", "b", "c", "d"]
    write_landmark_csv(tmp_path / "gt.csv", GT, names)
    write_landmark_csv(tmp_path / "pred.csv", GT[:3], names)
    with pytest.raises(InputDataError, match=r"pred.csv: no prediction for frame 3"):
        evaluate_landmark_files(tmp_path / "pred.csv", tmp_path / "gt.csv")


def test_landmark_csv_round_trip_and_bad_files(tmp_path):
    names = ["a", "b", "c", "d"]
    write_landmark_csv(tmp_path / "x.csv", GT, names, first_frame=10)
    back, read_names, frames = read_landmark_csv(tmp_path / "x.csv")
    assert np.allclose(back, GT) and read_names == names and frames == list(range(10, 15))
    (tmp_path / "bad.csv").write_text("frame,label\n0,1\n")
    with pytest.raises(InputDataError, match=r"bad.csv: expected columns frame,name,x,y"):
        read_landmark_csv(tmp_path / "bad.csv")
    with pytest.raises(InputDataError, match=r"x.csv: line 2 names landmark 'a', not in the template"):
        read_landmark_csv(tmp_path / "x.csv", ["z"])
