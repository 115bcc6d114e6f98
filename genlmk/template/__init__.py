"""Landmark templates: authoring format, validation and geometry."""

from genlmk.template.library import builtin_template_dir, builtin_template_names, load_template
from genlmk.template.template import Marker, Template, dump_template_yaml

__all__ = [
    "Marker",
    "Template",
    "builtin_template_dir",
    "builtin_template_names",
    "dump_template_yaml",
    "load_template",
]
