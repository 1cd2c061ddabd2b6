"""Search spaces: typed parameters, conditional parameters and constraint expressions.

A space is plain data (``to_dict``/``from_dict`` round-trip through JSON) so a study can
store it; constraints are therefore small expressions over parameter names (e.g.
``"tile_m * tile_n <= 4096"``) evaluated by a restricted AST walker, not Python callables.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuner.errors import SearchSpaceError

Value = int | float | str | bool | None


@dataclass(frozen=True)
class Param:
    """Base parameter. ``condition`` maps parent names to the values that activate this one."""

    name: str
    condition: Mapping[str, tuple[Value, ...]] = field(default_factory=dict, kw_only=True)

    kind = "param"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SearchSpaceError(f"parameter name {self.name!r} must be an identifier")
        cond = {}
        for parent, values in dict(self.condition).items():
            if parent == self.name:
                raise SearchSpaceError(f"parameter {self.name!r} cannot be conditional on itself")
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                values = (values,)
            values = tuple(values)
            if not values:
                raise SearchSpaceError(f"condition of {self.name!r} on {parent!r} lists no values")
            cond[parent] = values
        object.__setattr__(self, "condition", cond)

    # Subclasses implement these three.
    def check(self, value: Any) -> Value:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Value:
        raise NotImplementedError

    def grid(self) -> list[Value]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "condition"}
        d["kind"] = self.kind
        if self.condition:
            d["condition"] = {k: list(v) for k, v in self.condition.items()}
        return d

    def _bad(self, value: Any, why: str) -> SearchSpaceError:
        return SearchSpaceError(f"parameter {self.name!r}: {value!r} {why}")


def _int_value(p: Param, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
        raise p._bad(value, "is not an integer")
    if isinstance(value, float) and not value.is_integer():
        raise p._bad(value, "is not an integer")
    return int(value)


@dataclass(frozen=True)
class Int(Param):
    """Integers low..high (inclusive) on multiples of ``step`` from low."""

    low: int = 0
    high: int = 0
    step: int = 1
    kind = "int"

    def __post_init__(self) -> None:
        super().__post_init__()
        for k in ("low", "high", "step"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int):
                raise SearchSpaceError(f"parameter {self.name!r}: {k} must be an int, got {v!r}")
        if self.step < 1:
            raise SearchSpaceError(f"parameter {self.name!r}: step must be >= 1")
        if self.low > self.high:
            raise SearchSpaceError(f"parameter {self.name!r}: low {self.low} > high {self.high}")

    def check(self, value: Any) -> int:
        v = _int_value(self, value)
        if not self.low <= v <= self.high:
            raise self._bad(value, f"is outside [{self.low}, {self.high}]")
        if (v - self.low) % self.step:
            raise self._bad(value, f"is not on the step-{self.step} grid from {self.low}")
        return v

    def sample(self, rng: np.random.Generator) -> int:
        return self.low + self.step * int(rng.integers(0, (self.high - self.low) // self.step + 1))

    def grid(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))


@dataclass(frozen=True)
class LogInt(Param):
    """Integers low..high (low >= 1) sampled log-uniformly; the grid is geometric."""

    low: int = 1
    high: int = 1
    grid_points: int = 8
    kind = "log_int"

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.low, bool) or not isinstance(self.low, int) or not isinstance(self.high, int):
            raise SearchSpaceError(f"parameter {self.name!r}: low and high must be ints")
        if self.low < 1:
            raise SearchSpaceError(f"parameter {self.name!r}: a log-scaled int needs low >= 1")
        if self.low > self.high:
            raise SearchSpaceError(f"parameter {self.name!r}: low {self.low} > high {self.high}")

    def check(self, value: Any) -> int:
        v = _int_value(self, value)
        if not self.low <= v <= self.high:
            raise self._bad(value, f"is outside [{self.low}, {self.high}]")
        return v

    def sample(self, rng: np.random.Generator) -> int:
        # Log-uniform over the integers: sample on [low, high + 1) and floor.
        v = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
        return min(self.high, int(v))

    def grid(self) -> list[int]:
        pts = np.geomspace(self.low, self.high, max(2, self.grid_points))
        return sorted({int(round(p)) for p in pts})


@dataclass(frozen=True)
class PowerOfTwo(Param):
    """Powers of two from low to high, both powers of two themselves."""

    low: int = 1
    high: int = 1
    kind = "power_of_two"

    def __post_init__(self) -> None:
        super().__post_init__()
        for k in ("low", "high"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1 or v & (v - 1):
                raise SearchSpaceError(f"parameter {self.name!r}: {k} must be a power of two, got {v!r}")
        if self.low > self.high:
            raise SearchSpaceError(f"parameter {self.name!r}: low {self.low} > high {self.high}")

    def check(self, value: Any) -> int:
        v = _int_value(self, value)
        if v < 1 or v & (v - 1):
            raise self._bad(value, "is not a power of two")
        if not self.low <= v <= self.high:
            raise self._bad(value, f"is outside [{self.low}, {self.high}]")
        return v

    def sample(self, rng: np.random.Generator) -> int:
        return 1 << int(rng.integers(self.low.bit_length() - 1, self.high.bit_length()))

    def grid(self) -> list[int]:
        return [1 << k for k in range(self.low.bit_length() - 1, self.high.bit_length())]


@dataclass(frozen=True)
class Float(Param):
    """Reals in [low, high]; ``log`` samples log-uniformly; ``grid_points`` for enumeration."""

    low: float = 0.0
    high: float = 1.0
    log: bool = False
    grid_points: int = 5
    kind = "float"

    def __post_init__(self) -> None:
        super().__post_init__()
        for k in ("low", "high"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SearchSpaceError(f"parameter {self.name!r}: {k} must be a finite number, got {v!r}")
        if self.low > self.high:
            raise SearchSpaceError(f"parameter {self.name!r}: low {self.low} > high {self.high}")
        if self.log and self.low <= 0:
            raise SearchSpaceError(f"parameter {self.name!r}: a log-scaled float needs low > 0")
        if not isinstance(self.grid_points, int) or self.grid_points < 1:
            raise SearchSpaceError(f"parameter {self.name!r}: grid_points must be an int >= 1")

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise self._bad(value, "is not a number")
        v = float(value)
        if not math.isfinite(v):
            raise self._bad(value, "is not finite")
        if not self.low <= v <= self.high:
            raise self._bad(value, f"is outside [{self.low}, {self.high}]")
        return v

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def grid(self) -> list[float]:
        if self.grid_points == 1 or self.low == self.high:
            return [float(self.low)]
        f = np.geomspace if self.log else np.linspace
        return [float(v) for v in f(self.low, self.high, self.grid_points)]


@dataclass(frozen=True)
class Categorical(Param):
    """One of a list of JSON scalars (str, int, float, bool, None)."""

    choices: tuple[Value, ...] = ()
    kind = "categorical"

    def __post_init__(self) -> None:
        super().__post_init__()
        choices = tuple(self.choices)
        if not choices:
            raise SearchSpaceError(f"parameter {self.name!r}: categorical needs at least one choice")
        for c in choices:
            if not (c is None or isinstance(c, (str, int, float, bool))):
                raise SearchSpaceError(f"parameter {self.name!r}: choice {c!r} is not a JSON scalar")
        if len({(type(c), c) for c in choices}) != len(choices):
            raise SearchSpaceError(f"parameter {self.name!r}: duplicate choices")
        object.__setattr__(self, "choices", choices)

    def check(self, value: Any) -> Value:
        for c in self.choices:
            if type(c) is type(value) and c == value:
                return c
        raise self._bad(value, f"is not one of {list(self.choices)}")

    def sample(self, rng: np.random.Generator) -> Value:
        return self.choices[int(rng.integers(len(self.choices)))]

    def grid(self) -> list[Value]:
        return list(self.choices)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["choices"] = list(self.choices)
        return d


KINDS: dict[str, type[Param]] = {c.kind: c for c in (Int, LogInt, PowerOfTwo, Float, Categorical)}


# --- constraint expressions -------------------------------------------------------------

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}
_CMPOPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.In: lambda a, b: a in b,
           ast.NotIn: lambda a, b: a not in b}
_FUNCS = {"min": min, "max": max, "abs": abs, "log2": math.log2}


class _Inactive(Exception):
    """A constraint refers to a parameter that is inactive: the constraint does not apply."""


def _eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body, env)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise _Inactive(node.id)
        return env[node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_eval(e, env) for e in node.elts)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        v = _eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else not v
    if isinstance(node, ast.BoolOp):
        vals = (_eval(v, env) for v in node.values)
        return all(vals) if isinstance(node.op, ast.And) else any(vals)
    if isinstance(node, ast.Compare) and all(type(o) in _CMPOPS for o in node.ops):
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, env)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
            and not node.keywords):
        return _FUNCS[node.func.id](*(_eval(a, env) for a in node.args))
    raise SearchSpaceError(f"unsupported syntax in constraint: {ast.dump(node)[:60]}")


@dataclass(frozen=True)
class Constraint:
    expr: str
    tree: ast.Expression

    @classmethod
    def parse(cls, expr: str, names: set[str]) -> Constraint:
        if not isinstance(expr, str) or not expr.strip():
            raise SearchSpaceError("a constraint must be a non-empty expression string")
        try:
            tree = ast.parse(expr, mode="eval")
        except SyntaxError as e:
            raise SearchSpaceError(f"constraint {expr!r} is not an expression: {e.msg}") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id not in names and node.id not in _FUNCS:
                raise SearchSpaceError(f"constraint {expr!r} names unknown parameter {node.id!r}")
        c = cls(expr, tree)
        c.holds({n: 1 for n in names}, strict=False)  # reject unsupported syntax up front
        return c

    def holds(self, params: Mapping[str, Any], *, strict: bool = True) -> bool:
        try:
            return bool(_eval(self.tree, params))
        except _Inactive:
            return True
        except SearchSpaceError:
            raise
        except Exception as e:  # e.g. division by zero, type mismatch
            if strict:
                raise SearchSpaceError(f"constraint {self.expr!r} failed to evaluate: {e}") from None
            return True


class Space:
    """An ordered set of parameters plus constraints. Parents precede their children."""

    def __init__(self, params: Sequence[Param], constraints: Sequence[str] = ()) -> None:
        names: dict[str, Param] = {}
        for p in params:
            if not isinstance(p, Param):
                raise SearchSpaceError(f"{p!r} is not a parameter")
            if p.name in names:
                raise SearchSpaceError(f"duplicate parameter {p.name!r}")
            for parent, values in p.condition.items():
                if parent not in names:
                    raise SearchSpaceError(
                        f"parameter {p.name!r} is conditional on {parent!r}, which must be defined before it")
                for v in values:
                    try:
                        names[parent].check(v)
                    except SearchSpaceError as e:
                        raise SearchSpaceError(f"condition of {p.name!r}: {e}") from None
            names[p.name] = p
        if not names:
            raise SearchSpaceError("a search space needs at least one parameter")
        self.params: tuple[Param, ...] = tuple(params)
        self.constraints = tuple(Constraint.parse(c, set(names)) for c in constraints)

    def _active(self, p: Param, assigned: Mapping[str, Any]) -> bool:
        return all(parent in assigned and assigned[parent] in values
                   for parent, values in p.condition.items())

    def validate(self, params: Mapping[str, Any]) -> dict[str, Value]:
        """Check an assignment; returns it normalised. Raises SearchSpaceError with the reason."""
        if not isinstance(params, Mapping):
            raise SearchSpaceError(f"parameters must be a mapping, got {type(params).__name__}")
        known = {p.name for p in self.params}
        unknown = sorted(set(params) - known)
        if unknown:
            raise SearchSpaceError(f"unknown parameter(s): {', '.join(unknown)}")
        out: dict[str, Value] = {}
        for p in self.params:
            active = self._active(p, out)
            if active and p.name not in params:
                raise SearchSpaceError(f"parameter {p.name!r} is missing")
            if not active and p.name in params:
                raise SearchSpaceError(f"parameter {p.name!r} is inactive under this assignment")
            if active:
                out[p.name] = p.check(params[p.name])
        for c in self.constraints:
            if not c.holds(out):
                raise SearchSpaceError(f"constraint violated: {c.expr}")
        return out

    def sample(self, rng: np.random.Generator, *, max_tries: int = 1000) -> dict[str, Value]:
        """A random valid assignment (rejection sampling on constraints)."""
        for _ in range(max_tries):
            out: dict[str, Value] = {}
            for p in self.params:
                if self._active(p, out):
                    out[p.name] = p.sample(rng)
            if all(c.holds(out) for c in self.constraints):
                return out
        raise SearchSpaceError(f"no assignment satisfying the constraints in {max_tries} samples")

    def enumerate(self, limit: int = 100_000) -> list[dict[str, Value]]:
        """Every valid grid assignment, in a deterministic order; errors past ``limit``."""
        partial: list[dict[str, Value]] = [{}]
        for p in self.params:
            nxt = []
            for a in partial:
                if self._active(p, a):
                    nxt.extend({**a, p.name: v} for v in p.grid())
                else:
                    nxt.append(a)
                if len(nxt) > limit:
                    raise SearchSpaceError(f"the grid has more than {limit} points")
            partial = nxt
        out = [a for a in partial if all(c.holds(a) for c in self.constraints)]
        if not out:
            raise SearchSpaceError("no grid point satisfies the constraints")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"params": [p.to_dict() for p in self.params],
                "constraints": [c.expr for c in self.constraints]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Space:
        if not isinstance(d, Mapping) or "params" not in d:
            raise SearchSpaceError("a space is an object with a 'params' list")
        params = []
        for spec in d["params"]:
            if not isinstance(spec, Mapping):
                raise SearchSpaceError(f"parameter spec {spec!r} is not an object")
            spec = dict(spec)
            kind = spec.pop("kind", None)
            if kind not in KINDS:
                raise SearchSpaceError(f"unknown parameter kind {kind!r}; one of {sorted(KINDS)}")
            if "choices" in spec:
                spec["choices"] = tuple(spec["choices"])
            try:
                params.append(KINDS[kind](**spec))
            except TypeError as e:
                raise SearchSpaceError(f"bad {kind} parameter spec {spec!r}: {e}") from None
        return cls(params, d.get("constraints", ()))

    def __repr__(self) -> str:
        return f"Space({[p.name for p in self.params]}, constraints={[c.expr for c in self.constraints]})"


def arms_of(space: Space, *, candidates: int = 64, seed: int = 0, limit: int = 10_000) -> list[dict[str, Value]]:
    """The finite arm set a bandit works on: the grid, or random samples if it is too large."""
    try:
        return space.enumerate(limit)
    except SearchSpaceError as e:
        if "more than" not in str(e):
            raise
    rng = np.random.default_rng(seed)
    seen, out = set(), []
    for _ in range(candidates * 20):
        a = space.sample(rng)
        key = tuple(sorted(a.items()))
        if key not in seen:
            seen.add(key)
            out.append(a)
            if len(out) == candidates:
                break
    return out


