"""The plaintext models the MPC lab runs privately, trained on the lab's data sets.

A :class:`PlainModel` is a list of layers held as numpy arrays: what the
model owner knows. Its public part (:meth:`PlainModel.architecture`: layer
kinds and shapes, no weights) is what every party must agree on to run the
same circuit; its private part (:meth:`PlainModel.weights`) goes to the model
owner's process only. The feature standardisation learnt at training time is
folded into the first layer, so the data owner shares raw features and the
scaler's statistics stay with the model owner.

Models: ``digits_mlp`` (64-32-10 with ReLU, softmax output), ``digits_cnn``
(Conv2d 1->4 3x3, ReLU, Linear 144->10) and ``breast_cancer_logreg``
(30 -> 1, sigmoid output).

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (the same model families in their benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .. import config, datasets, validate
from ..errors import InvalidInput

MODELS = ("digits_mlp", "digits_cnn", "breast_cancer_logreg")
KINDS = ("linear", "conv2d", "relu", "flatten")


@dataclass(eq=False)
class PlainModel:
    """A small feed-forward model as plain arrays.

    Attributes
    ----------
    name : str
    dataset : str
        The labkit data set it was trained on.
    input_shape : tuple
        Shape of one sample as the layers see it ((64,) or (1, 8, 8)).
    layers : list of dict
        ``{"kind": "linear", "weight": (out, in), "bias": (out,)}``,
        ``{"kind": "conv2d", "weight": (out, in, k, k), "bias": (out,), "stride": 1, "padding": 0}``,
        ``{"kind": "relu"}`` or ``{"kind": "flatten"}``.
    output : {"softmax", "sigmoid"}
        How logits become probabilities.
    test_accuracy : float
        Plaintext accuracy on the data set's test split.
    """

    name: str
    dataset: str
    input_shape: tuple[int, ...]
    layers: list[dict[str, Any]]
    output: str
    test_accuracy: float = float("nan")
    info: dict[str, Any] = field(default_factory=dict)

    def architecture(self) -> list[dict[str, Any]]:
        """The public part: each layer's kind, hyper-parameters and weight shapes, no values."""
        arch = []
        for layer in self.layers:
            spec = {k: v for k, v in layer.items() if k not in ("weight", "bias")}
            for k in ("weight", "bias"):
                if k in layer:
                    spec[f"{k}_shape"] = tuple(layer[k].shape)
            arch.append(spec)
        return arch

    def weights(self) -> list[dict[str, np.ndarray]]:
        """The private part, layer by layer (empty dicts for layers without weights)."""
        return [{k: layer[k] for k in ("weight", "bias") if k in layer} for layer in self.layers]

    @property
    def n_outputs(self) -> int:
        """Number of output logits."""
        return int(next(layer["bias"].shape[0] for layer in reversed(self.layers) if "bias" in layer))

    @property
    def n_parameters(self) -> int:
        """Number of weights and biases."""
        return int(sum(a.size for w in self.weights() for a in w.values()))

    def prepare(self, X: np.ndarray) -> np.ndarray:
        """Validate a batch of raw features and reshape it to ``(n, *input_shape)`` float32."""
        X = np.asarray(X, dtype=np.float32)
        flat = int(np.prod(self.input_shape))
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim < 2 or int(np.prod(X.shape[1:])) != flat:
            raise InvalidInput(f"{self.name} takes samples of {flat} features; got an array of shape {X.shape}.")
        validate.finite_array("inputs", X)
        return X.reshape((X.shape[0], *self.input_shape))

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Plaintext forward pass (torch, float32): the baseline the private run is compared with."""
        import torch

        with torch.no_grad():
            return torch_forward(torch, self.layers, torch.from_numpy(self.prepare(X))).numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Plaintext class labels of a batch of raw features."""
        return predictions(self.logits(X), self.output)

    def __repr__(self) -> str:
        return (
            f"PlainModel({self.name!r}, {self.n_parameters} parameters, "
            f"test accuracy {self.test_accuracy:.3f}, output {self.output})"
        )


def predictions(logits: np.ndarray, output: str) -> np.ndarray:
    """Class labels from logits: argmax, or logit > 0 for a single sigmoid output."""
    logits = np.asarray(logits)
    if output == "sigmoid":
        return (logits.reshape(len(logits), -1)[:, 0] > 0).astype(np.int64)
    return logits.argmax(axis=1).astype(np.int64)


