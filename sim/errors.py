"""Errors a user can cause, with messages that say what was wrong and what is allowed.

Every error raised for bad input derives from :class:`FishpondError`; the command line
prints its message as one line and exits with status 2, without a traceback.
"""

from __future__ import annotations


class FishpondError(Exception):
    """Base class of all errors caused by the user's input (files, options, values)."""


class ScenarioError(FishpondError):
    """A scenario file or override is invalid (unknown key, bad value, bad YAML, ...)."""


class DataError(FishpondError):
    """A data file (e.g. an edge list) is missing or malformed."""


class OutputError(FishpondError):
    """The output location cannot be used (e.g. it exists and is not empty)."""


class FishpondWarning(UserWarning):
    """Something the user should know about a result that is not an error.

    For example a sample too small for its confidence intervals; the command line prints it
    as one line.
    """
