"""Primitives, the group x certificate sweep, the link model and the claims check."""

from __future__ import annotations

import pytest

from labkit.errors import InvalidInput
from labkit.pqc import claimcheck, linkmodel, primitives, sweep
from labkit.results import ResultStore


def test_kem_sizes_match_fips_203():
    r = primitives.compare_kems(repeat=3)
    m = r.metrics
    assert (m["ML-KEM-768.public_key_bytes"], m["ML-KEM-768.ciphertext_bytes"]) == (1184, 1088)
    assert (m["ML-KEM-1024.public_key_bytes"], m["ML-KEM-1024.ciphertext_bytes"]) == (1568, 1568)
    assert m["X25519.public_key_bytes"] == 32
    assert m["RSA-2048.ciphertext_bytes"] == 256
    # ML-KEM-768 decapsulation is far cheaper than an RSA-2048 private-key operation.
    assert m["ML-KEM-768.decapsulate_s"] < m["RSA-2048.decapsulate_s"]
    assert m["RSA-2048.keygen_s"] > 10 * m["ML-KEM-768.keygen_s"]


def test_signature_sizes_match_fips_204():
    m = primitives.compare_signatures(repeat=3).metrics
    assert (m["ML-DSA-44.public_key_bytes"], m["ML-DSA-44.signature_bytes"]) == (1312, 2420)
    assert (m["ML-DSA-65.public_key_bytes"], m["ML-DSA-65.signature_bytes"]) == (1952, 3309)
    assert (m["ML-DSA-87.public_key_bytes"], m["ML-DSA-87.signature_bytes"]) == (2592, 4627)
    assert m["Ed25519.signature_bytes"] == 64
    assert 70 <= m["ECDSA-P256.signature_bytes"] <= 72
    rows = primitives.table(primitives.compare_signatures(schemes=("Ed25519",), repeat=2))
    assert rows[0]["scheme"] == "Ed25519" and "sign_s" in rows[0]


def test_unknown_primitive_refused():
    with pytest.raises(InvalidInput):
        primitives.compare_kems(schemes=("Kyber512",))
    with pytest.raises(InvalidInput):
        primitives.compare_signatures(schemes=("Falcon-512",))


def test_sweep_cells_and_resume(tmp_path):
    store = ResultStore(tmp_path / "s.sqlite")
    r = sweep.sweep(
        groups=("X25519", "X25519MLKEM768"), certs_=("ecdsa-p256", "ml-dsa-44"), repeat=2, store=store, progress=False
    )
    rows = {(x["group"], x["cert"]): x for x in r.artifacts["rows"]}
    assert len(rows) == 4
    base = rows[("X25519", "ecdsa-p256")]
    assert base["bytes_ratio"] == pytest.approx(1.0, abs=0.01)
    assert rows[("X25519MLKEM768", "ecdsa-p256")]["bytes_client_to_server"] - base["bytes_client_to_server"] == 1184
    assert rows[("X25519", "ml-dsa-44")]["signature_scheme"] == "mldsa44"
    assert all(x["overhead"] > 0 for x in rows.values())
    assert len(store.query("pqc", "sweep_cell")) == 4
    again = sweep.sweep(
        groups=("X25519", "X25519MLKEM768"), certs_=("ecdsa-p256", "ml-dsa-44"), repeat=2, store=store, progress=False
    )
    assert len(store.query("pqc", "sweep_cell")) == 4  # resumed from the store, nothing recomputed
    assert again.artifacts["rows"] == r.artifacts["rows"]
    fig = sweep.heatmap(r.artifacts["rows"], "bytes_ratio")
    assert list(fig.data[0].y) == ["X25519", "X25519MLKEM768"]
    with pytest.raises(InvalidInput):
        sweep.heatmap(r.artifacts["rows"], "colour")


def test_sweep_refuses_bad_input(tmp_path):
    with pytest.raises(InvalidInput):
        sweep.sweep(groups=("X448MLKEM",), repeat=1, store=ResultStore(tmp_path / "x.sqlite"))
    with pytest.raises(InvalidInput):
        sweep.sweep(repeat=0, store=ResultStore(tmp_path / "x.sqlite"))


def test_link_model_slow_start_and_rtts():
    link = linkmodel.Link(0.1, 1e9)
    assert link.flight_rounds(1000) == 1
    assert link.flight_rounds(10 * 1460) == 1
    assert link.flight_rounds(10 * 1460 + 1) == 2  # one byte past the initial window costs a round trip
    base = linkmodel.handshake_time(link, bytes_up=300, bytes_down=800)
    assert base == pytest.approx(0.2, rel=1e-3)
    slow = linkmodel.Link(0.3, 0.4e6)
    cmp = linkmodel.compare(
        slow,
        candidate={"bytes_up": 1500, "bytes_down": 10000},
        baseline={"bytes_up": 300, "bytes_down": 1400},
        transfer=1 << 20,
    )
    assert cmp["handshake_ratio"] > 1.1  # kilobytes matter on a slow link
    assert cmp["ttlb_ratio"] < cmp["handshake_ratio"]  # and fade behind a large transfer
    with pytest.raises(InvalidInput):
        linkmodel.Link(-1, 1e6)


def test_claims_check_reports_three_readings():
    r = claimcheck.claims_check(repeat=3, transfer_bytes=32 << 10, profiles=("broadband", "slow 3G"))
    m = r.metrics
    for key in ("handshake_overhead", "transfer_overhead", "pq_handshake_overhead", "kem_vs_rsa"):
        assert m[key] > 0
    assert m["kem_vs_rsa"] < 1  # ML-KEM-768 is faster than RSA-2048 key transport
    assert 2200 <= m["extra_bytes"] <= 2300  # 1184 + 1088 bytes of ML-KEM on the wire
    assert m["pq_extra_bytes"] > 8000  # ML-DSA-65 certificate and signatures
    assert m["model.pq_slow 3G.handshake_ratio"] > m["model.pq_broadband.handshake_ratio"]
    assert len(claimcheck.model_table(r)) == 4
    assert "5%" in r.artifacts["claim"]
    with pytest.raises(InvalidInput):
        claimcheck.claims_check(profiles=("moon",))
