"""The tee assess door: the user's model inside the simulated enclave, its working set against the modelled EPC."""

from __future__ import annotations

import time

import numpy as np
import pytest

import labkit
from labkit import techniques
from labkit.errors import InvalidInput
from labkit.tee import assess as tee_assess
from labkit.tee.costs import CostModel
from labkit.workload import Workload, examples

torch = pytest.importorskip("torch")
nn = torch.nn
MiB = 2**20


@pytest.fixture(scope="module")
def iris(iris_mlp):
    X, y, model = iris_mlp(hidden=8, epochs=60)
    return Workload.from_torch(model, X, y, name="iris_mlp")


def test_working_set_equals_the_hand_count_and_the_cost_model(iris):
    w = iris
    ws = tee_assess.epc_figures(w.program, batch_size=10)
    weights = 4 * 8 + 8 + 8 * 3 + 3  # 67 values
    widest = 8 + 8  # the ReLU holds 8 values in and 8 out per sample (Linear 4->8: 12, Linear 8->3: 11)
    assert ws["weights_bytes"] == 4 * weights == 268
    assert ws["activation_bytes"] == 10 * widest * 4 == 640
    assert ws["working_set_bytes"] == 908
    assert ws["epc_bytes"] == 93 * MiB and ws["epc_fits"] == 1
    assert ws["epc_overhead_sgx"] == pytest.approx(float(CostModel().ratio(908 / MiB))) == pytest.approx(1.05)
    assert ws["largest_batch_in_epc"] == (93 * MiB - 268) // 64


def test_a_working_set_over_the_epc_pages_in_the_model():
    w = examples.workload("digits_cnn")
    batch = 1 << 20
    ws = tee_assess.epc_figures(w.program, batch_size=batch)
    assert ws["working_set_bytes"] == 5960 + batch * 288 * 4  # ReLU: 144 in + 144 out per sample
    assert ws["epc_fits"] == 0
    mib = ws["working_set_bytes"] / MiB
    assert ws["epc_overhead_sgx"] == pytest.approx(1.05 + (26 - 1.05) * (1 - 93 / mib)) and ws["epc_overhead_sgx"] > 20
    assert ws["epc_overhead_cvm"] == pytest.approx(1.05)


def test_support_in_seconds_and_a_layer_torch_cannot_rebuild(iris):
    from onnx import TensorProto, helper, numpy_helper

    w = iris
    start = time.perf_counter()
    s = tee_assess.support(w)
    assert time.perf_counter() - start < 10
    assert s.supported and s.estimate["working_set_bytes"] == 268 + 64 * 16 * 4
    assert s.estimate["seconds"] >= s.estimate["seconds_fast"] > 0 and s.estimate["memory_bytes"] > 0
    # MaxPool with asymmetric padding: the intake reads it, the torch rebuild cannot
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], axis=1, name="flat"),
        helper.make_node("Gemm", ["f", "W", "B"], ["y"], transB=1, name="fc"),
    ]
    inits = [
        numpy_helper.from_array(np.ones((3, 16), np.float32), "W"),
        numpy_helper.from_array(np.zeros(3, np.float32), "B"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    X = np.random.default_rng(0).uniform(size=(40, 1, 8, 8)).astype(np.float32)
    bad = Workload.from_onnx(model.SerializeToString(), X, np.arange(40) % 3)
    s = tee_assess.support(bad)
    assert not s.supported and s.problems[0].node == "pool" and s.problems[0].op == "MaxPool"
    assert "asymmetric" in s.problems[0].reason
    r = tee_assess.assess(bad)
    assert r.metrics == {"supported": 0} and r.artifacts["unsupported"][0]["node"] == "pool"


def test_iris_model_in_the_enclave_agrees_and_the_attacks_fail(iris):
    w = iris
    r = tee_assess.assess(w, fast=True, batch_size=16, repeat=5)
    m = r.metrics
    assert m["samples"] == len(w.X_test) and m["served"] >= m["samples"]
    assert m["agreement"] == 1.0 and m["agreement_original"] == 1.0
    assert m["accuracy_private"] == m["accuracy_plain"] > 0.8
    assert m["max_abs_error"] < 1e-4
    assert m["enclave_parameters"] == 67
    assert m["tamper_refused"] == 1 and m["replay_refused"] == 1  # a resent request frame is refused
    assert m["modified_model_key_released"] == 0 and m["modified_model_client_trusts"] == 0
    assert "measurement_mismatch" in r.artifacts["modified_model"]["codes"]
    assert m["host_saw_inputs"] == 0 and m["host_saw_outputs"] == 0
    assert m["overhead"] > 1 and m["overhead_low"] <= m["overhead_high"]  # two pipe crossings cost something
    assert m["working_set_bytes"] == 268 + 16 * 16 * 4
    prov = r.artifacts["provenance"]
    assert set(prov) == set(m)
    assert prov["overhead"] == "simulated" and prov["working_set_bytes"] == "modelled"
    assert prov["epc_overhead_sgx"] == "modelled" and prov["tamper_refused"] == "measured"
    assert any("TamperDetected" in f for f in r.artifacts["findings"])
    assert any("sent again was refused" in f for f in r.artifacts["findings"])


def test_digits_cnn_through_the_registry_door():
    assert techniques.get("tee").assessable
    w = examples.workload("digits_cnn")
    out = labkit.assess(w, techniques=["tee"], fast=True)
    r = out.result("tee")
    assert r is not None and r.technique == "tee" and r.params["workload"] == "digits_cnn"
    m = r.metrics
    assert m["agreement"] == 1.0 and m["tamper_refused"] == 1 and m["modified_model_key_released"] == 0
    assert m["working_set_bytes"] == 5960 + 64 * 288 * 4 and m["epc_fits"] == 1
    assert m["accuracy_private"] == pytest.approx(m["accuracy_plain"])


def test_bad_input_is_refused_before_any_enclave(iris):
    w = iris
    with pytest.raises(InvalidInput, match="Workload"):
        tee_assess.assess(np.zeros(3))
    with pytest.raises(InvalidInput, match="batch_size"):
        tee_assess.assess(w, batch_size=0)
    with pytest.raises(InvalidInput, match="scheme"):
        tee_assess.assess(w, scheme="rsa")
