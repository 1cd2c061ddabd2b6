"""Search spaces: parameter kinds, conditions, constraints, validation errors."""

from __future__ import annotations

import numpy as np
import pytest

from costmodel.errors import InputError
from tuner.errors import SearchSpaceError
from tuner.space import Categorical, Float, Int, LogInt, PowerOfTwo, Space


def _space() -> Space:
    return Space([
        Categorical("algo", ("direct", "tiled")),
        PowerOfTwo("tile", 8, 128, condition={"algo": "tiled"}),
        Int("unroll", 1, 8, 1),
        LogInt("chunk", 1, 4096),
        Float("alpha", 1e-3, 1.0, log=True),
    ], ["tile * unroll <= 256"])


def test_sample_is_valid_and_respects_conditions_and_constraints():
    space = _space()
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = space.sample(rng)
        assert space.validate(a) == a
        assert ("tile" in a) == (a["algo"] == "tiled")
        if "tile" in a:
            assert a["tile"] * a["unroll"] <= 256 and a["tile"] & (a["tile"] - 1) == 0


def test_enumerate_and_json_roundtrip():
    space = _space()
    grid = space.enumerate()
    assert all(space.validate(a) == a for a in grid)
    assert len({tuple(sorted(a.items())) for a in grid}) == len(grid)
    again = Space.from_dict(space.to_dict())
    assert again.to_dict() == space.to_dict()
    assert again.enumerate() == grid


@pytest.mark.parametrize("params, message", [
    ({"algo": "x", "unroll": 1, "chunk": 1, "alpha": 0.1}, "'algo': 'x' is not one of"),
    ({"algo": "tiled", "tile": 12, "unroll": 1, "chunk": 1, "alpha": 0.1}, "not a power of two"),
    ({"algo": "tiled", "tile": 256, "unroll": 1, "chunk": 1, "alpha": 0.1}, "outside [8, 128]"),
    ({"algo": "tiled", "unroll": 1, "chunk": 1, "alpha": 0.1}, "'tile' is missing"),
    ({"algo": "direct", "tile": 8, "unroll": 1, "chunk": 1, "alpha": 0.1}, "inactive"),
    ({"algo": "tiled", "tile": 128, "unroll": 4, "chunk": 1, "alpha": 0.1}, "constraint violated"),
    ({"algo": "direct", "unroll": 1.5, "chunk": 1, "alpha": 0.1}, "not an integer"),
    ({"algo": "direct", "unroll": True, "chunk": 1, "alpha": 0.1}, "not an integer"),
    ({"algo": "direct", "unroll": 1, "chunk": 1, "alpha": float("nan")}, "not finite"),
    ({"algo": "direct", "unroll": 1, "chunk": 1, "alpha": 0.1, "bogus": 1}, "unknown parameter"),
])
def test_validation_errors_are_clear(params, message):
    with pytest.raises(SearchSpaceError) as e:
        _space().validate(params)
    assert message in str(e.value)
    assert isinstance(e.value, InputError)


@pytest.mark.parametrize("build, message", [
    (lambda: Int("x", 5, 1), "low 5 > high 1"),
    (lambda: Int("x", 0, 4, 0), "step must be >= 1"),
    (lambda: PowerOfTwo("x", 3, 8), "power of two"),
    (lambda: LogInt("x", 0, 8), "low >= 1"),
    (lambda: Float("x", 0.0, 1.0, log=True), "low > 0"),
    (lambda: Categorical("x", ()), "at least one choice"),
    (lambda: Categorical("x", ("a", "a")), "duplicate"),
    (lambda: Int("not a name", 0, 1), "identifier"),
    (lambda: Space([Int("x", 0, 1), Int("x", 0, 2)]), "duplicate parameter"),
    (lambda: Space([Int("y", 0, 1, condition={"x": 1}), Int("x", 0, 1)]), "defined before"),
    (lambda: Space([Int("x", 0, 1), Int("y", 0, 1, condition={"x": 7})]), "condition of 'y'"),
    (lambda: Space([Int("x", 0, 1)], ["x +"]), "not an expression"),
    (lambda: Space([Int("x", 0, 1)], ["z < 1"]), "unknown parameter 'z'"),
    (lambda: Space([Int("x", 0, 1)], ["__import__('os')"]), "unknown parameter"),
    (lambda: Space([Int("x", 0, 1)], ["x.real > 0"]), "unsupported syntax"),
    (lambda: Space([]), "at least one parameter"),
    (lambda: Space.from_dict({"params": [{"kind": "complex", "name": "x"}]}), "unknown parameter kind"),
])
def test_definition_errors(build, message):
    with pytest.raises(SearchSpaceError) as e:
        build()
    assert message in str(e.value)


def test_unsatisfiable_constraints():
    space = Space([Int("x", 0, 3)], ["x > 10"])
    with pytest.raises(SearchSpaceError, match="no grid point"):
        space.enumerate()
    with pytest.raises(SearchSpaceError, match="no assignment"):
        space.sample(np.random.default_rng(0), max_tries=50)
