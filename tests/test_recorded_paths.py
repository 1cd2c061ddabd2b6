"""Results files record paths relative to the checkout, not the machine's layout."""

from __future__ import annotations

from costmodel.cli_args import CHECKOUT, as_recorded, shipped


def test_shipped_paths_are_recorded_relative_to_the_checkout():
    assert as_recorded(shipped("models/default")) == "models/default"
    assert as_recorded(str(CHECKOUT / "models" / ".." / "models" / "default")) == "models/default"


def test_paths_outside_the_checkout_stay_as_given(tmp_path):
    assert as_recorded(str(tmp_path / "m")) == str(tmp_path / "m")
