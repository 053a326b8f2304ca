"""The plaintext models the MPC lab runs privately: made from a workload, the one intake of every model.

A :class:`PlainModel` is a list of layers held as numpy arrays: what the
model owner knows. Its public part (:meth:`PlainModel.architecture`: layer
kinds, hyper-parameters and shapes, no weights) is what every party must
agree on to run the same circuit; its private part (:meth:`PlainModel.weights`)
goes to the model owner's process only.

:func:`plain_model` makes one from any :class:`labkit.workload.Workload`: the
ONNX graph read as a feed-forward program, each batch normalisation folded
into the layer before it, a final softmax (or the sigmoid of a one-score
model) kept apart as :attr:`PlainModel.output`, so the data owner may reveal
logits, CrypTen's approximate probabilities, or only the label.

The lab's three models come in the same way (:func:`load`): ``digits_mlp``
(64-32-10 with ReLU), ``digits_cnn`` (Conv2d 1->4 3x3, ReLU, Linear
144->10) and ``breast_cancer_logreg`` (30 -> 1, sigmoid output) are trained
with torch, the feature standardisation folded into their first layer (the
data owner shares raw features; the scaler stays with the model owner), and
taken in by :meth:`Workload.from_torch` before :func:`plain_model`.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (the same model families in their benchmarks).
Ioffe & Szegedy, "Batch Normalization", ICML 2015 (folding at inference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .. import config, datasets, validate
from ..errors import InvalidInput
from .circuit import KINDS, torch_forward

MODELS = ("digits_mlp", "digits_cnn", "breast_cancer_logreg")
OUTPUTS = ("softmax", "sigmoid")


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
        One dict per layer: ``kind`` (see :data:`labkit.mpc.circuit.KINDS`), ``in_shape`` (one
        sample), the hyper-parameters (``stride``, ``padding`` (top, left, bottom, right),
        ``dilation``, ``groups``, ``kernel``, ``count_include_pad``, ``shape``) and, for
        ``linear``, ``conv2d`` and ``affine``, the arrays ``weight`` and ``bias``.
    output : {"softmax", "sigmoid"}
        How logits become probabilities: softmax over several scores, sigmoid of one score
        (the model's own final softmax or sigmoid, when it has one, is this step).
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
        if "n_outputs" in self.info:
            return int(self.info["n_outputs"])
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
            out = torch_forward(torch, self.layers, torch.from_numpy(self.prepare(X)))
            return out.reshape(out.shape[0], -1).numpy()

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
    logits = logits.reshape(len(logits), -1)
    if output == "sigmoid":
        return (logits.reshape(len(logits), -1)[:, 0] > 0).astype(np.int64)
    return logits.argmax(axis=1).astype(np.int64)


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
    from ..workload import Workload

    ds = datasets.load("breast_cancer" if name.startswith("breast") else "digits")
    net, shape = _trained_module(name, ds, seed, epochs)
    X_train, X_test = (ds.X_train.reshape(-1, *shape), ds.X_test.reshape(-1, *shape))
    workload = Workload.from_torch(
        net, X_train.astype(np.float32), ds.y_train, X_test=X_test.astype(np.float32), y_test=ds.y_test, name=name
    )
    model = plain_model(workload, dataset=ds.name)
    model.info.update(epochs=epochs, seed=seed)
    model.test_accuracy = float((model.predict(ds.X_test) == ds.y_test).mean())
    return model


def _trained_module(name: str, ds: Any, seed: int, epochs: int):
    """The torch module, trained on standardised features, with the standardisation folded into its first layer."""
    import torch

    if name == "digits_cnn":  # one scale for every pixel, so it folds into the convolution
        mean = np.full(ds.X.shape[1], ds.X_train.mean(), dtype=np.float32)
        std = np.full(ds.X.shape[1], ds.X_train.std(), dtype=np.float32)
    else:
        mean = ds.X_train.mean(axis=0)
        std = ds.X_train.std(axis=0) + 1e-6
    Xtr = torch.from_numpy((ds.X_train - mean) / std).float()
    ytr = torch.from_numpy(ds.y_train.astype(np.int64))
    gen = torch.Generator().manual_seed(seed)
    nn = torch.nn
    if name == "digits_mlp":
        net, shape, output = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)), (64,), "softmax"
    elif name == "digits_cnn":
        Xtr = Xtr.reshape(-1, 1, 8, 8)
        net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
        shape, output = (1, 8, 8), "softmax"
    else:
        net, shape, output = nn.Sequential(nn.Linear(30, 1)), (30,), "sigmoid"
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
    _fold_standardisation(torch, net[0], mean, std)
    return net.eval(), shape


def _fold_standardisation(torch: Any, first: Any, mean: np.ndarray, std: np.ndarray) -> None:
    """Fold ``(x - mean) / std`` into the first (linear or unpadded conv) layer, in place: raw features go in."""
    with torch.no_grad():
        if isinstance(first, torch.nn.Linear):
            w = first.weight / torch.from_numpy(std.astype(np.float32))[None, :]
            first.bias.copy_(first.bias - w @ torch.from_numpy(mean.astype(np.float32)))
            first.weight.copy_(w)
        else:  # conv2d without padding, trained with one mean and scale for all pixels
            m, s = float(mean[0]), float(std[0])
            first.weight.div_(s)
            first.bias.sub_(first.weight.sum(dim=(1, 2, 3)) * m)


# -- any workload -------------------------------------------------------------------------------
def plain_model(workload: Any, *, dataset: str | None = None) -> PlainModel:
    """The MPC layers of a workload's model (batch normalisation folded; see the module docstring).

    Parameters
    ----------
    workload : labkit.workload.Workload
    dataset : str, optional
        The labkit data set it belongs to (default: the workload's name).

    Returns
    -------
    PlainModel
        Its ``test_accuracy`` is that of these layers on the workload's test split.

    Raises
    ------
    InvalidInput
        When the graph is not a feed-forward program or a layer has no MPC form
        (:func:`labkit.mpc.assess.support` lists each with a suggestion).
    """
    from ..workload import Workload

    if not isinstance(workload, Workload):
        raise InvalidInput(f"plain_model takes a labkit.workload.Workload, not {type(workload).__name__}.")
    if workload.program is None:
        raise InvalidInput(
            f"{workload.name} is not a feed-forward program MPC can run: " + "; ".join(map(str, workload.problems))
        )
    program = workload.program.folded()
    layers = []
    for layer in program.layers:
        converted = layer_dict(layer)
        if isinstance(converted, str):
            raise InvalidInput(f"{layer.op} {layer.name!r} has no MPC form here: {converted}.")
        layers.append(converted)
    output = "sigmoid" if program.n_outputs == 1 else "softmax"
    final = program.final if program.final in ("softmax", "sigmoid") else None
    if final == "softmax" or (final == "sigmoid" and program.n_outputs == 1):
        layers.pop()  # argmax (or the 0 threshold) is unchanged; reveal="probabilities" applies it under MPC
    else:
        final = None
    info = {"n_outputs": program.n_outputs, "final": final, "notes": list(program.notes), "workload": workload.tag()}
    model = PlainModel(workload.name, dataset or workload.name, tuple(workload.input_shape), layers, output, info=info)
    model.test_accuracy = float((model.predict(workload.X_test) == workload.y_test).mean())
    return model


def layer_dict(layer: Any) -> dict[str, Any] | str:
    """One :class:`labkit.workload.layers.Layer` as an MPC layer dict, or why it has none."""
    p, shape = layer.params, tuple(layer.in_shape)
    if layer.kind == "linear":
        return {"kind": "linear", "in_shape": shape, "weight": _f32(p["weight"]), "bias": _f32(p["bias"])}
    if layer.kind == "conv":
        if len(shape) != 3:
            return f"only 2-D convolutions (inputs C x H x W) run here, not inputs of shape {shape}"
        return {
            "kind": "conv2d", "in_shape": shape, "weight": _f32(p["weight"]), "bias": _f32(p["bias"]),
            "stride": _ints(p["strides"]), "padding": _ints(p["pads"]), "dilation": _ints(p.get("dilations", (1, 1))),
            "groups": int(p.get("group", 1)),
        }  # fmt: skip
    if layer.kind in ("avgpool", "maxpool"):
        if len(shape) != 3:
            return f"only 2-D pooling (inputs C x H x W) runs here, not inputs of shape {shape}"
        return {
            "kind": layer.kind, "in_shape": shape, "kernel": _ints(p["kernel"]), "stride": _ints(p["strides"]),
            "padding": _ints(p["pads"]), "count_include_pad": bool(p.get("count_include_pad", False)),
        }  # fmt: skip
    if layer.kind == "batchnorm":
        return {"kind": "affine", "in_shape": shape, "weight": _f32(p["scale"]), "bias": _f32(p["shift"])}
    if layer.kind == "reshape":
        out = tuple(layer.out_shape)
        return (
            {"kind": "flatten", "in_shape": shape}
            if len(out) == 1
            else {"kind": "reshape", "in_shape": shape, "shape": out}
        )
    if layer.kind == "activation" and p["fn"] in KINDS:
        return {"kind": p["fn"], "in_shape": shape}
    return f"the layer kind {layer.kind} {dict(p).get('fn', '')} is not one of {', '.join(KINDS)}"


def _f32(a: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def _ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)
