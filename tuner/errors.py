"""Typed tuner errors, all under costmodel's hierarchy so the CLI and service map them."""

from __future__ import annotations

from costmodel.errors import CostModelError, InputError


class TunerError(CostModelError):
    """Base class for tuner failures that are not the caller's input."""


class SearchSpaceError(InputError):
    """A search space definition, or a parameter assignment checked against one, is invalid."""


class StrategyError(InputError):
    """Unknown strategy name or invalid strategy options."""


class SolverInputError(InputError):
    """A matrix, right-hand side or solver option is unusable."""


class StorageError(TunerError):
    """The trial store is unreachable, corrupt, or the storage URL is malformed."""


class StudyNotFoundError(InputError):
    """No study with that name or id in the store."""


class TrialNotFoundError(InputError):
    """No trial with that id in the study (or the token is malformed)."""


class TrialStateError(InputError):
    """A report conflicts with what is stored (e.g. a second, different value for a trial)."""
