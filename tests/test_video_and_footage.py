from __future__ import annotations

import numpy as np
import pytest
from video_helpers import sound_seconds, write_video_with_sound

from genlmk.data.footage import FrameSelection, find_footage
from genlmk.data.images import write_image
from genlmk.data.video import VideoWriter, probe_video, read_video, write_video
from genlmk.errors import ConfigError, InputDataError


def _frames(count=12, height=32, width=48):
    frames = np.zeros((count, height, width, 3), dtype=np.uint8)
    for t in range(count):
        frames[t, :, : 4 + 3 * t] = (200, 60, 30)  # a bar growing to the right
    return frames


def test_video_round_trip_keeps_count_size_and_content(tmp_path):
    frames = _frames()
    write_video(tmp_path / "clip.mp4", frames, fps=10)
    info = probe_video(tmp_path / "clip.mp4")
    assert (info.width, info.height) == (48, 32) and info.fps == pytest.approx(10)
    back = read_video(tmp_path / "clip.mp4")
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 4.0


def test_h264_round_trip_returns_the_frames_with_codec_artifacts_only():
    from genlmk.data.video import h264_round_trip

    texture = np.random.default_rng(0).integers(0, 40, (5, 33, 41, 3))
    frames = (_frames(5, 33, 41) // 2 + texture).astype(np.uint8)  # odd size: padded, cropped back
    fine, coarse = h264_round_trip(frames, 10), h264_round_trip(frames, 40)
    assert fine.shape == coarse.shape == frames.shape and fine.dtype == np.uint8
    error = [np.abs(out.astype(int) - frames).mean() for out in (fine, coarse)]
    assert 0 < error[0] < error[1] < 40  # a higher rate factor, more loss


def test_odd_sized_frames_are_padded_not_rejected(tmp_path):
    write_video(tmp_path / "odd.mp4", _frames(3, 31, 47))
    assert read_video(tmp_path / "odd.mp4").shape == (3, 32, 48, 3)


def test_interrupted_writer_leaves_no_file_under_the_final_name(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError), VideoWriter(target) as writer:
        writer.write(_frames(1)[0])
        raise RuntimeError("stop")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_truncated_videos_are_input_errors(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 1000)
    with pytest.raises(InputDataError, match=r"junk.mp4: not a readable video"):
        read_video(tmp_path / "junk.mp4")
    write_video(tmp_path / "good.mp4", _frames(30))
    data = (tmp_path / "good.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    with pytest.raises(InputDataError, match=r"cut.mp4: "):
        read_video(tmp_path / "cut.mp4")


def test_image_folder_is_one_footage_in_natural_order(tmp_path):
    for i in (10, 2, 1):
        write_image(tmp_path / f"f{i}.png", np.full((4, 4, 3), i, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    [footage] = find_footage(tmp_path)
    assert footage.frame_names() == ["f1.png", "f2.png", "f10.png"]
    assert [int(f[0, 0, 0]) for f in footage.frames()] == [1, 2, 10]


def test_folder_of_videos_and_frame_folders_is_one_footage_each(tmp_path):
    write_video(tmp_path / "b.mp4", _frames(4))
    (tmp_path / "a").mkdir()
    write_image(tmp_path / "a" / "0.png", np.zeros((8, 8, 3), np.uint8))
    found = find_footage(tmp_path)
    assert [f.name for f in found] == ["a", "b"]
    assert [len(f) for f in found] == [1, 4]


def _missing(root):
    return root / "missing"


def _empty_folder(root):
    (root / "empty").mkdir()
    return root / "empty"


def _folder_of_text(root):
    (root / "txt").mkdir()
    (root / "txt" / "a.txt").write_text("x")
    return root / "txt"


def _csv_file(root):
    (root / "x.csv").write_text("1")
    return root / "x.csv"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_missing, "no such file or folder"),
        (_empty_folder, "folder is empty"),
        (_folder_of_text, "holds no images, videos or frame folders"),
        (_csv_file, "neither a video"),
    ],
)
def test_unusable_paths_are_named_in_the_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputDataError, match=message) as info:
        find_footage(path)
    assert str(path) in str(info.value)


def test_frame_selection_reads_a_time_range_every_kth_frame_of_each_footage(tmp_path):
    for name in ("a", "b"):
        # each frame's grey level is its number, so the frames read say which they were
        write_video(
            tmp_path / "clips" / f"{name}.mp4",
            [np.full((16, 16, 3), 10 * i, np.uint8) for i in range(20)],
            fps=25.0,
        )
    selection = FrameSelection(stride=2, start=0.2, end=0.6)  # frames 5 .. 14 at 25 fps
    read = [
        (number, index, round(float(frame.mean()) / 10))
        for number, _, index, frame in selection.frames(tmp_path / "clips")
    ]
    expected = [(number, index, index) for number in (0, 1) for index in (5, 7, 9, 11, 13)]
    assert read == expected
    assert len(list(FrameSelection(max_frames=3).frames(tmp_path / "clips"))) == 3
    with pytest.raises(ConfigError, match=r"data\.time_range must be \[start, end\] seconds"):
        FrameSelection(start=2.0, end=1.0)


def test_a_written_video_can_carry_the_sound_of_its_source(tmp_path):
    write_video_with_sound(tmp_path / "talk.mp4")
    frames = read_video(tmp_path / "talk.mp4")
    with VideoWriter(tmp_path / "overlay.mp4", fps=25.0, audio_from=tmp_path / "talk.mp4") as writer:
        for frame in frames:
            writer.write(frame)
    assert sound_seconds(tmp_path / "talk.mp4") > 0.9
    assert abs(sound_seconds(tmp_path / "overlay.mp4") - sound_seconds(tmp_path / "talk.mp4")) < 0.05
    assert len(read_video(tmp_path / "overlay.mp4")) == len(frames)
    silent = tmp_path / "silent.mp4"
    write_video(silent, frames)
    with VideoWriter(tmp_path / "still_silent.mp4", audio_from=silent) as writer:
        writer.write(frames[0])
    assert sound_seconds(tmp_path / "still_silent.mp4") == 0.0
