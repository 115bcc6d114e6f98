"""``genlmk fit --preset NAME | --config FILE-OR-NAME [--section.key value ...]``.

A preset is a YAML file of ``configs/`` named by :func:`genlmk.builtin.resolve_preset` (``cpu``,
``gpu``, ``video``, ``heatmap``, ``motion/cpu``, ``motion/vox-256``); ``--preset NAME`` is
``--config NAME``, and several lay over each other in order.

Training goes through Lightning's CLI: the YAML names the system (``model.class_path``) and its
data module (``data.class_path``); any key can be overridden on the command line
(``--data.marked clips/marked.mp4``, ``--trainer.max_steps 500``), ``--print_config`` shows the
resolved configuration.

What genlmk adds to every ``fit``:

- ``--ckpt_path last`` continues the most recent run under the logger's folder, in the same
  TensorBoard version (see :mod:`genlmk.training.resume`); with no checkpoint there yet it says so
  and starts a new run, so one command serves both the first start and every restart;
- a checkpoint given to resume from is checked against the configured model first;
- checkpoints are written atomically (:class:`~genlmk.training.checkpoint_io.AtomicCheckpointIO`),
  the global random streams are checkpointed per rank
  (:class:`~genlmk.training.random_state.RandomStateCallback`), and a non-finite loss or gradient
  stops training before it reaches the weights or a checkpoint
  (:class:`~genlmk.training.guards.NonFiniteGuard`);
- ``--trainer.strategy ddp`` means DDP that tolerates parameters without a gradient in one of
  the several backward passes of a GAN step (``ddp_find_unused_parameters_true``).
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from genlmk.builtin import resolve_preset
from genlmk.errors import CheckpointError, ConfigError, GenlmkError

# the systems step several optimizers or backward passes per batch: DDP must accept parameters
# that one backward pass does not reach
_STRATEGY_ALIASES = {"ddp": "ddp_find_unused_parameters_true"}
_LIGHTNING_SPECIAL_CKPTS = ("last", "best", "hpc", "registry")


def _one_line(message: str) -> str:
    """Condense jsonargparse's nested error report to its most specific line, named by the dotted
    key it is about; an unknown key of a typed option block lists the block's known keys."""
    lines = [line.strip(" -") for line in str(message).splitlines() if line.strip(" -")]
    specific = re.compile(
        r"not accepted|does not accept|unrecognized|does not exist|Unable to|invalid|Got value", re.I
    )
    found = next((i for i, line in enumerate(lines) if specific.search(line)), None)
    detail = lines[found] if found is not None else (lines[-1] if lines else "invalid arguments")
    above = lines[:found] if found is not None else lines
    key = ".".join(m.group(1) for line in above if (m := re.match(r'Parser key "([^"]+)"', line)))
    classes = [m.group(1) for line in above if (m := re.search(r"given class_path '([^']+)'", line))]
    unknown = re.search(
        r"unrecognized arguments: --([\w.]+)|Option '([\w.]+)' is not accepted"
        r"|Group '([\w.]+)' does not accept option '([\w.]+)'",
        detail,
    )
    if unknown and classes:
        group, option = unknown.group(3, 4)
        name = f"{group}.{option}" if group else unknown.group(1) or unknown.group(2)
        known = _known_keys(classes[-1], name)
        if known is not None:
            block = ".".join(filter(None, [key, *name.split(".")[:-1]]))
            return f"{block}: unknown key(s) {[name.split('.')[-1]]}; known: {known}"
    return f"{key}: {detail}" if key and key not in detail else detail


def _known_keys(class_path: str, dotted: str) -> list[str] | None:
    """The known keys of the option block that the unknown ``dotted`` key of ``class_path``'s
    arguments sits in (see :func:`genlmk.options.known_keys`); ``None`` if it is none."""
    from genlmk.options import known_keys

    cls = _class_of(class_path)
    return None if cls is None else known_keys(cls, dotted)


def _dotted_keys(data: object, prefix: str = "") -> list[str]:
    """Every key path of a YAML structure, ``init_args`` levels left out (``model.lr``)."""
    if not isinstance(data, dict):
        return []
    keys = []
    for key, value in data.items():
        if key == "init_args":
            keys += _dotted_keys(value, prefix)
        else:
            keys += [f"{prefix}{key}", *_dotted_keys(value, f"{prefix}{key}.")]
    return keys


