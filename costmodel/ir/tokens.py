"""A token stream of MLIR text for models that read IR as language.

SSA names, block labels and symbols become placeholders, numeric constants go
into magnitude buckets, and shaped types (tensor<128x64xf32>) stay whole tokens
so that shapes survive.
"""

from __future__ import annotations

import math
import re

_TOKEN_RE = re.compile(
    r"""
    (?P<comment>//[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<shaped>(?:tensor|memref|vector)<(?:[^<>]|<(?:[^<>]|<[^<>]*>)*>)*>)
  | (?P<ssa>%[\w$.\-]+(?:\#\d+)?)
  | (?P<block>\^[\w$.\-]+)
  | (?P<symbol>@[\w$.\-]+|@"(?:[^"\\]|\\.)*")
  | (?P<float>[-+]?\d+\.\d*(?:[eE][-+]?\d+)?)
  | (?P<hex>0x[0-9A-Fa-f]+)
  | (?P<int>[-+]?\d+)
  | (?P<word>[#!]?[A-Za-z_][\w$.]*)
  | (?P<arrow>->|::)
  | (?P<space>\s+)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def int_bucket(value: int) -> str:
    if -1 <= value <= 16:
        return f"<int:{value}>"
    sign = "-" if value < 0 else ""
    return f"<int:{sign}2^{int(math.log2(abs(value)))}>"


def float_bucket(value: float) -> str:
    if value == 0.0:
        return "<float:0>"
    if value == 1.0:
        return "<float:1>"
    if not math.isfinite(value):
        return "<float:inf>"
    sign = "-" if value < 0 else ""
    return f"<float:{sign}1e{math.floor(math.log10(abs(value)))}>"


def _strip_locations(text: str) -> str:
    """Drop loc(...) debug info, which may nest (fused, callsite) and carry no cost signal."""
    if "loc(" not in text:
        return text
    out = []
    i = 0
    while True:
        j = text.find("loc(", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        if j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_#."):
            out.append(text[i:j + 4])
            i = j + 4
            continue
        out.append(text[i:j])
        depth = 0
        k = j + 3
        while k < len(text):
            c = text[k]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
            elif c == '"':
                k = text.find('"', k + 1)
                if k < 0:
                    k = len(text)
            k += 1
        i = k + 1


def tokenize(text: str) -> list[str]:
    """Tokens of MLIR text with names abstracted and constants bucketed."""
    if not isinstance(text, str):
        from costmodel.errors import InputError
        raise InputError(f"tokenize() takes MLIR text (str), got {type(text).__name__}")
    tokens: list[str] = []
    append = tokens.append
    for m in _TOKEN_RE.finditer(_strip_locations(text)):
        kind = m.lastgroup
        if kind in ("space", "comment"):
            continue
        tok = m.group()
        if kind == "ssa":
            append("%ssa")
        elif kind == "block":
            append("^bb")
        elif kind == "symbol":
            append("@sym")
        elif kind == "string":
            append("<str>")
        elif kind == "int":
            append(int_bucket(int(tok)))
        elif kind == "hex":
            append("<hex>")
        elif kind == "float":
            append(float_bucket(float(tok)))
        else:
            append(tok)
    return tokens
