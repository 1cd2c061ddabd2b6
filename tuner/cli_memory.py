"""`tuner bench memory`, `tuner train-memory-agent` and `tuner map-memory`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from costmodel.cli_args import (check_out_dir, check_out_file, nonneg_float, positive_float,
                                positive_int, random_seed)
from tuner.memory.problem import MemoryProblemError

ROOT = Path(__file__).resolve().parent.parent


def add_parsers(sub: argparse._SubParsersAction, bsub: argparse._SubParsersAction) -> None:
    b = bsub.add_parser("memory", help="memory mapping: greedy vs bandit vs RL agent vs ILP")
    b.add_argument("--json", action="store_true", help="print the full result as JSON")
    b.add_argument("--hardware", default="scratchpad-256k",
                   help="bandwidth/compute preset (capacity is set per instance)")
    b.add_argument("--capacities", default="0.25,0.5",
                   help="capacities as fractions of each program's peak live bytes")
    b.add_argument("--programs", nargs="+", default=None, help="subset of bench programs")
    b.add_argument("--ilp-time-limit", type=nonneg_float, default=60.0, help="seconds; 0 skips the ILP")
    b.add_argument("--simulations", type=positive_int, default=16, help="MCTS simulations per move")
    b.add_argument("--rollout-weight", type=float, default=0.8,
                   help="share of a leaf's value from a greedy completion (rest: value net)")
    b.add_argument("--greedy-prior", type=float, default=0.5,
                   help="share of the MCTS prior on the greedy's move (rest: policy net)")
    b.add_argument("--episodes", type=positive_int, default=2,
                   help="MCTS episodes per instance (the best is kept)")
    b.add_argument("--cpu-budget", type=positive_float, default=20.0,
                   help="CPU seconds per instance: MCTS episodes start only in the first "
                        "half, local improvement uses the rest")
    b.add_argument("--no-improve", action="store_true",
                   help="skip the agent's local-improvement phase (MCTS only)")
    b.add_argument("--agent", type=Path, default=ROOT / "models" / "memory-agent")
    b.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    b.add_argument("--no-progress", action="store_true")
    b.add_argument("--scheduler", default=argparse.SUPPRESS,
                   help="Dask scheduler, e.g. tcp://HOST:8786: one task per program on its "
                        "workers (also accepted before `memory`; default $COSTMODEL_SCHEDULER)")
    b.set_defaults(func=_bench)

    t = sub.add_parser("train-memory-agent", help="train the memory agent by self-play "
                       "(resumable: rerun the same command to continue)")
    t.add_argument("--out", type=Path, default=ROOT / "models" / "memory-agent")
    t.add_argument("--checkpoint", type=Path, default=ROOT / "var" / "memory-agent-train")
    t.add_argument("--iterations", type=positive_int, default=30)
    t.add_argument("--episodes", type=positive_int, default=6, help="self-play games per iteration")
    t.add_argument("--simulations", type=positive_int, default=16)
    t.add_argument("--minutes", type=positive_float, default=30.0, help="wall-clock budget of this run")
    t.add_argument("--seed", type=random_seed, default=0)
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=_train)

    m = sub.add_parser("map-memory", help="map one program's buffers to fast/slow memory")
    m.add_argument("input", type=Path, help=".mlir (linalg level) or .onnx")
    m.add_argument("--hardware", default="scratchpad-256k")
    m.add_argument("--capacity", type=positive_int, default=None, help="fast memory bytes")
    m.add_argument("--capacity-fraction", type=positive_float, default=None,
                   help="fast memory as a fraction of the peak live bytes")
    m.add_argument("--agent", choices=("greedy", "bandit", "ilp", "rl"), default="rl")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=_map)


def _capacities(text: str) -> list[float]:
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise MemoryProblemError(f"--capacities must be comma-separated numbers, got {text!r}") from None
    if not out or any(not 0 < f <= 4 for f in out):
        raise MemoryProblemError("--capacities must be fractions in (0, 4]")
    return out


def _bench(args: argparse.Namespace) -> int:
    from tuner.memory import bench
    from tuner.memory.agent import RLAgent
    from tuner.memory.corpus import BENCH_PROGRAMS
    from tuner.memory.hardware import preset
    from tuner.memory.mcts import MctsConfig

    fractions = _capacities(args.capacities)
    if args.out is not None:
        check_out_file(args.out)
    if args.programs:
        unknown = [p for p in args.programs if p not in BENCH_PROGRAMS]
        if unknown:
            raise MemoryProblemError(f"unknown programs {unknown}; choose from {', '.join(BENCH_PROGRAMS)}")
    if args.simulations < 1:
        raise MemoryProblemError("--simulations must be at least 1")
    hw = preset(args.hardware)
    if args.episodes < 1 or args.cpu_budget <= 0:
        raise MemoryProblemError("--episodes must be at least 1 and --cpu-budget positive")
    if not (0 <= args.rollout_weight <= 1 and 0 <= args.greedy_prior <= 1):
        raise MemoryProblemError("--rollout-weight and --greedy-prior must be in [0, 1]")
    agent = RLAgent.load(args.agent, MctsConfig(simulations=args.simulations,
                                                rollout_weight=args.rollout_weight,
                                                greedy_prior=args.greedy_prior),
                         episodes=args.episodes, cpu_budget_s=args.cpu_budget,
                         improve=not args.no_improve)
    from costmodel.distributed import DaskExecutor, resolve_scheduler
    address = resolve_scheduler(getattr(args, "scheduler", None))
    executor = None if address is None else DaskExecutor(address)
    n = len(args.programs or BENCH_PROGRAMS) * len(fractions)
    bar = None
    progress = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=n, desc="memory bench", unit="inst", file=sys.stderr)

        def progress(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)
    try:
        result = bench.run(hw, fractions, agent, programs=args.programs,
                           ilp_time_limit=args.ilp_time_limit, progress=progress,
                           import_progress=not args.no_progress, executor=executor)
    finally:
        if bar is not None:
            bar.close()
        if executor is not None:
            executor.close()
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2) if args.json else bench.format_table(result))
    return 0


def _train(args: argparse.Namespace) -> int:
    from tuner.memory.train import TrainConfig, train

    # Both are written only after a self-play iteration: check them before the first.
    check_out_dir(args.out)
    check_out_dir(args.checkpoint, "--checkpoint")
    cfg = TrainConfig(iterations=args.iterations, episodes=args.episodes,
                      simulations=args.simulations, minutes=args.minutes, seed=args.seed)
    bar = None
    progress = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.iterations, desc="self-play", unit="iter", file=sys.stderr)

        def progress(i: int, n: int, rec: dict) -> None:
            bar.n = i
            bar.set_postfix(vs_greedy=f"{rec['selfplay_vs_greedy_geomean']:.3f}",
                            ce=f"{rec['policy_ce']:.2f}", mse=f"{rec['value_mse']:.4f}")
            bar.refresh()
    try:
        state = train(args.out, args.checkpoint, cfg, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    last = state["history"][-1] if state["history"] else {}
    print(f"iterations {state['iteration']}/{cfg.iterations}; last: {json.dumps(last)}; "
          f"agent written to {args.out}")
    return 0


def _map(args: argparse.Namespace) -> int:
    from costmodel.ir import load_ir
    from tuner.memory.service import map_memory

    text = load_ir(args.input)
    result = map_memory(text, hardware=args.hardware, capacity=args.capacity,
                        capacity_fraction=args.capacity_fraction, agent=args.agent,
                        name=args.input.stem, filename=str(args.input))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        a = result["assignment"]
        print(f"{args.input}: {result['n_buffers']} buffers over {result['n_ops']} ops, "
              f"fast memory {result['hardware']['capacity_bytes']} B; agent {a['agent']}: "
              f"{sum(o >= 0 for o in a['offsets'])} buffers in fast memory, predicted "
              f"{a['runtime_us']:.1f} us vs {a['allslow_us']:.1f} us all-slow "
              f"(speedup {a['speedup']:.3f}x)")
    return 0
