"""Typed errors of saved cost models."""

from __future__ import annotations

from costmodel.errors import CostModelError


class ArtifactError(CostModelError):
    """A model directory that cannot be used: missing files, bad manifest."""


class ChecksumMismatchError(ArtifactError):
    """A model file's sha256 differs from the one its manifest recorded (corrupt or edited)."""


class SchemaMismatchError(ArtifactError):
    """The model was trained on another feature schema than this code computes."""
