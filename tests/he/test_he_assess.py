"""The HE assess door: support in seconds without keys, encrypted accuracy within a point of the polynomial model."""

from __future__ import annotations

import time

import numpy as np
import pytest

import labkit.he as he
from labkit.he import assess as he_assess
from labkit.workload import Workload, examples

torch = pytest.importorskip("torch")
nn = torch.nn

NEEDS_OPENFHE = pytest.mark.skipif(not he.available("openfhe"), reason="no OpenFHE")


def _workload(model, shape, n=100):
    X = np.random.default_rng(0).uniform(-1, 1, (n, *shape)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(X)).argmax(1).numpy()
    return Workload.from_torch(model.eval(), X, y, name="test")


def test_support_answers_in_seconds_with_numbers_and_no_keys(monkeypatch):
    def no_keys(*a, **k):
        raise AssertionError("support must not make keys")

    monkeypatch.setattr(he.api, "context", no_keys)
    w = examples.workload("digits_mlp")
    start = time.perf_counter()
    s = he_assess.support(w, budget_bytes=8 * 2**30)
    assert time.perf_counter() - start < 10
    assert s.supported
    e = s.estimate
    assert e["ring_dimension"] == 8192 and e["depth"] == 3
    assert e["modulus_bits"] <= 218  # HE Standard, 128-bit at N=8192
    assert e["key_bytes"] > e["relin_key_bytes"] > e["public_key_bytes"] > 0
    assert e["ciphertext_bytes"] == 2 * 4 * 8192 * 8
    assert e["memory_bytes"] > 64 * e["ciphertext_bytes"] and e["seconds"] > 0
    assert any("polynomial" in n for n in s.notes) and any("argmax" in n for n in s.notes) is False


def test_maxpool_is_a_problem_with_the_avgpool_rewrite():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 2))
    s = he_assess.support(_workload(model, (1, 8, 8)), budget_bytes=2**33)
    assert not s.supported
    assert s.problems[0].op == "MaxPool" and "AvgPool" in s.problems[0].suggestion


def test_too_deep_model_is_unsupported_with_the_depth_needed():
    layers = []
    for _ in range(12):
        layers += [nn.Linear(4, 4), nn.Tanh()]
    model = nn.Sequential(*layers, nn.Linear(4, 2))
    w = _workload(model, (4,))
    s = he_assess.support(w, budget_bytes=2**33, degree=4)
    assert not s.supported
    (p,) = s.problems
    assert p.op == "depth" and "needs multiplicative depth 37" in p.reason and "32768" in p.reason
    assert "fewer or lower-degree" in p.suggestion
    assert he_assess.support(w, budget_bytes=2**33, degree=2).supported  # 12 x 2 + 1 = 25 levels fit


def test_memory_budget_falls_back_to_single_then_refuses():
    w = examples.workload("cryptonets")
    roomy = he_assess.support(w, budget_bytes=2**35)
    assert roomy.supported and roomy.estimate["batched_fits"] == 1
    batched, single = roomy.estimate["memory_bytes"], roomy.estimate["memory_bytes_single"]
    assert batched > 700 * 2**20  # 784 input ciphertexts of 6 limbs at N=8192, and the 845 outputs
    middle = he_assess.support(w, budget_bytes=int((single + batched) / 2))
    assert middle.supported and middle.estimate["batched_fits"] == 0
    assert any("one sample per ciphertext" in n for n in middle.notes)
    tight = he_assess.support(w, budget_bytes=100 * 2**20)
    assert not tight.supported and tight.problems[0].op == "memory" and "MB" in tight.problems[0].reason


def test_the_registry_door_is_wired():
    from labkit import assessment

    table = assessment.check(examples.workload("digits_mlp"), techniques=["he"])
    assert table["he"].supported and table["he"].estimate["ring_dimension"] == 8192


@pytest.mark.parametrize("backend", ["seal", pytest.param("openfhe", marks=NEEDS_OPENFHE)])
def test_encrypted_accuracy_within_one_point_of_the_polynomial_model(backend):
    w = examples.workload("digits_cnn")
    r = he_assess.assess(w, backend=backend, fast=True)
    m = r.metrics
    assert (r.technique, r.name, r.params["backend"], r.params["mode"]) == ("he", "assess", backend, "batched")
    assert m["supported"] == 1 and m["samples"] == len(w.X_test)  # the whole split fits one batch
    assert abs(m["accuracy_private"] - m["accuracy_polynomial"]) <= 0.01
    assert m["agreement"] >= 0.99 and m["agreement_original"] >= 0.95
    assert m["accuracy_plain"] == pytest.approx(w.accuracy())
    assert m["max_abs_gap"] < 0.05 and m["overhead"] > 1
    assert m["throughput_per_s"] == pytest.approx(4096 / m["latency_s"])
    assert m["ring_dimension"] == 8192 and m["key_bytes"] > 0 and m["peak_rss_bytes"] > 0
    assert {"client_encrypt", "server_evaluate", "client_decrypt"} <= set(r.timings)


def test_single_mode_on_a_few_samples():
    w = examples.workload("digits_mlp")
    r = he_assess.assess(w, mode="single", samples=3, fast=True, degree=3)
    assert r.params["mode"] == "single" and r.params["degree"] == 3 and r.metrics["samples"] == 3
    assert r.metrics["agreement"] == 1.0 and r.metrics["max_abs_gap"] < 0.05
    assert r.metrics["depth"] == 4 and r.metrics["batch_size"] == 1


def test_unsupported_workload_gives_a_result_not_an_exception():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 2))
    r = he_assess.assess(_workload(model, (1, 8, 8)), fast=True)
    assert r.metrics["supported"] == 0 and r.artifacts["unsupported"][0]["op"] == "MaxPool"


def test_the_lab_models_go_through_the_intake_and_the_compiler():
    from labkit.he import inference

    mlp = inference.workload("mlp")
    assert mlp.source == "torch" and [layer.op for layer in mlp.program.layers] == ["Gemm", "Mul", "Gemm"]
    assert mlp.program.layers[1].params["fn"] == "square"
    plan = inference.plan("mlp")
    assert plan.depth == 3 and [s.powers for s in plan.stages] == [(2,), ()]
    logreg = inference.plan("logreg")
    assert logreg.final == "sigmoid" and logreg.depth == 3
    assert logreg.final_poly[0] == pytest.approx(0.5) and logreg.final_poly[2] == 0.0  # odd around 0.5


def test_cryptonets_one_image_on_both_backends_agrees_with_the_polynomial_model():
    w = examples.workload("cryptonets")
    for backend in ["seal"] + (["openfhe"] if he.available("openfhe") else []):
        r = he_assess.assess(w, backend=backend, mode="single", samples=2, repeat=1, fast=True)
        assert r.metrics["agreement"] == 1.0 and r.metrics["max_abs_gap"] < 0.5
        assert r.metrics["latency_s"] < 5.0  # measured 0.34 s (SEAL, N=8192) and 0.75 s (OpenFHE, N=16384)


@pytest.mark.slow
def test_cryptonets_batched_accuracy_within_one_point_of_the_polynomial_model():
    w = examples.workload("cryptonets")
    r = he_assess.assess(w, backend="seal", mode="batched", repeat=1, fast=True)
    m = r.metrics
    assert m["samples"] == len(w.X_test) and abs(m["accuracy_private"] - m["accuracy_polynomial"]) <= 0.01
    assert m["agreement"] >= 0.99
