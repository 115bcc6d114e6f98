"""``genlmk export``: a trained landmarker as a TorchScript or ONNX file (see genlmk.inference.export)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="export a trained landmarker to TorchScript or ONNX",
        description="Writes FILE: images (B,3,H,W) float RGB in [0,1] at the model input size -> landmarks "
        "(B,N,2) in pixels of that input (top-left corner at 0,0), batch size free; and FILE.yaml, the "
        "template at the model input size (landmark names and order, lines). The template is also "
        "embedded in FILE.",
    )
    parser.add_argument("--ckpt", required=True, help="landmarks checkpoint from genlmk fit")
    parser.add_argument("--format", required=True, choices=("torchscript", "onnx"), help="file format")
    parser.add_argument("--out", required=True, help="model file to write (e.g. landmarker.pt / .onnx)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genlmk.inference.export import export_landmarker
    from genlmk.inference.landmarker import Landmarker

    landmarker = Landmarker.from_checkpoint(args.ckpt)
    model, template = export_landmarker(landmarker, args.out, args.format)
    width, height = landmarker.image_size
    print(f"wrote {model} (input (B, 3, {height}, {width}) RGB in [0, 1]) and {template}")
    return 0
