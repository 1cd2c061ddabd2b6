"""Tsallis-INF with SOR side observations: Young's model against real SOR solves, the
strategy's replay, the bench entry and the gRPC solver pair's SOR fields."""

from __future__ import annotations

import math

import grpc
import numpy as np
import pytest

from tuner.errors import StrategyError
from tuner.solver.instances import OMEGAS, laplacian_2d
from tuner.solver.methods import sor_solve
from tuner.solver.tuner import SolverTuner, sor_tsallis
from tuner.solver.young import SORIterationModel
from tuner.strategies import make_strategy


def _real_counts(n: int, shift: float, tol: float, seed: int = 0) -> np.ndarray:
    """SOR sweeps to ``tol`` for every omega of the grid on A + shift I (n x n interior)."""
    A = laplacian_2d(n) + shift * np.eye(n * n)
    import scipy.sparse as sp

    A = sp.csr_array(A)
    b = np.random.default_rng(seed).standard_normal(n * n)
    return np.array([sor_solve(A, b, w, tol=tol).iterations for w in OMEGAS], dtype=float)


@pytest.mark.parametrize("n,shift,tol", [(8, -0.1, 1e-8), (12, 0.3, 1e-6)])
def test_one_count_predicts_every_omega_of_a_real_sor_solve(n, shift, tol):
    """From the count at one omega below the optimum, the model's estimates of the others
    follow the real solves: within 25% at the median, and the best omega it sees is the
    real best or its grid neighbour (one observation, a flat prior). A count above the
    optimum (rho = omega - 1 whatever mu) bounds mu only from above: it still gives the
    larger omegas."""
    real = _real_counts(n, shift, tol)
    best = int(np.argmin(real))
    for arm in (0, 5):
        model = SORIterationModel(OMEGAS, tol=tol, unknowns=n * n)
        est = model.estimates(arm, real[arm])
        assert est[arm] == real[arm]
        assert np.median(np.abs(est / real - 1.0)) < 0.25, (arm, est, real)
        assert abs(int(np.argmin(est)) - best) <= 1, (arm, est, real)
    est = SORIterationModel(OMEGAS, tol=tol, unknowns=n * n).estimates(18, real[18])
    above = slice(18, None)
    assert np.max(np.abs(est[above] / real[above] - 1.0)) < 0.25, (est, real)


def test_censored_and_far_off_counts():
    model = SORIterationModel(OMEGAS)
    est = model.estimates(0, 10_000, censored=True)   # at least the cap at omega = 1
    assert est is not None and est[0] == 10_000 and np.all(est > 0)
    assert model.estimates(19, 1e9) is None            # 1e9 sweeps: nothing the model knows


def test_bad_side_models_are_typed_errors():
    with pytest.raises(StrategyError, match="omegas"):
        SORIterationModel([1.5])
    with pytest.raises(StrategyError, match="tol"):
        SORIterationModel(OMEGAS, tol=2.0)
    with pytest.raises(StrategyError, match="side_model"):
        make_strategy("tsallis_inf", 20, side_model={"kind": "jacobi"})
    with pytest.raises(StrategyError, match="5 omegas for 20 arms"):
        make_strategy("tsallis_inf", 20, **sor_tsallis(OMEGAS[:5], 1e-8, 100))
    with pytest.raises(StrategyError, match="side_model"):
        make_strategy("tsallis_inf", 20, side_model={"kind": "sor", "omegas": list(OMEGAS),
                                                     "colour": "red"})


def test_side_observations_find_the_best_omega_where_bandit_feedback_does_not_yet():
    """Counts from real solves of one system (every round the same A + shift I): after 60
    rounds the side-informed learner puts most weight on the real best omega's
    neighbourhood; plain Tsallis-INF has seen too few plays to."""
    real = _real_counts(8, -0.1, 1e-8)
    best = int(np.argmin(real))
    near = [j for j in range(len(OMEGAS)) if real[j] <= 1.10 * real[best]]
    side = make_strategy("tsallis_inf", 20, seed=1, **sor_tsallis(OMEGAS, 1e-8, 64))
    plain = make_strategy("tsallis_inf", 20, seed=1)
    for s in (side, plain):
        for _ in range(60):
            p = s.ask()
            s.tell(p, float(real[p.arm]))
    assert sum(side.p[j] for j in near) > 0.5
    assert sum(plain.p[j] for j in near) < sum(side.p[j] for j in near)


def test_a_stored_side_informed_loop_resumes_with_the_same_state(tmp_path):
    url = f"sqlite:///{tmp_path / 'loops.db'}"
    real = _real_counts(8, 0.2, 1e-8)
    tuner = SolverTuner(url, name="sor", strategy="tsallis_inf",
                        options=sor_tsallis(OMEGAS, 1e-8, 64))
    for _ in range(25):
        omega, token = tuner.suggest()
        tuner.report(token, int(real[int(np.argmin(np.abs(np.array(OMEGAS) - omega)))]))
    again = SolverTuner(url, name="sor", adopt_existing=True)
    assert again.study.strategy.p == tuner.study.strategy.p
    assert again.study.strategy._side.prior.tolist() == tuner.study.strategy._side.prior.tolist()


def test_bench_runs_the_sor_entry_on_sor_settings_only(tmp_path):
    from tuner.solver.bench import run

    res = run(["synthetic-high", "heat"], T=150, seeds=[0], cache_dir=tmp_path,
              strategies={"tsallis_inf": {}, "tsallis_inf_sor": {"strategy": "tsallis_inf",
                                                                  "sor_side": True}})
    assert "tsallis_inf_sor" in res["synthetic-high"] and "tsallis_inf_sor" not in res["heat"]
    high = res["synthetic-high"]
    assert high["tsallis_inf_sor"]["total"] < high["tsallis_inf"]["total"]


def test_grpc_sor_loops_get_side_observations(tmp_path):
    from proto.tuner.v1 import tuner_service_pb2 as pb
    from proto.tuner.v1 import tuner_service_pb2_grpc as pb_grpc
    from service.config import ServerConfig
    from service.server import Server
    from tuner.store import open_storage

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    srv = Server(config=ServerConfig(port=0, store=url))
    srv.start()
    try:
        stub = pb_grpc.TunerServiceStub(grpc.insecure_channel(srv.address))
        real = _real_counts(8, -0.1, 1e-8)
        for _ in range(5):
            s = stub.SuggestSolverParameters(pb.SuggestSolverParametersRequest(
                tuner="poisson", sor_tolerance=1e-8, sor_unknowns=64), timeout=10)
            k = int(real[int(np.argmin(np.abs(np.array(OMEGAS) - s.omega)))])
            assert stub.ReportSolverOutcome(pb.ReportSolverOutcomeRequest(
                tuner="poisson", token=s.token, iterations=k), timeout=10).new
        for bad in ({"sor_tolerance": 1e-8}, {"sor_tolerance": 0.0, "sor_unknowns": 64},
                    {"sor_tolerance": 1e-8, "sor_unknowns": 0}):
            with pytest.raises(grpc.RpcError) as err:
                stub.SuggestSolverParameters(pb.SuggestSolverParametersRequest(
                    tuner="other", **bad), timeout=10)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        srv.stop(0.5)
    options = open_storage(url).get_study("solver:poisson").config["options"]
    assert options["side_model"]["kind"] == "sor" and options["side_model"]["unknowns"] == 64
    assert math.isclose(options["side_model"]["tol"], 1e-8)
