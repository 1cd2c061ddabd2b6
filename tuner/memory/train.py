"""Self-play training of the memory agent across programs, resumable from checkpoints.

Each iteration plays `episodes` games on random (training program, capacity, hardware)
instances with MCTS (Dirichlet noise at the root, sampled moves early on), stores the
visit distributions and return-to-go of every move in a replay buffer, and fits the network
to them. After every iteration the network, its Adam state, the replay buffer and the
iteration counter are written to the checkpoint directory (atomically), so a killed run
continues with the same command.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tuner.memory.corpus import TRAIN_PROGRAMS, load_set
from tuner.memory.game import MallocGame, input_size
from tuner.memory.greedy import greedy
from tuner.memory.hardware import PRESETS, Instance, capacity_for
from tuner.memory.mcts import MctsConfig, play
from tuner.memory.net import PolicyValueNet
from tuner.memory.problem import MemoryProblemError

FRACTIONS = (0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6)


@dataclass
class TrainConfig:
    iterations: int = 30
    episodes: int = 6
    simulations: int = 16
    rollout_weight: float = 0.5
    train_steps: int = 60
    batch: int = 256
    replay: int = 30000
    lr: float = 1e-3
    slots: int = 32
    seed: int = 0
    minutes: float = 30.0  # wall-clock budget; stops after the iteration that crosses it
    programs: tuple[str, ...] = ()  # subset of TRAIN_PROGRAMS (default: all)


def _instances(slots: int, programs: tuple[str, ...] = ()) -> list[tuple[str, Callable[[float], Instance]]]:
    out = []
    chosen = {k: v for k, v in TRAIN_PROGRAMS.items() if not programs or k in programs}
    for prob in load_set(chosen):
        for hw in PRESETS.values():
            def make(frac: float, prob=prob, hw=hw) -> Instance:
                h = hw.with_capacity(capacity_for(prob, frac))
                return Instance(prob, type(h)(**{**h.to_dict(), "slots": slots}))
            out.append((f"{prob.name}@{hw.name}", make))
    return out


def train(out_dir: str | Path, checkpoint_dir: str | Path, config: TrainConfig | None = None,
          progress: Callable[[int, int, dict], None] | None = None) -> dict:
    cfg = config or TrainConfig()
    ck = Path(checkpoint_dir)
    state_path = ck / "state.json"
    n_in = input_size(cfg.slots)
    if state_path.exists():
        state, net, replay = _resume(ck)
    else:
        state = {"iteration": 0, "history": [], "config": asdict(cfg)}
        net = PolicyValueNet(n_in, cfg.slots + 1, seed=cfg.seed)
        replay = {"x": np.zeros((0, n_in), np.float32), "mask": np.zeros((0, cfg.slots + 1), bool),
                  "pi": np.zeros((0, cfg.slots + 1), np.float32), "v": np.zeros(0, np.float32)}
    instances = _instances(cfg.slots, tuple(cfg.programs))
    mcfg = MctsConfig(simulations=cfg.simulations, rollout_weight=cfg.rollout_weight,
                      noise_fraction=0.25)
    t_start = time.time()
    while state["iteration"] < cfg.iterations and (time.time() - t_start) / 60 < cfg.minutes:
        it = state["iteration"]
        rng = np.random.default_rng(cfg.seed * 100003 + it)
        rows, ratios = [], []
        for _ in range(cfg.episodes):
            name, make = instances[int(rng.integers(len(instances)))]
            inst = make(float(rng.choice(FRACTIONS)))
            rec: list = []
            game = play(MallocGame(inst), net, mcfg, rng, temperature_moves=8, record=rec)
            rewards = np.array([r[3] for r in rec])
            rtg = np.cumsum(rewards[::-1])[::-1]
            for (x, mask, pi, _), g in zip(rec, rtg):
                rows.append((x, mask, pi, g))
            ratios.append(greedy(inst).runtime_us / game.runtime_us)
        if rows:
            new = {"x": np.stack([r[0] for r in rows]), "mask": np.stack([r[1] for r in rows]),
                   "pi": np.stack([r[2] for r in rows]).astype(np.float32),
                   "v": np.array([r[3] for r in rows], np.float32)}
            replay = {k: np.concatenate([replay[k], new[k]])[-cfg.replay:] for k in replay}
        losses = []
        for _ in range(cfg.train_steps):
            idx = rng.integers(len(replay["v"]), size=min(cfg.batch, len(replay["v"])))
            losses.append(net.train_step(replay["x"][idx], replay["pi"][idx],
                                         replay["mask"][idx], replay["v"][idx], lr=cfg.lr))
        rec_it = {"iteration": it + 1, "samples": int(len(replay["v"])),
                  "selfplay_vs_greedy_geomean": float(np.exp(np.mean(np.log(ratios)))),
                  "policy_ce": float(np.mean([l["policy_ce"] for l in losses])),
                  "value_mse": float(np.mean([l["value_mse"] for l in losses]))}
        state["history"].append(rec_it)
        state["iteration"] = it + 1
        _checkpoint(ck, net, replay, state)
        if progress is not None:
            progress(it + 1, cfg.iterations, rec_it)
    meta = {"trained_iterations": state["iteration"], "training": state["history"][-5:],
            "train_programs": sorted(TRAIN_PROGRAMS), "config": state["config"]}
    net.save(out_dir, meta)
    return state


def _resume(ck: Path) -> tuple[dict, PolicyValueNet, dict]:
    """The checkpoint in ``ck``. It is the only copy of the training so far, so an unreadable
    one is an error (left as it is), never silently restarted over."""
    try:
        state = json.loads((ck / "state.json").read_text())
        if not isinstance(state, dict) or not isinstance(state.get("iteration"), int) \
                or not isinstance(state.get("history"), list):
            raise ValueError("state.json lacks the iteration or the history")
        net, _ = PolicyValueNet.load(ck / "net")
        with np.load(ck / "replay.npz", allow_pickle=False) as z:
            replay = {k: z[k] for k in ("x", "mask", "pi", "v")}
    except MemoryProblemError as exc:
        raise MemoryProblemError(f"cannot resume from the checkpoint in {ck}: {exc}; move it "
                                 "away (or pass another --checkpoint) to start over") from None
    except Exception as exc:  # noqa: BLE001 -- JSON, zip, zlib, missing keys: all unreadable
        raise MemoryProblemError(f"cannot resume from the checkpoint in {ck}: "
                                 f"{type(exc).__name__}: {exc}; move it away (or pass another "
                                 "--checkpoint) to start over") from None
    return state, net, replay


def _checkpoint(ck: Path, net: PolicyValueNet, replay: dict, state: dict) -> None:
    ck.mkdir(parents=True, exist_ok=True)
    net.save(ck / "net", adam=True)
    tmp = ck / "replay.tmp.npz"
    np.savez_compressed(tmp, **replay)
    tmp.replace(ck / "replay.npz")
    (ck / "state.tmp.json").write_text(json.dumps(state, indent=2))
    (ck / "state.tmp.json").replace(ck / "state.json")
