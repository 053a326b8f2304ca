"""The workload rebuilt as torch modules: same outputs as the intake's plaintext program, trainable."""

import numpy as np
import pytest
import torch
from torch import nn

from labkit.errors import InvalidInput
from labkit.workload import Workload
from labkit.workload.torchmodel import input_tensor, to_torch


def _workload(model, shape, n=40, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, *shape)).astype(np.float32)
    y = rng.integers(0, classes, size=n)
    return Workload.from_torch(model.eval(), X, y, name="t")


def _agrees(w, **kw):
    m = to_torch(w, **kw)
    X = w.X_test
    return np.abs(m(input_tensor(w, X)).detach().numpy() - w.logits(X)).max()


def test_cnn_with_batchnorm_pools_and_activations_matches_the_program():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(4)
    with torch.no_grad():  # running statistics far from (0, 1), so the fold is exercised
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), bn, nn.Tanh(), nn.AvgPool2d(2, padding=1, count_include_pad=False),
        nn.Conv2d(4, 3, 2, stride=2), nn.GELU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3, 3), nn.Softmax(dim=1),
    )  # fmt: skip
    w = _workload(model, (2, 8, 8))
    assert _agrees(w) < 1e-4
    kinds = [type(m).__name__ for m in to_torch(w)]
    assert "BatchNorm2d" in kinds and kinds[-1] == "Softmax"
    assert type(to_torch(w, drop_final=True)[-1]).__name__ == "Linear"


def test_mlp_with_sigmoid_output_and_batchnorm1d():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())
    w = _workload(model, (5,), classes=2)
    assert _agrees(w) < 1e-4
    assert _agrees(w, drop_final=True) > 1e-3  # logits, not probabilities


def test_rebuilt_model_trains_and_has_the_workload_parameter_count():
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    w = _workload(model, (4,))
    m = to_torch(w, drop_final=True)
    assert sum(p.numel() for p in m.parameters() if p.requires_grad) == w.n_parameters() == 4 * 6 + 6 + 6 * 3 + 3
    loss = nn.functional.cross_entropy(m(input_tensor(w, w.X_train)), torch.as_tensor(w.y_train))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())


def test_a_graph_outside_the_feed_forward_subset_is_refused():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x) + x

    w = _workload(Skip(), (4,), classes=4)
    with pytest.raises(InvalidInput, match="feed-forward"):
        to_torch(w)
