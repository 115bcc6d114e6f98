"""Error types of genlmk: one per kind of failure.

Every message names the offending file (or value) and what was expected, so the
command line can print it as a single line without a traceback.
"""

from __future__ import annotations


class GenlmkError(Exception):
    """Base class of every error genlmk raises on purpose (bad input, not bugs)."""


class TemplateError(GenlmkError):
    """A landmark template file is missing, malformed or inconsistent."""


class InputDataError(GenlmkError):
    """An image, video or folder given as input cannot be used."""


class CheckpointError(GenlmkError):
    """A checkpoint is missing, unreadable, or of the wrong kind for the command."""


class ConfigError(GenlmkError):
    """A configuration file or command-line option is invalid."""


class WeightsNotFoundError(GenlmkError):
    """Pretrained weights (VGG, Inception, LPIPS, ...) are not where they were looked for."""


class OutputError(GenlmkError):
    """An output location cannot be written."""


class NonFiniteLossError(GenlmkError):
    """Training produced a NaN or infinite loss or gradient."""


class SubjectNotFoundError(GenlmkError):
    """A tracked region of interest found no subject anywhere in a video."""
