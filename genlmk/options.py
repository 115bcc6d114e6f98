"""Typed option blocks: frozen dataclasses built from YAML mappings, checked key by key.

A system's settings are frozen dataclasses (a loss term's weight and settings, the renderer's,
a network's sizes) that check their own values in ``__post_init__``. The command line builds them
through jsonargparse, which lays presets over each other field by field; Python code and stored
checkpoint hyperparameters give plain mappings, which :func:`build_options` turns into the same
objects, refusing unknown keys with the list of known ones.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from genlmk.errors import ConfigError

Options = TypeVar("Options")


def _dataclass_field_types(cls: type) -> dict[str, Any]:
    """Each field's resolved type (string annotations evaluated in the class's module)."""
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls)}


def _dataclass_in(annotation: Any) -> type | None:
    """The dataclass an annotation names, itself or inside ``X | None``; ``None`` otherwise."""
    candidates = typing.get_args(annotation) or (annotation,)
    return next((c for c in candidates if dataclasses.is_dataclass(c) and isinstance(c, type)), None)


def build_options(cls: type[Options], given: Options | Mapping[str, Any] | None, where: str) -> Options:
    """``given`` as a ``cls`` instance: an instance is kept, a mapping fills the fields it names
    (nested option blocks from nested mappings), ``None`` gives the defaults.

    Args:
        cls: a dataclass of options.
        given: an instance, a mapping of some of its fields, or ``None``.
        where: the block's dotted name for messages (``model.losses.flow``).

    Raises:
        ConfigError: an unknown key (the message lists the known ones), a mapping where a block
            needs one and got another value, or a value the dataclass refuses.
    """
    if given is None:
        return cls()
    if isinstance(given, cls):
        return given
    if not isinstance(given, Mapping):
        raise ConfigError(f"{where}: expected a mapping of {cls.__name__} fields, got {given!r}")
    types = _dataclass_field_types(cls)
    unknown = sorted(set(given) - set(types))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(types)}")
    values = {}
    for key, value in given.items():
        nested = _dataclass_in(types[key])
        values[key] = build_options(nested, value, f"{where}.{key}") if nested else value
    return cls(**values)


def known_keys(cls: type, dotted: str) -> list[str] | None:
    """The keys known where the dotted option ``dotted`` (say ``losses.flow.windw``) would sit in
    the option blocks of ``cls``'s constructor, or ``None`` when that is no option block.

    Args:
        cls: an option dataclass, or a class whose ``__init__`` takes some (``LandmarkGAN``).
        dotted: a key path below the class's arguments, its last part the unknown key.
    """
    try:
        types = (
            _dataclass_field_types(cls)
            if dataclasses.is_dataclass(cls)
            else typing.get_type_hints(cls.__init__)
        )
    except (NameError, TypeError):
        return None
    *blocks, _ = dotted.split(".")
    if not blocks and not dataclasses.is_dataclass(cls):
        return None
    for block in blocks:
        nested = _dataclass_in(types.get(block))
        if nested is None:
            return None
        types = _dataclass_field_types(nested)
    return sorted(types)


def require(condition: bool, name: str, rule: str, value: Any) -> None:
    """Raise ``ConfigError("<name> <rule>, got <value>")`` unless ``condition`` holds.

    Args:
        condition: whether the value is acceptable.
        name: the option's dotted name (``model.losses.flow.window``).
        rule: what the value must be (``must be at least 3 pixels``).
        value: the value given.
    """
    if not condition:
        raise ConfigError(f"{name} {rule}, got {value!r}")


def lay_over(cls: type | None, base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top``'s keys laid over ``base``'s as the command line lays presets: an option block of
    ``cls`` (a dataclass field, or an ``__init__`` argument typed as one) field by field, any
    other value (a free-form dictionary too) replaced whole.

    Args:
        cls: the class the keys are arguments of (``None``: no option blocks, every key replaced).
        base, top: ``init_args``-style mappings, ``top`` the later one.
    """
    try:
        if cls is None:
            types: dict[str, Any] = {}
        elif dataclasses.is_dataclass(cls):
            types = _dataclass_field_types(cls)
        else:
            types = typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):
        types = {}
    laid = dict(base)
    for key, value in top.items():
        nested = _dataclass_in(types.get(key))
        if nested and isinstance(value, Mapping) and isinstance(laid.get(key), Mapping):
            laid[key] = lay_over(nested, laid[key], value)
        else:
            laid[key] = value
    return laid
