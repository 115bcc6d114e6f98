"""Crop boxes: cropping, mapping landmarks back to frame pixels, box files, the landmarker with boxes."""

from __future__ import annotations

import numpy as np
import pytest
from landmark_helpers import random_frames, tiny_landmarks_checkpoint

from genlmk.cli.predict_cmd import parse_box
from genlmk.data.boxes import read_box_csv
from genlmk.data.images import resize_rgb
from genlmk.errors import ConfigError, InputDataError
from genlmk.geometry.boxes import check_boxes, crop_image, crop_to_frame, whole_frame_boxes
from genlmk.inference.landmarker import Landmarker


def test_crop_inside_the_frame_is_a_view_of_the_box():
    image = np.arange(6 * 8 * 3).reshape(6, 8, 3)
    crop = crop_image(image, np.array([2, 1, 4, 3]))
    assert crop.shape == (3, 4, 3) and np.shares_memory(crop, image)
    assert (crop == image[1:4, 2:6]).all()


def test_crop_reaching_outside_the_frame_is_padded_black_at_the_right_place():
    image = np.full((4, 5, 3), 7, dtype=np.uint8)
    crop = crop_image(image, np.array([-2, 3, 4, 3]))  # columns -2..1, rows 3..5
    assert crop.shape == (3, 4, 3)
    expected = np.zeros((3, 4), dtype=np.uint8)
    expected[0, 2:] = 7  # only row 3, columns 0..1 lie in the frame
    assert (crop[..., 0] == expected).all()
    assert not crop_image(image, np.array([10, 10, 2, 2])).any()  # wholly outside: all black


def test_crop_to_frame_applies_the_known_shift_and_scale():
    points = np.array([[[0.0, 0.0], [32.0, 16.0], [8.0, 4.0]]])
    boxes = np.array([[10, 20, 64, 48]])  # a 64 x 48 crop resized to 32 x 16: x2 and x3
    mapped = crop_to_frame(points, boxes, (32, 16))
    assert np.allclose(mapped, [[[10, 20], [74, 68], [26, 32]]])


def test_a_pixel_found_in_the_resized_crop_maps_back_to_its_frame_position():
    frame = np.zeros((90, 120, 3), dtype=np.uint8)
    frame[50:54, 70:74] = 255  # a 4x4 square centred at (72, 52) in genlmk pixels
    box = np.array([40, 30, 64, 48])
    model = resize_rgb(crop_image(frame, box), (32, 24))  # halves the crop
    rows, cols = np.nonzero(model[..., 0] > 0)
    weights = model[rows, cols, 0].astype(float)
    centre = np.array([[[np.average(cols + 0.5, weights=weights), np.average(rows + 0.5, weights=weights)]]])
    assert np.allclose(crop_to_frame(centre, box[None], (32, 24)), [[[72.0, 52.0]]], atol=1e-6)


def test_boxes_are_rounded_and_must_be_at_least_a_pixel():
    assert check_boxes(np.array([[1.4, 2.6, 10.2, 3.5]]), "x").tolist() == [[1, 3, 10, 4]]
    with pytest.raises(ConfigError, match=r"boxes.csv: box \[0.0, 0.0, 0.4, 5.0\] is smaller than one pixel"):
        check_boxes(np.array([[0, 0, 0.4, 5]]), "boxes.csv")


def test_parse_box_reads_four_numbers_or_says_what_it_got():
    assert parse_box("10,20,30.4,40").tolist() == [10, 20, 30, 40]
    for text in ("10,20,30", "a,b,c,d", "1,2,3,nan"):
        with pytest.raises(ConfigError, match=r"--crop: expected x,y,w,h"):
            parse_box(text)


def test_box_file_gives_a_box_per_frame_and_names_missing_frames(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("frame,x,y,w,h\n2,5,6,7,8\n0,1,2,3,4\n")
    track = read_box_csv(path)
    assert track.lookup(np.array([0, 2])).tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    with pytest.raises(InputDataError, match=rf"{path}: no box for frame 1"):
        track.lookup(np.array([0, 1]))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("frame,x,y,w\n0,1,2,3\n", "expected columns frame,x,y,w,h"),
        ("frame,x,y,w,h\n0,1,2,3,x\n", "line 2 is not an integer frame and 4 numbers"),
        ("frame,x,y,w,h\n0,1,2,3,4\n0,1,2,3,4\n", "frame 0 has more than one box"),
        ("frame,x,y,w,h\n", "no boxes"),
    ],
)
def test_bad_box_files_are_one_line_errors_naming_the_file(tmp_path, text, message):
    path = tmp_path / "boxes.csv"
    path.write_text(text)
    with pytest.raises(InputDataError, match=message) as error:
        read_box_csv(path)
    assert str(error.value).startswith(str(path))


def test_landmarker_in_a_box_equals_the_landmarker_on_the_crop_mapped_back(tmp_path):
    landmarker = Landmarker.from_checkpoint(tiny_landmarks_checkpoint(tmp_path / "tiny.ckpt"))
    frames = random_frames(3, height=100, width=90)
    boxes = np.array([[10, 4, 64, 64], [-8, 50, 64, 64], [20, 30, 32, 32]])  # x2, partly outside, x1
    in_boxes = landmarker.predict(frames, boxes)
    for frame, box, found in zip(frames, boxes, in_boxes):
        on_crop = landmarker.predict(crop_image(frame, box)[None])[0]  # pixels of the crop
        assert np.allclose(found, on_crop + box[:2], atol=1e-4)
    whole = whole_frame_boxes(3, (90, 100))
    assert np.array_equal(landmarker.predict(frames, whole), landmarker.predict(frames))
