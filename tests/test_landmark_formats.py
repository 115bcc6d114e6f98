"""Landmark files: COCO keypoints JSON and NumPy archives, streamed, read back in every format."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from conftest import small_template_dict

from genlmk.data.coco_keypoints import CocoKeypointsWriter, coco_annotation, coco_category
from genlmk.data.landmark_csv import write_landmark_csv
from genlmk.data.landmark_files import read_landmarks
from genlmk.data.landmark_npz import LandmarkNpzWriter
from genlmk.errors import ConfigError, InputDataError
from genlmk.inference.outputs import LandmarkOutputs, parse_formats
from genlmk.template import Template


@pytest.fixture
def tiny():
    return Template.from_dict(small_template_dict())  # lines a-b-c-a and c-d


def _tracks(frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 30, (frames, 4, 2))


def test_coco_category_names_the_keypoints_and_gives_a_one_based_skeleton(tiny):
    category = coco_category(tiny)
    assert category["keypoints"] == ["a", "b", "c", "d"]
    assert category["skeleton"] == [[1, 2], [2, 3], [1, 3], [3, 4]]
    assert category["id"] == 1 and category["name"] == "tiny"


def test_coco_keypoints_are_pixel_indices_and_missing_ones_are_invisible():
    points = np.array([[0.5, 0.5], [10.0, 4.0], [np.nan, 1.0], [20.5, 8.0]])
    annotation = coco_annotation(points, frame=7)
    assert annotation["keypoints"] == [0.0, 0.0, 2, 9.5, 3.5, 2, 0.0, 0.0, 0, 20.0, 7.5, 2]
    assert annotation["num_keypoints"] == 3 and annotation["id"] == annotation["image_id"] == 8
    assert annotation["bbox"] == [0.5, 0.5, 20.0, 7.5] and annotation["area"] == 150.0


def test_coco_file_streamed_in_batches_is_valid_json_and_reads_back(tmp_path, tiny):
    tracks = _tracks(5)
    writer = CocoKeypointsWriter(tmp_path / "out.json", tiny)
    for start in (0, 2, 4):
        part = slice(start, min(start + 2, 5))
        frames = np.arange(5)[part]
        writer.write(tracks[part], frames, np.tile([64, 48], (len(frames), 1)), [f"f{i}.png" for i in frames])
    assert not (tmp_path / "out.json").exists()  # appears on close only
    writer.close()
    data = json.loads((tmp_path / "out.json").read_text())
    assert [image["file_name"] for image in data["images"]] == [f"f{i}.png" for i in range(5)]
    assert data["images"][3] == {"id": 4, "file_name": "f3.png", "width": 64, "height": 48, "frame_index": 3}
    assert len(data["annotations"]) == 5 and data["categories"][0]["keypoints"] == list(tiny.names)
    landmarks, names, frames = read_landmarks(tmp_path / "out.json", ["d", "a"])
    assert names == ["d", "a"] and frames == [0, 1, 2, 3, 4]
    assert np.allclose(landmarks, tracks[:, [3, 0]], atol=1e-3)


def test_npz_archive_holds_landmarks_frames_sizes_names_and_the_template(tmp_path, tiny):
    tracks = _tracks(7)
    writer = LandmarkNpzWriter(tmp_path / "out.npz", tiny)
    for start in range(0, 7, 3):
        frames = np.arange(start, min(start + 3, 7))
        writer.write(tracks[frames], frames, np.tile([64, 48], (len(frames), 1)))
    writer.close()
    with np.load(tmp_path / "out.npz", allow_pickle=False) as data:
        assert np.array_equal(data["landmarks"], tracks) and data["landmarks"].dtype == np.float64
        assert data["frames"].tolist() == list(range(7)) and data["sizes"].shape == (7, 2)
        assert data["names"].tolist() == ["a", "b", "c", "d"]
        stored = Template.from_dict(yaml.safe_load(str(data["template"])))
    assert (
        stored.names == tiny.names and stored.lines == tiny.lines and np.allclose(stored.points, tiny.points)
    )
    landmarks, names, frames = read_landmarks(tmp_path / "out.npz")
    assert np.array_equal(landmarks, tracks) and names == list(tiny.names) and frames == list(range(7))


def test_an_aborted_writer_keeps_only_the_csv_rows_so_far(tmp_path, tiny):
    (tmp_path / "landmarks.csv").write_text("earlier")
    outputs = LandmarkOutputs(tmp_path, "landmarks", ("coco", "npz", "csv"), tiny)
    outputs.write(_tracks(2), np.arange(2), np.tile([64, 48], (2, 1)), ["a", "b"])
    outputs.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landmarks.csv", "landmarks.partial.csv"]
    assert (tmp_path / "landmarks.csv").read_text() == "earlier"
    assert read_landmarks(tmp_path / "landmarks.partial.csv")[2] == [0, 1]


def test_every_format_holds_the_same_landmarks(tmp_path, tiny):
    tracks = _tracks(3)
    outputs = LandmarkOutputs(tmp_path, "landmarks", parse_formats("npz, csv,coco,csv"), tiny)
    outputs.write(tracks, np.arange(3), np.tile([64, 48], (3, 1)), ["0", "1", "2"])
    outputs.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landmarks.csv", "landmarks.json", "landmarks.npz"]
    for path in outputs.paths:
        landmarks, names, frames = read_landmarks(path)
        assert names == list(tiny.names) and frames == [0, 1, 2]
        assert np.allclose(landmarks, tracks, atol=1e-3)


def test_unknown_formats_and_files_are_clear_errors(tmp_path, tiny):
    with pytest.raises(ConfigError, match=r"--formats: expected some of csv,coco,npz, got 'csv,xml'"):
        parse_formats("csv,xml")
    with pytest.raises(
        InputDataError, match=r"x.txt: unknown landmark file type \(expected .csv, .json, .npz\)"
    ):
        read_landmarks(tmp_path / "x.txt")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputDataError, match=r"bad\.json: not a COCO keypoints file"):
        read_landmarks(tmp_path / "bad.json")
    write_landmark_csv(tmp_path / "p.csv", _tracks(1), tiny.names)
    with pytest.raises(InputDataError, match="not in the template"):
        read_landmarks(tmp_path / "p.csv", ["a"])
