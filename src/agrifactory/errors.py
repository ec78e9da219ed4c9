"""One exception hierarchy for the factory.

Every message says what was wrong (the file, field or band), what was expected,
what was found, and what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class AgrifactoryError(Exception):
    """Base class of every error the factory raises on purpose."""


class ConfigError(AgrifactoryError):
    """A configuration value is missing, of the wrong type or inconsistent."""


class InputError(AgrifactoryError):
    """An input file is missing, unreadable or not what it should be.

    Parameters
    ----------
    path
        The offending file (or directory).
    problem
        What is wrong with it.
    hint
        What the user can do about it.
    """

    def __init__(self, path: str | Path, problem: str, hint: str = "") -> None:
        # A URL stays text (Path would fold its '//').
        self.path = path if isinstance(path, str) and "://" in path else Path(path)
        self.problem = problem
        self.hint = hint
        message = f"{self.path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class DataError(AgrifactoryError):
    """Data that were read correctly cannot be used (all masked, zero variance, ...)."""


class GridError(AgrifactoryError):
    """Rasters or tiles that should share a grid do not."""
