"""Bad input gets a typed, one-line error with line:column; never a traceback or a hang."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from costmodel.errors import InputError, IRParseError
from costmodel.ir import analyze_text

UNDECLARED = "func.func @f() -> i32 {\n  %0 = arith.addi %x, %x : i32\n  return %0 : i32\n}\n"


def test_undeclared_value_points_at_line_and_column():
    with pytest.raises(IRParseError) as err:
        analyze_text(UNDECLARED, filename="bad.mlir")
    e = err.value
    assert (e.line, e.column) == (2, 19)
    assert "use of undeclared SSA value name" in e.diagnostic
    assert str(e) == "bad.mlir:2:19: error: use of undeclared SSA value name"


def test_syntax_error():
    with pytest.raises(IRParseError) as err:
        analyze_text("func.func @f( {\n}\n")
    assert err.value.line == 1 and "\n" not in str(err.value)


def test_verifier_error_has_the_ops_location():
    text = """func.func @mm(%a: tensor<4x8xf32>, %b: tensor<9x2xf32>, %c: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<9x2xf32>) outs(%c : tensor<4x2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}"""
    with pytest.raises(IRParseError) as err:
        analyze_text(text)
    assert (err.value.line, err.value.column) == (2, 8)


def test_type_mismatch_keeps_mlirs_note():
    text = "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n  return %a : tensor<8xf32>\n}"
    with pytest.raises(IRParseError) as err:
        analyze_text(text)
    assert "expects different type than prior uses" in err.value.diagnostic
    assert err.value.notes and "prior use here" in err.value.notes[0]


def test_unregistered_op_is_rejected():
    with pytest.raises(IRParseError) as err:
        analyze_text('"mydialect.frob"() : () -> ()\n')
    assert "unregistered dialect" in err.value.diagnostic
    with pytest.raises(IRParseError) as err:
        analyze_text("func.func @f() {\n  foo.bar\n  return\n}")
    assert err.value.line == 2


@pytest.mark.parametrize("data, fragment", [
    (b"", "empty"),
    (b"  \n\t\n", "empty"),
    (b"\x00\x01\x02garbage", "binary"),
    (b"ML\xefR\x00\x05", "bytecode"),
    (b"func.func @f() {\n  return \xff\xfe\n}", "not UTF-8"),
    (b"module {}", "no operations"),
])
def test_unusable_input_is_a_clear_input_error(data, fragment):
    with pytest.raises(InputError) as err:
        analyze_text(data)
    assert fragment in str(err.value)


def test_invalid_utf8_reports_position():
    with pytest.raises(InputError) as err:
        analyze_text(b"func.func @f() {\n  return \xff\n}")
    assert ":2:10:" in str(err.value)


def test_size_limit(monkeypatch):
    monkeypatch.setenv("COSTMODEL_MAX_IR_BYTES", "100")
    with pytest.raises(InputError) as err:
        analyze_text(UNDECLARED * 3)
    assert "over the 100-byte limit" in str(err.value)


def test_pathological_nesting_is_refused_quickly():
    t0 = time.perf_counter()
    with pytest.raises(InputError) as err:
        analyze_text("func.func @f() {\n" + "(" * 200_000 + "\n}")
    assert "nest deeper" in str(err.value)
    assert time.perf_counter() - t0 < 5


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "costmodel", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_malformed_ir_one_line_error(tmp_path):
    bad = tmp_path / "bad.mlir"
    bad.write_text(UNDECLARED)
    res = _cli("analyze", str(bad))
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{bad}:2:19: error: use of undeclared SSA value name" in lines[0]
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("content", [b"", b"\x00\x00\x00junk", b"\x89PNG\r\n\x1a\n\x00"])
def test_cli_junk_files(tmp_path, content):
    f = tmp_path / "junk.mlir"
    f.write_bytes(content)
    res = _cli("analyze", str(f))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_cli_missing_file(tmp_path):
    res = _cli("analyze", str(tmp_path / "nope.mlir"))
    assert res.returncode == 2 and "no such file" in res.stderr


def test_cli_json_and_table(tmp_path):
    f = tmp_path / "mm.mlir"
    f.write_text("""func.func @mm(%a: tensor<8x4xf32>, %b: tensor<4x2xf32>, %c: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<8x4xf32>, tensor<4x2xf32>) outs(%c : tensor<8x2xf32>) -> tensor<8x2xf32>
  return %0 : tensor<8x2xf32>
}""")
    res = _cli("analyze", str(f), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["total"]["flops"] == 2 * 8 * 2 * 4
    assert out["total"]["bytes"] == 4 * (8 * 4 + 4 * 2 + 2 * 8 * 2)
    assert [o["name"] for o in out["ops"]] == ["func.func", "linalg.matmul", "func.return"]
    table = _cli("analyze", str(f))
    assert table.returncode == 0
    assert "linalg.matmul" in table.stdout and "128 FLOPs" in table.stdout
