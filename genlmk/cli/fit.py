"""``genlmk fit --config configs/<family>/<preset>.yaml [--section.key value ...]``.

Training goes through Lightning's CLI: the YAML names the system (``model.class_path``) and its
data module (``data.class_path``); any key can be overridden on the command line
(``--data.marked clips/marked.mp4``, ``--trainer.max_steps 500``), ``--print_config`` shows the
resolved configuration, ``--ckpt_path last`` resumes.
"""

from __future__ import annotations

import re
import warnings

from genlmk.errors import ConfigError, GenlmkError


def _one_line(message: str) -> str:
    """Condense jsonargparse's nested error report to its most specific line."""
    lines = [line.strip(" -") for line in str(message).splitlines() if line.strip(" -")]
    key = next((m.group(1) for line in lines if (m := re.match(r'Parser key "([^"]+)"', line))), None)
    specific = re.compile(r"not accepted|unrecognized|does not exist|Unable to|invalid", re.I)
    detail = next(
        (line for line in lines if specific.search(line)), lines[-1] if lines else "invalid arguments"
    )
    return f"{key}: {detail}" if key and key not in detail else detail


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


def run_fit(argv: list[str]) -> int:
    """Run ``fit`` through Lightning's CLI; ``argv`` starts with ``fit``."""
    from jsonargparse import ArgumentError
    from lightning.pytorch import LightningDataModule, LightningModule
    from lightning.pytorch.cli import LightningCLI

    warnings.filterwarnings("ignore", message=".*LightningCLI's args parameter is intended.*")
    try:
        LightningCLI(
            LightningModule,
            LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            args=argv,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"exit_on_error": False},
        )
    except ArgumentError as exc:
        raise ConfigError(_one_line(str(exc))) from None
    except (ValueError, TypeError) as exc:
        cause = _wrapped_genlmk_error(exc)
        if cause is None:
            raise
        raise cause from None
    return 0
