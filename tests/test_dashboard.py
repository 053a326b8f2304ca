"""The overhead-vs-privacy dashboard: its data from a small store, its filters and its click panel."""

from __future__ import annotations

import pytest
from plotly.callbacks import Points

from labkit import techniques
from labkit.claims import PROTECTIONS
from labkit.results import Result, ResultStore
from labkit.widgets import dashboard

ENV = {"cpu": "test cpu", "cores": 2, "machine_id": "abc", "fast": True}


def _r(tech, name, params, metrics, **kw) -> Result:
    return Result(tech, name, params=params, metrics=metrics, environment=dict(ENV), **kw)


@pytest.fixture
def store(tmp_path) -> ResultStore:
    s = ResultStore(tmp_path / "r.sqlite")
    s.add_many(
        [
            _r(
                "he",
                "mlp_inference",
                {"model": "mlp", "backend": "seal", "mode": "single"},
                {"overhead": 2500.0, "overhead_low": 2200.0, "overhead_high": 2800.0, "accuracy_encrypted": 0.95},
            ),
            _r("he", "wrapper_overhead", {"backend": "seal"}, {"overhead": 1.02}),  # labkit vs library: not a PET cost
            _r(
                "zk",
                "costs",
                {"model": "digits-mlp", "width": 32},
                {"overhead": 4000.0, "verify_ms": 12.0},
                flags=["not for production"],
            ),
            _r("mpc", "digits_mlp_inference", {"model": "digits_mlp", "parties": 2}, {"overhead": 150.0}),
            _r(
                "dp",
                "train_private",
                {"target_epsilon": 2.0},
                {"overhead": 1.8, "epsilon": 2.0, "accuracy": 0.88, "attack_auc": 0.51, "baseline_attack_auc": 0.6},
            ),
            _r("pqc", "sweep_cell", {"group": "X25519MLKEM768", "cert": "rsa-2048"}, {"overhead": 1.1}),
            _r("pqc", "sweep_cell", {"group": "X25519", "cert": "rsa-2048"}, {"overhead": 1.0}),  # classical: no point
            _r("tee", "boundary_overhead", {"batch_size": 64, "hidden": 32}, {"overhead": 5.0}),
            _r(
                "tee",
                "modelled_hardware_overhead",
                {},
                {
                    "sgx.64MB": 1.05,
                    "sgx.256MB": 16.9,
                    "cvm.64MB": 1.05,
                    "cvm.256MB": 1.05,
                    "claim_holds_up_to_mb": 93.0,
                },
            ),
        ]
    )
    return s


def test_points_one_per_pet_result_with_kind_and_protection(store):
    pts = dashboard.points(store)
    by = {(p.technique, p.kind): p for p in pts}
    assert len(pts) == 9  # he, zk, mpc, dp, hybrid pqc, tee boundary, 2 sgx + 1 cvm modelled
    assert by[("he", "measured")].overhead == 2500.0 and by[("he", "measured")].low == 2200.0
    assert by[("tee", "simulated")].overhead == 5.0
    assert sorted(p.overhead for p in pts if p.kind == "modelled") == [1.05, 1.05, 16.9]
    assert by[("zk", "measured")].protection == "integrity of outputs"
    assert by[("pqc", "measured")].protection == "confidentiality in transit"
    assert by[("dp", "measured")].protection == "attack success prevented"
    assert all(p.protection in PROTECTIONS for p in pts)
    hover = by[("zk", "measured")].hover
    assert "zk / costs" in hover and "not for production" in hover and "verify 12 ms" in hover
    assert "AUC 0.6 -&gt; 0.51" in by[("dp", "measured")].hover
    assert dashboard.missing(pts) == [
        f"{techniques.get('inversion').title}: not measured yet: run labkit bench inversion"
    ]


def test_points_keep_only_the_newest_run_of_a_point(store):
    newer = _r("he", "mlp_inference", {"model": "mlp", "backend": "seal", "mode": "single"}, {"overhead": 2000.0})
    newer.created += 10
    store.add(newer)
    he = [p for p in dashboard.points(store) if p.technique == "he"]
    assert [p.overhead for p in he] == [2000.0] and he[0].result_id == newer.id


