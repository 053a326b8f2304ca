"""labkit.report: verdicts, readings from a small store, the HTML file and the `labkit report` command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from labkit import cli, report, techniques
from labkit.claims import Claim
from labkit.errors import InvalidInput
from labkit.results import Result, ResultStore

ENV = {"cpu": "test cpu", "cores": 2, "machine_id": "abc", "fast": True}


def _r(technique_, name, params, metrics, **kw) -> Result:
    return Result(technique_, name, params=params, metrics=metrics, environment=dict(ENV), **kw)


def sample_results() -> list[Result]:
    """A few Results shaped like the labs' own (numbers made up for the test)."""
    from labkit.tee.costs import modelled_overhead

    out = [
        _r(
            "he",
            "mlp_inference",
            {"model": "mlp", "backend": "seal", "mode": "single", "batch_size": 1},
            {"overhead": 40.0, "overhead_low": 35.0, "overhead_high": 45.0},
            artifacts={"dataset": "digits"},
        ),
        _r(
            "he",
            "mlp_inference",
            {"model": "mlp", "backend": "seal", "mode": "batched", "batch_size": 4096},
            {"overhead": 2000.0, "overhead_low": 1900.0, "overhead_high": 2100.0},
        ),
    ]
    for op, ratio in (("add", 0.5), ("multiply_relin", 0.6), ("rotate", 0.7)):
        out.append(
            _r(
                "he",
                "backend_race",
                {"scheme": "ckks", "op": op, "poly_modulus_degree": 8192},
                {
                    "openfhe_over_seal": ratio,
                    "openfhe_over_seal_low": ratio * 0.9,
                    "openfhe_over_seal_high": ratio * 1.1,
                },
                artifacts={"verdict": "OpenFHE faster"},
            )
        )
    out.append(
        _r(
            "he",
            "backend_race",
            {"scheme": "bgv", "op": "add", "poly_modulus_degree": 8192},
            {"openfhe_median_s": 0.001},
        )
    )
    out.append(
        _r(
            "zk",
            "costs",
            {"model": "digits-mlp", "width": 32},
            {"overhead": 4000.0, "overhead_low": 3900.0, "overhead_high": 4100.0, "verify_ms": 12.0, "logrows": 11},
        )
    )
    out.append(
        _r(
            "tee",
            "boundary_overhead",
            {"batch_size": 64, "hidden": 32},
            {"overhead": 1.5, "overhead_low": 1.4, "overhead_high": 1.6},
        )
    )
    modelled = modelled_overhead()
    modelled.environment = dict(ENV)
    out.append(modelled)
    out.append(
        _r(
            "pqc",
            "claims_check",
            {"repeat": 8},
            {
                "handshake_overhead": 1.02,
                "handshake_overhead_low": 0.99,
                "handshake_overhead_high": 1.04,
                "pq_handshake_overhead": 1.10,
                "pq_handshake_overhead_low": 1.0,
                "pq_handshake_overhead_high": 1.2,
            },
        )
    )
    out.append(
        _r(
            "dp",
            "train_private",
            {"target_epsilon": 2.0},
            {"overhead": 1.8, "epsilon": 2.0, "accuracy": 0.9, "attack_auc": 0.51, "baseline_attack_auc": 0.6},
        )
    )
    return out


def _claim(store: ResultStore, key: str) -> list:
    """The readings of one claim, through its technique's readings door."""
    return [r for r in techniques.get(key.split(".")[0]).claim_readings(store) if r.claim == key]


@pytest.fixture
def store(tmp_path) -> ResultStore:
    s = ResultStore(tmp_path / "r.sqlite")
    s.add_many(sample_results())
    return s


def test_verdicts_for_ratio_and_percent_claims():
    he = techniques.get("he").claim
    assert report.verdict(he, 50.0, 40.0, 60.0) == "holds"
    assert report.verdict(he, 2000.0, 1900.0, 2100.0) == "off by a factor 20 (costlier than claimed)"
    assert report.verdict(he, 2.0, 1.5, 2.5) == "off by a factor 5 (cheaper than claimed)"
    assert report.verdict(he, 90.0, 80.0, 130.0).startswith("inconclusive")
    tee = techniques.get("tee").claim
    assert report.verdict(tee, 1.05, 1.04, 1.06) == "holds"
    assert report.verdict(tee, 1.00) == "holds"  # "3-7%" bounds the cost from above
    assert report.verdict(tee, 1.35, 1.3, 1.4).startswith("off by a factor 5 (+35% against the claimed +7%)")
    assert report.verdict(Claim("x", 1.0, 1.05), None) == "not measured yet"


