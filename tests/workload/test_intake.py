"""The workload intake: the graph read as a program equals torch, files are untrusted data, bad input is named."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from labkit.errors import InvalidInput
from labkit.workload import Workload, examples
from labkit.workload.data import split

nn = torch.nn


def _torch_out(model, X):
    with torch.no_grad():
        return model.eval()(torch.from_numpy(np.asarray(X, dtype=np.float32))).numpy().reshape(len(X), -1)


def _images(n=40, shape=(3, 10, 10), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, *shape)).astype(np.float32), rng.integers(0, 4, n)


def _with_bn_stats(model):
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return model


LAYER_MODELS = {
    "conv stride/pad, BN, avgpool, tanh": lambda: nn.Sequential(
        nn.Conv2d(3, 6, 3, stride=2, padding=1),
        nn.BatchNorm2d(6),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 4),
    ),
    "grouped conv, maxpool, gelu, dropout": lambda: nn.Sequential(
        nn.Conv2d(3, 6, 3, groups=3), nn.GELU(), nn.MaxPool2d(2), nn.Dropout(0.3), nn.Flatten(), nn.Linear(6 * 4 * 4, 4)
    ),
    "global average pool, sigmoid, softmax": lambda: nn.Sequential(
        nn.Conv2d(3, 5, 3, padding=1),
        nn.Sigmoid(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(5, 4),
        nn.Softmax(dim=1),
    ),
    "linear, BN1d, relu": lambda: nn.Sequential(
        nn.Flatten(), nn.Linear(300, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4)
    ),
}


@pytest.mark.parametrize("label", list(LAYER_MODELS))
def test_program_matches_torch_for_each_layer_kind(label):
    torch.manual_seed(1)
    model = _with_bn_stats(LAYER_MODELS[label]())
    X, y = _images()
    w = Workload.from_torch(model, X, y, name="layers")
    assert w.program is not None, w.problems
    want = _torch_out(model, w.X_test)
    np.testing.assert_allclose(w.logits(w.X_test), want, atol=1e-4)
    folded = w.program.folded()
    np.testing.assert_allclose(folded.forward(w.X_test).reshape(len(w.X_test), -1), want, atol=1e-4)
    assert not any(layer.kind == "batchnorm" for layer in folded.layers)


def test_batchnorm_node_is_folded_into_the_conv_before_it():
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    arrays = {
        "W": rng.normal(size=(4, 2, 3, 3)),
        "B": rng.normal(size=4),
        "g": rng.uniform(0.5, 1.5, 4),
        "b": rng.normal(size=4),
        "m": rng.normal(size=4),
        "v": rng.uniform(0.5, 2, 4),
    }
    inits = [numpy_helper.from_array(a.astype(np.float32), k) for k, a in arrays.items()]
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"], name="bn", epsilon=1e-5),
        helper.make_node("Flatten", ["n"], ["y"], name="flat"),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 100])],
        inits,
    )
    onnx_bytes = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    X = rng.normal(size=(8, 2, 5, 5)).astype(np.float32)
    w = Workload.from_onnx(onnx_bytes, X, np.arange(8) % 3)
    assert [layer.kind for layer in w.program.layers] == ["conv", "batchnorm", "reshape"]
    folded = w.program.folded()
    assert [layer.kind for layer in folded.layers] == ["conv", "reshape"]
    assert folded.notes == ("BatchNormalization 'bn' folded into Conv 'conv'",)
    np.testing.assert_allclose(folded.forward(X), w.program.forward(X), atol=1e-9)
    from onnx.reference import ReferenceEvaluator

    want = ReferenceEvaluator(w.proto).run(None, {"x": X})[0]
    np.testing.assert_allclose(w.logits(X), want, atol=1e-4)


def test_examples_equal_their_torch_modules_and_learn():
    for name in ("digits_cnn", "cryptonets"):
        w = examples.workload(name)
        model = examples.trained(name, 1234)
        np.testing.assert_allclose(w.logits(w.X_test[:50]), _torch_out(model, w.X_test[:50]), atol=1e-4)
        assert w.accuracy() > 0.9
    assert examples.workload("cryptonets").input_shape == (1, 28, 28)
    assert examples.workload("cryptonets").program.layers[0].out_shape == (5, 13, 13)


def test_unsupported_ops_are_named_with_a_rewrite():
    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    X = np.random.default_rng(0).normal(size=(20, 5, 4)).astype(np.float32)
    w = Workload.from_torch(Recurrent(), X, np.arange(20) % 3)
    assert w.program is None
    lstm = [p for p in w.problems if p.op == "LSTM"]
    assert lstm and "unroll" in lstm[0].suggestion and lstm[0].node
    # the original model still runs in plaintext (ONNX's reference evaluator)
    assert w.logits(w.X_test[:2]).shape == (2, 3)

    class Top(nn.Module):
        def forward(self, x):
            return torch.topk(x, 2).values

    w = Workload.from_torch(Top(), np.ones((6, 5), np.float32), np.arange(6) % 2)
    assert [p.op for p in w.problems] == ["TopK"]


def test_skip_connection_is_refused_as_a_branch():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(6, 6), nn.Linear(6, 2)

        def forward(self, x):
            return self.b(torch.relu(self.a(x)) + x)

    w = Workload.from_torch(Residual(), np.ones((8, 6), np.float32), np.arange(8) % 2)
    assert w.program is None
    assert any("chain" in p.reason or "skip" in p.reason for p in w.problems)


# -- files are untrusted ----------------------------------------------------------------------------
@pytest.fixture
def mlp_files(tmp_path):
    w = examples.workload("digits_mlp")
    model = tmp_path / "m.onnx"
    model.write_bytes(w.onnx_bytes)
    data = tmp_path / "d.npz"
    np.savez(data, X=w.X_test, y=w.y_test)
    return w, model, data


def test_files_give_the_same_workload(mlp_files):
    w, model, data = mlp_files
    loaded = Workload.load(model, data)
    assert loaded.name == "m" and loaded.program is not None
    np.testing.assert_allclose(loaded.logits(w.X_test[:5]), w.logits(w.X_test[:5]))
    again = Workload.load(model, data)
    assert again.digest == loaded.digest  # the split is deterministic
    assert len(loaded.X_test) == round(len(w.X_test) * 0.25)


def test_not_onnx_truncated_and_pickle_files_are_refused(tmp_path, mlp_files):
    w, model, data = mlp_files
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\xff this is not a protobuf" * 10)
    with pytest.raises(InvalidInput, match=r"not a valid ONNX|does not hold an ONNX"):
        Workload.load(junk, data)
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(w.onnx_bytes[: len(w.onnx_bytes) // 2])
    with pytest.raises(InvalidInput, match="ONNX"):
        Workload.load(cut, data)
    pt = tmp_path / "model.pt"
    pt.write_bytes(b"PK\x03\x04")
    with pytest.raises(InvalidInput, match="run code"):
        Workload.load(pt, data)
    objects = tmp_path / "objects.npz"
    np.savez(objects, X=np.array([{"a": 1}], dtype=object), y=np.array([0]))
    with pytest.raises(InvalidInput, match="numbers"):
        Workload.load(model, objects)


def test_size_limits_are_checked_before_reading(monkeypatch, mlp_files):
    w, model, data = mlp_files
    monkeypatch.setenv("LABKIT_MAX_MODEL_MB", "0.001")
    with pytest.raises(InvalidInput, match=r"limit for a model"):
        Workload.load(model, data)
    monkeypatch.delenv("LABKIT_MAX_MODEL_MB")
    monkeypatch.setenv("LABKIT_MAX_DATA_MB", "0.01")
    with pytest.raises(InvalidInput, match="limit for data"):
        Workload.load(model, data)


def _external(tmp_path, location):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    weight = numpy_helper.from_array(np.eye(3, dtype=np.float32), "W")
    (tmp_path / "secret.bin").write_bytes(np.eye(3, dtype=np.float32).tobytes())
    (folder / "weights.bin").write_bytes(np.eye(3, dtype=np.float32).tobytes())
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "36")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W"], ["y"], name="fc")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [weight],
    )
    path = folder / "m.onnx"
    path.write_bytes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    data = tmp_path / "d.npz"
    np.savez(data, X=np.eye(3, dtype=np.float32).repeat(4, 0), y=np.arange(12) % 3)
    del onnx
    return path, data


def test_external_data_only_inside_the_model_folder(tmp_path):
    path, data = _external(tmp_path, "weights.bin")
    w = Workload.load(path, data)
    np.testing.assert_allclose(w.logits(np.eye(3, dtype=np.float32)), np.eye(3))
    for bad in ("../secret.bin", str(tmp_path / "secret.bin")):
        path, data = _external(tmp_path, bad)
        with pytest.raises(InvalidInput, match="inside the model's own folder"):
            Workload.load(path, data)


# -- bad data is named ------------------------------------------------------------------------------
def test_bad_data_gets_a_clear_error():
    model = nn.Sequential(nn.Linear(4, 3))
    X, y = np.ones((10, 4), np.float32), np.arange(10) % 3
    with pytest.raises(InvalidInput, match=r"shape \(4,\).*shape \(5,\)"):
        Workload.from_onnx(Workload.from_torch(model, X, y).onnx_bytes, np.ones((10, 5)), y)
    bad = X.copy()
    bad[3, 2] = np.nan
    bad[7, 0] = np.inf
    with pytest.raises(InvalidInput, match=r"1 NaN and 1 infinite values \(first at row 3, feature \(2,\)\)"):
        Workload.from_torch(model, bad, y)
    with pytest.raises(InvalidInput, match="labels 3, 7 outside the model's 3 classes"):
        Workload.from_torch(model, X, np.array([0, 1, 2, 3, 7, 0, 1, 2, 0, 1]))
    with pytest.raises(InvalidInput, match=r"empty|samples along"):
        Workload.from_torch(model, np.ones((0, 4), np.float32), np.array([]))
    with pytest.raises(InvalidInput, match="together"):
        Workload.from_torch(model, X, y, X_test=X)


def test_model_over_the_memory_budget_is_refused(monkeypatch):
    monkeypatch.setenv("LABKIT_MEMORY_BUDGET_MB", "0.01")
    with pytest.raises(InvalidInput, match="over the memory budget"):
        Workload.from_torch(nn.Sequential(nn.Linear(64, 32)), np.ones((4, 64), np.float32), np.arange(4) % 2)


def test_csv_label_column(tmp_path, mlp_files):
    w, model, _ = mlp_files
    table = np.column_stack([w.y_test, w.X_test])
    path = tmp_path / "d.csv"
    header = "digit," + ",".join(f"p{i}" for i in range(64))
    np.savetxt(path, table, delimiter=",", header=header, comments="")
    loaded = Workload.load(model, path, label="digit")
    assert len(loaded.X_train) + len(loaded.X_test) == len(w.X_test)
    with pytest.raises(InvalidInput, match="no column 'label'"):
        Workload.load(model, path, label="label")


def test_split_is_deterministic_and_keeps_every_sample():
    X, y = np.arange(40).reshape(20, 2), np.arange(20) % 2
    (a, ya), (b, yb) = split(X, y)
    (a2, _), (b2, _) = split(X, y)
    assert np.array_equal(a, a2) and np.array_equal(b, b2)
    assert sorted(np.concatenate([a[:, 0], b[:, 0]]).tolist()) == list(range(0, 40, 2))
    assert len(b) == 5 and len(ya) + len(yb) == 20


def test_export_failure_says_what_the_model_expects():
    with pytest.raises(InvalidInput, match=r"\(batch, 7\)"):
        Workload.from_torch(nn.Linear(4, 2), np.ones((3, 7), np.float32), np.array([0, 1, 0]))


def test_onnx_bytes_round_trip_through_from_onnx():
    w = examples.workload("digits_cnn")
    again = Workload.from_onnx(
        io.BytesIO(w.onnx_bytes).getvalue(), w.X_train, w.y_train, X_test=w.X_test, y_test=w.y_test
    )
    assert again.digest == w.digest
