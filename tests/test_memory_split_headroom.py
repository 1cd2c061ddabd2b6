"""benchmarks/memory_split_headroom.py: its two relaxed MILPs bound the exact optimum."""

from __future__ import annotations

import pytest

from benchmarks.memory_split_headroom import main, relaxed_optimum
from tests.test_tuner_memory import _tiny, resnet_problem  # noqa: F401 (fixture)
from tuner.memory.hardware import Instance, capacity_for, preset
from tuner.memory.ilp import solve_ilp


@pytest.mark.parametrize("seed", range(6))
def test_relaxations_bound_the_exact_optimum_in_order(seed):
    """Dropping offsets can only help (whole <= exact ILP); adding per-access segments can
    only help further (split <= whole); and no mapping beats compute alone."""
    inst = _tiny(seed)
    exact = solve_ilp(inst, time_limit=20).assignment.runtime_us
    whole = relaxed_optimum(inst, split=False)
    split = relaxed_optimum(inst, split=True)
    assert split <= whole + 1e-9 <= exact + 2e-9
    assert split >= inst.compute.sum() - 1e-9


def test_real_program_and_cli(resnet_problem, capsys):
    inst = Instance(resnet_problem,
                    preset("scratchpad-256k").with_capacity(capacity_for(resnet_problem, 0.5)))
    exact = solve_ilp(inst, time_limit=60).assignment.runtime_us
    assert relaxed_optimum(inst, split=True) <= relaxed_optimum(inst, split=False) <= exact + 1e-6
    with pytest.raises(SystemExit) as e:
        main(["--capacities", "0"])
    assert e.value.code == 2 and "fractions in (0, 4]" in capsys.readouterr().err
