"""`tuner bench memory`: greedy, bandit, RL agent and ILP on real-model programs.

Every instance is a bench program at a capacity that is a fraction of its peak live
footprint. Ratios are of predicted runtimes (greedy / agent: above 1 means the agent's
mapping is faster). The ILP gives the optimum where HiGHS proves it within the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tuner.memory.agent import RLAgent
from tuner.memory.bandit import cetc_greedy
from tuner.memory.corpus import BENCH_PROGRAMS, load_program, load_set
from tuner.memory.greedy import greedy
from tuner.memory.hardware import Hardware, Instance, capacity_for
from tuner.memory.ilp import solve_ilp
from tuner.memory.problem import MemoryProblem


def geomean(xs: list[float]) -> float | None:
    return float(np.exp(np.mean(np.log(xs)))) if xs else None


def program_rows(prob: MemoryProblem, hw: Hardware, fractions: list[float], agent: RLAgent, *,
                 ilp_time_limit: float = 60.0,
                 progress: Callable[[str], None] | None = None) -> list[dict]:
    """Every mapper on one program at each capacity fraction: one row per instance."""
    rows = []
    for frac in fractions:
        inst = Instance(prob, hw.with_capacity(capacity_for(prob, frac)))
        g = greedy(inst)
        bandit, _ = cetc_greedy(inst)
        rl = agent.solve(inst)
        ilp = solve_ilp(inst, time_limit=ilp_time_limit) if ilp_time_limit > 0 else None
        row = {"program": prob.name, "capacity_fraction": frac,
               "capacity_bytes": inst.hw.capacity_bytes, "ops": prob.n_ops,
               "buffers": prob.n_buffers, "allslow_us": inst.allslow,
               "greedy_us": g.runtime_us, "bandit_us": bandit.runtime_us,
               "rl_us": rl.runtime_us, "rl_agent": rl.agent, "rl_cpu_s": rl.cpu_s,
               "greedy_cpu_s": g.cpu_s, "bandit_cpu_s": bandit.cpu_s,
               "rl_vs_greedy": g.runtime_us / rl.runtime_us,
               "bandit_vs_greedy": g.runtime_us / bandit.runtime_us}
        if rl.detail is not None:  # what MCTS alone found, before local improvement
            row.update(rl_mcts_us=rl.detail["mcts_us"],
                       rl_mcts_vs_greedy=g.runtime_us / rl.detail["mcts_us"],
                       rl_mcts_cpu_s=rl.detail["mcts_cpu_s"])
        if ilp is not None and ilp.assignment is not None:
            row.update(ilp_us=ilp.assignment.runtime_us, ilp_optimal=ilp.optimal,
                       ilp_cpu_s=ilp.seconds,
                       rl_gap_to_ilp=rl.runtime_us / ilp.assignment.runtime_us - 1,
                       ilp_vs_greedy=g.runtime_us / ilp.assignment.runtime_us)
        rows.append(row)
        if progress is not None:
            progress(f"{prob.name}@{frac}")
    return rows


@dataclass
class ProgramTask:
    """One program's import and every mapper at every fraction, on a Dask worker."""

    name: str
    builder: Callable[[], bytes]
    hw: Hardware
    fractions: list[float]
    agent: RLAgent
    ilp_time_limit: float

    def run(self) -> list[dict]:
        prob = load_program(self.name, self.builder)
        return program_rows(prob, self.hw, self.fractions, self.agent,
                            ilp_time_limit=self.ilp_time_limit)


def _run_program(task: ProgramTask) -> list[dict]:
    return task.run()


def _rows_on_cluster(chosen: dict, hw: Hardware, fractions: list[float], agent: RLAgent,
                     ilp_time_limit: float, executor, progress) -> tuple[list[dict], dict]:
    """One task per program on the workers of one hardware (the RL agent's CPU budget and
    CPU seconds depend on it); rows come back in the local order."""
    from costmodel.distributed.collect import choose_hardware
    from tuner.errors import TunerError

    target = choose_hardware(None, executor.workers_hardware())
    tasks = [ProgramTask(n, b, hw, fractions, agent, ilp_time_limit) for n, b in chosen.items()]
    per_program: dict[int, list[dict]] = {}
    workers: dict[str, int] = {}
    # timing: one program per worker at a time, so CPU seconds are not shared.
    for done in executor.map_unordered(_run_program, tasks, timing=True,
                                       hardware_id=target["id"], keys=list(chosen),
                                       name="memory-bench"):
        if done.error is not None:
            raise TunerError(f"memory bench of {tasks[done.index].name} was lost for good: "
                             f"{done.error}")
        per_program[done.index] = done.result
        workers[done.worker] = workers.get(done.worker, 0) + 1
        if progress is not None:
            for r in done.result:
                progress(f"{r['program']}@{r['capacity_fraction']}")
    rows = [r for i in range(len(tasks)) for r in per_program[i]]
    return rows, {"scheduler": executor.scheduler, "hardware_id": target["id"],
                  "cpu_model": target.get("cpu_model"), "programs_per_worker": workers}


