"""genlmk export: TorchScript and ONNX files that give the checkpoint's landmarks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from landmark_helpers import (
    TINY_ANTIALIASED_HEATMAP_LANDMARKER,
    TINY_HEATMAP_LANDMARKER,
    TINY_LANDMARKER,
    tiny_landmarks_checkpoint,
)

from genlmk.cli.main import main
from genlmk.data.images import resize_rgb
from genlmk.inference.export import TEMPLATE_ENTRY
from genlmk.inference.landmarker import Landmarker
from genlmk.template import Template, load_template

# TorchScript is what this format is; torch warns that it is deprecated in favour of torch.export
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")


@pytest.fixture(
    scope="module",
    params=[TINY_LANDMARKER, TINY_HEATMAP_LANDMARKER, TINY_ANTIALIASED_HEATMAP_LANDMARKER],
    ids=["offsets", "heatmap", "heatmap-antialiased"],
)
def checkpoint(request, tmp_path_factory):
    # a non-square input, so width and height cannot be swapped unnoticed
    return tiny_landmarks_checkpoint(
        tmp_path_factory.mktemp("export") / "tiny.ckpt", image_size=(48, 32), landmarker=request.param
    )


def _images(batch: int, seed: int) -> torch.Tensor:
    return torch.rand(batch, 3, 32, 48, generator=torch.Generator().manual_seed(seed))


def _reference(checkpoint, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return Landmarker.from_checkpoint(checkpoint).network.landmarks(images).numpy()


def _export(checkpoint, fmt, out):
    assert main(["export", "--ckpt", str(checkpoint), "--format", fmt, "--out", str(out)]) == 0


def _check_template_file(path, embedded: str):
    template = Template.load(path)
    assert template.size == (48, 32) and template.names == load_template("face").names
    assert path.read_text() == embedded
    assert yaml.safe_load(embedded)["size"] == [48, 32]


def test_torchscript_export_gives_the_checkpoint_landmarks_for_any_batch(checkpoint, tmp_path):
    _export(checkpoint, "torchscript", tmp_path / "landmarker.pt")
    extra = {f"{TEMPLATE_ENTRY}.yaml": ""}
    model = torch.jit.load(str(tmp_path / "landmarker.pt"), _extra_files=extra)
    for batch, seed in ((1, 1), (5, 2)):
        images = _images(batch, seed)
        with torch.no_grad():
            exported = model(images).numpy()
        reference = _reference(checkpoint, images)
        assert exported.shape == (batch, 68, 2)
        assert np.abs(exported - reference).max() < 1e-4
    assert np.ptp(reference, axis=0).max() > 0.1  # the landmarks depend on the image
    _check_template_file(tmp_path / "landmarker.pt.yaml", extra[f"{TEMPLATE_ENTRY}.yaml"].decode())


def test_onnx_export_runs_in_onnxruntime_and_gives_the_checkpoint_landmarks(checkpoint, tmp_path):
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    _export(checkpoint, "onnx", tmp_path / "landmarker.onnx")
    session = onnxruntime.InferenceSession(
        str(tmp_path / "landmarker.onnx"), providers=["CPUExecutionProvider"]
    )
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert session.get_inputs()[0].shape[1:] == [3, 32, 48]
    for batch, seed in ((1, 3), (7, 4)):
        images = _images(batch, seed)
        [exported] = session.run(["landmarks"], {"images": images.numpy()})
        assert exported.shape == (batch, 68, 2)
        assert np.abs(exported - _reference(checkpoint, images)).max() < 1e-4
    metadata = {p.key: p.value for p in onnx.load(str(tmp_path / "landmarker.onnx")).metadata_props}
    _check_template_file(tmp_path / "landmarker.onnx.yaml", metadata[TEMPLATE_ENTRY])


def test_exported_landmarks_scale_to_frame_pixels_as_documented(checkpoint, tmp_path):
    """Resize a frame to the input, run, multiply by frame size / input size: Landmarker.predict."""
    _export(checkpoint, "torchscript", tmp_path / "m.pt")
    model = torch.jit.load(str(tmp_path / "m.pt"))
    frame = np.repeat(
        np.repeat((_images(1, 5)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8), 2, 0), 3, 1
    )
    small = torch.from_numpy(resize_rgb(frame, (48, 32))).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        exported = model(small).numpy()[0] * [frame.shape[1] / 48, frame.shape[0] / 32]
    assert np.abs(exported - Landmarker.from_checkpoint(checkpoint).predict(frame[None])[0]).max() < 1e-3


def test_export_of_a_missing_checkpoint_is_a_one_line_error(tmp_path, capsys):
    assert (
        main(
            ["export", "--ckpt", str(tmp_path / "no.ckpt"), "--format", "onnx", "--out", str(tmp_path / "m")]
        )
        == 1
    )
    assert (
        capsys.readouterr().err.strip() == f"genlmk: error: {tmp_path / 'no.ckpt'}: checkpoint file not found"
    )
