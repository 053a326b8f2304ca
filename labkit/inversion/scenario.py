"""One federated round seen by an honest-but-curious server, attacked and scored.

The *target* client holds ``batch_size`` private images; ``n_clients - 1``
other clients hold as many others. Every client runs ``local_steps`` SGD steps
on its own batch (1 step = FedSGD) through its defense and sends its update.
What the server sees, and therefore attacks, is stated in the Result
(``artifacts["server_sees"]``):

- without secure aggregation: the target's own update, inverted as a batch
  of ``batch_size``; with several local steps the attacker (who knows the
  protocol) simulates them on its dummy batch;
- with secure aggregation: only the sample-weighted mean of all updates,
  inverted as one batch of ``n_clients * batch_size`` images (with local
  steps, an approximation: each client's path differs); the target's images
  are scored against their best distinct matches among them.

The model is at its seeded initialisation (round 0), the case the attack
papers study. Utility is the test accuracy of federated training on
``digits`` with the same defense and protocol (:func:`defense_utility`).

References
----------
Geiping et al., "Inverting Gradients", NeurIPS 2020 (threat model, local steps).
Bonawitz et al., "Practical Secure Aggregation", CCS 2017.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import bench, config, validate
from ..errors import InvalidInput
from ..fl.data import ClientData, ImageData, image_data
from ..fl.hooks import GradientDefense, NoDefense
from ..fl.models import make_model
from ..fl.secure_agg import SecureAggregator
from ..fl.simulation import client_update, train
from ..results import NOT_FOR_PRODUCTION, Outcome, Result
from .attacks import attack

DEFAULT_ARCH = {"digits": "mlp", "patches32": "cnn"}


@dataclass
class Images:
    """The target client's private batch and what the attacker rebuilt, both (B, C, H, W) in [0, 1].

    With secure aggregation the reconstruction holds the whole aggregate batch; the Result's
    ``artifacts["matching"]`` pairs each private image with its reconstruction.
    """

    private: np.ndarray
    reconstruction: np.ndarray


def _pick_indices(n_total: int, count: int, image_index: int | None, seed: int) -> np.ndarray:
    if count > n_total:
        raise InvalidInput(f"{count} images requested but the training set holds {n_total}; use fewer.")
    if image_index is None:
        return np.random.default_rng(seed).choice(n_total, size=count, replace=False)
    if not 0 <= image_index < n_total:
        raise InvalidInput(f"image_index must be in [0, {n_total}), not {image_index!r}.")
    return (image_index + np.arange(count)) % n_total


def run_scenario(
    *,
    data: ImageData | str = "digits",
    arch: str | None = None,
    attack_kind: str = "ig",
    batch_size: int = 1,
    n_clients: int = 1,
    local_steps: int = 1,
    local_lr: float = 0.1,
    defense: GradientDefense | None = None,
    secure_aggregator: SecureAggregator | None = None,
    image_index: int | None = 0,
    iterations: int | None = None,
    restarts: int = 1,
    rng: int | np.random.Generator | None = None,
    max_seconds: float | None = None,
    measure_utility: bool = False,
    utility_rounds: int | None = None,
    callback: Callable[[int, np.ndarray, float, float | None], None] | None = None,
    progress: bool = False,
) -> Outcome[Images]:
    """Simulate one round, attack what the server sees, and score the reconstruction.

    Parameters
    ----------
    data : ImageData or {"digits", "patches32"}
    arch : {"mlp", "cnn"}, optional
        Default: ``mlp`` for digits, ``cnn`` for patches32.
    attack_kind : {"dlg", "idlg", "ig"}
    batch_size : int
        Images per client.
    n_clients : int
        Clients in the round (the others are what hides the target under secure aggregation).
    local_steps, local_lr
        Local SGD steps and rate (FedSGD: 1 step).
    defense : GradientDefense, optional
        Applied by every client.
    secure_aggregator : SecureAggregator, optional
        The server then sees only the aggregate.
    image_index : int or None
        First training image of the target's batch (None: a seeded random pick).
    iterations, restarts, max_seconds
        The attack's budget.
    rng : int, numpy Generator or None
        Seeds the model, the picks, the client-side defense and the attack (None: ``LABKIT_SEED``).
    measure_utility : bool
        Also train on digits with this defense and protocol and report the accuracy it costs.
    utility_rounds : int, optional
        Training rounds for utility (default 15, 5 in fast mode).
    callback : callable, optional
        Passed to :func:`~labkit.inversion.attack` (live reconstruction updates).

    Returns
    -------
    Outcome
        ``value``: :class:`Images` (the target's private batch and the reconstruction). ``result``:
        ``inversion/scenario`` with the attack's scores, ``attacker_batch``, with secure aggregation
        its time ratio ``aggregation_overhead`` against a plain sum, with ``measure_utility`` the
        accuracies; ``artifacts`` say what the server saw and hold the true and recovered labels.

    Examples
    --------
    >>> s = run_scenario(attack_kind="idlg", iterations=20, rng=0)
    >>> s.result.metrics["psnr"] > 25, s.result.artifacts["server_sees"]
    (True, "the target client's own update")
    """
    data = image_data(data) if isinstance(data, str) else data
    arch = arch or DEFAULT_ARCH[data.name]
    batch_size = validate.integer("batch_size", batch_size)
    n_clients = validate.integer("n_clients", n_clients)
    local_steps = validate.integer("local_steps", local_steps)
    seed = config.seed_from(rng)
    defense = defense or NoDefense()
    gen = config.rng(seed)
    model = make_model(arch, input_shape=data.image_shape, n_classes=data.n_classes, rng=seed)
    idx = _pick_indices(len(data.y_train), batch_size * n_clients, image_index, seed)
    clients = [
        ClientData(
            k,
            data.X_train[idx[k * batch_size : (k + 1) * batch_size]],
            data.y_train[idx[k * batch_size : (k + 1) * batch_size]],
        )
        for k in range(n_clients)
    ]
    updates = [client_update(model, c, local_steps=local_steps, lr=local_lr, defense=defense, rng=gen) for c in clients]
    if secure_aggregator is not None:
        total = sum(u.n_samples for u in updates)  # public: clients pre-scale, the sum is the weighted mean
        observed = secure_aggregator.sum([(u.n_samples / total) * u.vector for u in updates])
        attacker_batch = batch_size * n_clients
        sees = f"only the mean of {n_clients} clients' updates (secure aggregation: {secure_aggregator.name})"
    else:
        observed = updates[0].vector
        attacker_batch = batch_size
        sees = "the target client's own update"
    target = clients[0]
    out = attack(
        attack_kind,
        model=model,
        gradients=observed,
        input_shape=data.image_shape,
        batch_size=attacker_batch,
        iterations=iterations,
        restarts=restarts,
        rng=seed,
        local_steps=local_steps,
        local_lr=local_lr,
        true_images=target.X,
        true_labels=target.y,
        max_seconds=max_seconds,
        callback=callback,
        progress=progress,
    )
    result = Result(
        technique="inversion",
        name="scenario",
        params={
            "data": data.name,
            "arch": arch,
            "attack": attack_kind,
            "batch_size": batch_size,
            "n_clients": n_clients,
            "local_steps": local_steps,
            "local_lr": local_lr,
            **defense.params(),
            "secure_aggregator": getattr(secure_aggregator, "name", None),
            "image_index": image_index,
            "iterations": out.result.params["iterations"],
            "restarts": restarts,
            "seed": seed,
            "max_seconds": max_seconds,
            "measure_utility": measure_utility,
        },
        metrics={**out.result.metrics, "attacker_batch": attacker_batch},
        timings=dict(out.result.timings),
        artifacts={
            **out.result.artifacts,
            "server_sees": sees,
            "true_labels": target.y.tolist(),
            "recovered_labels": out.result.artifacts["recovered_labels"],
            "label_meaning": data.label_meaning,
        },
    )
    if secure_aggregator is not None:
        vectors = [(u.n_samples / total) * u.vector for u in updates]
        repeat = getattr(secure_aggregator, "timing_repeat", None) or config.pick(9, 3)
        ov = bench.overhead(
            lambda: secure_aggregator.sum(vectors),
            lambda: np.sum(vectors, axis=0),
            repeat=repeat,
            warmup=1 if repeat > 1 else 0,
            names=(secure_aggregator.name, "plain_sum"),
        )
        result.add_overhead("aggregation_overhead", ov)
        if "bytes_to_server" in secure_aggregator.last_stats:
            result.metrics["aggregation_bytes_to_server"] = secure_aggregator.last_stats["bytes_to_server"]
        if secure_aggregator.simulated or getattr(secure_aggregator, "insecure", False):
            result.flag(NOT_FOR_PRODUCTION)
    if measure_utility:
        u = defense_utility(defense, arch=arch, local_steps=max(local_steps, 5), rounds=utility_rounds, rng=seed)
        result.metrics.update(u.metrics)
    return Outcome(Images(target.X, out.value), result)


def defense_utility(
    defense: GradientDefense | None = None,
    *,
    arch: str = "mlp",
    local_steps: int = 5,
    batch_size: int = 16,
    rounds: int | None = None,
    n_clients: int = 4,
    secure_aggregator: SecureAggregator | None = None,
    rng: int | np.random.Generator | None = None,
) -> Result:
    """Test accuracy of federated training on digits with and without ``defense``.

    Every client applies ``defense`` at each of its ``local_steps`` steps on
    minibatches of ``batch_size``, for ``rounds`` rounds (default 15, 5 in fast
    mode); ``rng`` seeds the model and the clients (None: ``LABKIT_SEED``).

    Returns
    -------
    Result
        ``inversion/defense_utility`` with ``metrics`` ``accuracy``, ``baseline_accuracy``
        (no defense, no secure aggregation, same seed and protocol) and ``accuracy_cost``
        (baseline minus defended, in accuracy points 0-1); with DP-SGD also ``epsilon_approx``
        at delta = 1e-5 from the DP lab's RDP accountant (approximate: clients shuffle rather
        than Poisson-sample their minibatches).
    """
    defense = defense or NoDefense()
    rounds = validate.integer("rounds", config.pick(15, 5) if rounds is None else rounds)
    seed = config.seed_from(rng)
    key = (arch, local_steps, batch_size, rounds, n_clients, seed)
    base = _baseline(*key)
    if isinstance(defense, NoDefense) and secure_aggregator is None:
        acc = base
    else:
        acc = train(
            arch=arch,
            n_clients=n_clients,
            rounds=rounds,
            local_steps=local_steps,
            batch_size=batch_size,
            defense=defense,
            secure_aggregator=secure_aggregator,
            rng=seed,
        ).result.metrics["accuracy"]
    out = {"accuracy": acc, "baseline_accuracy": base, "accuracy_cost": base - acc}
    from .defenses import DPSGD

    if isinstance(defense, DPSGD) and defense.noise_multiplier > 0:
        # Each client samples minibatches by shuffling, not Poisson sampling: the RDP bound is an approximation.
        client_size = len(image_data("digits").y_train) // n_clients
        out["epsilon_approx"] = defense.epsilon(steps=rounds * local_steps, sample_rate=batch_size / client_size)
    params = {
        **defense.params(),
        "arch": arch,
        "local_steps": local_steps,
        "batch_size": batch_size,
        "rounds": rounds,
        "n_clients": n_clients,
        "secure_aggregator": getattr(secure_aggregator, "name", None),
        "seed": seed,
    }
    return Result(technique="inversion", name="defense_utility", params=params, metrics=out)


@lru_cache(maxsize=32)
def _baseline(arch: str, local_steps: int, batch_size: int, rounds: int, n_clients: int, seed: int) -> float:
    return train(
        arch=arch, n_clients=n_clients, rounds=rounds, local_steps=local_steps, batch_size=batch_size, rng=seed
    ).result.metrics["accuracy"]


def describe(result: Result) -> str:
    """One line: what the server saw and what it recovered."""
    m = result.metrics
    return (
        f"server sees {result.artifacts.get('server_sees')}: PSNR {m.get('psnr', float('nan')):.1f} dB, "
        f"SSIM {m.get('ssim', float('nan')):.2f}, labels {m.get('label_accuracy', float('nan')):.0%}"
    )
