"""Spill and reload counts from LLVM's greedy register allocator remarks.

IREE 3.13 dumps .s files without the verbose "# 32-byte Spill" comments, and stack-slot
addressing in the asm cannot tell a spill slot from a stack-allocated buffer (the ukernel
path keeps its accumulator tile on the stack). The allocator itself reports exact counts
per function with ``--pass-remarks-missed=regalloc``:

    remark: -:1:1: 21 spills 1.2e+04 total spills cost 1 reloads ... 20 folded reloads ...
        generated in function

The remarks carry no function name, only the function's debug location: IREE-generated
functions (the dispatches) have one, the device library linked in from bitcode (libm,
memcpy, ...) does not ("<unknown>"). Summing the located function-level remarks therefore
counts the kernels and skips the mostly dead library code.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass

REMARK_FLAG = "--pass-remarks-missed=regalloc"

_STAT_RE = re.compile(r"(?<![\d.e+-])(\d+) (zero cost folded reloads|folded spills|folded reloads|"
                      r"spills|reloads|virtual registers copies)\b")
_KEYS = {"spills": "spills", "folded spills": "folded_spills", "reloads": "reloads",
         "folded reloads": "folded_reloads", "zero cost folded reloads": "zero_cost_folded_reloads",
         "virtual registers copies": "copies"}


@dataclass(frozen=True)
class RegallocStats:
    spills: int = 0  # spill stores inserted, folded spills included
    reloads: int = 0  # reloads inserted, folded reloads included
    folded_reloads: int = 0
    copies: int = 0
    functions: int = 0  # located functions that reported anything
    library_remarks: int = 0  # remarks from functions without a location (device library)

    def to_dict(self) -> dict:
        return asdict(self)


def _counts(line: str) -> dict[str, int]:
    out = dict.fromkeys(_KEYS.values(), 0)
    for m in _STAT_RE.finditer(line):
        out[_KEYS[m.group(2)]] += int(m.group(1))
    return out


def parse_regalloc_remarks(stderr: str, *, codegen_runs: int = 2) -> RegallocStats | None:
    """Sum the function-level regalloc remarks of located (IREE-generated) functions.

    Dumping intermediates makes IREE run LLVM codegen twice per executable (once for the .s,
    once for the object file), so every function's remark appears ``codegen_runs`` times;
    unlinked executables are compiled in parallel, so the order is not reliable. The check
    is therefore order-free: every distinct located remark must occur a multiple of
    ``codegen_runs`` times. Returns None when there are no remarks or the check fails, so
    that the caller falls back on the asm.
    """
    located: Counter[tuple[tuple[str, int], ...]] = Counter()
    copies = 0  # not part of the check: the two codegen runs may differ in copies (AVX-512)
    library = 0
    seen_any = False
    for line in stderr.splitlines():
        if "remark:" not in line or not line.rstrip().endswith("generated in function"):
            continue
        seen_any = True
        head, _, tail = line.partition("remark:")
        if "<unknown>" in head + tail[:40]:
            library += 1
        else:
            counts = _counts(line)
            copies += counts.pop("copies")
            located[tuple(sorted(counts.items()))] += 1
    if not seen_any:
        return None
    if any(n % codegen_runs for n in located.values()):
        return None
    total = dict.fromkeys((k for k in _KEYS.values() if k != "copies"), 0)
    for key, n in located.items():
        for k, v in key:
            total[k] += v * n // codegen_runs
    return RegallocStats(
        spills=total["spills"] + total["folded_spills"],
        reloads=total["reloads"] + total["folded_reloads"] + total["zero_cost_folded_reloads"],
        folded_reloads=total["folded_reloads"] + total["zero_cost_folded_reloads"],
        copies=copies // codegen_runs, functions=sum(located.values()) // codegen_runs,
        library_remarks=library // codegen_runs)