def run(hw: Hardware, fractions: list[float], agent: RLAgent, *, programs: list[str] | None = None,
        ilp_time_limit: float = 60.0, progress: Callable[[str], None] | None = None,
        import_progress: bool = False, executor=None) -> dict:
    """The bench; with ``executor`` (a ``costmodel.distributed`` Dask executor) every
    program's import and mapping runs as one task on the cluster."""
    chosen = {k: v for k, v in BENCH_PROGRAMS.items() if programs is None or k in programs}
    cluster = None
    if executor is None:
        rows = []
        for prob in load_set(chosen, progress=import_progress):
            rows += program_rows(prob, hw, fractions, agent, ilp_time_limit=ilp_time_limit,
                                 progress=progress)
    else:
        rows, cluster = _rows_on_cluster(chosen, hw, fractions, agent, ilp_time_limit,
                                         executor, progress)
    extra = {} if cluster is None else {"cluster": cluster}
    return {"hardware": hw.to_dict(), "capacity_fractions": fractions,
            "ilp_time_limit_s": ilp_time_limit,
            "agent": {"trained_iterations": agent.manifest.get("trained_iterations"),
                      "simulations": agent.config.simulations,
                      "rollout_weight": agent.config.rollout_weight,
                      "greedy_prior": agent.config.greedy_prior,
                      "episodes": agent.episodes, "cpu_budget_s": agent.cpu_budget_s,
                      "mcts_share": agent.mcts_share, "improve": agent.improve},
            "instances": rows, "summary": summarize(rows), **extra}


def summarize(rows: list[dict]) -> dict:
    optimal = [r for r in rows if r.get("ilp_optimal")]
    cpu = [r["rl_cpu_s"] for r in rows]
    per_program: dict[str, float] = {}
    for r in rows:
        per_program[r["program"]] = per_program.get(r["program"], 0.0) + r["rl_cpu_s"]
    mcts = [r["rl_mcts_vs_greedy"] for r in rows if "rl_mcts_vs_greedy" in r]
    gaps = [r["rl_gap_to_ilp"] for r in optimal]
    return {
        "instances": len(rows), "programs": len({r["program"] for r in rows}),
        "rl_vs_greedy_geomean": geomean([r["rl_vs_greedy"] for r in rows]),
        "rl_vs_greedy_worst": min((r["rl_vs_greedy"] for r in rows), default=None),
        "rl_worse_than_greedy": sum(r["rl_vs_greedy"] < 1 - 1e-9 for r in rows),
        "rl_fallbacks": sum("fallback" in r["rl_agent"] for r in rows),
        "bandit_vs_greedy_geomean": geomean([r["bandit_vs_greedy"] for r in rows]),
        "ilp_solved": len(optimal),
        "ilp_vs_greedy_geomean": geomean([r["ilp_vs_greedy"] for r in optimal]),
        "rl_gap_to_ilp_mean": float(np.mean(gaps)) if gaps else None,
        "rl_gap_to_ilp_max": max(gaps, default=None),
        "rl_within_1pct_of_ilp": sum(g <= 0.01 for g in gaps),
        "rl_cpu_s_median": float(np.median(cpu)) if cpu else None,
        "rl_cpu_s_max": max(cpu, default=None),
        "rl_cpu_s_per_program_max": max(per_program.values(), default=None),
        "rl_mcts_only_vs_greedy_geomean": geomean(mcts) if len(mcts) == len(rows) else None,
    }


def format_table(result: dict) -> str:
    lines = [f"{'program':<26} {'cap':>5} {'greedy':>7} {'bandit':>7} {'rl':>7} {'ilp':>7} "
             f"{'rl/ilp-1':>8} {'rl cpu s':>8}"]
    for r in result["instances"]:
        spd = lambda k: r["allslow_us"] / r[k]  # noqa: E731 - speedup over all-slow
        ilp = f"{spd('ilp_us'):7.3f}" if "ilp_us" in r else f"{'-':>7}"
        gap = f"{100 * r['rl_gap_to_ilp']:7.2f}%" if r.get("ilp_optimal") else f"{'-':>8}"
        lines.append(f"{r['program']:<26} {r['capacity_fraction']:>5} {spd('greedy_us'):7.3f} "
                     f"{spd('bandit_us'):7.3f} {spd('rl_us'):7.3f} {ilp} {gap} {r['rl_cpu_s']:8.1f}")
    s = result["summary"]
    f = lambda v, p="{:.3f}": "n/a" if v is None else p.format(v)  # noqa: E731
    lines += ["", "speedups over all-slow memory; summary (ratios of predicted runtime):",
              f"  RL vs greedy geomean {f(s['rl_vs_greedy_geomean'])}x, worst {f(s['rl_vs_greedy_worst'])}x, "
              f"worse than greedy on {s['rl_worse_than_greedy']} of {s['instances']} "
              f"(greedy fallback taken {s['rl_fallbacks']}x)",
              f"  bandit vs greedy geomean {f(s['bandit_vs_greedy_geomean'])}x",
              f"  ILP optimal on {s['ilp_solved']} instances: ILP vs greedy geomean "
              f"{f(s['ilp_vs_greedy_geomean'])}x; RL gap mean {f(s['rl_gap_to_ilp_mean'], '{:.2%}')}, "
              f"max {f(s['rl_gap_to_ilp_max'], '{:.2%}')}, within 1% on {s['rl_within_1pct_of_ilp']}",
              f"  RL CPU seconds per instance: median {f(s['rl_cpu_s_median'], '{:.1f}')}, "
              f"max {f(s['rl_cpu_s_max'], '{:.1f}')}; per program (all capacities) max "
              f"{f(s['rl_cpu_s_per_program_max'], '{:.1f}')}",
              f"  RL before local improvement (MCTS only) vs greedy geomean "
              f"{f(s['rl_mcts_only_vs_greedy_geomean'])}x"]
    return "\n".join(lines)
