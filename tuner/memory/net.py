"""The policy + value network: a small numpy MLP (two tanh hidden layers, a policy head over
the game's actions and a scalar value head), trained with Adam. Saved as .npz (float32,
no pickle) beside a JSON manifest that carries its sha256, so a changed file is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from tuner.memory.problem import MemoryProblemError

FORMAT = "memory-agent/1"


class PolicyValueNet:
    def __init__(self, n_in: int, n_actions: int, hidden: int = 128, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)

        def init(i: int, o: int) -> np.ndarray:
            return (rng.standard_normal((i, o)) * np.sqrt(1.0 / i)).astype(np.float32)

        self.params = {
            "W1": init(n_in, hidden), "b1": np.zeros(hidden, np.float32),
            "W2": init(hidden, hidden), "b2": np.zeros(hidden, np.float32),
            "Wp": init(hidden, n_actions) * 0.1, "bp": np.zeros(n_actions, np.float32),
            "Wv": init(hidden, 1) * 0.1, "bv": np.zeros(1, np.float32),
        }
        self._adam = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in self.params.items()}
        self.steps = 0

    @property
    def n_in(self) -> int:
        return self.params["W1"].shape[0]

    @property
    def n_actions(self) -> int:
        return self.params["Wp"].shape[1]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
        p = self.params
        h1 = np.tanh(x @ p["W1"] + p["b1"])
        h2 = np.tanh(h1 @ p["W2"] + p["b2"])
        return h2 @ p["Wp"] + p["bp"], (h2 @ p["Wv"] + p["bv"])[..., 0], (x, h1, h2)

    def predict(self, x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float]:
        """Masked action probabilities and the value of one encoded state."""
        logits, value, _ = self.forward(x[None])
        z = np.where(mask, logits[0], -np.inf)
        z = np.exp(z - z.max())
        return z / z.sum(), float(value[0])

    def train_step(self, x: np.ndarray, pi: np.ndarray, mask: np.ndarray, v: np.ndarray,
                   lr: float = 1e-3, value_weight: float = 4.0, l2: float = 1e-5) -> dict:
        """One Adam step on cross-entropy(pi, masked softmax) + value_weight * MSE."""
        logits, value, (x0, h1, h2) = self.forward(x)
        z = np.where(mask, logits, -1e9)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z) * mask
        prob = e / e.sum(axis=1, keepdims=True)
        n = len(x)
        ce = -np.sum(pi * np.log(prob + 1e-12)) / n
        mse = np.mean((value - v) ** 2)
        dlog = (prob - pi) / n
        dval = (2 * value_weight * (value - v) / n)[:, None]
        p = self.params
        g = {"Wp": h2.T @ dlog, "bp": dlog.sum(0), "Wv": h2.T @ dval, "bv": dval.sum(0)}
        dh2 = (dlog @ p["Wp"].T + dval @ p["Wv"].T) * (1 - h2 ** 2)
        g["W2"], g["b2"] = h1.T @ dh2, dh2.sum(0)
        dh1 = (dh2 @ p["W2"].T) * (1 - h1 ** 2)
        g["W1"], g["b1"] = x0.T @ dh1, dh1.sum(0)
        self.steps += 1
        b1, b2 = 0.9, 0.999
        for k, grad in g.items():
            grad = grad + l2 * p[k]
            m, s = self._adam[k]
            m *= b1
            m += (1 - b1) * grad
            s *= b2
            s += (1 - b2) * grad ** 2
            mh = m / (1 - b1 ** self.steps)
            sh = s / (1 - b2 ** self.steps)
            p[k] = (p[k] - lr * mh / (np.sqrt(sh) + 1e-8)).astype(np.float32)
        return {"policy_ce": float(ce), "value_mse": float(mse)}

    # -- persistence ------------------------------------------------------------------------
    def save(self, directory: str | Path, meta: dict | None = None, *, adam: bool = False) -> Path:
        """weights.npz + manifest.json (sha256 of the weights). `adam` also keeps the
        optimizer state, for resumable training checkpoints."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays = dict(self.params)
        if adam:
            for k, (m, s) in self._adam.items():
                arrays[f"adam_m_{k}"], arrays[f"adam_s_{k}"] = m, s
        tmp = d / "weights.tmp.npz"
        np.savez_compressed(tmp, **arrays)
        tmp.replace(d / "weights.npz")
        digest = hashlib.sha256((d / "weights.npz").read_bytes()).hexdigest()
        manifest = {"format": FORMAT, "n_in": self.n_in, "n_actions": self.n_actions,
                    "hidden": int(self.params["W1"].shape[1]), "adam_steps": self.steps,
                    "files": {"weights.npz": digest}, **(meta or {})}
        (d / "manifest.tmp.json").write_text(json.dumps(manifest, indent=2))
        (d / "manifest.tmp.json").replace(d / "manifest.json")
        return d

    @classmethod
    def load(cls, directory: str | Path) -> tuple["PolicyValueNet", dict]:
        d = Path(directory)
        try:
            manifest = json.loads((d / "manifest.json").read_text())
            blob = (d / "weights.npz").read_bytes()
        except (OSError, ValueError) as e:
            raise MemoryProblemError(f"cannot read memory agent in {d}: {e}") from None
        if manifest.get("format") != FORMAT:
            raise MemoryProblemError(f"{d}: format {manifest.get('format')!r}, expected {FORMAT}")
        if hashlib.sha256(blob).hexdigest() != manifest.get("files", {}).get("weights.npz"):
            raise MemoryProblemError(f"{d}/weights.npz does not match its manifest checksum")
        net = cls(manifest["n_in"], manifest["n_actions"], manifest["hidden"])
        with np.load(d / "weights.npz", allow_pickle=False) as z:
            for k in net.params:
                net.params[k] = z[k].astype(np.float32)
            for k in net.params:
                if f"adam_m_{k}" in z:
                    net._adam[k] = (z[f"adam_m_{k}"], z[f"adam_s_{k}"])
        net.steps = int(manifest.get("adam_steps", 0))
        return net, manifest
