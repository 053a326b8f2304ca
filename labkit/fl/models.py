"""Small models for the federated simulation, built on torch.

Two shapes: ``mlp`` (one hidden layer) and ``cnn`` (the LeNet-style network of
the DLG paper: three 5x5 convolutions, the first two with stride 2, then one
linear layer). Activations default to tanh, which is smooth (as is the sigmoid), so the
second derivatives a gradient-matching attack needs exist everywhere.

References
----------
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019 (the LeNet variant).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import config
from ..errors import InvalidInput

ARCHITECTURES = ("mlp", "cnn")
ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _activation(name: str):
    import torch.nn as nn

    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[name]()


def make_model(
    arch: str = "mlp",
    *,
    input_shape: tuple[int, int, int],
    n_classes: int,
    hidden: int = 64,
    activation: str = "tanh",
    rng: int | np.random.Generator | None = None,
) -> Any:
    """Build a small classifier (a ``torch.nn.Sequential``) with seeded weights.

    Parameters
    ----------
    arch : {"mlp", "cnn"}
    input_shape : (C, H, W)
    n_classes : int
        Outputs of the last linear layer (the classifier head).
    hidden : int
        Width of the MLP's hidden layer (ignored by the CNN).
    activation : {"sigmoid", "tanh", "relu"}
    rng : int or numpy Generator, optional
        Seeds the weight initialisation (None: ``LABKIT_SEED``).

    >>> m = make_model("cnn", input_shape=(1, 8, 8), n_classes=10)
    >>> sum(p.numel() for p in m.parameters())
    8026
    """
    import torch
    import torch.nn as nn

    if arch not in ARCHITECTURES:
        raise InvalidInput(f"arch must be one of {ARCHITECTURES}, not {arch!r}.")
    if activation not in ACTIVATIONS:
        raise InvalidInput(f"activation must be one of {ACTIVATIONS}, not {activation!r}.")
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise InvalidInput(f"input_shape must be (channels, height, width), not {input_shape!r}.")
    if n_classes < 2:
        raise InvalidInput(f"n_classes must be at least 2, not {n_classes!r}.")
    c, h, w = (int(v) for v in input_shape)
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(config.seed_from(rng))
    try:
        if arch == "mlp":
            model = nn.Sequential(
                nn.Flatten(), nn.Linear(c * h * w, hidden), _activation(activation), nn.Linear(hidden, n_classes)
            )
        else:
            if h % 4 or w % 4:
                raise InvalidInput(f"the cnn needs height and width divisible by 4, not {h}x{w}.")
            model = nn.Sequential(
                nn.Conv2d(c, 12, 5, padding=2, stride=2),
                _activation(activation),
                nn.Conv2d(12, 12, 5, padding=2, stride=2),
                _activation(activation),
                nn.Conv2d(12, 12, 5, padding=2, stride=1),
                _activation(activation),
                nn.Flatten(),
                nn.Linear(12 * (h // 4) * (w // 4), n_classes),
            )
    finally:
        torch.random.set_rng_state(gen_state)
    return model


@contextmanager
def torch_threads(n: int = 1):
    """Run a block with ``n`` torch intra-op threads, then restore the setting.

    These models are tiny: splitting their kernels across threads costs more in
    synchronisation than it gains, and on a shared 2-core machine it made the
    attacks ~30x slower. The lab's loops therefore run single-threaded.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``X`` the model classifies as ``y``.

    >>> m = make_model("mlp", input_shape=(1, 2, 2), n_classes=2)
    >>> 0.0 <= accuracy(m, np.zeros((4, 1, 2, 2), np.float32), np.array([0, 1, 0, 1])) <= 1.0
    True
    """
    import torch

    if len(X) == 0:
        raise InvalidInput("accuracy needs at least one sample.")
    with torch.no_grad():
        pred = model(torch.as_tensor(X, dtype=torch.float32)).argmax(dim=1).numpy()
    return float(np.mean(pred == np.asarray(y)))
