"""Reports: study reports from real SQLite studies (real strategies on real SOR solves and
on measured latencies of the shipped dataset), the HTML report of `costmodel eval` on a
small real sample of datasets/cpu-v1, and rendering in headless Chromium."""

from __future__ import annotations

import contextlib
import io
import json
import math
import random
import re
import shutil
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from costmodel.cli import main as costmodel_main
from tuner import Categorical, Space, Study
from tuner.cli import main as tuner_main
from tuner.reporting import analysis, load_studies
from tuner.solver.instances import OMEGAS, synthetic
from tuner.solver.methods import sor_solve, ssor_pcg
from tuner.solver.tuner import SolverTuner
from tuner.store import open_storage

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CAP = 400   # SOR sweep cap: the slow omegas are censored early, which keeps the test fast
T = 40


def young_iterations(omega: float, c: float, tol: float = 1e-8) -> float:
    """Young's SOR theory for the shifted Laplacian A + cI on the 10x10 grid: sweeps for a
    `tol` error reduction, from the spectral radius of the SOR iteration matrix."""
    beta = 4.0 * math.cos(math.pi / 11) / (4.0 + c)          # Jacobi spectral radius
    w_star = 1.0 + (beta / (1.0 + math.sqrt(max(1.0 - beta ** 2, 0.0)))) ** 2
    if omega >= w_star:
        rho = omega - 1.0
    else:
        rho = ((omega * beta + math.sqrt(omega ** 2 * beta ** 2 - 4 * (omega - 1))) / 2) ** 2
    return min(CAP, math.log(tol) / math.log(rho))


def _load_shipped(retries: int = 5):
    """datasets/cpu-v1, read only (a background collection may be rewriting it: retry)."""
    from costmodel.dataset import DatasetError, load
    for i in range(retries):
        try:
            return load(ROOT / "datasets" / "cpu-v1")
        except DatasetError:
            if i == retries - 1:
                raise
            time.sleep(2)


@pytest.fixture(scope="module")
def shipped():
    samples, programs, manifest = _load_shipped()
    rows = samples.to_pylist()
    by_group = defaultdict(list)
    for r in rows:
        by_group[r["group_id"]].append(r)
    return rows, by_group, programs, manifest


@pytest.fixture(scope="module")
def store_url(tmp_path_factory, shipped) -> str:
    """Studies built by running real strategies on real objectives into SQLite."""
    url = f"sqlite:///{tmp_path_factory.mktemp('studies') / 'tuning.db'}"
    store = open_storage(url)
    seq = synthetic(T, seed=0, variant="high")
    cache: dict = {}

    def solve(t: int, omega: float) -> tuple[int, bool]:
        if (t, omega) not in cache:
            r = sor_solve(seq.matrix(t), seq.b[t], omega, maxiter=CAP)
            cache[t, omega] = (r.iterations, not r.converged)
        return cache[t, omega]

    # UCB1 over omega on the "Learning to Relax" sequence, with Young's prediction per arm
    # stored in the study config (interval: the prediction over the 5-95% context range).
    cfg = dict(Study.create("p", Space([Categorical("omega", OMEGAS)]), strategy="ucb1",
                            storage="memory:").record.config)
    q05, q50, q95 = np.quantile(seq.contexts, [0.05, 0.5, 0.95])
    cfg["predictions"] = [
        {"arm": i, "value": young_iterations(w, q50),
         "lower": min(young_iterations(w, q05), young_iterations(w, q95)),
         "upper": max(young_iterations(w, q05), young_iterations(w, q95))}
        for i, w in enumerate(OMEGAS)]
    study = Study(store, store.get_or_create_study("sor-ucb1", cfg)[0])
    for t in range(T):
        tr = study.ask()
        k, cens = solve(t, tr.params["omega"])
        study.tell(tr.id, k, censored=cens)
    for strategy in ("thompson", "chebcb"):
        st = SolverTuner(store, name=f"sor-{strategy}", strategy=strategy,
                         context_range=(-0.15, 0.45), max_iterations=CAP)
        for t in range(T):
            ctx = float(seq.contexts[t]) if strategy == "chebcb" else None
            omega, tok = st.suggest(context=ctx)
            st.report(tok, solve(t, omega)[0])
    # Iterations on one system depend on omega only: `unused` must get ~no importance.
    sp = Space([Categorical("omega", OMEGAS[::3]), Categorical("unused", ("a", "b", "c"))])
    study = Study.create("sor-grid", sp, strategy="grid", storage=store)
    for _ in range(2 * 7 * 3):
        tr = study.ask()
        k, cens = solve(0, tr.params["omega"])
        study.tell(tr.id, k, censored=cens)
    # Wall time of two solvers: repeated configurations give noise bands.
    sp = Space([Categorical("method", ("sor", "ssor_pcg")), Categorical("omega", OMEGAS[::4])])
    study = Study.create("solve-time", sp, strategy="random", seed=1, storage=store)
    A, b = seq.matrix(0), seq.b[0]
    for _ in range(30):
        tr = study.ask()
        f = sor_solve if tr.params["method"] == "sor" else ssor_pcg
        t0 = time.perf_counter()
        res = f(A, b, tr.params["omega"], maxiter=CAP)
        study.tell(tr.id, time.perf_counter() - t0, censored=not res.converged)
    # Model tuning: two real dispatch groups of the shipped dataset, their measured
    # latencies replayed as the objective, stored the way `tuner tune-model` stores them.
    _, by_group, _, _ = shipped
    groups = sorted(g for g, rs in by_group.items()
                    if sum(r["run"] == "main" and r["feasible"] for r in rs) >= 6
                    and any(r["is_default"] and r["run"] == "main" and r["feasible"] for r in rs))
    for g in random.Random(0).sample(groups, 2):
        rs = [r for r in by_group[g] if r["run"] == "main" and r["feasible"]]
        default = next(r for r in rs if r["is_default"])["latency_median_s"]
        proto = Study.create("p", Space([Categorical("schedule", tuple(range(len(rs))))]),
                             strategy="thompson", storage="memory:")
        cfg = {**proto.record.config, "kind": "dispatch", "dispatch": g,
               "default_latency_s": default}
        study = Study(store, store.get_or_create_study(f"dispatch-{g}", cfg)[0])
        for _ in range(8):
            tr = study.ask()
            study.tell(tr.id, rs[tr.params["schedule"]]["latency_median_s"])
    return url


