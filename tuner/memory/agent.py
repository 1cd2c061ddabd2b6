"""The shipped RL agent: MCTS with the trained policy + value network, a local-improvement
phase, and a greedy fallback.

`RLAgent.solve` plays a mallocGame episode with MCTS at every move, then, while the MCTS
share of its CPU budget lasts, more episodes with Dirichlet noise at each root (up to
`episodes` in all), keeping the best. The rest of the budget goes to iterated local search
on that mapping (`tuner.memory.improve`: add / drop / swap moves scored with the same
predicted-runtime model, repacking when needed; no solver). It returns the result unless
the XLA-style greedy predicts a faster one, in which case it returns the greedy's (flagged
`fallback`), so it is never worse than greedy.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from tuner.memory.game import MallocGame, input_size
from tuner.memory.greedy import Assignment, finish, greedy
from tuner.memory.hardware import Instance
from tuner.memory.improve import LocalSearch
from tuner.memory.mcts import MctsConfig, play
from tuner.memory.net import PolicyValueNet
from tuner.memory.problem import MemoryProblemError

#: Search settings `tuner bench memory` reports: 16 simulations per move, leaves valued
#: 20% by the value network and 80% by a greedy completion, half the prior on the greedy's move.
INFERENCE_CONFIG = MctsConfig(simulations=16, rollout_weight=0.8, greedy_prior=0.5)
DEFAULT_AGENT = Path(__file__).resolve().parents[2] / "models" / "memory-agent"


class RLAgent:
    def __init__(self, net: PolicyValueNet, config: MctsConfig | None = None,
                 manifest: dict | None = None, *, episodes: int = 2,
                 cpu_budget_s: float = 20.0, mcts_share: float = 0.5,
                 improve: bool = True) -> None:
        self.net = net
        self.episodes, self.cpu_budget_s = episodes, cpu_budget_s
        self.mcts_share = mcts_share  # of the budget after which no new MCTS episode starts
        self.improve = improve  # run the local-improvement phase
        self.config = config or INFERENCE_CONFIG
        self.manifest = manifest or {}

    @classmethod
    def load(cls, directory: str | Path = DEFAULT_AGENT, config: MctsConfig | None = None,
             **kwargs) -> "RLAgent":
        net, manifest = PolicyValueNet.load(directory)
        return cls(net, config, manifest, **kwargs)

    def solve(self, inst: Instance, seed: int = 0) -> Assignment:
        """The best mapping found within the CPU budget (the first MCTS episode always
        finishes). `detail` records the MCTS-only runtime and the CPU of each phase."""
        if inst.slots + 1 != self.net.n_actions or input_size(inst.slots) != self.net.n_in:
            raise MemoryProblemError(f"the agent was trained for {self.net.n_actions - 1} slots, "
                                     f"the hardware has {inst.slots}")
        t0 = time.process_time()
        rng = np.random.default_rng(seed)
        best_game = play(MallocGame(inst), self.net, self.config, rng)
        noisy = replace(self.config, noise_fraction=0.25)
        mcts_budget = self.mcts_share * self.cpu_budget_s
        played = 1
        for done in range(1, self.episodes):
            used = time.process_time() - t0
            if used + used / done > mcts_budget:  # the next episode would overrun
                break
            game = play(MallocGame(inst), self.net, noisy, rng)
            played += 1
            if game.runtime_us < best_game.runtime_us:
                best_game = game
        offsets = best_game.offsets
        t_mcts = time.process_time() - t0
        if self.improve:
            left = self.cpu_budget_s - t_mcts
            if left > 0:
                offsets = LocalSearch(inst).search(offsets, left, rng)
        rl = finish(inst, offsets, "rl")
        base = greedy(inst)
        best = rl if rl.runtime_us <= base.runtime_us else Assignment(
            base.offsets, base.runtime_us, base.allslow_us, "rl(fallback:greedy)")
        best.cpu_s = time.process_time() - t0
        best.detail = {"mcts_us": best_game.runtime_us, "mcts_episodes": played,
                       "mcts_cpu_s": t_mcts, "improve_cpu_s": best.cpu_s - t_mcts}
        return best
