"""The pqc descriptor (labkit.pqc.technique) and its benchmark (labkit.pqc.benchmark)."""

from __future__ import annotations

import pytest

from labkit import techniques
from labkit.results import Result, ResultStore


@pytest.fixture
def only_pqc(monkeypatch):
    """The registry holding pqc alone (other packages may not declare their technique yet)."""
    monkeypatch.setattr(techniques, "MODULES", ("labkit.pqc.technique",))
    monkeypatch.delenv(techniques.ENV_EXTRA, raising=False)


def test_descriptor_identity_and_doors(only_pqc):
    from labkit.pqc.technique import TECHNIQUE

    assert techniques.get("pqc") is TECHNIQUE
    assert TECHNIQUE.lab == "08_pqc_handshakes"
    assert (TECHNIQUE.claim.low, TECHNIQUE.claim.high) == (1.0, 1.05)
    assert [c.name for c in TECHNIQUE.checks] == ["cryptography ML-KEM/ML-DSA", "pyOpenSSL X25519MLKEM768"]
    assert TECHNIQUE.benchmark.ref == "labkit.pqc.benchmark:benchmark"


def _cell(group, cert, ratio, low, high):
    return Result(
        "pqc",
        "sweep_cell",
        params={"group": group, "cert": cert, "repeat": 5, "transfer_bytes": 1},
        metrics={"overhead": ratio, "overhead_low": low, "overhead_high": high},
        environment={},
    )


def test_readings_fall_back_to_sweep_cells_and_say_when_missing(only_pqc, tmp_path):
    from labkit.pqc.technique import TECHNIQUE

    store = ResultStore(tmp_path / "cells.sqlite")
    (missing,) = TECHNIQUE.claim_readings(store)
    assert missing.measured is None and missing.verdict.startswith("not measured yet: run labkit bench pqc")
    store.add_many(
        [
            _cell("X25519", "rsa-2048", 1.0, 0.98, 1.02),
            _cell("X25519MLKEM768", "rsa-2048", 1.02, 1.01, 1.03),
            _cell("X25519MLKEM768", "ml-dsa-65", 1.5, 1.4, 1.6),
        ]
    )
    hybrid, full = TECHNIQUE.claim_readings(store)
    assert hybrid.spread == "range" and hybrid.low == pytest.approx(1.01 / 1.02)
    assert full.verdict.startswith("off by a factor")
    labels = [p.label for p in TECHNIQUE.chart_points(store.query("pqc"))]
    assert labels == [
        "TLS 1.3, X25519MLKEM768 + ml-dsa-65 vs X25519 + ECDSA P-256",
        "TLS 1.3, X25519MLKEM768 + rsa-2048 vs X25519 + ECDSA P-256",
    ]


def test_benchmark_returns_the_sweep_and_the_claims_check(only_pqc, tmp_path, monkeypatch):
    from labkit.pqc import benchmark, claimcheck, sweep

    monkeypatch.setattr(sweep, "FAST_GROUPS", ("X25519", "X25519MLKEM768"))
    monkeypatch.setattr(sweep, "FAST_CERTS", ("rsa-2048",))
    monkeypatch.setattr(
        claimcheck,
        "claims_check",
        lambda: Result("pqc", "claims_check", metrics={"handshake_overhead": 1.0}, environment={}),
    )
    store = ResultStore(tmp_path / "bench.sqlite")
    found = techniques.get("pqc").run_benchmark(store=store)
    assert [r.name for r in found] == ["benchmark", "claims_check"]
    sweep_result = found[0]
    assert sweep_result.params["repeat"] == 5 and sweep_result.params["certs"] == ["rsa-2048"]
    (ratio,) = sweep_result.artifacts["ratios"]
    assert (ratio["hybrid"], ratio["classical"], ratio["cert"]) == ("X25519MLKEM768", "X25519", "rsa-2048")
    assert "X25519MLKEM768" in benchmark.format_table(sweep_result)
    stored = {r.name for r in store.query("pqc")}
    assert stored == {"benchmark", "claims_check", "sweep_cell"}


@pytest.mark.parametrize("check", ["cryptography ML-KEM/ML-DSA", "pyOpenSSL X25519MLKEM768"])
def test_doctor_checks_run(only_pqc, check):
    (found,) = [c for c in techniques.get("pqc").checks if c.name == check]
    assert found.run()
