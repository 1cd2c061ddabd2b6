"""The batched schedule features are bit-for-bit the straightforward per-candidate ones.

``reference_schedule_matrix`` below is the implementation the batched one replaced (a
per-candidate loop building each row, then numpy over the rows), kept verbatim as the
reference. Every column must match exactly (NaN where NaN), on real schedules of every
kernel family (the sampler's schedule space and the shipped dataset's measured rows), given
as Schedule objects, dicts and JSON, plus malformed-but-accepted edge cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import math

import numpy as np
import pytest

from costmodel.errors import InputError
from costmodel.model import features as F
from costmodel.model.features import (_LEVEL_INDEX, _PIPE_INDEX, _TILE_NAMES, L1_BYTES, L2_BYTES,
                                      LEVELS, MAX_DIMS, PIPELINES, VECTOR_LANES, VECTOR_REGS,
                                      KernelFeatures, kernel_features, schedule_matrix)
from costmodel.programs import FAMILIES, Schedule, sample_schedules

ROOT = Path(__file__).resolve().parent.parent


# -- the reference: the per-candidate implementation, as it was (cm-features-2) ----------
def _as_dict(s):
    if isinstance(s, Schedule):
        return s.to_dict()
    if isinstance(s, str):
        return json.loads(s)
    return s


def reference_schedule_matrix(kernel: KernelFeatures, schedules: list) -> np.ndarray:
    """Schedule features for each candidate: shape (n, len(SCHEDULE_NAMES))."""
    scheds = [_as_dict(s) for s in schedules]
    n = len(scheds)
    nl = len(LEVELS)
    D = MAX_DIMS
    flat_flags: list[int] = []
    pipe_idx: list[int] = []
    flat_tiles: list[int] = []
    nd_of: list[int | None] = []
    masks: list[int] = []
    empty = [0] * (nl * D)
    offsets = {lv: (i * D, 1 << i) for i, lv in enumerate(LEVELS)}
    pipe_index = _PIPE_INDEX
    for s in scheds:
        pipe = s.get("pipeline")
        uk = s.get("ukernels")
        flat_flags += (pipe is None, bool(s.get("peeling")), bool(s.get("data_tiling")),
                       bool(uk) and uk != "none")
        pipe_idx.append(-1 if pipe is None else pipe_index.get(pipe, -1))
        row = empty.copy()
        mask = 0
        nd = None
        levels = s.get("levels")
        if levels:
            for lv, ts in levels.items():
                o = offsets.get(lv)
                if o is None:
                    continue
                nd = len(ts)
                if nd > D:
                    ts = ts[:D]
                off = o[0]
                row[off:off + len(ts)] = ts
                mask |= o[1]
        flat_tiles += row
        masks.append(mask)
        nd_of.append(nd)
    flags = np.array(flat_flags, dtype=np.float64).reshape(n, 4)
    pipes = np.zeros((n, len(PIPELINES)))
    pi = np.asarray(pipe_idx, dtype=np.int64)
    has = pi >= 0
    pipes[np.flatnonzero(has), pi[has]] = 1.0
    tiles = np.array(flat_tiles, dtype=np.float64).reshape(n, nl, D)
    present = ((np.asarray(masks, dtype=np.int64)[:, None] >> np.arange(nl)[None, :]) & 1
               ).astype(np.float64)
    extents = np.ones((n, D))
    is_red = np.zeros((n, D), dtype=bool)
    ndim = np.zeros(n, dtype=np.int64)
    tile_feats = np.zeros((n, len(_TILE_NAMES)))
    # Which op the schedule is for: by loop count, and by the dims it tiles as reduction
    # or parallel (one root lookup per distinct pattern, not per candidate).
    bits = 1 << np.arange(D, dtype=np.int64)
    li = _LEVEL_INDEX
    red_hint = ((tiles[:, [li["cache_reduction"], li["vector_reduction"]]] > 0).any(1)
                * bits).sum(-1)
    par_hint = ((tiles[:, [li["distribution"], li["cache_parallel"],
                           li["vector_common_parallel"]]] > 0).any(1) * bits).sum(-1)
    nd_arr = np.asarray([-1 if x is None else x for x in nd_of], dtype=np.int64)
    # One integer key per pattern (masks have D <= 8 bits): a 1-D unique is cheap.
    keys = ((nd_arr + 1) << (2 * D)) | (red_hint << D) | par_hint
    ukeys, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    uniq = np.stack([(ukeys >> (2 * D)) - 1, (ukeys >> D) & ((1 << D) - 1),
                     ukeys & ((1 << D) - 1)], axis=1)
    # Resolve each pattern to a root op, then compute per root op (usually one per kernel).
    root_of = np.asarray([kernel.root_index(None if nd < 0 else nd, rh, ph)
                          for nd, rh, ph in uniq.tolist()], dtype=np.int64)[inverse]
    explicit = nd_arr >= 0
    roots = np.unique(root_of)
    for ri in roots.tolist():
        rows = slice(None) if len(roots) == 1 else np.flatnonzero(root_of == ri)
        if ri < 0:
            continue
        _, r, red, maps, ebytes = kernel.structured[ri]
        k = min(len(r), D)
        extents[rows, :k] = np.asarray(r[:k], dtype=np.float64)
        is_red[rows, :k] = np.asarray(red[:k], dtype=bool)
        ndim[rows] = k
        sel = np.flatnonzero(explicit if len(roots) == 1 else explicit[rows])
        if isinstance(rows, np.ndarray):
            sel = rows[sel]
        if k and len(sel):
            tile_feats[sel] = _ref_tile_features(tiles[sel], extents[sel], is_red[sel], k, maps,
                                             ebytes)
    valid = np.arange(MAX_DIMS)[None, :] < ndim[:, None]  # (n, D)
    ext = extents[:, None, :]  # (n,1,D)
    tiled = (tiles > 0) & valid[:, None, :]
    t = np.where(tiled, np.minimum(tiles, ext), 1.0)
    n_tiled = tiled.sum(-1)
    log_volume = np.log2(t).sum(-1)
    n_tiles = np.where(tiled, np.ceil(ext / t), 1.0)
    log_tiles = np.log2(n_tiles).sum(-1)
    padded = np.where(tiled, n_tiles * t, ext)
    log_pad = np.where(valid[:, None, :], np.log(padded / ext), 0.0).sum(-1)
    aligned = np.where(tiled, (t % VECTOR_LANES) == 0, True).all(-1) & (n_tiled > 0)
    log_t = np.where(tiled, np.log2(np.maximum(tiles, 1.0)), 0.0)
    per_level = np.concatenate([present[..., None], n_tiled[..., None], log_volume[..., None],
                                log_tiles[..., None], log_pad[..., None], aligned[..., None],
                                log_t], axis=-1)  # (n, L, 6 + D)
    vcp = _LEVEL_INDEX["vector_common_parallel"]
    vr = _LEVEL_INDEX["vector_reduction"]
    dist = _LEVEL_INDEX["distribution"]
    vec_volume = log_volume[:, vcp] + log_volume[:, vr]
    acc_volume = log_volume[:, vcp]
    # Innermost parallel dim's vector tile: the vector width the code generator sees.
    last_par = np.where(valid & ~is_red, np.arange(MAX_DIMS)[None, :], -1).max(-1)
    rows = np.arange(n)
    inner = np.where(last_par >= 0, tiles[rows, vcp, np.maximum(last_par, 0)], 0.0)
    inner_aligned = (inner > 0) & (inner % VECTOR_LANES == 0)
    workgroups = log_tiles[:, dist]
    vt = _LEVEL_INDEX["vector_common_parallel"]
    # FLOPs spent on padding when vector tiles do not divide the extents (masking/peeling).
    pad_flops = log_pad[:, vt] + log_pad[:, vr]
    extra = np.stack([vec_volume, acc_volume, np.log2(1 + inner), inner_aligned, workgroups,
                      pad_flops], axis=1)
    out = np.concatenate([flags, pipes, per_level.reshape(n, -1), extra, tile_feats], axis=1)
    return out


def _ref_footprint(T: np.ndarray, maps: list, ebytes: int) -> np.ndarray:
    """Bytes one tile touches: per operand, the product over its access-map results of the
    span of that result (stride * (tile - 1) + 1 summed over its dims), summed over operands."""
    total = np.zeros(T.shape[0])
    for m in maps:
        vol = np.ones(T.shape[0])
        for terms in m:
            span = np.ones(T.shape[0])
            for d, c in terms:
                if d < T.shape[1]:
                    span = span + c * (T[:, d] - 1)
            vol = vol * span
        total += vol
    return total * ebytes


def _ref_tile_features(tiles: np.ndarray, ext: np.ndarray, red: np.ndarray, k: int,
                   maps: list, ebytes: int) -> np.ndarray:
    """The _TILE_NAMES block for explicit schedules of one root (tiles: (n, levels, D))."""
    n = tiles.shape[0]
    li = _LEVEL_INDEX
    E = ext[:, :k]
    R = red[:, :k]
    lv = lambda name: tiles[:, li[name], :k]  # noqa: E731
    # Effective tile per level: 0 = not tiled at that level = the parent level's tile.
    wg = np.where(lv("distribution") > 0, np.minimum(lv("distribution"), E), E)
    cache_t = np.where(R, lv("cache_reduction"), lv("cache_parallel"))
    cache = np.where(cache_t > 0, np.minimum(cache_t, wg), wg)
    vec_t = np.where(R, lv("vector_reduction"), lv("vector_common_parallel"))
    vec = np.where(vec_t > 0, np.minimum(vec_t, cache), cache)
    lg = np.log2
    vol_par = np.where(R, 1.0, vec).prod(-1)
    vol_red = np.where(R, vec, 1.0).prod(-1)
    last = k - 1
    par_idx = np.where(~R, np.arange(k)[None, :], -1).max(-1)
    rows = np.arange(n)
    inner = vec[:, last]
    inner_par = np.where(par_idx >= 0, vec[rows, np.maximum(par_idx, 0)], 1.0)
    lanes = VECTOR_LANES
    lane_eff = lambda v: v / (np.ceil(v / lanes) * lanes)  # noqa: E731
    # Accumulators: the parallel vector tile, rounded up to whole registers on the
    # innermost parallel dim.
    acc_regs = np.ceil(inner_par / lanes) * vol_par / np.maximum(inner_par, 1.0)
    vec_regs = np.ceil(vec.prod(-1) / lanes)
    n_vec = np.ceil(E / vec)
    vec_iters = n_vec.prod(-1)
    pad = (n_vec * vec).prod(-1) / E.prod(-1)
    n_wg = np.ceil(E / wg).prod(-1)
    n_cache = np.ceil(wg / cache).prod(-1)
    fps = []
    for T in (wg, cache, vec):
        fp = _ref_footprint(T, maps, ebytes)
        fps += [lg(fp), np.maximum(lg(fp / L1_BYTES), 0.0), np.maximum(lg(fp / L2_BYTES), 0.0)]
    ratio_vec = np.zeros((n, MAX_DIMS))
    ratio_vec[:, :k] = lg(E / vec)
    ratio_wg = np.zeros((n, MAX_DIMS))
    ratio_wg[:, :k] = lg(E / wg)
    cols = [lg(vec.prod(-1)), lg(vol_par), lg(vol_red), lg(acc_regs),
            np.maximum(lg(acc_regs / VECTOR_REGS), 0.0), lg(vec_regs), lg(inner),
            lane_eff(inner), R[:, last].astype(np.float64), lg(inner_par), lane_eff(inner_par),
            lg(vec_iters), lg(pad), lg(E.prod(-1) * pad), lg(n_wg), lg(n_cache),
            lg(vec_iters / n_wg), (vec.prod(-1) == 1).astype(np.float64), *fps]
    return np.concatenate([np.stack(cols, axis=1), ratio_vec, ratio_wg,
                           _ref_contiguity(vec, wg, maps, k),
                           _ref_dynamic(tiles, ext, red, k),
                           _ref_windows(vec, red, maps, k)], axis=1)


def _ref_windows(vec: np.ndarray, red: np.ndarray, maps: list, k: int) -> np.ndarray:
    """The sliding-window columns (cm-features-5), one candidate and one window at a time:
    a map result adding a parallel and a reduction loop dim is a window (oh + kh)."""
    r = red[0, :k] if len(red) else [False] * k
    windows = set()
    for m in maps:
        for expr in m:
            dims = [d for d, _ in expr if d < k]
            if len(dims) == 2 and bool(r[dims[0]]) != bool(r[dims[1]]):
                windows.add(tuple(sorted(dims, key=lambda d: bool(r[d]))))
    rows = []
    for v in vec.tolist():
        kept = sum(1 for o, w in windows if v[o] != 1 or v[w] != 1)
        rows.append([len(windows), kept, float(kept <= 1),
                     sum(math.log2(v[w]) for _, w in windows)])
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), 4)


def _ref_dynamic(tiles: np.ndarray, ext: np.ndarray, red: np.ndarray, k: int) -> np.ndarray:
    """The dynamic-tile columns (cm-features-4), one candidate and one loop dim at a time."""
    li = _LEVEL_INDEX
    rows = []
    for t3, e, r in zip(tiles.tolist(), ext.tolist(), red.tolist()):
        dyn_at = []  # per level, per dim
        state = [(e[d], False) for d in range(k)]  # (size, dynamic)
        for par_lv, red_lv in (("distribution", "distribution"),
                               ("cache_parallel", "cache_reduction"),
                               ("vector_common_parallel", "vector_reduction")):
            for d in range(k):
                size, dyn = state[d]
                t = t3[li[red_lv if r[d] else par_lv]][d]
                if t <= 0 or (not dyn and t >= size):
                    continue  # not tiled here, or one tile covering a static size
                if dyn or math.fmod(size, t) != 0:
                    state[d] = (t, t != 1)
                else:
                    state[d] = (t, False)
            dyn_at.append([state[d][1] for d in range(k)])
        vec = dyn_at[-1]
        row = [sum(lv) for lv in dyn_at]
        row += [any(v and not r[d] for d, v in enumerate(vec)),
                any(v and r[d] for d, v in enumerate(vec)), vec[k - 1]]
        row += vec + [False] * (MAX_DIMS - k)
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), 6 + MAX_DIMS)


def _ref_contiguity(vec: np.ndarray, wg: np.ndarray, maps: list, k: int) -> np.ndarray:
    """The contiguity columns, one candidate and one operand at a time."""
    def span(t, expr):
        return 1.0 + sum(c * (t[d] - 1.0) for d, c in expr if d < k)

    rows = []
    for v, w in zip(vec.tolist(), wg.tolist()):
        n_tr = out_tr = in_tr = 0.0
        min_c = in_c = wg_min = math.inf
        out_c, runs, wg_runs, eff = 1.0, 0.0, 0.0, 1.0
        real = [m for m in maps if m and any(d < k for e in m for d, _ in e)]
        for j, m in enumerate(maps):
            if m not in real:
                continue
            dims = {d for e in m for d, _ in e if d < k}
            inner = max((d for d in dims if v[d] > 1), default=-1)
            tr = float(inner >= 0 and inner not in {d for d, _ in m[-1]})
            contig = span(v, m[-1])
            vol = math.prod(span(v, e) for e in m)
            wc = span(w, m[-1])
            n_tr += tr
            runs += vol / contig
            wg_runs += math.prod(span(w, e) for e in m) / wc
            wg_min = min(wg_min, wc)
            if vol > 1:
                min_c = min(min_c, contig)
                eff = min(eff, contig / (math.ceil(contig / VECTOR_LANES) * VECTOR_LANES))
            if j == len(maps) - 1:
                out_tr, out_c = tr, contig
            else:
                in_tr = max(in_tr, tr)
                if vol > 1:
                    in_c = min(in_c, contig)
        fin = [1.0 if math.isinf(x) else x for x in (min_c, in_c, wg_min)]
        rows.append([n_tr, out_tr, in_tr, fin[0], out_c, fin[1], runs + 1.0, eff, fin[2],
                     wg_runs + 1.0])
    a = np.asarray(rows, dtype=np.float64).reshape(len(rows), 10)
    for c in (3, 4, 5, 6, 8, 9):
        a[:, c] = np.log2(a[:, c])
    return a



# -- the checks --------------------------------------------------------------------------
def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    diff = np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b))))
    names = [F.SCHEDULE_NAMES[j] for j in sorted({int(j) for _, j in diff})]
    assert not len(diff), f"{len(diff)} cells differ, columns {names[:8]}"


def _edge_cases(d: dict) -> list:
    """Odd but accepted inputs, built from a real schedule dict ``d``."""
    lv = d["levels"]
    first = next(iter(lv))
    return [
        {},  # IREE's default
        {"pipeline": "Default", "levels": {}},
        {"pipeline": "NoSuchPipeline", "levels": lv, "ukernels": "none", "peeling": 1},
        {**d, "ukernels": "all", "data_tiling": True},
        {**d, "levels": dict(reversed(list(lv.items())))},  # level order changed
        {**d, "levels": {**lv, "not_a_level": [1, 2]}},  # unknown level: ignored
        {**d, "levels": {**lv, first: list(lv[first]) + [4]}},  # lengths disagree
        {**d, "levels": {"distribution": list(range(1, 11)), "vector_reduction": [2, 3]}},
        {**d, "levels": {first: []}},
        {**d, "levels": {first: [3.5] * len(lv[first])}},  # fractional tiles
        {**d, "levels": {first: [10 ** 6] * len(lv[first])}},  # beyond the log2 table
    ]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_batched_features_equal_the_per_candidate_reference(family):
    fam = FAMILIES[family]
    rng = np.random.default_rng(sorted(FAMILIES).index(family))
    shape = fam.sample_shape(rng)
    kernel = kernel_features(fam.render(shape))
    scheds = sample_schedules(fam, shape, rng, 60)
    dicts = [s.to_dict() for s in scheds]
    mixed = (scheds[:20] + [json.dumps(d) for d in dicts[20:40]] + dicts[40:]
             + _edge_cases(dicts[-1]))
    # The parity is of the parsers: the odd cases go in unchecked (schedule_matrix itself
    # rejects the invalid ones, as asserted below).
    def unchecked(ss):
        return F._schedule_matrix(kernel, F._parse_schedules(ss))
    batched = unchecked(mixed)
    _same(batched, reference_schedule_matrix(kernel, mixed))
    assert schedule_matrix(kernel, mixed[:60]).shape == (60, batched.shape[1])
    for odd in _edge_cases(dicts[-1])[2:]:
        if odd.get("pipeline") == "NoSuchPipeline" or len({len(v) for v in odd["levels"].values()}
                                                          ) > 1 or "not_a_level" in odd["levels"]:
            with pytest.raises(InputError):
                schedule_matrix(kernel, [odd])
    # A candidate's row does not depend on the batch it is scored in.
    one_by_one = np.concatenate([unchecked([s]) for s in mixed[::7]])
    _same(batched[::7], one_by_one)
    # The batched parser and the per-candidate slow path read the same arrays.
    fast = F._schedule_arrays([F._as_dict(s) for s in mixed])
    slow = F._schedule_arrays_slow([F._as_dict(s) for s in mixed])
    for name in ("flags", "pipe", "tiles", "present", "ndim"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)


def test_measured_dataset_rows_equal_the_reference():
    """Real measured (IR, schedule) rows of the shipped dataset, every family in it."""
    from costmodel.dataset import load as load_dataset

    samples, programs, _ = load_dataset(ROOT / "datasets" / "cpu-v1")
    ir = dict(zip(programs.column("ir_hash").to_pylist(), programs.column("ir").to_pylist()))
    rows = samples.select(["family", "ir_hash", "schedule_json"]).to_pylist()
    by_kernel: dict[tuple, list] = {}
    for r in rows:
        by_kernel.setdefault((r["family"], r["ir_hash"]), []).append(r["schedule_json"])
    families: dict[str, int] = {}
    checked = 0
    for (family, h), sj in by_kernel.items():
        if families.get(family, 0) >= 2 or len(sj) < 4:
            continue  # two kernels per family keeps this fast
        families[family] = families.get(family, 0) + 1
        kernel = kernel_features(ir[h])
        scheds = [json.loads(s) for s in sj]
        _same(schedule_matrix(kernel, scheds), reference_schedule_matrix(kernel, scheds))
        checked += len(scheds)
    assert len(families) >= 5 and checked >= 100, (families, checked)


def test_empty_batch_and_bad_schedules():
    kernel = kernel_features(FAMILIES["matmul"].render({"M": 32, "N": 48, "K": 24}))
    assert schedule_matrix(kernel, []).shape == (0, len(F.SCHEDULE_NAMES))
    good = Schedule.make("DoubleTilingExpert", {"distribution": [8, 16, 0]}).to_dict()
    for bad in ({**good, "levels": [[8, 16, 0]]}, {**good, "levels": {"distribution": 8}},
                {**good, "levels": {"distribution": ["x", 1, 0]}}, "{not json", 17):
        with pytest.raises(InputError, match="schedule"):
            schedule_matrix(kernel, [good, bad])


def test_log2_table_is_numpy_log2():
    x = np.concatenate([np.arange(1.0, 5000.0), [2.5, 1e6, 2.0 ** 40, np.nan, np.inf]])
    _same(F._log2(x), np.log2(x))


def test_dynamic_tile_columns_on_a_conv():
    """A tile that does not divide its enclosing static size makes the loop dim dynamic at
    that level and below (unless the inner tile is 1): cm-features-4's columns. The tiles
    are ones measured in cpu-v5 (C=27, F=78: the static ones vectorized, the others not)."""
    shape = {"N": 2, "F": 78, "OH": 5, "OW": 48, "C": 27, "KH": 3, "KW": 3, "S": 1}
    kernel = kernel_features(FAMILIES["conv2d_nchw"].render(shape))
    def sched(dist, vcp, vr):
        return Schedule.make("ConvTileAndDecomposeExpert", {
            "distribution": dist, "vector_common_parallel": vcp,
            "vector_reduction": vr}).to_dict()
    rows = schedule_matrix(kernel, [
        sched([2, 78, 5, 48, 0, 0, 0], [1, 3, 1, 6, 0, 0, 0], [0, 0, 0, 0, 9, 1, 1]),
        sched([2, 78, 1, 48, 0, 0, 0], [1, 6, 1, 6, 0, 0, 0], [0, 0, 0, 0, 8, 1, 1]),
        sched([2, 76, 5, 48, 0, 0, 0], [2, 4, 1, 8, 0, 0, 0], [0, 0, 0, 0, 3, 1, 1]),
        sched([2, 76, 5, 48, 0, 0, 0], [1, 1, 1, 8, 0, 0, 0], [0, 0, 0, 0, 3, 1, 1])])
    col = {n: rows[:, i] for i, n in enumerate(F.SCHEDULE_NAMES)}
    # Static everywhere; C (dim 4) split 8 of 27; F (dim 1) 76 of 78 at the workgroup, then
    # 4 inside it (still dynamic), or 1 (static again).
    np.testing.assert_array_equal(col["tile.n_dyn_wg"], [0, 0, 1, 1])
    np.testing.assert_array_equal(col["tile.n_dyn_vec"], [0, 1, 1, 0])
    np.testing.assert_array_equal(col["tile.dyn_red_vec"], [0, 1, 0, 0])
    np.testing.assert_array_equal(col["tile.dyn_par_vec"], [0, 0, 1, 0])
    np.testing.assert_array_equal(col["tile.dyn_vec4"], [0, 1, 0, 0])
    np.testing.assert_array_equal(col["tile.dyn_vec1"], [0, 0, 1, 0])
    assert not col["tile.dyn_inner_vec"].any()  # KW (dim 6) is tiled 1 or whole


def test_window_columns_on_a_conv():
    """A 2-D window vectorizes only once decomposed to 1-D: some output dim and its window
    dim both tiled 1 at the vector level (OH and KH, or OW and KW). cm-features-5's columns,
    on tiles of one cpu-v5 group (the third and fourth ran 10x slower than the first)."""
    shape = {"N": 2, "F": 78, "OH": 5, "OW": 48, "C": 27, "KH": 3, "KW": 3, "S": 1}
    kernel = kernel_features(FAMILIES["conv2d_nchw"].render(shape))
    def sched(vcp, vr):
        return Schedule.make("ConvTileAndDecomposeExpert", {
            "distribution": [2, 78, 5, 48, 0, 0, 0], "vector_common_parallel": vcp,
            "vector_reduction": vr}).to_dict()
    rows = schedule_matrix(kernel, [
        sched([1, 3, 1, 6, 0, 0, 0], [0, 0, 0, 0, 9, 1, 1]),   # OH, KH = 1: decomposes
        sched([1, 3, 1, 1, 0, 0, 0], [0, 0, 0, 0, 9, 3, 1]),   # OW, KW = 1: decomposes
        sched([1, 3, 1, 6, 0, 0, 0], [0, 0, 0, 0, 9, 3, 1]),   # KH 3, OW 6: both windows kept
        sched([1, 3, 5, 6, 0, 0, 0], [0, 0, 0, 0, 9, 1, 3])])  # OH 5, KW 3
    col = {n: rows[:, i] for i, n in enumerate(F.SCHEDULE_NAMES)}
    np.testing.assert_array_equal(col["tile.windows"], [2, 2, 2, 2])
    np.testing.assert_array_equal(col["tile.windows_kept"], [1, 1, 2, 2])
    np.testing.assert_array_equal(col["tile.window_decomposable"], [1, 1, 0, 0])
    np.testing.assert_allclose(col["tile.log_window_vec"], np.log2([1, 3, 3, 3]))
    matmul = kernel_features(FAMILIES["matmul"].render({"M": 64, "N": 64, "K": 64}))
    row = schedule_matrix(matmul, [Schedule.make("DoubleTilingExpert", {
        "distribution": [32, 32, 0], "vector_common_parallel": [8, 8, 0],
        "vector_reduction": [0, 0, 4]}).to_dict()])[0]
    assert row[F.SCHEDULE_NAMES.index("tile.windows")] == 0  # no window: nothing to decompose
    assert row[F.SCHEDULE_NAMES.index("tile.window_decomposable")] == 1
