"""The README's main job on built-in data: learn a face landmarker from unpaired synthetic footage.

Runs the command line, step by step (each command is printed):
  1. genlmk template show   - previews of the built-in templates
  2. genlmk synth           - marked / unmarked training frames, a test clip, ground truth
  3. genlmk fit             - the cpu preset, shortened to a few minutes
  4. genlmk predict         - landmarks.csv and overlay.mp4 for the test clip
  5. genlmk evaluate        - NME and flicker against the ground truth
Everything lands in demo/ (TensorBoard logs in demo/runs).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

OUT = Path("demo")
STEPS = 400  # about 5 minutes on 2 CPU cores; the full preset (1500 steps) is scripts/bench_landmarks.py


def genlmk(*args: str) -> None:
    print(f"\n$ genlmk {shlex.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "genlmk", *args], check=True)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name in ("face", "hand"):
        genlmk("template", "show", name, "--out", str(OUT / f"template_{name}.png"))
    data = OUT / "synth"
    if not (data / "template.yaml").is_file():
        genlmk("synth", "--template", "face", "--out", str(data), "--train", "300", "--test", "50")
    start = time.perf_counter()
    genlmk(
        "fit",
        "--config",
        "configs/landmarks/cpu.yaml",
        "--data.marked",
        str(data / "train_marked"),
        "--data.unmarked",
        str(data / "train_unmarked"),
        "--model.template",
        str(data / "template.yaml"),
        "--trainer.max_steps",
        str(STEPS),
        "--trainer.logger.init_args.save_dir",
        str(OUT / "runs"),
    )
    minutes = (time.perf_counter() - start) / 60
    checkpoints = (OUT / "runs").glob("landmarks/version_*/checkpoints/last.ckpt")
    checkpoint = max(checkpoints, key=lambda p: p.stat().st_mtime)
    genlmk(
        "predict",
        "--ckpt",
        str(checkpoint),
        "--input",
        str(data / "clip_smooth.mp4"),
        "--out",
        str(OUT / "predict"),
    )
    genlmk(
        "evaluate",
        "landmarks",
        "--pred",
        str(OUT / "predict" / "landmarks.csv"),
        "--gt",
        str(data / "clip_smooth_gt.csv"),
        "--json",
        str(OUT / "predict" / "scores.json"),
    )
    print(f"\ntrained {STEPS} steps in {minutes:.1f} min -> {checkpoint}")
    print(f"overlay video:   {OUT / 'predict' / 'overlay.mp4'}")
    print(f"landmarks:       {OUT / 'predict' / 'landmarks.csv'}")
    print(f"TensorBoard:     .venv/bin/tensorboard --logdir {OUT / 'runs'}")


if __name__ == "__main__":
    main()