def test_filters_by_data_state_and_threat(store):
    pts = dashboard.points(store)
    transit = dashboard.filter_points(pts, data_state="in transit")
    assert {p.technique for p in transit} == {"pqc"}
    in_use = dashboard.filter_points(pts, data_state="in use")
    assert {p.technique for p in in_use} == {"he", "mpc", "tee"}
    curious = dashboard.filter_points(pts, threat=techniques.get("he").adversary)
    assert {p.technique for p in curious} == {
        t.key for t in techniques.registry() if t.adversary == techniques.get("he").adversary
    } & {p.technique for p in pts}
    assert dashboard.filter_points(pts, data_state="in transit", threat=techniques.get("he").adversary) == []
    opts = dashboard.options()
    assert opts["data_state"][0] == "all" and "in use" in opts["data_state"] and len(opts["threat"]) > 3


def test_widget_filter_callback_redraws_the_figure(store):
    box = dashboard.dashboard(store)
    fig = box.figure
    counts = {t.name: len(t.x) for t in fig.data}
    assert fig.layout.xaxis.type == "log" and counts["he"] == 1 and counts["tee"] == 4
    assert "9 of 9 points" in box.summary.value and "run labkit bench inversion" in box.summary.value
    box.data_state.value = "in transit"
    assert {t.name: len(t.x) for t in fig.data} == {t.key: int(t.key == "pqc") for t in techniques.registry()}
    assert fig.data[[t.key for t in techniques.registry()].index("pqc")].x == (pytest.approx(1.1),)
    box.data_state.value = "all"
    box.threat.value = techniques.get("zk").adversary
    assert {t.name: len(t.x) for t in fig.data if len(t.x)} == {"zk": 1}
    assert "1 of 9 points" in box.summary.value


def test_click_shows_the_result_and_links_its_notebook(store):
    box = dashboard.dashboard(store)
    tee = [t.key for t in techniques.registry()].index("tee")
    trace = box.figure.data[tee]
    i = next(k for k, p in enumerate(box.shown["tee"]) if p.kind == "simulated")
    trace._dispatch_on_click(
        Points(point_inds=[i], xs=[trace.x[i]], ys=[trace.y[i]], trace_name="tee", trace_index=tee), None
    )
    panel = box.detail.value
    assert "href='07_tee_simulation.py'" in panel and "labkit bench tee" in panel
    assert "boundary_overhead" in panel and "simulated" in panel  # the Result itself, from the store
    p = box.select("pqc", 0)
    assert p.technique == "pqc" and "08_pqc_handshakes.py" in box.detail.value


def test_reload_picks_up_new_results(store):
    box = dashboard.dashboard(store)
    store.add(
        _r(
            "inversion",
            "scenario",
            {"secure_aggregator": "ckks_sum[seal]", "n_clients": 4},
            {"aggregation_overhead": 30.0, "psnr": 9.5},
        )
    )
    box.reload.click()
    inv = box.figure.data[[t.key for t in techniques.registry()].index("inversion")]
    assert len(inv.x) == 1 and "PSNR 9.5 dB" in inv.hovertext[0]
    assert "not measured yet" not in box.summary.value


def test_empty_store_draws_an_empty_chart_and_says_what_to_run(tmp_path):
    box = dashboard.dashboard(ResultStore(tmp_path / "e.sqlite"))
    assert all(len(t.x) == 0 for t in box.figure.data)
    assert box.summary.value.count("not measured yet") == len(techniques.registry())


def test_without_notebook_links_the_panel_names_the_notebook_and_how_to_open_it(store):
    box = dashboard.dashboard(store, notebook_links=False)  # the Voila app: it serves no other notebook
    box.select("pqc", 0)
    assert "href" not in box.detail.value.split("<table")[0]
    assert "<code>notebooks/08_pqc_handshakes.py</code>" in box.detail.value and "make lab" in box.detail.value
