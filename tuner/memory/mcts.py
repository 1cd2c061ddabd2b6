"""Monte-Carlo tree search for mallocGame, guided by the policy + value network
(AlphaZero-style, single player with per-step rewards, as in mallocMuZero).

Selection is PUCT over min-max normalised returns; a leaf is valued by the network, mixed
AlphaGo-style with a greedy completion of the episode (`rollout_weight`), and the network's
prior can be mixed with the greedy's own move (`greedy_prior`, an expert prior as AlphaGo's
supervised policy), so the search starts from the greedy's line and deviates where that pays. To keep the tree
narrow, offsets are restricted to those where the buffer touches the bottom or top of a
free gap (any packing can be slid onto such offsets without changing who is in fast
memory), plus slow memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tuner.memory.game import MallocGame, encode
from tuner.memory.greedy import best_fit, place
from tuner.memory.net import PolicyValueNet


@dataclass
class MctsConfig:
    simulations: int = 32
    c_puct: float = 1.25
    rollout_weight: float = 0.5  # share of a leaf's value from a greedy completion
    dirichlet_alpha: float = 0.3
    noise_fraction: float = 0.0  # 0.25 in self-play
    greedy_prior: float = 0.0  # share of the prior put on the greedy's own move (best fit)


def candidate_actions(game: MallocGame) -> np.ndarray:
    """Gap-aligned legal offsets plus the slow-memory action."""
    legal = game.legal_actions()
    S = game.inst.slots
    b = game.current
    k = game.inst.k[b]
    free = game.inst.free_mask(game.grid, b)
    out = []
    for o in np.nonzero(legal[:S])[0]:
        below = o == 0 or not free[o - 1]
        above = o + k == S or not free[o + k]
        if below or above:
            out.append(o)
    out.append(S)
    return np.array(out, dtype=int)


def greedy_completion(game: MallocGame) -> float:
    """Return-to-go (share of all-slow runtime) of finishing the episode greedily."""
    inst = game.inst
    grid = game.grid.copy()
    traffic = game.traffic.copy()
    start = traffic.runtime
    for b in game.order[game.step_index:]:
        if traffic.gain(b) <= 0:
            continue
        o = best_fit(inst, grid, b)
        if o >= 0:
            place(inst, grid, b, o)
            traffic.add(b)
    return (start - traffic.runtime) / inst.allslow


class Node:
    __slots__ = ("game", "actions", "prior", "N", "W", "R", "children", "value", "terminal")

    def __init__(self, game: MallocGame) -> None:
        self.game = game
        self.terminal = game.done
        self.actions = None
        self.children: list = []
        self.value = 0.0


class Mcts:
    def __init__(self, net: PolicyValueNet, config: MctsConfig | None = None,
                 rng: np.random.Generator | None = None) -> None:
        self.net = net
        self.cfg = config or MctsConfig()
        self.rng = rng or np.random.default_rng(0)
        self.lo, self.hi = math.inf, -math.inf

    def _expand(self, node: Node) -> None:
        g = node.game
        if node.terminal:
            node.value = 0.0
            return
        acts = candidate_actions(g)
        mask = np.zeros(g.n_actions, dtype=bool)
        mask[acts] = True
        probs, v = self.net.predict(encode(g), mask)
        w = self.cfg.rollout_weight
        if w > 0:
            v = (1 - w) * v + w * greedy_completion(g)
        node.actions = acts
        p = probs[acts]
        p = p / p.sum()
        if self.cfg.greedy_prior > 0:
            # An expert prior (as AlphaGo mixed in its supervised policy): the move the
            # greedy would make here, so the search starts from the greedy's line.
            b = g.current
            o = best_fit(g.inst, g.grid, b) if g.traffic.gain(b) > 0 else -1
            hint = np.asarray(acts == (o if o >= 0 else g.slow_action), dtype=float)
            if hint.any():
                p = (1 - self.cfg.greedy_prior) * p + self.cfg.greedy_prior * hint
        node.prior = p
        n = len(acts)
        node.N = np.zeros(n)
        node.W = np.zeros(n)
        node.R = np.zeros(n)
        node.children = [None] * n
        node.value = float(v)

    def _norm(self, q: np.ndarray) -> np.ndarray:
        if self.hi > self.lo:
            return (q - self.lo) / (self.hi - self.lo)
        return np.zeros_like(q)

    def _select(self, node: Node) -> int:
        total = node.N.sum()
        q = np.where(node.N > 0, node.W / np.maximum(node.N, 1), node.value)
        u = self.cfg.c_puct * node.prior * math.sqrt(total + 1) / (1 + node.N)
        return int(np.argmax(self._norm(q) + u))

    def run(self, root: Node) -> Node:
        if root.actions is None and not root.terminal:
            self._expand(root)
        if root.terminal:
            return root
        if self.cfg.noise_fraction > 0:
            noise = self.rng.dirichlet([self.cfg.dirichlet_alpha] * len(root.actions))
            root.prior = (1 - self.cfg.noise_fraction) * root.prior + self.cfg.noise_fraction * noise
        for _ in range(self.cfg.simulations):
            node, path = root, []
            while True:
                i = self._select(node)
                path.append((node, i))
                child = node.children[i]
                if child is None:
                    g = node.game.clone()
                    node.R[i] = g.step(int(node.actions[i]))
                    child = node.children[i] = Node(g)
                    self._expand(child)
                    break
                if child.terminal:
                    break
                node = child
            ret = child.value
            for parent, j in reversed(path):
                ret = parent.R[j] + ret
                parent.W[j] += ret
                parent.N[j] += 1
                self.lo, self.hi = min(self.lo, ret), max(self.hi, ret)
        return root

    def policy(self, root: Node) -> np.ndarray:
        """Visit distribution over the full action space (the training target)."""
        pi = np.zeros(root.game.n_actions)
        pi[root.actions] = root.N / max(root.N.sum(), 1)
        return pi


def play(game: MallocGame, net: PolicyValueNet, config: MctsConfig,
         rng: np.random.Generator | None = None, temperature_moves: int = 0,
         record: list | None = None) -> MallocGame:
    """Play one episode with MCTS at every move, reusing the chosen subtree. With
    `record`, append (state, candidate mask, visit policy, reward) per move."""
    rng = rng or np.random.default_rng(0)
    mcts = Mcts(net, config, rng)
    root = Node(game)
    move = 0
    while not root.terminal:
        mcts.run(root)
        if len(root.actions) == 1:
            i = 0
        elif move < temperature_moves:
            i = int(rng.choice(len(root.actions), p=root.N / root.N.sum()))
        else:
            i = int(np.argmax(root.N + 1e-6 * root.prior))
        if record is not None:
            mask = np.zeros(root.game.n_actions, dtype=bool)
            mask[root.actions] = True
            record.append([encode(root.game), mask, mcts.policy(root), 0.0])
        child = root.children[i]
        if child is None:
            g = root.game.clone()
            root.R[i] = g.step(int(root.actions[i]))
            child = Node(g)
        if record is not None:
            record[-1][3] = float(root.R[i])
        root = child
        move += 1
    return root.game
