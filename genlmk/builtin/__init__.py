"""The built-in templates and presets, found where they ship.

The top-level ``templates/`` and ``configs/`` folders of the project are their only copy: the wheel
carries them as the data packages ``genlmk.builtin.templates`` and ``genlmk.builtin.configs``
(``pyproject.toml`` maps those to the two folders), so an installed ``genlmk`` finds them inside
itself through :mod:`importlib.resources`; a checkout run from its source tree (``PYTHONPATH`` or
an editable install) finds them beside the ``genlmk`` folder.

Presets are named by their path under ``configs/`` without ``.yaml``; the landmark presets, the
common case, also by their bare file name: ``cpu`` is ``configs/landmarks/cpu.yaml``,
``motion/cpu`` is ``configs/motion/cpu.yaml``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from genlmk.errors import ConfigError

# the folder whose presets answer to their bare name
_DEFAULT_FAMILY = "landmarks"


def _shipped_or_checkout(folder: str) -> Path:
    """``folder`` inside the installed package, else the checkout's top-level ``folder``."""
    shipped = Path(str(files(__name__))) / folder
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / folder


def builtin_template_dir() -> Path:
    """The folder of built-in template YAML files (``templates/`` of the project)."""
    return _shipped_or_checkout("templates")


def builtin_config_dir() -> Path:
    """The folder of preset YAML files (``configs/`` of the project: ``landmarks/``, ``motion/``)."""
    return _shipped_or_checkout("configs")


def preset_names() -> list[str]:
    """Every preset's name: the landmark presets bare (``cpu``), the others with their folder
    (``motion/cpu``), sorted that way."""
    root = builtin_config_dir()
    names = []
    for path in sorted(root.glob("*/*.yaml")):
        family = path.parent.name
        names.append(path.stem if family == _DEFAULT_FAMILY else f"{family}/{path.stem}")
    return sorted(names, key=lambda name: ("/" in name, name))


def resolve_preset(spec: str | Path) -> Path:
    """The preset file ``spec`` means: an existing file as it is, else a preset name.

    Args:
        spec: a YAML path, or a name from :func:`preset_names` (``cpu``, ``landmarks/cpu``,
            ``motion/vox-256``).

    Raises:
        ConfigError: ``spec`` is neither a file nor a preset name; the message lists the names.
    """
    path = Path(spec)
    if path.is_file():
        return path
    # a checkout's path (configs/landmarks/cpu.yaml) names the same preset from any folder
    name = str(spec).removesuffix(".yaml").removeprefix("configs/")
    root = builtin_config_dir()
    for candidate in (root / f"{name}.yaml", root / _DEFAULT_FAMILY / f"{name}.yaml"):
        if path.suffix in ("", ".yaml") and candidate.is_file():
            return candidate
    known = ", ".join(preset_names()) or "none"
    raise ConfigError(f"{spec}: preset file not found (and not a built-in preset: {known})")
