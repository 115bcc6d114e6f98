"""Finding templates: a file path, or the name of a built-in template.

The built-in templates are the YAML files of the project's ``templates/`` folder; an installed
``genlmk`` carries them inside the package and finds them through :mod:`importlib.resources`
(see :mod:`genlmk.builtin`), a checkout finds them beside its ``genlmk`` folder.
"""

from __future__ import annotations

from pathlib import Path

from genlmk.builtin import builtin_template_dir
from genlmk.errors import TemplateError
from genlmk.template.template import Template


def builtin_template_names() -> list[str]:
    """Names of the built-in templates, e.g. ``['face', 'hand']``."""
    return sorted(p.stem for p in builtin_template_dir().glob("*.yaml"))


def load_template(spec: str | Path) -> Template:
    """Load a template from a YAML path or a built-in name (``face``, ``hand``, ...).

    Raises:
        TemplateError: ``spec`` is neither an existing file nor a built-in name.
    """
    path = Path(spec)
    if path.is_file():
        return Template.load(path)
    builtin = builtin_template_dir() / f"{spec}.yaml"
    if path.suffix == "" and builtin.is_file():
        return Template.load(builtin)
    known = ", ".join(builtin_template_names()) or "none"
    raise TemplateError(f"{spec}: template file not found (and not a built-in template: {known})")
