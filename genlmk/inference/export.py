"""Exporting a trained landmarker to TorchScript or ONNX, for use without genlmk.

Contract of the exported model (both formats):

- input ``images``: (B, 3, H, W) float32 RGB in [0, 1], B any (dynamic), (W, H) the model input
  size (the ``size`` of the template written with it);
- output ``landmarks``: (B, N, 2) float32 ``(x, y)`` in pixels of that input, top-left corner of
  the image at (0, 0) (so pixel (row i, col j) has centre (j + 0.5, i + 0.5)); landmark ``k`` is
  the template's ``k``-th.

It is the checkpoint's landmark network including its pixel mapping (template + predicted
offsets). To use it on a frame of size (W_f, H_f): resize the frame to (W, H) (genlmk resizes
with area averaging when shrinking, bilinear when enlarging), divide by 255, run, and multiply the
landmarks by (W_f / W, H_f / H).

The template, rescaled to the model input (its ``size`` is (W, H), its points the landmarks'
rest positions), is written next to the model as ``FILE.yaml`` (a valid genlmk template whose
comment header states this contract) and embedded in the model file: as the extra file
``genlmk_template.yaml`` of a TorchScript archive (``torch.jit.load(path, _extra_files=...)``)
and as the ``genlmk_template`` metadata entry of an ONNX model.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from genlmk.errors import ConfigError, OutputError
from genlmk.template.template import dump_template_yaml

if TYPE_CHECKING:
    from genlmk.inference.landmarker import Landmarker

EXPORT_FORMATS = ("torchscript", "onnx")
TEMPLATE_ENTRY = "genlmk_template"
INPUT_NAME, OUTPUT_NAME = "images", "landmarks"
ONNX_OPSET = 17


class LandmarkGraph(nn.Module):
    """The exported computation: images (B, 3, H, W) in [0, 1] -> landmarks (B, N, 2) in input pixels."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, images: Tensor) -> Tensor:
        return self.network.landmarks(images)


def template_text(landmarker: Landmarker) -> str:
    """The template at the model input size as YAML, headed by comments stating the model's contract."""
    width, height = landmarker.image_size
    template = landmarker.template.rescaled((width, height))
    header = (
        f"# genlmk landmarker export: input 'images' (B, 3, {height}, {width}) float32 RGB in [0, 1];\n"
        f"# output 'landmarks' (B, {template.num_landmarks}, 2) float32 (x, y) pixels of the input,\n"
        "# top-left image corner at (0, 0); landmark k is the k-th below. size = the model input.\n"
    )
    return header + dump_template_yaml(template.to_dict())


def export_landmarker(landmarker: Landmarker, path: str | Path, fmt: str) -> tuple[Path, Path]:
    """Export the landmark network of ``landmarker`` (on the CPU) to ``path``.

    Args:
        landmarker: a loaded landmarker.
        path: the model file to write (``.pt`` for TorchScript, ``.onnx`` for ONNX by custom).
        fmt: ``torchscript`` or ``onnx``.

    Returns:
        The model file and the template file ``<path>.yaml``.

    Raises:
        ConfigError: an unknown format, or ONNX without the ``onnx`` package.
        OutputError: the files cannot be written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    path = Path(path)
    sidecar = path.with_name(path.name + ".yaml")
    graph = LandmarkGraph(landmarker.network).to("cpu").eval()
    width, height = landmarker.image_size
    example = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(0))
    text = template_text(landmarker)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # the network's input-shape check is plain Python: the tracer warns that it is fixed at
        # trace time, which is what we want (the exported input size is fixed); the exporters'
        # deprecation notices are for developers, not for users of the command
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            if fmt == "torchscript":
                traced = torch.jit.trace(graph, example)
                torch.jit.save(traced, str(path), _extra_files={f"{TEMPLATE_ENTRY}.yaml": text})
            else:
                _export_onnx(graph, example, path, text)
        sidecar.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the exported model ({exc.strerror or exc})") from None
    return path, sidecar


def _export_onnx(graph: nn.Module, example: Tensor, path: Path, text: str) -> None:
    """The TorchScript-based ONNX exporter (the torch.export-based one needs onnxscript), batch
    dimension dynamic, the template as metadata."""
    try:
        import onnx
    except ImportError:
        raise ConfigError("--format onnx needs the onnx package: pip install 'genlmk[export]'") from None
    torch.onnx.export(
        graph,
        (example,),
        str(path),
        dynamo=False,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=ONNX_OPSET,
    )
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = TEMPLATE_ENTRY, text
    onnx.save(model, str(path))
