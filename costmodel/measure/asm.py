"""Static metrics from the x86 assembly IREE dumps for each executable.

The dumped .s also holds IREE's device library (libm, half-float helpers, memcpy, ...),
most of it dead code. Only the kernels count: the functions listed in the executable's
entry table (``iree_hal_executable_library_query_v0_funcs``) and whatever they call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

_FUNC_TYPE_RE = re.compile(r"^\s*\.type\s+([^,\s]+)\s*,\s*@function")
_LABEL_RE = re.compile(r"^([A-Za-z_.$][\w.$@]*):")
_QUAD_RE = re.compile(r"^\s*\.quad\s+([A-Za-z_.$][\w.$]*)\s*$")
_ENTRY_TABLE = "iree_hal_executable_library_query_v0_funcs"
# Direct calls and tail calls; indirect ones (call *%rax) name no symbol.
_CALL_RE = re.compile(r"^(?:call|jmp)[a-z]*\s+([A-Za-z_$][\w.$]*)(?:@PLT)?\s*$")
_VECTOR_REG_RE = re.compile(r"%[xyz]mm\d+")
_WIDE_REG_RE = re.compile(r"%[yz]mm\d+")
# Verbose LLVM asm annotates register-allocator stack traffic ("# 32-byte Spill",
# "# 16-byte Folded Reload"), but IREE 3.13 prints its .s files without comments. Then a
# spill slot is recognized by its addressing: a constant offset from %rsp or %rbp with no
# index register. A mov into such a slot is a spill, a mov out of it a reload, and any other
# instruction reading it a folded reload. On the kernels checked this matched LLVM's own
# regalloc remarks (--pass-remarks-missed=regalloc) exactly; it would also count
# constant-offset accesses to stack allocations, which IREE rarely makes.
_SPILL_RE = re.compile(r"#\s*\d+-byte (?:Folded )?Spill")
_RELOAD_RE = re.compile(r"#\s*\d+-byte Reload")
_FOLDED_RELOAD_RE = re.compile(r"#\s*\d+-byte Folded Reload")
_STACK_SLOT_RE = re.compile(r"-?(?:0x[0-9a-f]+|\d+)?\(%r[sb]p\)")
_MOVE_RE = re.compile(r"^(?:v?mov|kmov)[a-z0-9]*$")


@dataclass(frozen=True)
class AsmMetrics:
    static_instructions: int
    vector_instructions: int  # instructions naming an xmm/ymm/zmm register
    wide_vector_instructions: int  # ... naming a ymm/zmm register (256-bit or wider)
    spills: int
    reloads: int  # all reloads, folded ones included
    folded_reloads: int  # reloads folded into another instruction's memory operand
    annotated: bool  # counts came from LLVM's "# Spill/Reload" comments, not addressing
    entry_points: tuple[str, ...]
    functions: tuple[str, ...]  # entry points plus the functions they reach

    @property
    def vector_share(self) -> float:
        return self.vector_instructions / self.static_instructions if self.static_instructions else 0.0

    @property
    def wide_vector_share(self) -> float:
        return (self.wide_vector_instructions / self.static_instructions
                if self.static_instructions else 0.0)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["entry_points"] = list(self.entry_points)
        d["functions"] = list(self.functions)
        d["vector_share"] = self.vector_share
        d["wide_vector_share"] = self.wide_vector_share
        return d


@dataclass
class _Function:
    instructions: int = 0
    vector: int = 0
    wide: int = 0
    spills: int = 0
    reloads: int = 0
    folded: int = 0
    callees: set[str] | None = None


def _stack_traffic(body: str) -> str | None:
    """'spill', 'reload', 'folded' or None for one instruction without asm comments."""
    parts = body.split(None, 1)
    if len(parts) < 2:
        return None
    mnemonic, operands = parts
    if mnemonic.startswith(("lea", "push", "pop", "call", "jmp", "prefetch")):
        return None
    ops = [o.strip() for o in _split_operands(operands)]
    slots = [i for i, o in enumerate(ops) if _STACK_SLOT_RE.fullmatch(o)]
    if not slots:
        return None
    dest_is_slot = slots[-1] == len(ops) - 1
    if _MOVE_RE.match(mnemonic):
        return "spill" if dest_is_slot else "reload"
    return "folded"


def _split_operands(text: str) -> list[str]:
    """Split AT&T operands on commas outside parentheses."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _scan(text: str) -> tuple[dict[str, _Function], list[str], bool]:
    """Per-function counts for one .s file, its entry table, and whether it has comments."""
    # Verbose asm puts "# ..." comments on instruction lines; IREE's dumps have none.
    annotated = re.search(r"^\s+[a-z][^#\n]*#", text, re.M) is not None
    func_names = {m.group(1) for m in map(_FUNC_TYPE_RE.match, text.splitlines()) if m}
    funcs: dict[str, _Function] = {}
    entries: list[str] = []
    current: _Function | None = None
    in_table = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        label = _LABEL_RE.match(line)
        if label:
            name = label.group(1)
            in_table = name == _ENTRY_TABLE
            if name.startswith(".Lfunc_end"):
                current = None
            elif name in func_names and current is None:
                current = funcs.setdefault(name, _Function(callees=set()))
            # any other label (.LBB0_3, a local alias) is inside the current function
            continue
        if in_table:
            q = _QUAD_RE.match(line)
            if q:
                entries.append(q.group(1))
            elif not line.startswith(".size"):
                in_table = False
            continue
        if current is None or line[0] in ".#":  # directives and comments
            continue
        body, _, comment = line.partition("#")
        body = body.strip()
        if not body:
            continue
        current.instructions += 1
        if _VECTOR_REG_RE.search(body):
            current.vector += 1
            if _WIDE_REG_RE.search(body):
                current.wide += 1
        if annotated:
            if comment:
                if _SPILL_RE.search(line):
                    current.spills += 1
                elif _FOLDED_RELOAD_RE.search(line):
                    current.folded += 1
                elif _RELOAD_RE.search(line):
                    current.reloads += 1
        else:
            kind = _stack_traffic(body)
            if kind == "spill":
                current.spills += 1
            elif kind == "reload":
                current.reloads += 1
            elif kind == "folded":
                current.folded += 1
        call = _CALL_RE.match(body)
        if call and call.group(1) in func_names:
            current.callees.add(call.group(1))
    return funcs, entries, annotated