def torch_forward(torch: Any, layers: list[dict[str, Any]], x: Any) -> Any:
    """Run plain layers on a torch tensor (numpy weights converted on the fly)."""
    F = torch.nn.functional
    for layer in layers:
        kind = layer["kind"]
        if kind == "linear":
            x = F.linear(x, torch.as_tensor(layer["weight"]), torch.as_tensor(layer["bias"]))
        elif kind == "conv2d":
            w, b = torch.as_tensor(layer["weight"]), torch.as_tensor(layer["bias"])
            x = F.conv2d(x, w, b, stride=layer.get("stride", 1), padding=layer.get("padding", 0))
        elif kind == "relu":
            x = torch.relu(x)
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        else:
            raise InvalidInput(f"unknown layer kind {kind!r}; known: {', '.join(KINDS)}.")
    return x


def load(name: str, *, rng: int | np.random.Generator | None = None, epochs: int | None = None) -> PlainModel:
    """Train (once per process and seed) and return one of :data:`MODELS`.

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    rng : int, numpy Generator or None
        The training seed (None: ``LABKIT_SEED``); a Generator gives a fresh seed drawn from it.
    epochs : int, optional
        Full-batch Adam steps (default 300, 150 in fast mode).

    >>> m = load("breast_cancer_logreg")
    >>> m.architecture()[0]["weight_shape"], m.test_accuracy > 0.9
    ((1, 30), True)
    """
    if name not in MODELS:
        raise InvalidInput(f"unknown model {name!r}; known: {', '.join(MODELS)}.")
    epochs = config.pick(300, 150) if epochs is None else validate.integer("epochs", epochs)
    return _train(name, config.seed_from(rng), epochs)


@lru_cache(maxsize=8)
def _train(name: str, seed: int, epochs: int) -> PlainModel:
    import torch

    ds = datasets.load("breast_cancer" if name.startswith("breast") else "digits")
    if name == "digits_cnn":  # one scale for every pixel, so it folds into the convolution
        mean = np.full(ds.X.shape[1], ds.X_train.mean(), dtype=np.float32)
        std = np.full(ds.X.shape[1], ds.X_train.std(), dtype=np.float32)
    else:
        mean = ds.X_train.mean(axis=0)
        std = ds.X_train.std(axis=0) + 1e-6
    Xtr = torch.from_numpy((ds.X_train - mean) / std).float()
    ytr = torch.from_numpy(ds.y_train.astype(np.int64))
    gen = torch.Generator().manual_seed(seed)
    if name == "digits_mlp":
        net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
        shape, output = (64,), "softmax"
    elif name == "digits_cnn":
        Xtr = Xtr.reshape(-1, 1, 8, 8)
        net = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10)
        )
        shape, output = (1, 8, 8), "softmax"
    else:
        net = torch.nn.Sequential(torch.nn.Linear(30, 1))
        shape, output = (30,), "sigmoid"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny full-batch steps: one thread is fastest and spares the other cores
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            for p in net.parameters():  # re-initialise from our seed, independent of global state
                torch.nn.init.normal_(p, std=0.1, generator=gen)
            opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-4)
            for _ in range(epochs):
                opt.zero_grad()
                out = net(Xtr)
                if output == "sigmoid":
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], ytr.float())
                else:
                    loss = torch.nn.functional.cross_entropy(out, ytr)
                loss.backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    layers = _fold_standardisation(_to_layers(net), mean, std, shape)
    model = PlainModel(name, ds.name, shape, layers, output, info={"epochs": epochs, "seed": seed})
    model.test_accuracy = float((model.predict(ds.X_test) == ds.y_test).mean())
    return model


def _to_layers(net: Any) -> list[dict[str, Any]]:
    import torch

    layers = []
    for m in net:
        if isinstance(m, torch.nn.Linear):
            layers.append({"kind": "linear", "weight": _np(m.weight), "bias": _np(m.bias)})
        elif isinstance(m, torch.nn.Conv2d):
            layers.append(
                {
                    "kind": "conv2d",
                    "weight": _np(m.weight),
                    "bias": _np(m.bias),
                    "stride": int(m.stride[0]),
                    "padding": int(m.padding[0]),
                }
            )
        elif isinstance(m, torch.nn.ReLU):
            layers.append({"kind": "relu"})
        elif isinstance(m, torch.nn.Flatten):
            layers.append({"kind": "flatten"})
    return layers


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy().astype(np.float32).copy()


def _fold_standardisation(layers, mean, std, shape) -> list[dict[str, Any]]:
    """Fold ``(x - mean) / std`` into the first layer so raw features go in."""
    first = dict(layers[0])
    if first["kind"] == "linear":
        w = first["weight"] / std[None, :]
        first["bias"] = (first["bias"] - w @ mean).astype(np.float32)
        first["weight"] = w.astype(np.float32)
    else:  # conv2d without padding, trained with one mean and scale for all pixels
        m, s = float(mean[0]), float(std[0])
        first["weight"] = (first["weight"] / s).astype(np.float32)
        first["bias"] = (first["bias"] - first["weight"].sum(axis=(1, 2, 3)) * m).astype(np.float32)
    return [first, *layers[1:]]
