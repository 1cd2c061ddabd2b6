"""Saving and loading models: XGBoost UBJ + explicit JSON + a checksummed manifest.

Layout of a model directory::

    manifest.json        format, feature schema, training-data hash, metrics, library
                         versions, machine microbenchmark, sha256 of every other file
    preprocess.json      kept feature columns (by name)
    heads.json           per target: transform, conformal half-width, chosen ranking head,
                         the regression head's base margin (offset.py), if any
    structure.json/.npy  the test for wider intervals on kernels of a structure no
                         training kernel shares (structure.py): columns; reference rows
                         (format <= 4: novelty.json/.npy, the distance test of novelty.py)
    <target>.reg.ubj     XGBoost regression head (log target)
    <target>.rank.ubj    XGBoost ranking head

No pickle anywhere. Loading verifies every checksum and the feature schema first and fails
with :class:`ChecksumMismatchError` / :class:`SchemaMismatchError` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import shutil
import stat
import tempfile
import time
from pathlib import Path

import numpy as np
import xgboost as xgb

from costmodel.dataset.store import file_sha256
from costmodel.ir.families import FAMILIES as OP_FAMILIES
from costmodel.model.errors import ArtifactError, ChecksumMismatchError, SchemaMismatchError
from costmodel.model.features import FEATURE_NAMES, FEATURE_SCHEMA
from costmodel.model.forest import checked_forest
from costmodel.model.heads import TargetHeads
from costmodel.model.novelty import Novelty
from costmodel.model.offset import RooflineOffset
from costmodel.model.predictor import CostModel
from costmodel.model.preprocess import Preprocessor
from costmodel.model.specialize import KernelSpecializer
from costmodel.model.structure import Structure
from costmodel.model.targets import TARGETS

FORMAT = "costmodel-model"
#: 2: heads.json may give a regression head a base margin (``regression_offset``), which
#: code reading format 1 would silently leave out. Format 1 models (no offsets) still load.
#: 3: a head with an offset may weigh its trees (``regression_tree_weight``: prediction =
#: offset + weight * trees), which format-2 code would silently read as 1.
#: 4: real models' dispatches may weigh the trees differently
#: (``regression_dispatch_tree_weight``, and per root-op family
#: ``regression_dispatch_family_weights`` over ``family_column``), which format-3 code
#: would silently ignore.
#: 5: the novel half-width goes to kernels of a new structure (structure.json / .npy)
#: instead of far ones (novelty.json / .npy, no longer written), which format-4 code would
#: silently never apply.
FORMAT_VERSION = 5
READABLE_VERSIONS = (1, 2, 3, 4, 5)


_sha256 = file_sha256


def _load_family_weights(head: TargetHeads, h: dict, names: list[str], where: str) -> None:
    """Per-family dispatch tree weights from heads.json (keyed by family name)."""
    weights = h.get("regression_dispatch_family_weights") or {}
    if not weights:
        return
    col = h.get("family_column")
    if col not in names:
        raise ArtifactError(f"{where}: family column {col!r} is not a kept feature")
    unknown = sorted(set(weights) - set(OP_FAMILIES))
    if unknown:
        raise ArtifactError(f"{where}: unknown op families {unknown} in the dispatch weights")
    head.family_col = names.index(col)
    head.dispatch_family_weights = {OP_FAMILIES.index(f): float(w) for f, w in weights.items()}


def feature_names_hash() -> str:
    return hashlib.sha256("\n".join(FEATURE_NAMES).encode()).hexdigest()


def library_versions() -> dict:
    import numpy
    import scipy
    import sklearn

    import costmodel
    out = {"python": platform.python_version(), "xgboost": xgb.__version__,
           "scikit-learn": sklearn.__version__, "numpy": numpy.__version__,
           "scipy": scipy.__version__, "costmodel": costmodel.__version__}
    try:
        from iree.compiler import version as iv  # type: ignore[attr-defined]
        out["iree-base-compiler"] = getattr(iv, "VERSION", None) or str(iv)
    except Exception:  # noqa: BLE001 - optional detail
        pass
    return out


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")


def save(model: CostModel, out: str | os.PathLike) -> Path:
    """Write the model directory ``out``, replacing a model already there only once the new
    one is complete.

    The new model is written into a fresh sibling directory; files of an old model at ``out``
    that are not part of it (eval reports, notes) are carried over (hard links where
    possible), except ``onnx/``: an export of the old model would silently disagree with the
    new one, so it goes with the old model; then the old directory is renamed aside, the new one renamed in, and the
    old one deleted. A failure or interrupt before the swap leaves the old model exactly as
    it was, and none of its files (heads of targets not trained this time) survive into the
    new one. ``out`` must be new, empty, or a cost model (:func:`check_save_target`).
    """
    final = Path(out)
    if final.is_symlink() and final.exists():
        final = final.resolve()   # replace the model the link points at, keep the link
    check_save_target(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(final, "saving")
    staging.mkdir()
    try:
        _write_into(model, staging)
        if final.exists():
            os.chmod(staging, stat.S_IMODE(final.stat().st_mode))
            _carry_over(final, staging)
            _swap_in(staging, final)
        else:
            os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Path(out)


def check_save_target(out: str | os.PathLike) -> Path:
    """Raise :class:`ArtifactError` unless :func:`save` may write ``out``: a path that does not
    exist yet, an empty directory, or a cost model directory (which it replaces). Anything
    else (another program's directory, a folder of files) is refused rather than mixed
    with model files or replaced."""
    out = Path(out)
    if not out.exists():
        return out
    if not out.is_dir():
        raise ArtifactError(f"{out}: exists and is not a directory")
    if not any(out.iterdir()):
        return out
    try:
        is_model = json.loads((out / "manifest.json").read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        is_model = False
    if not is_model:
        raise ArtifactError(f"{out}: not empty and not a cost model (no costmodel "
                            "manifest.json); give a new or empty directory, or a model to "
                            "replace")
    return out


def _sibling(final: Path, what: str) -> Path:
    """A fresh hidden name beside ``final`` (same filesystem, so renames are atomic)."""
    return final.parent / f".{final.name}.{what}-{os.getpid()}-{secrets.token_hex(4)}"


def _listed_files(directory: Path) -> set[str]:
    """The files a model's manifest lists, and the manifest itself."""
    try:
        listed = json.loads((directory / "manifest.json").read_text()).get("files", {})
    except (OSError, ValueError, AttributeError):
        listed = {}
    return {f for f in listed if isinstance(f, str)} | {"manifest.json"}


def _link_or_copy(src, dst) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


#: The default ``costmodel export-onnx`` directory: an export of the old model, never kept.
STALE_ON_RETRAIN = "onnx"


def _carry_over(old: Path, new: Path) -> None:
    """Copy into ``new`` what ``old`` holds beside its model files (reports, notes)."""
    skip = _listed_files(old) | {STALE_ON_RETRAIN}
    for entry in old.iterdir():
        dst = new / entry.name
        if entry.name in skip or dst.exists() or dst.is_symlink():
            continue
        if entry.is_symlink():
            os.symlink(os.readlink(entry), dst)
        elif entry.is_dir():
            shutil.copytree(entry, dst, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, dst)


def _swap_in(new: Path, final: Path) -> None:
    """Rename ``final`` aside, ``new`` in its place, then delete the old one."""
    aside = _sibling(final, "old")
    os.rename(final, aside)
    try:
        os.rename(new, final)
    except BaseException:
        os.rename(aside, final)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _write_into(model: CostModel, out: Path) -> None:
    files = {}
    _write_json(out / "preprocess.json", model.pre.to_json())
    files["preprocess.json"] = None
    heads = {}
    for name, h in model.heads.items():
        reg_file = f"{name}.reg.ubj"
        h.reg.save_model(str(out / reg_file))
        files[reg_file] = None
        rank_file = None
        if h.rank is not None:
            rank_file = f"{name}.rank.ubj"
            h.rank.save_model(str(out / rank_file))
            files[rank_file] = None
        heads[name] = {"transform": h.target.transform, "columns": list(h.target.columns),
                       "unit": h.target.unit, "conformal_log_half_width": h.q, "alpha": h.alpha,
                       "rank_source": h.rank_source, "regression": reg_file, "ranking": rank_file,
                       "regression_rounds": h.reg_rounds, "ranking_rounds": h.rank_rounds,
                       "rank_weight": h.rank_weight,
                       "regression_offset": None if h.offset is None
                       else h.offset.to_json(model.pre.names),
                       "regression_tree_weight": h.tree_weight,
                       "regression_dispatch_tree_weight": h.dispatch_tree_weight,
                       "regression_dispatch_family_weights": h.family_weight_names(),
                       "family_column": None if h.family_col is None
                       else model.pre.names[h.family_col],
                       "conformal_log_half_width_novel": h.q_novel,
                       "conformal_log_half_width_dispatch": h.q_dispatch,
                       "dispatch_column": None if h.dispatch_col is None
                       else model.pre.names[h.dispatch_col]}
    _write_json(out / "heads.json", heads)
    files["heads.json"] = None
    novelty = next((h.novelty for h in model.heads.values() if h.novelty is not None), None)
    if novelty is not None:  # one test for every head: the kernel columns are shared
        np.save(out / "novelty.npy", novelty.refs, allow_pickle=False)
        _write_json(out / "novelty.json", novelty.to_json(model.pre.names))
        files["novelty.npy"] = files["novelty.json"] = None
    structure = next((h.structure for h in model.heads.values() if h.structure is not None),
                     None)
    if structure is not None:  # shared by every head, like the novelty test
        np.save(out / "structure.npy", structure.refs, allow_pickle=False)
        _write_json(out / "structure.json", structure.to_json(model.pre.names))
        files["structure.npy"] = files["structure.json"] = None
    manifest = dict(model.manifest)
    manifest.update({
        "format": FORMAT, "format_version": FORMAT_VERSION, "feature_schema": FEATURE_SCHEMA,
        "n_features": len(FEATURE_NAMES), "feature_names_sha256": feature_names_hash(),
        "targets": list(model.heads), "libraries": library_versions(),
        "files": {f: _sha256(out / f) for f in files},
    })
    manifest.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with tempfile.NamedTemporaryFile("w", dir=out, delete=False, suffix=".tmp") as tmp:
        tmp.write(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp.name, out / "manifest.json")
    os.chmod(out / "manifest.json", 0o644)  # NamedTemporaryFile creates it owner-only
    model.manifest = manifest


def read_manifest(path: str | os.PathLike) -> dict:
    path = Path(path)
    mf = path / "manifest.json"
    if not mf.is_file():
        raise ArtifactError(f"{path}: not a model directory (no manifest.json)")
    try:
        manifest = json.loads(mf.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{mf}: unreadable manifest: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ArtifactError(f"{mf}: not a costmodel model (format {manifest.get('format')!r})")
    return manifest


def verify(path: str | os.PathLike) -> dict:
    """Check format, feature schema and every checksum; return the manifest."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("format_version") not in READABLE_VERSIONS:
        raise ArtifactError(f"{path}: model format version {manifest.get('format_version')}, "
                            f"this code reads {', '.join(map(str, READABLE_VERSIONS))}")
    if (manifest.get("feature_schema") != FEATURE_SCHEMA
            or manifest.get("feature_names_sha256") != feature_names_hash()):
        same = manifest.get("feature_schema") == FEATURE_SCHEMA
        raise SchemaMismatchError(
            f"{path}: model was trained on feature schema {manifest.get('feature_schema')!r}"
            f"{' with different feature columns' if same else ''}; this code computes "
            f"{FEATURE_SCHEMA!r}: retrain with `costmodel train`")
    files = manifest.get("files") or {}
    if not files:
        raise ArtifactError(f"{path}: manifest lists no files")
    for name, digest in files.items():
        f = path / name
        if not f.is_file():
            raise ArtifactError(f"{path}: missing model file {name}")
        actual = _sha256(f)
        if actual != digest:
            raise ChecksumMismatchError(f"{f}: sha256 {actual[:16]}... does not match the "
                                        f"manifest's {digest[:16]}...: the file is corrupt or "
                                        "was modified")
    return manifest


def _load_head(path: Path, name: str, h: dict, pre: Preprocessor,
               novelty: Novelty | None, structure: Structure | None) -> TargetHeads:
    """One target's heads from its heads.json entry and booster files."""
    reg = xgb.Booster(params={"nthread": 1})
    reg.load_model(str(path / h["regression"]))
    rank = None
    if h.get("ranking"):
        rank = xgb.Booster(params={"nthread": 1})
        rank.load_model(str(path / h["ranking"]))
    head = TargetHeads(TARGETS[name], reg, rank, float(h["conformal_log_half_width"]),
                       float(h["alpha"]), h["rank_source"], int(h["regression_rounds"]),
                       int(h["ranking_rounds"]),
                       rank_weight=float(h.get("rank_weight", 0.0)),
                       offset=RooflineOffset.from_json(h.get("regression_offset"), pre.names),
                       tree_weight=float(h.get("regression_tree_weight", 1.0)))
    if (novelty is not None or structure is not None) and \
            h.get("conformal_log_half_width_novel") is not None:
        head.novelty, head.structure = novelty, structure
        head.q_novel = float(h["conformal_log_half_width_novel"])
    if h.get("conformal_log_half_width_dispatch") is not None:
        col = h.get("dispatch_column")
        if col not in pre.names:
            raise ArtifactError(f"{path}: head {name!r}: dispatch column {col!r} is not a "
                                "kept feature")
        head.q_dispatch = float(h["conformal_log_half_width_dispatch"])
        head.dispatch_col = pre.names.index(col)
    if h.get("regression_dispatch_tree_weight") is not None:
        if head.dispatch_col is None or head.offset is None:
            raise ArtifactError(f"{path}: head {name!r}: a dispatch tree weight needs a "
                                "regression offset and a dispatch column")
        head.dispatch_tree_weight = float(h["regression_dispatch_tree_weight"])
        _load_family_weights(head, h, pre.names, f"{path}: head {name!r}")
    head.fast_reg = checked_forest(reg, reg.num_features())
    if rank is not None and h["rank_source"] in ("ranking", "blend"):
        head.fast_rank = checked_forest(rank, rank.num_features())
    if head.fast_reg is not None:
        head.spec_reg = KernelSpecializer(head.fast_reg, reg, pre.n_kernel)
    if head.fast_rank is not None:
        head.spec_rank = KernelSpecializer(head.fast_rank, rank, pre.n_kernel)
    return head


def _side_test(path: Path, manifest: dict, stem: str, cls, names: list[str]):
    """The interval test kept in ``<stem>.json`` / ``<stem>.npy`` (``cls.from_json``), or
    None when the model has none."""
    if not ((path / f"{stem}.json").is_file() and f"{stem}.json" in manifest["files"]):
        return None
    try:
        return cls.from_json(json.loads((path / f"{stem}.json").read_text()), names,
                             np.load(path / f"{stem}.npy", allow_pickle=False))
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: malformed {stem} files: {exc}") from None


def load(path: str | os.PathLike) -> CostModel:
    """Load a verified model directory."""
    if not isinstance(path, (str, os.PathLike)):
        from costmodel.errors import InputError
        raise InputError(f"load() takes a model directory path, got {type(path).__name__}")
    path = Path(path)
    manifest = verify(path)
    try:
        pre = Preprocessor.from_json(json.loads((path / "preprocess.json").read_text()))
        heads_json = json.loads((path / "heads.json").read_text())
    except (json.JSONDecodeError, KeyError) as exc:
        raise ArtifactError(f"{path}: malformed model file: {exc}") from None
    if not isinstance(heads_json, dict):
        raise ArtifactError(f"{path}: heads.json is not an object of targets")
    novelty = _side_test(path, manifest, "novelty", Novelty, pre.names)
    structure = _side_test(path, manifest, "structure", Structure, pre.names)
    heads = {}
    for name, h in heads_json.items():
        if name not in TARGETS:
            raise ArtifactError(f"{path}: unknown target {name!r}")
        try:
            heads[name] = _load_head(path, name, h, pre, novelty, structure)
        except ArtifactError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A wrong type or a missing key in heads.json (or a booster XGBoost refuses).
            raise ArtifactError(f"{path}: head {name!r}: malformed heads.json entry "
                                f"({type(exc).__name__}: {exc})") from None
    return CostModel(pre, heads, manifest)