def asm_metrics(texts: Iterable[str]) -> AsmMetrics:
    """Metrics over the kernel functions of one or more .s files."""
    funcs: dict[str, _Function] = {}
    entries: list[str] = []
    annotated = False
    for text in texts:
        f, e, a = _scan(text)
        funcs.update(f)
        entries.extend(e)
        annotated = annotated or a
    if not entries:  # no entry table (unexpected layout): fall back on IREE's naming
        entries = sorted(n for n in funcs if "_dispatch_" in n or n.startswith("_encoding_"))
    seen: list[str] = []
    stack = [e for e in reversed(entries) if e in funcs]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.append(name)
        stack.extend(sorted(funcs[name].callees - set(seen), reverse=True))
    kernel = [funcs[n] for n in seen]
    return AsmMetrics(
        static_instructions=sum(f.instructions for f in kernel),
        vector_instructions=sum(f.vector for f in kernel),
        wide_vector_instructions=sum(f.wide for f in kernel),
        spills=sum(f.spills for f in kernel),
        reloads=sum(f.reloads + f.folded for f in kernel),
        folded_reloads=sum(f.folded for f in kernel),
        annotated=annotated,
        entry_points=tuple(entries),
        functions=tuple(seen),
    )


def asm_metrics_from_dir(directory: str | Path) -> AsmMetrics | None:
    """Metrics from every .s file IREE dumped into ``directory``; None if there is none."""
    paths = sorted(Path(directory).glob("*.s"))
    if not paths:
        return None
    return asm_metrics(p.read_text(errors="replace") for p in paths)
