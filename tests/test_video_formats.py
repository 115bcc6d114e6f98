"""Videos as phones and cameras write them: a rotation in the display matrix, 10-bit, odd sizes."""

from __future__ import annotations

import numpy as np
import pytest

from genlmk.data.footage import find_footage
from genlmk.data.video import iter_video_frames, probe_video


def encode(path, frames: np.ndarray, pix_fmt: str = "yuv420p", rotation: int = 0) -> None:
    """Write (T, H, W, 3) uint8 RGB ``frames`` with libx264 in ``pix_fmt``, with a display rotation
    (degrees, counter-clockwise) in the container."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt
        stream.options = {"crf": "0"}
        if rotation:
            stream.set_display_rotation(rotation)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def marker_frames(count: int, height: int, width: int) -> np.ndarray:
    """Grey frames with a white square in the top-left corner (which way up a frame is)."""
    frames = np.full((count, height, width, 3), 80, dtype=np.uint8)
    frames[:, :8, :8] = 255
    return frames


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_a_rotated_video_reads_upright_as_a_player_shows_it(tmp_path, rotation):
    stored = marker_frames(3, 32, 64)  # landscape as the sensor stored it
    encode(tmp_path / "phone.mp4", stored, rotation=rotation)
    expected = np.rot90(stored[0], rotation // 90)  # counter-clockwise quarter turns
    frames = list(iter_video_frames(tmp_path / "phone.mp4"))
    assert len(frames) == 3 and frames[0].shape == expected.shape
    # the white corner lands where the turn puts it
    assert np.abs(frames[0].astype(int) - expected.astype(int)).mean() < 4
    info = probe_video(tmp_path / "phone.mp4")
    assert (info.width, info.height) == (expected.shape[1], expected.shape[0])
    assert info.rotation == rotation % 360
    footage = find_footage(tmp_path / "phone.mp4")[0]
    assert next(iter(footage.frames())).shape == expected.shape


@pytest.mark.parametrize(("pix_fmt", "size"), [("yuv420p10le", (32, 64)), ("yuv444p", (33, 63))])
def test_ten_bit_and_odd_sized_videos_read_as_8_bit_rgb(tmp_path, pix_fmt, size):
    import av

    stored = marker_frames(2, *size)
    try:
        encode(tmp_path / "camera.mp4", stored, pix_fmt=pix_fmt)
    except av.error.FFmpegError as error:  # an FFmpeg build without that encoder profile
        pytest.skip(f"libx264 here cannot write {pix_fmt}: {error}")
    frames = list(iter_video_frames(tmp_path / "camera.mp4"))
    assert frames[0].dtype == np.uint8 and frames[0].shape == (*size, 3)
    assert np.abs(frames[0].astype(int) - stored[0].astype(int)).mean() < 4
    assert probe_video(tmp_path / "camera.mp4").rotation == 0
