"""The markdown report of ``costmodel eval``."""

from __future__ import annotations

from costmodel.model.metrics import METRICS

_BASELINES = ("roofline", "random", "compiler_default")


def cell_text(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _tables(result: dict, block: str, base: str, noise: dict, label: str) -> list[str]:
    """One markdown table per split and target: model beside baselines and noise ceiling."""
    lines: list[str] = []
    for split, per_target in result.get(block, {}).items():
        info = result.get("split_info", {}).get(split, {})
        lines += [f"## {split}{label}", "", f"held out: {info.get('held_out')}", ""]
        for target, m in per_target.items():
            cols = ["model"] + [b for b in _BASELINES
                                if result[base][b].get(split, {}).get(target)]
            if noise.get("available") and target in noise:
                cols.append("noise ceiling")
            lines += [f"### {target} ({m.get('test_rows')} test rows, "
                      f"{m.get('test_groups')} groups)", "",
                      "| metric | " + " | ".join(cols) + " |",
                      "|---|" + "---|" * len(cols)]
            for k in METRICS:
                row = [cell_text(m.get(k))]
                for b in cols[1:]:
                    src = noise.get(target, {}) if b == "noise ceiling" else \
                        result[base][b][split][target]
                    row.append(cell_text(src.get(k)))
                lines.append(f"| {k} | " + " | ".join(row) + " |")
            lines.append("")
    return lines


def markdown(result: dict) -> str:
    machine = result.get("machine", {})
    lines = [f"# Cost model evaluation: `{result.get('model')}` on `{result.get('data')}`", ""]
    lines += [f"- rows (feasible, run `main`): {result.get('rows')}, groups: {result.get('groups')}",
              f"- dataset hash: `{result.get('data_hash', '')[:16]}`; model trained on "
              f"`{(result.get('model_data_hash') or '')[:16]}`",
              f"- folds per split: {result.get('folds')}; metrics pooled over the test folds; "
              "every fold retrains the model on its training rows only",
              f"- roofline machine: {machine.get('peak_flops_per_s', 0) / 1e9:.1f} GFLOP/s, "
              f"{machine.get('bandwidth_bytes_per_s', 0) / 1e9:.1f} GB/s, dispatch overhead "
              f"{machine.get('dispatch_overhead_s', 0) * 1e6:.2f} us (measured by the tool; "
              "the latency head's base margin is this roofline)", ""]
    if tr := result.get("transfer_data"):
        # Inserted before the blank line that ends the list.
        lines[-1:-1] = [f"- transfer data (other CPUs; fit rows of every fold, never tested): "
                        f"`{tr.get('path')}`, {tr.get('rows')} rows, {tr.get('groups')} groups"]
    noise = result.get("noise_ceiling") or {}
    if not noise.get("available"):
        lines += [f"**Noise ceiling: unavailable** – {noise.get('reason', '')}", ""]
    lines += _tables(result, "splits", "baselines", noise, "")
    if result.get("splits_clean"):
        lines += ["# Clean labels", "", f"Beside the all-label figures above: "
                  f"{result.get('labels_clean', '')}.", ""]
        lines += _tables(result, "splits_clean", "baselines_clean",
                         result.get("noise_ceiling_clean") or {}, " (clean labels)")
    for split, why in result.get("unavailable_splits", {}).items():
        lines += [f"## {split}", "", f"unavailable: {why}", ""]
    if result.get("by_family"):
        from costmodel.model.by_family import markdown_lines as family_lines
        lines += family_lines(result["by_family"])
    if result.get("seed_spread"):
        from costmodel.model.seed_spread import markdown_lines
        lines += markdown_lines(result["seed_spread"])
    lines += ["Definitions: see `costmodel/model/metrics.py`. Lower is better for "
              "`top*_slowdown` and `mape`; higher for the rest. `instructions` is the static "
              "instruction count where no callgrind count was measured.", ""]
    return "\n".join(lines)