def _cli(main, argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def study_report(store_url, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    rc, stdout, err = _cli(tuner_main, ["report", "--all", "--storage", store_url, "--out", str(out)])
    assert rc == 0, err
    assert stdout.strip() == str(out)
    return out


def _self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    # The only URLs are SVG/XLink namespace names, which browsers never fetch.
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#|data:)""", html)


def test_study_report_plots_and_summary(store_url, study_report):
    html = study_report.read_text()
    md = study_report.with_suffix(".md").read_text()
    _self_contained(html)
    views = {v.name: v for v in load_studies(store_url, all=True)}
    assert len(views) == 7
    # Figures: convergence per study, regret for the three bandit studies, importance and
    # heatmap for the two-parameter studies, a context heatmap for ChebCB, noise bands,
    # calibration for the study with predictions, the dispatch speedup chart.
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html)
    assert sum("best so far" in c for c in captions) == 7
    assert {c.split(":")[0] for c in captions if "regret" in c} == {"sor-ucb1", "sor-thompson",
                                                                    "sor-chebcb"}
    assert {c.split(":")[0] for c in captions if "parameter importance" in c} == {"sor-grid",
                                                                                  "solve-time"}
    assert any(c.startswith("sor-chebcb: mean measured value per context") for c in captions)
    assert any(c.startswith("sor-ucb1: measured (median per configuration) against") for c in captions)
    assert sum("noise bands" in c for c in captions) >= 3
    assert html.count("<svg") == len(captions) >= 20
    # The markdown summary carries the same numbers as the store.
    for name, v in views.items():
        best = Study.load(name, store_url).best()
        row = next(line for line in md.splitlines() if f"| {name} |" in line)
        assert f"| {len(v.done)} |" in row
        from costmodel.report.document import fmt
        assert fmt(best.value) in row, (row, best.value)


def test_analysis_matches_the_trials(store_url):
    views = {v.name: v for v in load_studies(store_url, all=True)}
    v = views["sor-ucb1"]
    _, best = analysis.best_so_far(v)
    ok = best[np.isfinite(best)]
    assert np.all(np.diff(ok) <= 0) and ok[-1] == Study.load("sor-ucb1", store_url).best().value
    rs = analysis.random_search_expectation(v, 40)
    means = [np.mean(a["values"]) for a in analysis.arm_stats(v).values() if a["values"]]
    assert np.all(np.diff(rs) <= 1e-9) and math.isclose(rs[0], np.mean(means))
    assert min(means) <= rs[-1]
    reg = analysis.regret(v)
    losses = np.array([t.value for t in v.done])
    assert math.isclose(reg["regret"][-1], losses.sum() - len(losses) * reg["best_mean"])
    # Importance: iterations depend on omega only.
    imp = analysis.importance(views["sor-grid"])
    share = dict(zip(imp["names"], imp["share"]))
    assert share["omega"] > 0.8 and share["unused"] < 0.05, share
    # Dispatch rows: speedup = default / best measured.
    from tuner.reporting.build import dispatch_rows
    rows = dispatch_rows(list(views.values()))
    assert len(rows) == 2
    for r in rows:
        best = Study.load(r["study"], store_url).best().value
        assert math.isclose(r["speedup"], r["default_s"] / best)


def test_report_cli_errors_are_one_line(store_url, tmp_path):
    for argv in (["report", "no-such-study", "--storage", store_url, "--out", str(tmp_path / "r.html")],
                 ["report", "--all", "--storage", store_url, "--out", str(tmp_path / "r.md")],
                 ["report", "--storage", store_url],
                 ["report", "--all", "--storage", "postgres://x", "--out", str(tmp_path / "r.html")]):
        rc, _, err = _cli(tuner_main, argv)
        assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1, (argv, err)
    # A study by numeric id works too.
    rc, _, err = _cli(tuner_main, ["report", "1", "--storage", store_url, "--out",
                                   str(tmp_path / "one.html")])
    assert rc == 0, err
    assert "Tuning report: sor-ucb1" in (tmp_path / "one.html").read_text()


def test_eval_writes_an_html_report(shipped, tmp_path):
    """`costmodel eval` of models/default on a small real sample of the shipped dataset."""
    from costmodel.dataset.store import DatasetStore
    rows, by_group, programs, manifest = shipped
    ir = dict(zip(programs.column("ir_hash").to_pylist(), programs.column("ir").to_pylist()))
    repeated = sorted(g for g, rs in by_group.items() if any(r["run"] != "main" for r in rs))
    plain = sorted(g for g, rs in by_group.items() if g not in set(repeated)
                   and sum(r["feasible"] for r in rs) >= 6)
    rnd = random.Random(0)
    data = tmp_path / "sample"
    st = DatasetStore(data, hardware=manifest["hardware"])
    for g in rnd.sample(repeated, 5) + rnd.sample(plain, 5):
        for r in by_group[g]:
            st.add(r, ir[r["ir_hash"]])
    st.export()
    st.close()
    md = tmp_path / "out" / "report.md"
    rc, out, err = _cli(costmodel_main, ["eval", "--model", str(ROOT / "models" / "default"),
                                       "--data", str(data), "--folds", "2", "--splits",
                                       "unseen_shapes", "--targets", "latency", "--report",
                                       str(md), "--quiet", "--json"])
    assert rc == 0, err
    html = md.with_suffix(".html").read_text()
    _self_contained(html)
    assert "## unseen_shapes" in md.read_text()       # the markdown report is unchanged
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html)
    assert len(captions) == html.count("<svg") == 3
    assert "per split" in captions[0] and "measured against predicted" in captions[1]
    assert "rank plot" in captions[2]
    for col in ("model", "roofline", "random", "default", "noise ceiling"):
        assert f"<th>{col}</th>" in html
    assert "<td>kendall_tau</td>" in html and "<td>interval_coverage</td>" in html
    # The per-family table lists every family of the split's test rows.
    res = json.loads(out)
    fams = res["by_family"]["unseen_shapes"]["latency"]
    assert fams and "latency per kernel family" in html
    for fam in fams:
        assert f"<td>{fam}</td>" in html


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.mark.skipif(_chromium() is None, reason="needs Debian's chromium and chromium-driver "
                                                "(.ci/run installs them)")
