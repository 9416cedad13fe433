"""One exception family for the whole product.

The command line maps these to exit codes: ``DataValidationError`` and
``TableError`` exit 1 (the data failed), ``UsageError`` exits 2 (the call was wrong).
Messages are written for the person who ran the command: they name the file,
the column or option, the bad value, the rule, and what to do.
"""

from __future__ import annotations

import re

_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def message_lines(exc: BaseException) -> list[str]:
    """A library's error message as plain, non-empty lines (delta-rs and rich colour
    theirs, and chain causes over several lines marked with ↳)."""
    text = _COLOUR.sub("", str(exc))
    return [ln.strip(" ↳") for ln in text.splitlines() if ln.strip(" ↳")]


class ReachError(Exception):
    """Base class of every error reach raises on purpose."""

    exit_code = 1


class UsageError(ReachError):
    """The call was wrong: an unknown option value, a missing path, a bad argument."""

    exit_code = 2


class TableError(ReachError):
    """A whole input table is unusable (missing required column, unreadable file).

    The load stops and the lake is left exactly as it was.
    """

    exit_code = 1


class DataValidationError(ReachError):
    """Data in the lake failed its expectation suites."""

    exit_code = 1


class LakeError(ReachError):
    """The lake is missing, unreadable, or was written by an incompatible version."""

    exit_code = 1
