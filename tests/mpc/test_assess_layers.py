"""Every layer kind through the intake and CrypTen parties, against the same layers in plaintext."""

import numpy as np
import pytest

from labkit.errors import InvalidInput
from labkit.mpc import inference, models
from labkit.workload import Workload


def _net(case: str):
    import torch

    nn = torch.nn
    torch.manual_seed(0)

    class Square(nn.Module):
        def forward(self, x):
            return x * x

    if case == "conv_bn_relu_maxpool":  # stride, padding, BN folded into the conv, padded max pool
        net = nn.Sequential(
            nn.Conv2d(1, 4, 3, stride=2, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2, stride=1, padding=1),
            nn.Flatten(),
            nn.Linear(4 * 5 * 5, 6),
        )
    elif case == "groups_avgpool_affine_tanh":  # grouped conv, average pool without padded taps, BN left alone
        net = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.Conv2d(4, 4, 3, groups=2, dilation=1),
            nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
            nn.BatchNorm2d(4),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(4 * 3 * 3, 6),
        )
    elif case == "sigmoid_gelu_square":
        net = nn.Sequential(
            nn.Linear(64, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 8), Square(), nn.Linear(8, 6)
        )
    else:  # a final softmax: the output step
        net = nn.Sequential(nn.Linear(64, 6), nn.Softmax(dim=1))
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def _workload(case: str) -> Workload:
    rng = np.random.default_rng(1)
    shape = (1, 8, 8) if case.startswith(("conv", "groups")) else (64,)
    X = rng.normal(size=(60, *shape)).astype(np.float32)
    y = rng.integers(0, 6, size=60)
    return Workload.from_torch(_net(case), X, y, X_test=X[:40], y_test=y[:40], name=case)


@pytest.mark.parametrize(
    "case, kinds",
    [
        ("conv_bn_relu_maxpool", {"conv2d", "relu", "maxpool", "flatten", "linear"}),
        ("groups_avgpool_affine_tanh", {"conv2d", "avgpool", "affine", "tanh"}),
        ("sigmoid_gelu_square", {"linear", "sigmoid", "gelu", "square"}),
        ("softmax", {"linear"}),
    ],
)
def test_layer_kinds_agree_with_plaintext(case, kinds):
    w = _workload(case)
    model = models.plain_model(w)
    assert kinds <= {layer["kind"] for layer in model.layers}
    assert "batchnorm" not in {layer["kind"] for layer in model.layers}  # folded, or kept as a per-channel affine
    if case.startswith("conv"):
        assert any(layer["kind"] == "maxpool" and any(layer["padding"]) for layer in model.layers)
        assert model.layers[0]["stride"] == (2, 2) and model.layers[0]["padding"] == (1, 1, 1, 1)
    if case.startswith("groups"):
        assert any(layer.get("groups") == 2 for layer in model.layers)
        pool = next(layer for layer in model.layers if layer["kind"] == "avgpool")
        assert any(pool["padding"]) and not pool["count_include_pad"]
    # the MPC layers in plaintext are the original model (GELU: its tanh form, within 1e-3)
    reference = w.logits(w.X_test)
    if case == "softmax":
        assert model.info["final"] == "softmax" and model.output == "softmax"
        assert np.array_equal(model.predict(w.X_test), w.predict(w.X_test))
    else:
        assert np.abs(model.logits(w.X_test) - reference).max() < 2e-3
    reveal = "probabilities" if case == "softmax" else "logits"
    out = inference.private_inference(model, w.X_test, parties=2, reveal=reveal, repeat=0)
    m = out.result.metrics
    assert m["agreement"] >= 0.95, m
    assert m["max_abs_error"] < (
        0.02 if case in ("softmax", "sigmoid_gelu_square", "groups_avgpool_affine_tanh") else 2e-3
    )
    if case == "softmax":  # CrypTen's softmax against the model's own output
        assert np.abs(expected_probabilities(model, w) - reference).max() < 1e-4


def expected_probabilities(model, w):
    return inference.expected(model, w.X_test, "probabilities")


def test_a_one_score_sigmoid_model_thresholds_its_logit():
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 1), torch.nn.Sigmoid()).eval()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    w = Workload.from_torch(net, X, y, X_test=X, y_test=y)
    model = models.plain_model(w)
    assert model.output == "sigmoid" and model.info["final"] == "sigmoid"
    assert [layer["kind"] for layer in model.layers] == ["linear"]  # the sigmoid is the output step
    assert np.array_equal(model.predict(X), w.predict(X))


def test_plain_model_refuses_what_is_not_a_workload_or_not_a_program():
    with pytest.raises(InvalidInput, match="Workload"):
        models.plain_model("digits_cnn")
