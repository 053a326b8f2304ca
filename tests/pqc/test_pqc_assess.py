"""The pqc assess door: one model update over hybrid vs classical TLS 1.3 on loopback, bytes and the HNDL recording."""

from __future__ import annotations

import time

import pytest

import labkit
from labkit import techniques
from labkit.errors import InvalidInput
from labkit.pqc import assess as pqc_assess
from labkit.workload import Workload, examples

torch = pytest.importorskip("torch")
nn = torch.nn

MLKEM768_SHARES = 1184 + 1088  # public key (ClientHello) + ciphertext (ServerHello)


def _iris(train, model=None):
    X, y, model = train(hidden=16, epochs=60, model=model)
    return Workload.from_torch(model, X, y, name="iris_mlp"), model


@pytest.fixture(scope="module")
def iris(iris_mlp):
    return _iris(iris_mlp)


def _trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_support_in_seconds_counts_every_trainable_parameter(iris_mlp):
    w, model = _iris(iris_mlp, nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)))
    start = time.perf_counter()
    s = pqc_assess.support(w)
    assert time.perf_counter() - start < 5
    assert s.supported
    assert s.estimate["parameters"] == _trainable(model) == 4 * 16 + 16 + 2 * 16 + 16 * 3 + 3
    assert s.estimate["update_bytes"] == 4 * _trainable(model)
    assert s.estimate["seconds"] > s.estimate["seconds_fast"] > 0 and s.estimate["memory_bytes"] > 0


def test_update_over_hybrid_and_classical_tls_bytes_and_recording(iris):
    w, model = iris
    n = _trainable(model)
    r = pqc_assess.assess(w, fast=True, repeat=5)
    m = r.metrics
    assert m["supported"] == 1 and m["parameters"] == n
    # the update is 4 bytes per parameter; the framing is the envelope, the PUT line and one TLS record
    assert m["update_bytes"] == 4 * n
    put_line = len(f"PUT {4 * n + 8}\n")
    assert m["message_bytes"] == m["update_bytes"] + 8 + put_line
    assert m["upload_wire_bytes"] == m["message_bytes"] + 22  # 5-byte header, content type, 16-byte tag
    assert m["framing_bytes"] == 8 + put_line + 22
    # the hybrid handshake carries ML-KEM-768's public key up and its ciphertext down
    assert m["key_share_extra_bytes"] >= MLKEM768_SHARES
    assert m["client_hello_bytes"] - m["classical_client_hello_bytes"] == 1184
    assert m["extra_handshake_bytes"] >= MLKEM768_SHARES - 4  # ECDSA signatures vary by a byte or two
    assert m["bytes_client_to_server"] > m["classical_bytes_client_to_server"] + 1184 - 4
    # harvest now, decrypt later: the classical recording opens, the hybrid one does not
    assert m["update_recovered_classical"] == 1 and m["update_recovered_hybrid"] == 0
    assert m["key_exchange_broken_hybrid"] == 0
    # the server got every upload intact: the model rebuilt from the received update predicts as the client's
    assert m["update_intact"] == 1.0 and m["agreement"] == 1.0
    assert m["accuracy_private"] == m["accuracy_plain"] == pytest.approx(w.accuracy())
    assert r.artifacts["negotiated"] == {"X25519MLKEM768": "X25519MLKEM768", "X25519": "X25519"}
    assert 0 < m["overhead_low"] <= m["overhead_high"] and m["overhead"] > 0
    assert m["handshake_s"] > 0 and m["transfer_s"] > 0 and m["classical_handshake_s"] > 0
    assert m["connections"] == 10
    prov = r.artifacts["provenance"]
    assert set(prov) == set(m)
    assert prov["overhead"] == "measured" and prov["modelled_overhead_broadband"] == "modelled"
    assert set(prov.values()) == {"measured", "modelled"}
    assert m["modelled_overhead_mobile_4g"] > 1.0  # the extra bytes cost serialisation time on a slow link
    assert any(f"{4 * n:,} bytes" in f for f in r.artifacts["findings"])
    assert "techniques=['pqc']" in r.artifacts["reproduce"]


def test_digits_cnn_through_the_registry_door():
    assert techniques.get("pqc").assessable
    w = examples.workload("digits_cnn")
    out = labkit.assess(w, techniques=["pqc"], fast=True)
    r = out.result("pqc")
    assert r is not None and r.technique == "pqc" and r.name == "assess"
    assert r.params["workload"] == "digits_cnn"
    assert r.metrics["parameters"] == 4 * 9 + 4 + 144 * 10 + 10
    assert r.metrics["update_bytes"] == 4 * r.metrics["parameters"]
    assert r.metrics["accuracy_plain"] == pytest.approx(w.accuracy())
    assert r.metrics["update_recovered_classical"] == 1 and r.metrics["update_recovered_hybrid"] == 0


def test_bad_input_and_an_update_over_the_server_limit(monkeypatch, iris):
    w, _ = iris
    with pytest.raises(InvalidInput, match="Workload"):
        pqc_assess.assess("model.onnx")
    with pytest.raises(InvalidInput, match="cert"):
        pqc_assess.assess(w, cert="rsa-1024")
    with pytest.raises(InvalidInput, match="repeat"):
        pqc_assess.assess(w, repeat=1)
    monkeypatch.setattr(pqc_assess, "MAX_UPLOAD", 100)
    s = pqc_assess.support(w)
    assert not s.supported and s.problems[0].op == "update size" and "MiB" in s.problems[0].reason
    r = pqc_assess.assess(w)
    assert r.metrics == {"supported": 0} and r.artifacts["unsupported"][0]["op"] == "update size"
