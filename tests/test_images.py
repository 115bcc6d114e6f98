from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genlmk.data.images import read_image, resize_rgb, write_image
from genlmk.errors import InputDataError


def test_rgb_round_trip(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", rgb)
    assert np.array_equal(read_image(tmp_path / "a.png"), rgb)


def test_grayscale_rgba_and_16_bit_become_8_bit_rgb(tmp_path):
    gray = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
    Image.fromarray(gray).save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (4, 5, 3) and np.array_equal(out[..., 1], gray)

    rgba = np.zeros((3, 3, 4), dtype=np.uint8)
    rgba[..., 0] = 100
    rgba[..., 3] = 7
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out.shape == (3, 3, 3) and (out[..., 0] == 100).all()

    deep = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "d.png")
    out = read_image(tmp_path / "d.png")
    assert out.dtype == np.uint8 and out.shape == (3, 4, 3)
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == round(55000 / 257)


def test_unreadable_and_missing_images_are_input_errors(tmp_path):
    (tmp_path / "notes.png").write_text("this is not a png")
    with pytest.raises(InputDataError, match=r"notes.png: not a readable image"):
        read_image(tmp_path / "notes.png")
    with pytest.raises(InputDataError, match=r"missing.png: image file not found"):
        read_image(tmp_path / "missing.png")


def test_resize_takes_width_then_height_and_keeps_uint8():
    image = np.random.default_rng(1).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    out = resize_rgb(image, (20, 12))  # (width, height)
    assert out.shape == (12, 20, 3) and out.dtype == np.uint8
    assert resize_rgb(image, (50, 30)) is image  # already that size: not copied


@pytest.mark.parametrize(
    ("shape", "size", "rule"),
    [
        ((40, 40), (16, 16), "area"),  # both sides shrink
        ((16, 16), (40, 24), "linear"),  # both grow
        ((40, 16), (16, 16), "area"),  # only the height shrinks: still no aliasing
        ((16, 40), (24, 8), "area"),  # width grows, height shrinks
        ((16, 40), (48, 16), "linear"),  # width grows, height stays
    ],
)
def test_resize_averages_when_any_side_shrinks_and_interpolates_when_none_does(shape, size, rule):
    import cv2

    image = np.random.default_rng(2).integers(0, 256, (*shape, 3), dtype=np.uint8)
    flag = cv2.INTER_AREA if rule == "area" else cv2.INTER_LINEAR
    assert np.array_equal(resize_rgb(image, size), cv2.resize(image, size, interpolation=flag))
