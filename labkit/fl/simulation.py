"""Federated training: clients compute updates, a server aggregates them, round after round.

A client's update is a flat *pseudo-gradient* ``(w_start - w_end) / lr``: with
one local step on its whole data (FedSGD) that is exactly its gradient; with
several local SGD steps (FedAvg) it is the sum of the gradients along its local
path. The server moves the global model by ``-lr`` times the aggregate, which
for the weighted mean equals averaging the clients' models (FedAvg).

What the server sees is explicit: without secure aggregation it receives every
client's update; with a :class:`~labkit.fl.secure_agg.SecureAggregator` it
receives only the (sample-weighted) sum. An ``observer`` callback is handed
exactly that view each round, which is where an honest-but-curious server's
attack plugs in.

References
----------
McMahan et al., "Communication-Efficient Learning of Deep Networks from
Decentralized Data", AISTATS 2017.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import bench, config, validate
from ..errors import InvalidInput
from ..results import NOT_FOR_PRODUCTION, Outcome, Result
from .aggregation import AGGREGATORS, aggregate, flatten, unflatten
from .data import ClientData, ImageData, image_data, split_clients
from .hooks import GradientDefense, NoDefense
from .models import accuracy, make_model, torch_threads
from .secure_agg import SecureAggregator


@dataclass
class Update:
    """What one client sends: a flat pseudo-gradient and how much data made it."""

    client_id: int
    vector: np.ndarray
    n_samples: int
    local_steps: int


def client_update(
    model: Any,
    client: ClientData,
    *,
    local_steps: int = 1,
    lr: float = 0.1,
    batch_size: int | None = None,
    defense: GradientDefense | None = None,
    rng: int | np.random.Generator | None = None,
) -> Update:
    """Train a private copy of ``model`` on one client's data and return its update.

    Parameters
    ----------
    model : torch.nn.Module
        The global model (left unchanged).
    client : ClientData
    local_steps : int
        SGD steps before sending (1 with ``batch_size=None`` is FedSGD).
    lr : float
        Local learning rate.
    batch_size : int, optional
        Minibatch per local step (default: the client's whole data).
    defense : GradientDefense, optional
        Applied to the gradient of every local step.
    rng : int or Generator, optional
        Minibatch order and the defense's randomness.
    """
    import torch

    if len(client) == 0:
        raise InvalidInput(f"client {client.client_id} holds no data; give every client at least one sample.")
    local_steps = validate.integer("local_steps", local_steps)
    if batch_size is not None:
        batch_size = validate.integer("batch_size", batch_size)
    lr = validate.positive("lr", lr)
    defense = defense or NoDefense()
    gen = config.rng(rng)
    local = copy.deepcopy(model)
    params = [p for p in local.parameters() if p.requires_grad]
    start = [p.detach().clone() for p in params]
    X = torch.as_tensor(client.X, dtype=torch.float32)
    y = torch.as_tensor(client.y, dtype=torch.long)
    n = len(client)
    bs = n if batch_size is None else min(batch_size, n)
    order, pos = gen.permutation(n), 0
    for _ in range(local_steps):
        if pos + bs > n:
            order, pos = gen.permutation(n), 0
        idx = torch.as_tensor(order[pos : pos + bs])
        pos += bs
        grads = defense.client_gradients(local, X[idx], y[idx], generator=gen)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    delta = [(s - p.detach()) / lr for s, p in zip(start, params)]
    return Update(client.client_id, flatten(delta), n, local_steps)


def train(
    *,
    data: ImageData | str = "digits",
    arch: str = "mlp",
    n_clients: int = 4,
    rounds: int = 10,
    local_steps: int = 1,
    lr: float = 0.3,
    batch_size: int | None = None,
    rule: str = "mean",
    secure_aggregator: SecureAggregator | None = None,
    defense: GradientDefense | None = None,
    n_byzantine: int = 0,
    non_iid: bool = False,
    samples_per_client: int | None = None,
    model: Any = None,
    rng: int | np.random.Generator | None = None,
    observer: Callable[[int, dict[str, Any]], None] | None = None,
    progress: bool = False,
) -> Outcome[Any]:
    """Run federated training and report test accuracy after every round.

    Parameters
    ----------
    data : ImageData or {"digits", "patches32"}
    arch : {"mlp", "cnn"}
        Used when ``model`` is not given.
    n_clients, rounds, local_steps, lr, batch_size
        The protocol: FedSGD is ``local_steps=1, batch_size=None``.
    rule : {"mean", "median", "trimmed_mean", "krum"}
        Server aggregation. Robust rules need individual updates, so they
        cannot be combined with ``secure_aggregator``.
    secure_aggregator : SecureAggregator, optional
        The server then sees only the sample-weighted sum of the updates.
    defense : GradientDefense, optional
        Client-side defense applied by every honest client.
    n_byzantine : int
        The first ``n_byzantine`` clients send their update multiplied by -5
        (a sign-flipping poisoning attack) to show what robust rules buy.
    non_iid, samples_per_client
        How the training data is split (see :func:`~labkit.fl.data.split_clients`).
    model : torch.nn.Module, optional
        A starting model (copied); otherwise a fresh seeded one.
    rng : int or numpy Generator, optional
        Seeds the split, the model and the clients (None: ``LABKIT_SEED``).
    observer : callable, optional
        ``observer(round, view)`` gets what the server sees each round:
        ``{"updates": [Update, ...]}`` or, with secure aggregation,
        ``{"sum": vector, "n_samples": total, "n_clients": k}`` where ``vector``
        is the sample-weighted mean (clients pre-scale by their public weights).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Outcome
        ``value``: the trained global model; ``result``: a Result with ``metrics["accuracy"]`` (after the
        last round), ``best_accuracy``, ``rounds`` and ``artifacts["accuracy_per_round"]``.

    Examples
    --------
    >>> run = train(n_clients=2, rounds=2, samples_per_client=50, rng=0)
    >>> len(run.result.artifacts["accuracy_per_round"]), run.result.metrics["rounds"]
    (2, 2)
    """
    import torch

    seed = config.seed_from(rng)
    n_clients = validate.integer("n_clients", n_clients)
    rounds = validate.integer("rounds", rounds)
    n_byzantine = validate.integer("n_byzantine", n_byzantine, low=0)
    validate.choice("rule", rule, AGGREGATORS)
    if secure_aggregator is not None and rule != "mean":
        raise InvalidInput(
            f"rule={rule!r} needs every client's update in the clear, but secure aggregation shows the server "
            "only their sum: use rule='mean' with a secure aggregator."
        )
    if n_byzantine >= n_clients:
        raise InvalidInput(f"n_byzantine ({n_byzantine}) must be smaller than n_clients ({n_clients}).")
    data = image_data(data) if isinstance(data, str) else data
    gen = config.rng(seed)
    clients = split_clients(
        data.X_train, data.y_train, n_clients=n_clients, samples_per_client=samples_per_client, non_iid=non_iid, rng=gen
    )
    global_model = (
        copy.deepcopy(model)
        if model is not None
        else make_model(arch, input_shape=data.image_shape, n_classes=data.n_classes, rng=seed)
    )
    params = [p for p in global_model.parameters() if p.requires_grad]
    defense = defense or NoDefense()
    accs, round_times = [], []
    from tqdm.auto import tqdm

    with torch_threads(1):  # tiny models: one thread is faster (see models.torch_threads)
        for r in tqdm(range(rounds), desc="federated rounds", disable=not progress):
            t0 = time.perf_counter()
            updates = []
            for c in clients:
                u = client_update(
                    global_model, c, local_steps=local_steps, lr=lr, batch_size=batch_size, defense=defense, rng=gen
                )
                if c.client_id < n_byzantine:
                    u.vector = -5.0 * u.vector
                updates.append(u)
            weights = [u.n_samples for u in updates]
            if secure_aggregator is not None:
                # sample counts are public: each client pre-scales by its weight, so the sum is the weighted mean
                agg = secure_aggregator.sum([(w / sum(weights)) * u.vector for w, u in zip(weights, updates)])
                if observer is not None:
                    observer(r, {"sum": agg, "n_samples": sum(weights), "n_clients": len(updates)})
            else:
                if observer is not None:
                    observer(r, {"updates": updates})
                agg = aggregate(
                    [u.vector for u in updates], rule=rule, weights=weights, n_byzantine=max(n_byzantine, 1)
                )
            with torch.no_grad():
                for p, g in zip(params, unflatten(agg, params)):
                    p -= lr * g
            round_times.append(time.perf_counter() - t0)
            accs.append(accuracy(global_model, data.X_test, data.y_test))
    result = Result(
        technique="fl",
        name="train",
        params={
            "data": data.name,
            "arch": arch if model is None else "given",
            "n_clients": n_clients,
            "rounds": rounds,
            "local_steps": local_steps,
            "lr": lr,
            "batch_size": batch_size,
            "rule": rule,
            "secure_aggregator": getattr(secure_aggregator, "name", None),
            **defense.params(),
            "n_byzantine": n_byzantine,
            "non_iid": non_iid,
            "samples_per_client": samples_per_client,
            "seed": seed,
        },
        metrics={"accuracy": accs[-1], "best_accuracy": max(accs), "rounds": rounds},
        timings={"round": bench.Timing("round", tuple(round_times))},
        artifacts={"accuracy_per_round": accs},
    )
    if secure_aggregator is not None and (secure_aggregator.simulated or getattr(secure_aggregator, "insecure", False)):
        result.flag(NOT_FOR_PRODUCTION)
        result.artifacts["note"] = f"secure aggregation simulated by {secure_aggregator.name}: nothing is protected"
    return Outcome(global_model, result)
