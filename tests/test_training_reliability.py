"""Training guards and scale-out: the non-finite guard, same seed same losses, DDP on two CPU processes."""

from __future__ import annotations

import json
import math
import subprocess

import pytest
import torch
from training_helpers import (
    ROOT,
    child_env,
    genlmk_command,
    landmark_data,
    landmark_fit_args,
    scalars,
)

from genlmk.checkpoints import load_checkpoint
from genlmk.cli.main import main
from genlmk.errors import NonFiniteLossError
from genlmk.training.guards import check_finite_losses


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks train faster on one thread (and the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return landmark_data(tmp_path_factory.mktemp("data"), frames=12)


def _callback(class_name: str, **init_args) -> list[str]:
    callback = {"class_path": f"fault_callbacks.{class_name}", "init_args": init_args}
    return [f"--trainer.callbacks+={json.dumps(callback)}"]


def _last_checkpoint(runs):
    [path] = runs.glob("landmarks/version_*/checkpoints/last.ckpt")
    return path


def _all_finite(state_dict) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in state_dict.values() if t.is_floating_point())


class _Strategy:
    @staticmethod
    def reduce_boolean_decision(decision: bool, all: bool = True) -> bool:
        return decision


class _Module:
    global_step = 7
    trainer = type("Trainer", (), {"strategy": _Strategy()})()


def test_check_finite_losses_names_the_step_and_the_non_finite_terms():
    check_finite_losses(_Module(), {"cycle": torch.tensor(0.5)})  # finite: no error
    losses = {"cycle": torch.tensor(0.5), "gan": torch.tensor(float("nan")), "flow": torch.tensor(math.inf)}
    with pytest.raises(NonFiniteLossError) as info:
        check_finite_losses(_Module(), losses)
    assert str(info.value) == "non-finite loss at global step 7: gan=nan, flow=inf (other terms: cycle=0.5)"


def test_nan_loss_stops_training_and_the_last_good_checkpoint_resumes(data, tmp_path, capsys):
    args = landmark_fit_args(data, tmp_path, steps=4, every=2)
    assert main([*args, *_callback("NaNWeightAtStep", step=3, module="generator")]) == 1
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith("genlmk: error: non-finite loss at global step 3: ")
    assert "cycle_marked=nan" in message
    last = _last_checkpoint(tmp_path)
    checkpoint = load_checkpoint(last)
    assert checkpoint["global_step"] == 2 and _all_finite(checkpoint["state_dict"])
    # the same command without the fault continues from the good checkpoint to the end
    assert main([*args, "--ckpt_path", "last"]) == 0
    resumed = load_checkpoint(last)
    assert resumed["global_step"] == 4 and _all_finite(resumed["state_dict"])


def test_nan_gradient_stops_training_naming_the_step_and_the_parameter(data, tmp_path, capsys):
    args = landmark_fit_args(data, tmp_path, steps=4, every=2)
    fault = _callback("NaNGradientAtStep", step=3, parameter="disc_marked.model.0.weight")
    assert main([*args, *fault]) == 1
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message == "genlmk: error: non-finite gradient at global step 3 in disc_marked.model.0.weight"
    checkpoint = load_checkpoint(_last_checkpoint(tmp_path))
    assert checkpoint["global_step"] == 2 and _all_finite(checkpoint["state_dict"])


def test_same_seed_gives_the_same_losses_and_another_seed_other_ones(data, tmp_path):
    losses = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        args = landmark_fit_args(data, tmp_path / name, steps=3, every=3)
        assert main([*args, "--seed_everything", str(seed), "--data.seed", str(seed)]) == 0
        curves = scalars(next((tmp_path / name).glob("landmarks/version_*")))
        losses[name] = {tag: curves[tag] for tag in curves if tag.startswith("train/")}
    assert len(losses["a"]["train/total"]) == 3
    assert losses["a"] == losses["b"]
    assert losses["a"]["train/total"] != losses["c"]["train/total"]


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_keeps_the_weights_in_sync(data, tmp_path):
    args = landmark_fit_args(data, tmp_path / "runs", steps=4, every=2, batch=1)
    ddp = ["--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu"]
    command = genlmk_command(*args, *ddp, *_callback("WeightsDigest", folder=str(tmp_path / "digests")))
    result = subprocess.run(command, capture_output=True, text=True, env=child_env(), cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "distributed_backend=gloo" in result.stderr
        and "All distributed processes registered" in result.stderr
    )
    rank0, rank1 = ((tmp_path / "digests" / f"rank{r}.txt").read_text().split() for r in (0, 1))
    assert rank0[1] == rank1[1] == "4"  # both ranks made 4 optimizer steps
    assert rank0[0] == rank1[0]  # with identical weights
    checkpoint = load_checkpoint(_last_checkpoint(tmp_path / "runs"))
    assert checkpoint["global_step"] == 4
    pools = checkpoint["genlmk_image_pools"]
    assert len(pools["ranks"]) == 2  # every rank's image pools are in the checkpoint
    assert not torch.equal(pools["ranks"][0]["marked"]["images"], pools["ranks"][1]["marked"]["images"])


def test_checkpoint_writes_are_atomic_and_refused_after_a_non_finite_stop(tmp_path):
    from genlmk.training.checkpoint_io import AtomicCheckpointIO

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    io, target = AtomicCheckpointIO(), tmp_path / "last.ckpt"
    io.save_checkpoint({"global_step": 2}, target)
    with pytest.raises(RuntimeError):  # a write that fails half-way (as a kill would) ...
        io.save_checkpoint({"global_step": 3, "bad": Unpicklable()}, target)
    io.refuse_writes("training stopped on a non-finite value")
    with pytest.warns(
        UserWarning, match="not writing checkpoint .*last.ckpt: training stopped on a non-finite"
    ):
        io.save_checkpoint({"global_step": 4}, target)
    # ... leaves the last complete checkpoint, and nothing else
    assert load_checkpoint(target)["global_step"] == 2 and [p.name for p in tmp_path.iterdir()] == [
        "last.ckpt"
    ]
