"""Pins the half-pixel conventions behind the mean signed error (issue 37): a perfect prediction has
no bias, a shift shows as exactly that shift, and Landmarker.predict's resize maps points back exactly."""

from __future__ import annotations

import numpy as np
import torch

from genlmk.inference.landmarker import Landmarker
from genlmk.metrics.landmarks import mean_signed_error
from genlmk.template import load_template


def test_perfect_prediction_has_zero_bias_and_a_shift_shows_exactly() -> None:
    gt = np.random.default_rng(0).uniform(0, 128, size=(5, 68, 2))
    np.testing.assert_array_equal(mean_signed_error(gt, gt), [0.0, 0.0])
    np.testing.assert_allclose(mean_signed_error(gt + np.array([0.5, 0.0]), gt), [0.5, 0.0], atol=1e-12)
    gt[0, 3] = np.nan
    np.testing.assert_allclose(mean_signed_error(gt + np.array([0.0, -0.25]), gt), [0.0, -0.25], atol=1e-12)


class _CentroidNet(torch.nn.Module):
    """Stands in for a landmark network: every landmark at the brightness centroid of the input,
    in corner-origin model pixels (pixel i covers [i, i + 1), its centre at i + 0.5)."""

    image_size = (32, 32)

    def landmarks(self, images: torch.Tensor) -> torch.Tensor:
        weight = images.mean(dim=1)  # (B, h, w)
        h, w = weight.shape[1:]
        ys = torch.arange(h, dtype=torch.float64) + 0.5
        xs = torch.arange(w, dtype=torch.float64) + 0.5
        total = weight.sum(dim=(1, 2)).double()
        x = (weight.double().sum(dim=1) * xs).sum(dim=1) / total
        y = (weight.double().sum(dim=2) * ys).sum(dim=1) / total
        return torch.stack([x, y], dim=-1)[:, None, :].float()

    has_visibility = False

    def landmarks_and_visibility(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.landmarks(images), None


def test_predict_maps_a_known_pixel_back_exactly_from_a_larger_frame() -> None:
    frame = np.zeros((1, 128, 96, 3), dtype=np.uint8)
    # a bright block of whole 3x4 resize cells whose centre is the corner-origin point (39.0, 72.0):
    # area averaging then keeps its centroid exactly, so any offset is the resize's convention
    frame[0, 68:76, 36:42] = 255
    landmarker = Landmarker(_CentroidNet(), load_template("face"))
    point = landmarker.predict(frame)[0, 0]
    np.testing.assert_allclose(point, [39.0, 72.0], atol=1e-3)


def test_evaluation_reports_zero_bias_for_the_truth_and_the_shift_of_a_shifted_file(tmp_path) -> None:
    from genlmk.data.landmark_csv import write_landmark_csv
    from genlmk.evaluation.landmarks import evaluate_landmark_files

    gt = np.random.default_rng(1).uniform(10, 50, size=(3, 4, 2))
    names = ["a", "b", "c", "d"]
    write_landmark_csv(tmp_path / "gt.csv", gt, names)
    write_landmark_csv(tmp_path / "shifted.csv", gt + np.array([0.5, 0.0]), names)
    same = evaluate_landmark_files(tmp_path / "gt.csv", tmp_path / "gt.csv")
    assert (same["bias_x_px"], same["bias_y_px"]) == (0.0, 0.0)
    shifted = evaluate_landmark_files(tmp_path / "shifted.csv", tmp_path / "gt.csv")
    assert abs(shifted["bias_x_px"] - 0.5) < 1e-4 and abs(shifted["bias_y_px"]) < 1e-4
