"""Solver domain: pyamg SOR against the measured table, the batched kernels against
pyamg solve by solve, and the `tuner bench solver` command on a short sequence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pyamg.gallery import poisson

from tuner.cli import main
from tuner.errors import SolverInputError
from tuner.solver.instances import OMEGAS, heat, laplacian_2d, synthetic
from tuner.solver.methods import sor_solve, ssor_pcg
from tuner.solver.stencil import sor_iterations, ssor_pcg_iterations


@pytest.mark.parametrize("omega, iterations", [(1.8, 138), (1.5, 495), (1.9, 151)])
def test_sor_matches_the_measured_table(omega, iterations):
    """notes/solver-and-bandits.md: 32x32 Poisson, b = 1, x0 = 0, relative residual 1e-6."""
    A = poisson((32, 32), format="csr")
    r = sor_solve(A, np.ones(32 * 32), omega, tol=1e-6, maxiter=5000)
    assert r.converged and r.iterations == iterations


def test_laplacian_matches_pyamg():
    assert (laplacian_2d(10) != poisson((10, 10), format="csr")).nnz == 0


def test_batched_sor_matches_pyamg_solve_by_solve():
    seq = synthetic(8, seed=3)
    t = np.repeat(np.arange(8), 4)
    w = np.tile(np.array(OMEGAS)[[0, 7, 14, 19]], 8)
    batched = sor_iterations(seq.d[t], seq.a[t], w, seq.b[t], seq.grid, tol=1e-8, maxiter=10_000)
    ref = [sor_solve(seq.matrix(i), seq.b[i], wi, tol=1e-8).iterations for i, wi in zip(t, w)]
    assert batched.tolist() == ref


def test_batched_ssor_pcg_matches_reference():
    seq = heat(60, seed=1)
    t = np.repeat(np.arange(0, 60, 6), 3)
    w = np.tile([1.0, 1.5, 1.9], 10)
    batched = ssor_pcg_iterations(seq.d[t], seq.a[t], w, seq.b[t], seq.grid, tol=1e-8, maxiter=10_000)
    ref = [ssor_pcg(seq.matrix(i), seq.b[i], wi, tol=1e-8).iterations for i, wi in zip(t, w)]
    assert batched.tolist() == ref


def test_cap_is_reported_as_censored():
    seq = synthetic(3, seed=0)
    t = np.arange(3)
    it = sor_iterations(seq.d[t], seq.a[t], np.ones(3), seq.b[t], seq.grid, tol=1e-8, maxiter=5)
    assert (it == 6).all()                                   # maxiter + 1 marks the cap
    r = sor_solve(seq.matrix(0), seq.b[0], 1.0, tol=1e-8, maxiter=5)
    assert not r.converged and r.iterations == 5


def test_solver_input_errors():
    A = laplacian_2d(4)
    with pytest.raises(SolverInputError, match="omega"):
        sor_solve(A, np.ones(16), 2.0)
    with pytest.raises(SolverInputError, match="shape"):
        sor_solve(A, np.ones(15), 1.5)
    with pytest.raises(SolverInputError, match="sparse"):
        ssor_pcg(A.toarray(), np.ones(16), 1.5)


def test_bench_solver_json(tmp_path, capsys):
    rc = main(["bench", "solver", "--json", "--T", "60", "--seeds", "0", "1",
               "--settings", "synthetic-low", "heat", "--strategies", "tsallis_inf", "chebcb",
               "tsallis_inf_smooth", "--cache-dir", str(tmp_path), "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"synthetic-low", "heat"}
    for setting, res in out.items():
        assert {"omega=1", "best_fixed", "instance_optimal", "tsallis_inf", "chebcb",
                "tsallis_inf_smooth"} <= set(res)
        # a named variant runs its own options, not its strategy's defaults
        assert res["tsallis_inf_smooth"]["per_seed"] != res["tsallis_inf"]["per_seed"]
        io = res["instance_optimal"]
        for name, r in res.items():
            assert r["total"] >= io["total"] - 1e-9 and r["last20"] >= io["last20"] - 1e-9
            assert len(r["per_seed"]) == 2
    assert len(list(tmp_path.glob("*.npz"))) == 4              # tables cached per seed


def test_bench_rejects_bad_arguments(capsys):
    assert main(["bench", "solver", "--settings", "nope", "--no-progress"]) == 2
    assert "unknown setting" in capsys.readouterr().err
    assert main(["bench", "solver", "--strategies", "tsallis_inf_rough", "--no-progress"]) == 2
    assert "tsallis_inf_smooth" in capsys.readouterr().err   # the error lists the variants


def test_served_omegas_are_tidy_decimals_and_custom_ones_are_kept():
    """The default grid is a linspace (1.7999999999999998 for 1.8): SolverTuner hands out the
    short decimal it stands for; an omega that is not a few ulps off one is served as given."""
    from tuner.solver.tuner import SolverTuner

    tuner = SolverTuner(strategy="random", seed=1)
    served = set()
    for _ in range(200):
        omega, token = tuner.suggest()
        served.add(omega)
        tuner.report(token, iterations=10)
    assert served == {round(1.0 + 0.05 * i, 2) for i in range(20)}
    assert all(len(repr(w).split(".")[1]) <= 2 for w in served)
    odd = (1.23456789012345, 1.0 + 2 ** -40)
    custom = SolverTuner(strategy="random", omegas=odd, seed=1)
    got = {custom.suggest()[0] for _ in range(40)}
    assert got == set(odd)


def test_bench_plays_average_strategy_seeds_on_one_table(tmp_path):
    """--plays N: a seed's figure is the mean of N runs with different strategy seeds, the
    first being the single-play run, so plays=1 keeps the old figures."""
    from tuner.solver.bench import PLAY_STRIDE, play, run
    from tuner.solver.table import load_table

    kw = dict(T=80, seeds=[0], strategies={"tsallis_inf": {}, "random": {}}, cache_dir=tmp_path)
    one = run(["synthetic-low"], **kw)["synthetic-low"]
    three = run(["synthetic-low"], plays=3, **kw)["synthetic-low"]
    table = load_table("synthetic-low", 80, 0, cache_dir=tmp_path)
    for name in ("tsallis_inf", "random"):
        totals = [play(table, name, {}, PLAY_STRIDE * p).sum() for p in range(3)]
        assert one[name]["total"] == pytest.approx(totals[0])
        assert three[name]["total"] == pytest.approx(np.mean(totals))
    assert three["best_fixed"] == one["best_fixed"]       # comparators do not play
    assert len(set(np.round(totals, 6))) > 1              # the plays really differ
    with pytest.raises(SystemExit) as exc:  # rejected by argparse, before any table
        main(["bench", "solver", "--plays", "0", "--no-progress"])
    assert exc.value.code == 2


def test_solver_regret_breakdown_adds_up(tmp_path, monkeypatch, capsys):
    """benchmarks/solver_regret.py: the phases' excess adds up to the total, the best fixed
    omega costs nothing, and the expected plays add up to the rounds."""
    from benchmarks.solver_regret import main as regret_main

    monkeypatch.setenv("TUNER_CACHE_DIR", str(tmp_path))
    assert regret_main(["--setting", "synthetic-low", "--T", "60", "--seeds", "0",
                        "--plays", "2", "--strategy", "tsallis_inf", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["excess_total"] == pytest.approx(sum(p["excess"] for p in res["phases"]))
    assert res["excess_total"] == pytest.approx(sum(res["excess_by_arm"]))
    assert sum(res["plays_by_arm"]) == pytest.approx(60)
    assert min(res["excess_by_arm"]) == 0.0 and res["excess_total"] > 0
    with pytest.raises(SystemExit):
        regret_main(["--strategy", "linucb"])       # no distribution to account
