from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from motion_helpers import TINY, randomize_

from genlmk.cli.main import main
from genlmk.data.images import read_image, write_image
from genlmk.data.synthetic_motion import synthetic_motion_video
from genlmk.data.video import probe_video, read_video, write_video
from genlmk.inference.motion import MotionTransfer
from genlmk.networks.fomm import build_fomm


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """The same tiny random weights as a genlmk (Lightning) checkpoint and in the released layout."""
    folder = tmp_path_factory.mktemp("ckpt")
    models = build_fomm(TINY)
    for index, part in enumerate(models):
        randomize_(part, seed=index)
    state = {
        f"{name}.{k}": v for name in models._fields for k, v in getattr(models, name).state_dict().items()
    }
    genlmk = {
        "state_dict": state,
        "hyper_parameters": {"model_params": TINY},
        "genlmk_kind": "motion",
        "genlmk_frame_size": [32, 32],
        "epoch": 1,
    }
    torch.save(genlmk, folder / "tiny.ckpt")
    released = {name: getattr(models, name).state_dict() for name in models._fields} | {"epoch": 3}
    torch.save(released, folder / "tiny-cpk.pth.tar")
    torch.save({"genlmk_kind": "landmarks", "state_dict": {}}, folder / "landmarks.ckpt")
    broken = {name: dict(state) for name, state in released.items() if name != "epoch"}
    broken["generator"]["final.weight"] = torch.zeros(3, 8, 5, 5)
    torch.save(broken, folder / "misshapen-cpk.pth.tar")
    del broken["kp_detector"]["kp.weight"]
    torch.save(broken, folder / "incomplete-cpk.pth.tar")
    return folder


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    for seed in (0, 1):
        write_video(folder / "clips" / f"clip{seed}.mp4", synthetic_motion_video(5, 32, seed=seed), fps=10)
    return folder


def test_reconstruct_writes_frames_and_l1_table(tmp_path, checkpoints, videos, capsys):
    out = tmp_path / "rec"
    assert (
        main(
            [
                "reconstruct",
                "--ckpt",
                str(checkpoints / "tiny.ckpt"),
                "--input",
                str(videos / "clips"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (out / "clip1").iterdir()) == [f"{i:05d}.png" for i in range(5)]
    with open(out / "reconstruction.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["video"] for r in rows] == ["clip0", "clip1", "mean"]
    l1 = [float(r["l1"]) for r in rows]
    assert all(0 < v < 1 for v in l1) and l1[2] == pytest.approx((l1[0] + l1[1]) / 2, abs=1e-5)
    # the table's L1 is the one of the written frames against the input (up to 8-bit rounding)
    truth = read_video(videos / "clips" / "clip1.mp4").astype(float) / 255
    written = np.stack([read_image(out / "clip1" / f"{i:05d}.png") for i in range(5)]).astype(float) / 255
    assert np.abs(written - truth).mean() == pytest.approx(l1[1], abs=3e-3)
    assert "mean over 2 videos" in capsys.readouterr().out


def test_released_and_genlmk_layouts_give_the_same_frames(checkpoints):
    ours = MotionTransfer.from_checkpoint(checkpoints / "tiny.ckpt")
    released = MotionTransfer.from_checkpoint(checkpoints / "tiny-cpk.pth.tar")
    assert released.frame_size == (256, 256)  # released files carry no frame size
    released.frame_size = ours.frame_size
    source, *driving = synthetic_motion_video(4, 32, seed=5)
    a, _ = ours.animate(source, driving, relative=True)
    b, _ = released.animate(source, driving, relative=True)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_checkpoint_with_the_old_height_width_frame_size_loads_as_width_height(tmp_path, checkpoints):
    old = torch.load(checkpoints / "tiny.ckpt", weights_only=True)
    assert old["genlmk_frame_size"] == [32, 32]  # the fixture is written in the old layout
    old["genlmk_frame_size"] = [32, 48]  # [height, width]
    torch.save(old, tmp_path / "old.ckpt")
    model = MotionTransfer.from_checkpoint(tmp_path / "old.ckpt")
    assert model.frame_size == (48, 32)
    assert model.prepare(synthetic_motion_video(2, 40, seed=1)).shape == (2, 32, 48, 3)


def test_animate_writes_frames_at_the_model_frame_size(tmp_path, checkpoints):
    write_image(tmp_path / "src.png", synthetic_motion_video(1, 48, seed=7)[0])
    write_video(tmp_path / "short.mp4", synthetic_motion_video(2, 32, seed=3))
    for name in ("tiny.ckpt", "tiny-cpk.pth.tar"):
        args = ["animate", "--ckpt", str(checkpoints / name), "--source", str(tmp_path / "src.png")]
        assert main([*args, "--driving", str(tmp_path / "short.mp4"), "--out", str(tmp_path / name)]) == 0
        assert len(list((tmp_path / name).glob("*.png"))) == 2
    # released files carry no frame size and work at 256 px; ours was trained at 32 px
    assert read_image(tmp_path / "tiny.ckpt" / "00000.png").shape == (32, 32, 3)
    assert read_image(tmp_path / "tiny-cpk.pth.tar" / "00001.png").shape == (256, 256, 3)


def test_animate_to_video_with_relative_motion_and_best_frame(tmp_path, checkpoints, capsys):
    frames = synthetic_motion_video(6, 32, seed=2)
    write_video(tmp_path / "driving.mp4", frames, fps=12)
    # the source is a frame of the driving video itself, so that frame has exactly the source's keypoints
    write_image(tmp_path / "source.png", read_video(tmp_path / "driving.mp4")[4])
    args = ["animate", "--ckpt", str(checkpoints / "tiny.ckpt"), "--source", str(tmp_path / "source.png")]
    args += ["--driving", str(tmp_path / "driving.mp4"), "--out", str(tmp_path / "out.mp4")]
    assert main([*args, "--relative", "--adapt-scale", "--best-frame"]) == 0
    assert "best frame: 4" in capsys.readouterr().out
    info = probe_video(tmp_path / "out.mp4")
    assert (info.width, info.height, info.fps) == (32, 32, 12)


def test_motion_commands_report_bad_input_in_one_line(tmp_path, checkpoints, videos, capsys):
    write_image(tmp_path / "src.png", synthetic_motion_video(1, 32, seed=7)[0])
    animate = ["animate", "--source", str(tmp_path / "src.png"), "--out", str(tmp_path / "out")]
    one = ["--driving", str(videos / "clips" / "clip0.mp4")]
    cases = [
        (
            [*one, "--ckpt", str(checkpoints / "tiny.ckpt"), "--best-frame"],
            "--best-frame only apply with --relative",
        ),
        (
            [*one, "--ckpt", str(checkpoints / "landmarks.ckpt")],
            "holds a 'landmarks' model, but this command needs",
        ),
        ([*one, "--ckpt", str(tmp_path / "missing.pth.tar")], "missing.pth.tar: checkpoint file not found"),
        (
            [*one, "--ckpt", str(checkpoints / "misshapen-cpk.pth.tar")],
            "generator weights do not fit the network",
        ),
        (
            [*one, "--ckpt", str(checkpoints / "incomplete-cpk.pth.tar")],
            "unknown layout: no tensor 'kp.weight'",
        ),
        (["--driving", str(videos / "clips"), "--ckpt", str(checkpoints / "tiny.ckpt")], "found 2"),
    ]
    for extra, message in cases:
        assert main([*animate, *extra]) == 1
        err = capsys.readouterr().err
        assert err.startswith("genlmk: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