def layered_init_args(configs: Sequence[str | Path]) -> dict[str, dict]:
    """Each section's ``init_args`` of YAML presets laid over each other as ``fit`` lays them.

    A later file changes a typed option block (``losses``, ``landmarker``, ``renderer``, ...)
    field by field and replaces any other key whole, so the result
    is what ``genlmk fit --config A --config B ...`` gives the model and data module before any
    command-line override (:func:`genlmk.options.lay_over`).

    Args:
        configs: preset files or names (``cpu``, ``motion/cpu``), earliest first.

    Returns:
        ``{"model": {...}, "data": {...}}``: a section no file has is an empty dictionary.

    Raises:
        ConfigError: a file is missing, not YAML, or not a mapping of sections; the message names it.
    """
    from genlmk.options import lay_over
    from genlmk.yaml_files import read_yaml

    layered: dict[str, dict] = {"model": {}, "data": {}}
    class_paths: dict[str, str] = {}
    for config in configs:
        preset = read_yaml(_preset_path(config), ConfigError, "preset") or {}
        if not isinstance(preset, dict):
            raise ConfigError(f"{config}: expected a mapping of sections (model, data, trainer, ...)")
        for section in layered:
            block = preset.get(section) or {}
            class_paths[section] = block.get("class_path") or class_paths.get(section, "")
            owner = _class_of(class_paths[section])
            layered[section] = lay_over(owner, layered[section], block.get("init_args") or {})
    return layered


def _class_of(class_path: str) -> type | None:
    """The class a ``class_path`` names, or ``None`` when it names none."""
    import importlib

    module, _, name = class_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None


def _preset_path(config: str | Path) -> str | Path:
    """A preset name as its file; a path that does not exist stays as it is, for ``read_yaml``
    to name it."""
    try:
        return resolve_preset(config)
    except ConfigError:
        return config


def with_preset_files(argv: list[str]) -> list[str]:
    """``argv`` with every ``--preset NAME`` / ``--config NAME`` (or ``=NAME``) as ``--config FILE``.

    Raises:
        ConfigError: a value is neither a file nor a preset name; the message lists the presets.
    """
    resolved: list[str] = []
    pending = False
    for arg in argv:
        option, equals, value = arg.partition("=")
        if pending:
            resolved.append(str(resolve_preset(arg)))
            pending = False
        elif option in ("--preset", "--config") and equals:
            resolved.append(f"--config={resolve_preset(value)}")
        elif arg in ("--preset", "--config"):
            resolved.append("--config")
            pending = True
        else:
            resolved.append(arg)
    return resolved


def _with_config_file(message: str, argv: list[str]) -> str:
    """Prefix an unknown-option message with the ``--config`` file that holds the option."""
    import yaml

    block_key = re.match(r"([\w.]+): unknown key\(s\) \['([^']+)'\]", message)
    found = re.search(r"[Oo]ption '([^']+)'", message)
    if block_key is not None:
        wanted = f"{block_key.group(1)}.{block_key.group(2)}"
    elif found is not None:
        option = found.group(1).replace(".init_args", "")
        scope = message.split(":", 1)[0] if re.match(r"[\w.]+: ", message) else ""
        wanted = f"{scope}.{option}" if scope and not option.startswith(f"{scope}.") else option
    else:
        return message
    files = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--config"]
    files += [arg.split("=", 1)[1] for arg in argv if arg.startswith("--config=")]
    for file in reversed(files):
        try:
            with open(file, encoding="utf-8") as handle:
                keys = _dotted_keys(yaml.safe_load(handle))
        except (OSError, yaml.YAMLError):
            continue
        if wanted in keys:
            return f"{file}: {message}"
    return message


