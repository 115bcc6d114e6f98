"""Landmarker.compile and `genlmk predict --compile`: one graph for every batch, the eager landmarks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import HAS_CXX
from landmark_helpers import TINY_HEATMAP_LANDMARKER, random_frames, tiny_landmarks_checkpoint

from genlmk.cli.main import main
from genlmk.data.landmark_files import read_landmarks
from genlmk.data.video import write_video
from genlmk.errors import ConfigError
from genlmk.inference.landmarker import Landmarker


@pytest.fixture(autouse=True)
def fresh_dynamo():
    # dynamo keeps compiled code per code object across tests; start and leave each test clean
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.fixture
def checkpoint(tmp_path):
    return tiny_landmarks_checkpoint(tmp_path / "tiny.ckpt", landmarker=TINY_HEATMAP_LANDMARKER)


def test_compiled_landmarker_pads_every_batch_to_one_shape_and_gives_the_eager_landmarks(checkpoint):
    graphs = []

    def recording_backend(graph, example_inputs):
        # the images among the graph's inputs (the weights come in as inputs too)
        graphs.append([tuple(x.shape) for x in example_inputs if x.ndim == 4 and x.shape[1:] == (3, 32, 32)])
        return graph.forward

    eager = Landmarker.from_checkpoint(checkpoint)
    compiled = Landmarker.from_checkpoint(checkpoint)
    assert compiled.compile(4, backend=recording_backend) >= 0.0
    frames = random_frames(12, height=40, width=48)
    for count in (4, 1, 7, 12):
        got = compiled.predict(frames[:count])
        assert got.shape == (count, len(eager.template.names), 2)
        np.testing.assert_allclose(got, eager.predict(frames[:count]), atol=1e-4)
    assert graphs == [[(4, 3, 32, 32)]]


def test_a_backend_that_fails_is_a_config_error_naming_the_reason(checkpoint):
    def failing_backend(graph, example_inputs):
        raise RuntimeError("no compiler here")

    landmarker = Landmarker.from_checkpoint(checkpoint)
    with pytest.raises(
        ConfigError, match=r"torch.compile \(failing_backend\) failed: no compiler here; run without"
    ):
        landmarker.compile(4, backend=failing_backend)
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        landmarker.compile(0)
    # the landmarker still predicts, uncompiled
    assert landmarker.predict(random_frames(2)).shape[0] == 2


@pytest.mark.skipif(not HAS_CXX, reason="torch.compile's inductor backend needs a C++ compiler")
def test_predict_with_compile_writes_the_landmarks_of_the_eager_network(checkpoint, tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    write_video(video, random_frames(7, height=64, width=80), fps=20.0)
    args = ["predict", "--ckpt", str(checkpoint), "--input", str(video), "--batch-size", "4", "--no-overlay"]
    assert main([*args, "--out", str(tmp_path / "eager")]) == 0
    assert main([*args, "--out", str(tmp_path / "compiled"), "--compile"]) == 0
    assert "compiled the landmark network for batches of 4 in" in capsys.readouterr().out
    eager, names, numbers = read_landmarks(tmp_path / "eager" / "landmarks.csv")
    compiled, _, compiled_numbers = read_landmarks(tmp_path / "compiled" / "landmarks.csv")
    assert compiled_numbers == numbers == list(range(7))
    assert eager.shape == compiled.shape == (7, len(names), 2)
    # the CSV keeps 3 decimals: one rounding step apart at most
    np.testing.assert_allclose(compiled, eager, atol=2e-3)


def test_predict_with_compile_and_no_cxx_compiler_is_a_one_line_error_before_any_output(
    checkpoint, tmp_path, capsys, monkeypatch
):
    import torch._inductor.config as inductor_config

    monkeypatch.setattr(inductor_config.cpp, "cxx", ("no-such-c++",))
    monkeypatch.setattr(inductor_config, "fx_graph_cache", False)  # a cached graph would need no compiler
    video = tmp_path / "clip.mp4"
    write_video(video, random_frames(3, height=64, width=80), fps=20.0)
    out = tmp_path / "out"
    args = ["predict", "--ckpt", str(checkpoint), "--input", str(video), "--out", str(out), "--compile"]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert error.startswith("genlmk: error: torch.compile (inductor) failed: No working C++ compiler")
    assert len(error.strip().splitlines()) == 1
    assert not (out / "landmarks.csv").exists()