def test_readings_gather_every_claim_from_the_store(store):
    rows = report.readings(store)
    by = {}
    for r in rows:
        by.setdefault(r.claim, []).append(r)
    assert set(by) == {
        "he.overhead",
        "he.openfhe_vs_seal",
        "zk.prover",
        "zk.verify",
        "tee.overhead",
        "pqc.overhead",
        "mpc.anchor",
        "dp.anchor",
    }
    assert all(r.measured is None and "run labkit bench" in r.verdict for r in by["mpc.anchor"] + by["dp.anchor"])
    he = {r.setting.split(":")[0] + r.setting.split(",")[-1]: r for r in by["he.overhead"]}
    assert len(he) == 2 and sorted(r.verdict for r in he.values())[0] == "holds"
    race = by["he.openfhe_vs_seal"]
    ckks = next(r for r in race if r.setting.startswith("CKKS"))
    assert ckks.measured == pytest.approx((0.5 * 0.6 * 0.7) ** (1 / 3)) and ckks.verdict == "holds"
    assert any("BGV" in r.setting and r.measured is None and "TenSEAL" in r.figure for r in race)
    assert by["zk.prover"][0].verdict.startswith("off by a factor 80")
    assert by["zk.verify"][0].measured == 12.0 and by["zk.verify"][0].verdict == "holds"
    kinds = {r.kind for r in by["tee.overhead"]}
    assert kinds == {"modelled", "simulated"}  # both readings, each labelled
    sim = next(r for r in by["tee.overhead"] if r.kind == "simulated")
    assert sim.measured == 1.5 and "not TEE hardware" in sim.note
    pqc = by["pqc.overhead"]
    assert pqc[0].verdict == "holds" and pqc[1].verdict.startswith("inconclusive")
    assert all(r.lab and r.bench for r in rows)
    assert all(r.result_id for r in rows if r.measured is not None and r.claim != "he.openfhe_vs_seal")


def test_empty_store_says_what_to_run_and_invents_nothing(tmp_path):
    rows = report.readings(ResultStore(tmp_path / "empty.sqlite"))
    assert {r.claim for r in rows} >= {"he.overhead", "zk.prover", "zk.verify", "tee.overhead", "pqc.overhead"}
    assert all(r.measured is None for r in rows)
    for r in rows:
        if r.claim != "he.openfhe_vs_seal" or "BGV" not in r.setting:
            assert f"not measured yet: run labkit bench {r.bench}" in (r.figure + r.verdict)
    body, _, legend = report.table(rows).partition("\n\n")
    assert "not measured yet: run labkit bench tee" in body and not re.search(r"\d+(\.\d+)?x\b", body)
    assert "10x-100x" in legend and "3-7%" in legend  # the claims themselves are listed under the table


def test_pqc_falls_back_to_sweep_cells(tmp_path):
    s = ResultStore(tmp_path / "r.sqlite")

    def cell(g, c, ov):
        return _r(
            "pqc",
            "sweep_cell",
            {"group": g, "cert": c},
            {"overhead": ov, "overhead_low": ov * 0.95, "overhead_high": ov * 1.05},
        )

    s.add_many([cell("X25519", "rsa-2048", 1.0), cell("X25519MLKEM768", "rsa-2048", 1.5)])
    (row,) = techniques.get("pqc").claim_readings(s)
    assert row.measured == pytest.approx(1.5) and row.low == pytest.approx(1.5 * 0.95 / 1.05)
    assert row.verdict.startswith("off by a factor 10")


def test_html_is_self_contained_with_table_and_plots(store, tmp_path):
    path, rows = report.write(tmp_path / "out" / "r.html", store=store)
    text = path.read_text()
    assert '<table id="claims"' in text and text.count("<tr data-claim=") == len(rows)
    assert "id='claims-plot'" in text.replace('"', "'") and "id='overview-plot'" in text.replace('"', "'")
    # plotly.js is inlined: no script or stylesheet is fetched from anywhere
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", text)
    assert "Plotly.newPlot" in text and len(text) > 1_000_000
    assert techniques.get("he").further_claims["he.openfhe_vs_seal"][0].text in text
    with pytest.raises(InvalidInput, match=r"\.html"):
        report.write(tmp_path / "r.pdf", store=store)