def _wrapped_genlmk_error(exc: BaseException) -> GenlmkError | None:
    """The genlmk error behind ``exc``, if any: jsonargparse wraps errors raised while it
    instantiates the model or data module (e.g. a missing weights file) in its own ValueError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, GenlmkError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _from_worker(exc: GenlmkError) -> GenlmkError:
    """A DataLoader worker's error is re-raised as ``Caught X in DataLoader worker ... Original
    Traceback ...``: keep the original one-line message."""
    lines = str(exc).strip().splitlines()
    if len(lines) > 1 and "Original Traceback" in lines[1]:
        message = lines[-1].split(": ", 1)[-1]
        return type(exc)(message)
    return exc


def _cli_class():
    from lightning.pytorch.cli import LightningCLI

    class GenlmkCLI(LightningCLI):
        """Lightning's CLI with genlmk's resume, checkpoint and guard behaviour (module docstring)."""

        def _parse_ckpt_path(self) -> None:
            # Lightning's CLI reads the model's hyperparameters from a --ckpt_path file into the
            # configuration; here the file is checked to be a training checkpoint first, a
            # landmark system's old flat hyperparameters are translated into the ``losses``
            # layout, and the file is named when its hyperparameters do not fit the configured model
            from jsonargparse import ArgumentError

            from genlmk.checkpoints import KIND_KEY
            from genlmk.losses.options import upgrade_hparams
            from genlmk.training.resume import read_training_checkpoint

            subcommand = self.config.get("subcommand")
            path = self.config[subcommand].get("ckpt_path") if subcommand else None
            if path is None or str(path) in _LIGHTNING_SPECIAL_CKPTS:
                return
            checkpoint = read_training_checkpoint(path)
            hparams = dict(checkpoint.get("hyper_parameters") or {})
            if checkpoint.get(KIND_KEY) == "landmarks":
                hparams = upgrade_hparams(hparams)
            hparams.pop("_instantiator", None)
            if not hparams:
                return
            if "_class_path" in hparams:
                hparams = {"class_path": hparams.pop("_class_path"), "dict_kwargs": hparams}
            try:
                self.config = self.parser.parse_object({subcommand: {"model": hparams}}, self.config)
            except ArgumentError as exc:
                raise CheckpointError(
                    f"{path}: its hyperparameters do not fit the configured model ({_one_line(str(exc))})"
                ) from None

        def before_instantiate_classes(self) -> None:
            trainer = self.config[self.subcommand]["trainer"]
            strategy = trainer.get("strategy")
            if isinstance(strategy, str) and strategy in _STRATEGY_ALIASES:
                trainer["strategy"] = _STRATEGY_ALIASES[strategy]

        def instantiate_trainer(self, **kwargs):
            from lightning.pytorch.plugins.io import TorchCheckpointIO

            from genlmk.training.checkpoint_io import AtomicCheckpointIO

            trainer = super().instantiate_trainer(**kwargs)
            if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
                trainer.strategy.checkpoint_io = AtomicCheckpointIO()
            return trainer

        def before_fit(self) -> None:
            from lightning.pytorch.callbacks import ModelCheckpoint
            from lightning.pytorch.loggers import TensorBoardLogger
            from lightning.pytorch.utilities.rank_zero import rank_zero_only

            from genlmk.training.resume import (
                check_resumable,
                check_writable,
                find_last_checkpoint,
                logged_steps,
                remove_partial_writes,
                run_version,
            )

            arguments = self.config_init[self.subcommand]
            ckpt_path = arguments.get("ckpt_path")
            logger = self.trainer.logger
            checkpoints = [c for c in self.trainer.callbacks if isinstance(c, ModelCheckpoint)]
            for folder in [c.dirpath for c in checkpoints if c.dirpath] + [
                logger.root_dir if isinstance(logger, TensorBoardLogger) else self.trainer.default_root_dir
            ]:
                check_writable(folder)
            versioned = isinstance(logger, TensorBoardLogger) and not any(c.dirpath for c in checkpoints)
            if ckpt_path == "last" and versioned:
                fixed = logger._version  # None: Lightning would pick the next free version_N
                found = find_last_checkpoint(logger.root_dir, fixed)
                if found is None:
                    if rank_zero_only.rank == 0:
                        print(
                            f"genlmk: no {Path(logger.root_dir) / '*' / 'checkpoints' / 'last.ckpt'}"
                            " to resume from: starting a new run",
                            file=sys.stderr,
                        )
                    arguments["ckpt_path"] = None
                    return
                checkpoint = check_resumable(found, self.model)
                if rank_zero_only.rank == 0:
                    remove_partial_writes(found.parent)
                # continue the interrupted run's TensorBoard version; hide its events past the checkpoint
                logger._version = run_version(found)
                logger._kwargs["purge_step"] = logged_steps(checkpoint)
                logger._default_hp_metric = False  # the run's placeholder hp_metric is there already
                arguments["ckpt_path"] = str(found)
            elif ckpt_path is not None and str(ckpt_path) not in _LIGHTNING_SPECIAL_CKPTS:
                check_resumable(ckpt_path, self.model)

    return GenlmkCLI


def _default_callbacks() -> list:
    from genlmk.training.guards import NonFiniteGuard
    from genlmk.training.random_state import RandomStateCallback

    return [RandomStateCallback(), NonFiniteGuard()]


def run_fit(argv: list[str]) -> int:
    """Run ``fit`` through Lightning's CLI; ``argv`` starts with ``fit``."""
    from jsonargparse import ArgumentError
    from lightning.pytorch import LightningDataModule, LightningModule

    argv = with_preset_files(argv)
    warnings.filterwarnings("ignore", message=".*LightningCLI's args parameter is intended.*")
    # Our systems step their optimizers by hand, and a checkpoint holds the weights after the step it
    # counts: what resuming needs (tests/test_resume.py), so Lightning's long advice does not apply.
    warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
    # Lightning's own use of torch.utils._pytree on this torch (upstream, raised on every fit)
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    try:
        _cli_class()(
            LightningModule,
            LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            args=argv,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"exit_on_error": False},
            trainer_defaults={"callbacks": _default_callbacks()},
        )
    except ArgumentError as exc:
        raise ConfigError(_with_config_file(_one_line(str(exc)), argv)) from None
    except GenlmkError as exc:
        raise _from_worker(exc) from None
    except (ValueError, TypeError) as exc:
        cause = _wrapped_genlmk_error(exc)
        if cause is None:
            raise
        raise cause from None
    return 0
