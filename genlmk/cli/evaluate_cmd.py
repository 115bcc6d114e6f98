"""``genlmk evaluate ...``: score models against real footage.

Each evaluation target is a subcommand of ``evaluate``, added by one function of
:data:`EVALUATE_TARGETS` (``add_<target>(targets)``, which sets ``func``).
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from genlmk.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("evaluate", help="score motion-transfer models (and landmark detectors)")
    targets = parser.add_subparsers(dest="evaluate_target", metavar="TARGET", required=True)
    for add_target in EVALUATE_TARGETS:
        add_target(targets)


def add_motion(targets: argparse._SubParsersAction) -> None:
    motion = targets.add_parser(
        "motion",
        help="compare generated videos with the real ones, frame by frame: AKD, MKR, AED, L1, LPIPS, FID",
        description=(
            "Pairs generated with real videos by name (and frames by index), resizes frames to "
            "--size, prints a table per video and overall, and writes motion_metrics.json/.csv to --out."
        ),
    )
    motion.add_argument("--real", required=True, help="real video, frame folder, or folder of them")
    motion.add_argument("--fake", required=True, help="generated video(s), laid out like --real")
    motion.add_argument("--out", required=True, help="folder for motion_metrics.json and motion_metrics.csv")
    motion.add_argument(
        "--detector",
        default="dlib",
        help="keypoints for AKD/MKR: dlib (68 face landmarks, default), mediapipe (face mesh), "
        "mediapipe-hands, genlmk:CKPT (a trained genlmk landmarker), or none",
    )
    motion.add_argument(
        "--identity",
        default="dlib",
        help="embeddings for AED: dlib (face, default), a TorchScript file or package.module:factory "
        "mapping (N,3,H,W) images in [0,1] to (N,D), or none",
    )
    motion.add_argument(
        "--fid-features",
        default="auto",
        help="FID network: auto (Inception-v3 weights from the torch hub cache; FID skipped if absent), "
        "an Inception weights file (pt_inception-2015-12-05-*.pth), a TorchScript file or "
        "package.module:factory returning (N,D) features, or none",
    )
    motion.add_argument(
        "--lpips-weights",
        default="auto",
        help="LPIPS backbone: auto (torchvision's weights from the torch hub cache; LPIPS skipped if "
        "absent), a weights file (alexnet-owt-*.pth / vgg16-*.pth), or none",
    )
    motion.add_argument("--lpips-net", choices=("alex", "vgg"), default="alex", help="LPIPS backbone (alex)")
    motion.add_argument("--size", type=int, default=256, help="frame size for scoring, pixels (256)")
    motion.add_argument("--batch-size", type=int, default=16, help="frames per batch (16)")
    motion.add_argument("--device", default="cpu", help="device for LPIPS/FID/identity networks (cpu)")
    motion.add_argument(
        "--skip-undetected-real",
        action="store_true",
        help="skip frames whose real frame shows no detectable subject instead of stopping",
    )
    motion.set_defaults(func=run_motion)


def _check_options(args: argparse.Namespace) -> None:
    if args.size < 16:
        raise ConfigError(f"--size must be at least 16 pixels, got {args.size}")
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}")
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise ConfigError(f"--device {args.device!r} is not a torch device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {args.device}: CUDA is not available here")


def run_motion(args: argparse.Namespace) -> int:
    from genlmk.evaluation.backends import (
        make_detector,
        make_fid_network,
        make_identity,
        make_lpips_network,
        optional_network,
    )
    from genlmk.evaluation.motion import MotionEvaluator, MotionSettings
    from genlmk.evaluation.pairing import pair_footage

    _check_options(args)
    pairs = pair_footage(args.real, args.fake)
    detector = make_detector(args.detector)
    identity = make_identity(args.identity, args.device)
    lpips_network, lpips_note = optional_network(
        args.lpips_weights, lambda spec: make_lpips_network(spec, args.lpips_net), "LPIPS"
    )
    fid_network, fid_note = optional_network(args.fid_features, make_fid_network, "FID")
    notes = [note for note in (lpips_note, fid_note) if note]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)

    settings = MotionSettings(
        size=args.size,
        batch_size=args.batch_size,
        skip_undetected_real=args.skip_undetected_real,
        device=args.device,
    )
    evaluator = MotionEvaluator(detector, identity, lpips_network, fid_network, settings)
    frames = sum(pair.frames for pair in pairs)
    print(f"scoring {len(pairs)} video(s), {frames} frame pairs at {args.size}x{args.size}", file=sys.stderr)
    report = evaluator.evaluate(
        pairs, on_video=lambda row: print(f"  {row['video']}: {row['frames']} frames done", file=sys.stderr)
    )
    report.settings.update(real=str(args.real), fake=str(args.fake), notes=notes)
    print(report.table())
    json_path, csv_path = report.write(args.out)
    print(f"wrote {json_path} and {csv_path}")
    return 0


# the targets of `genlmk evaluate`, each adding one subcommand
def add_landmarks(targets: argparse._SubParsersAction) -> None:
    parser = targets.add_parser(
        "landmarks",
        help="score predicted landmarks against ground truth: NME and flicker",
        description="Matches frames by number. NME: mean error / normaliser (box diagonal, or --norm), "
        "in percent. Flicker: change of the error between consecutive frames / normaliser, RMS, percent.",
    )
    parser.add_argument(
        "--pred",
        required=True,
        nargs="+",
        help="predicted landmarks: landmarks.csv, a COCO .json or an .npz from genlmk predict; several "
        "files (e.g. landmarks.csv landmarks_smoothed.csv) give a row each",
    )
    parser.add_argument("--gt", required=True, help="ground-truth CSV, same columns")
    parser.add_argument(
        "--norm",
        help="NAME_A,NAME_B: normalise by their distance (globs average a group, "
        "e.g. 'eye_r_*,eye_l_*'); default: the ground-truth box diagonal",
    )
    parser.add_argument(
        "--template",
        help="a template (YAML path or built-in name) whose landmark names match the ground truth's: "
        "adds a table per template line and splits the flicker along and across the lines",
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.set_defaults(func=run_landmarks)


def run_landmarks(args: argparse.Namespace) -> int:
    from genlmk.evaluation.landmarks import evaluate_landmark_files
    from genlmk.evaluation.report import Column, format_table, json_ready, write_json
    from genlmk.template import load_template

    template = load_template(args.template) if args.template else None
    results = [evaluate_landmark_files(pred, args.gt, args.norm, template) for pred in args.pred]
    scores = [Column("nme_percent", "NME %", ".3f"), Column("bias_x_px", "bias x px", "+.3f")]
    scores += [Column("bias_y_px", "bias y px", "+.3f"), Column("flicker_percent", "flicker %", ".3f")]
    if template is not None:
        scores += [Column("along_percent", "along %", ".3f"), Column("across_percent", "across %", ".3f")]
    scores.append(Column("motion_gain", "motion gain", ".3f"))
    files = [Column("pred", "predictions"), Column("frames", "frames"), Column("landmarks", "landmarks")]
    # photo-face footage has visibility flags beside its ground truth: visible and hidden apart
    shown = [Column("nme_visible_percent", "NME visible %", ".3f")]
    shown += [Column("nme_hidden_percent", "NME hidden %", ".3f")]
    shown = shown if "nme_visible_percent" in results[0] else []
    # predictions of a landmarker with visibility: how well their flags find the hidden landmarks
    if any("visibility_accuracy" in result for result in results):
        shown += [Column("visibility_accuracy", "visibility acc", ".3f")]
        shown += [Column("hidden_recall", "hidden recall", ".3f")]
        shown += [Column("hidden_precision", "hidden precision", ".3f")]
    print(format_table(results, [*files, *scores, *shown, Column("normalizer", "normalised by")]))
    if template is not None:
        per_line = [Column("line", "line"), Column("points", "points"), *scores]
        for result in results:
            print(f"\nper line of {template.name}, {result['pred']}:")
            print(format_table(result["lines"], per_line))
    for result in results:
        print(json.dumps(json_ready(result)))
    if args.json:
        write_json(args.json, results[0] if len(results) == 1 else results)
    return 0


EVALUATE_TARGETS = (add_motion, add_landmarks)