def test_cli_report_prints_table_and_writes_file(store, tmp_path, capsys):
    out = tmp_path / "cli.html"
    assert cli.main(["report", "--store", str(store.path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.exists() and str(out) in printed
    assert "tee.overhead" in printed and "modelled" in printed and "simulated" in printed
    assert "holds" in printed and "off by a factor" in printed


def test_exercise_extra_time_factor_matches_the_report_verdict():
    from labkit import exercises

    expected = report.verdict(techniques.get("tee").claim, 1.5)
    assert expected.startswith("off by a factor 7.14")
    assert exercises.check("00.extra_time_factor", (1.5 - 1) / (1.07 - 1))
    assert not exercises.check("00.extra_time_factor", 1.5 / 1.07)  # ratio of ratios: the wrong reading


def test_mpc_and_dp_are_compared_with_their_published_anchors(tmp_path):
    s = ResultStore(tmp_path / "r.sqlite")
    s.add_many(
        [
            _r(
                "mpc",
                "digits_mlp_inference",
                {"model": "digits_mlp", "parties": 2, "n": 50},
                {"overhead": 230.0, "overhead_low": 200.0, "overhead_high": 260.0},
            ),
            _r("mpc", "digits_mlp_inference", {"model": "digits_mlp", "parties": 3, "n": 50}, {"overhead": 900.0}),
            _r("dp", "benchmark", {"epsilons": [1, 8]}, {"overhead": 3.2, "overhead_low": 2.0, "overhead_high": 4.0}),
        ]
    )
    mlp, logreg = sorted(techniques.get("mpc").claim_readings(s), key=lambda r: r.measured is None)
    assert mlp.measured == 230.0 and mlp.verdict.startswith("comparison only: 2 times the published 115x")
    assert logreg.measured is None and "run labkit bench mpc" in logreg.verdict
    (dp,) = techniques.get("dp").claim_readings(s)
    assert dp.verdict == "comparison only: 2 times the published 1.6x" and "(min-max 2-4)" in dp.figure


def test_backend_race_uses_the_he_lab_tie_band(tmp_path):
    s = ResultStore(tmp_path / "r.sqlite")
    for scheme, ratios in (("ckks", (1.5, 1.6)), ("bfv", (0.98, 1.03))):
        for op, ratio in zip(("add", "rotate"), ratios):
            s.add(
                _r(
                    "he",
                    "backend_race",
                    {"scheme": scheme, "op": op, "poly_modulus_degree": 8192},
                    {
                        "openfhe_over_seal": ratio,
                        "openfhe_over_seal_low": ratio * 0.97,
                        "openfhe_over_seal_high": ratio * 1.03,
                    },
                )
            )
    rows = {r.setting[:4]: r for r in _claim(s, "he.openfhe_vs_seal")}
    assert rows["CKKS"].verdict.startswith("off by a factor 1.55: SEAL faster")
    assert rows["BFV,"].verdict.startswith("inconclusive: tie")
    assert rows["BGV"].measured is None and "TenSEAL" in rows["BGV"].figure


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_report_benchmarks_then_reports():
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "MAKEFLAGS": ""}
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", "report"], cwd=root, capture_output=True, text=True, env=env
    ).stdout
    bench, rep = out.find("labkit bench --fast"), out.find("labkit report")
    assert 0 <= bench < rep


def test_cli_report_refuses_a_missing_store_without_creating_it(tmp_path, capsys):
    missing = tmp_path / "nowhere.sqlite"
    assert cli.main(["report", "--store", str(missing), "--out", str(tmp_path / "r.html")]) == 2
    assert "no ResultStore" in capsys.readouterr().err and not missing.exists()
    assert not (tmp_path / "r.html").exists()


def test_table_html_links_notebooks_and_colours_verdicts(store):
    text = report.table_html(report.readings(store), notebooks=".")
    assert "<a href='./07_tee_simulation.py'>" in text and "background:#e6f4ea" in text
    assert "href" not in report.table_html(report.readings(store))


def test_he_claim_also_reads_ckks_secure_aggregation_from_lab_03(tmp_path):
    s = ResultStore(tmp_path / "r.sqlite")
    s.add_many(
        [
            _r(
                "inversion",
                "scenario",
                {"secure_aggregator": "ckks_sum[seal]", "n_clients": 4},
                {"aggregation_overhead": 60.0, "aggregation_overhead_low": 55.0, "aggregation_overhead_high": 65.0},
            ),
            _r(
                "inversion", "scenario", {"secure_aggregator": "mpc_sum", "n_clients": 4}, {"aggregation_overhead": 9.0}
            ),
        ]
    )
    (row,) = _claim(s, "he.overhead")
    assert row.lab == "03_gradient_inversion" and row.measured == 60.0 and row.verdict == "holds"
    assert "ckks_sum[seal]" in row.setting


def test_docs_claims_page_is_generated_from_the_registry():
    """docs/claims.md is the registry's claims and anchors, as `make docs` writes them (regenerate it if this fails)."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "claims.md").read_text()
    assert page == report.claims_markdown()
    for t in techniques.registry():
        assert f"(`{t.key}`)" in page and all(a.replace("|", "\\|") in page for a in t.anchors)