def test_report_renders_in_headless_chromium(study_report, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = _chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,1600", "--host-resolver-rules=MAP * ~NOTFOUND"):
        opts.add_argument(a)   # no network: any fetch would fail and be logged
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(driver_path))
    try:
        driver.get(study_report.as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert errors == []
        sizes = driver.execute_script(
            "return [...document.querySelectorAll('figure svg')].map(s => {"
            "const r = s.getBoundingClientRect(); return [r.width, r.height]; })")
        n_fig = study_report.read_text().count("<figcaption>")
        assert len(sizes) == n_fig >= 20
        assert all(w > 100 and h > 50 for w, h in sizes), sizes
        # Plots are drawn: each SVG holds drawn paths.
        assert driver.execute_script(
            "return [...document.querySelectorAll('figure svg')].every("
            "s => s.querySelectorAll('path').length > 3)")
        ARTIFACTS.mkdir(exist_ok=True)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height), 16000))
        assert driver.save_screenshot(str(ARTIFACTS / "study-report.png"))
        assert (ARTIFACTS / "study-report.png").stat().st_size > 10_000
        # The check itself catches a broken page.
        bad = tmp_path / "bad.html"
        bad.write_text('<html><body><img src="missing.png"><script>nope()</script></body></html>')
        driver.get(bad.as_uri())
        assert len([e for e in driver.get_log("browser") if e["level"] == "SEVERE"]) == 2
    finally:
        driver.quit()
