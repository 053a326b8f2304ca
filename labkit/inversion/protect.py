"""The cheapest defense in the lab's catalogue that brings the attack on a workload below the safe band.

Each client-side defense of :data:`labkit.inversion.defenses.DEFENSES` is
swept from its weakest setting to its strongest; the first setting whose
attack (median PSNR over the attacked samples) falls below
:data:`labkit.inversion.technique.THRESHOLD_DB` is that defense's candidate,
and the rest of its sweep is skipped (stronger still). A defense the model
cannot take (DP-SGD's per-sample gradients on a layer Opacus has no rule for)
is skipped with the reason.

What a candidate costs is measured, not modelled: a short federated
fine-tuning of the workload's model from its given weights, on its own
training data split across clients, with the defense at every local step
(:func:`labkit.fl.simulation.train`), against the same fine-tuning without
it (same seed, same protocol). The cheapest candidate is the one whose
fine-tuned test accuracy is highest; accuracies within one standard error of
the best (the test set cannot tell them apart) count as equal, and among
those a setting whose client update is more than twice as slow as the
fastest's ranks last (:func:`rank`). A candidate must also
hold against the other attack: the search runs the attack that did
best without a defense, and the chosen setting is then attacked with the
other one too, so a defense that only defeats one objective (clipping rescales
a gradient, which Euclidean matching feels and cosine matching ignores) is
not chosen.

References
----------
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019, section 5 (defenses).
Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
McMahan et al., "Communication-Efficient Learning of Deep Networks from
Decentralized Data", AISTATS 2017 (FedAvg).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInput
from .defenses import DEFENSES, make_defense
from .exposure import Target, client_gradients, invert, median_scores
from .technique import stopped

#: The fine-tuning that prices a defense: FedAvg rounds over clients holding the training data.
FINETUNE = {"n_clients": 4, "local_steps": 5, "batch_size": 16, "lr": 0.05}
ROUNDS = (15, 5)  # default, fast
SLOW = 2.0  # among equally accurate candidates, a client update this many times the fastest's ranks last
LAST_ROUNDS = 3  # the accuracy is the mean over the last rounds (one round's test accuracy is noisy)


def catalogue(names: Sequence[str] | None = None) -> list[tuple[str, list[float]]]:
    """Each client-side defense (or those ``names``) and its sweep values, weakest first, in the catalogue's order.

    >>> [name for name, _ in catalogue(["pruning", "gaussian_noise"])]
    ['gaussian_noise', 'pruning']
    """
    known = [name for name in DEFENSES if name != "none"]
    if names is not None:
        names = [names] if isinstance(names, str) else list(names)
        unknown = sorted(set(names) - set(known))
        if unknown or not names:
            raise InvalidInput(f"defenses must be a non-empty list from {known}, not {names!r}.")
    return [(name, list(DEFENSES[name][2])) for name in known if names is None or name in names]


def sweep_length(names: Sequence[str] | None = None) -> int:
    """Settings the search tries at most (every chosen defense's whole sweep)."""
    return sum(len(values) for _, values in catalogue(names))


@dataclass
class Trial:
    """One defense setting, attacked by the search's attack (``scores``) and, once confirmed, the other (``other``)."""

    defense: str
    value: float
    scores: dict[str, float]
    other: dict[str, float] | None = None

    @property
    def stops(self) -> bool:
        """Below the safe band for every attack run against it."""
        return stopped(self.scores["psnr"]) and (self.other is None or stopped(self.other["psnr"]))

    def worst(self) -> dict[str, float]:
        """Per metric, the attacker's best over the attacks run (highest PSNR, lowest error)."""
        rows = [self.scores] if self.other is None else [self.scores, self.other]
        out = {}
        for k in self.scores:
            if k in ("seconds", "capped"):
                continue
            pick = min if k == "mean_relative_error" else max
            out[k] = pick(r[k] for r in rows)
        return out

    def as_dict(self) -> dict[str, Any]:
        out = {"defense": self.defense, "value": self.value, **self.scores, "stops": self.stops}
        if self.other is not None:
            out["other_attack"] = dict(self.other)
        return out


def _attack(target, kind, samples, defense, *, iterations, seed, max_seconds, tick) -> dict[str, float]:
    """``kind`` on each batch of ``samples`` as the client shares it under ``defense``; median scores."""
    rows = []
    for i, (X, y) in enumerate(samples):
        grads = client_gradients(target, X, y, defense=defense, seed=seed + i)
        rows.append(
            invert(target, kind, X, y, gradients=grads, iterations=iterations, seed=seed + i, max_seconds=max_seconds)
        )
        if tick is not None:
            tick(1)
    return median_scores(rows)


def search(
    target: Target,
    samples: list[tuple[np.ndarray, np.ndarray]],
    *,
    attack_kind: str,
    iterations: int,
    seed: int,
    max_seconds: float | None = None,
    tick: Callable[[int], None] | None = None,
    defenses: Sequence[str] | None = None,
) -> tuple[list[Trial], dict[str, str]]:
    """Sweep every defense (or ``defenses``) against ``attack_kind`` on the batches ``samples``; stop each at its first success.

    Returns
    -------
    (trials, skipped)
        Every setting tried, in order, and the defenses that could not run (name: reason).
    """
    if not samples:
        raise InvalidInput("the defense search needs at least one attacked batch.")
    trials, skipped = [], {}
    for name, values in catalogue(defenses):
        for value in values:
            defense = make_defense(name, value)
            try:
                found = _attack(
                    target,
                    attack_kind,
                    samples,
                    defense,
                    iterations=iterations,
                    seed=seed,
                    max_seconds=max_seconds,
                    tick=tick,
                )
            except (InvalidInput, ValueError, RuntimeError, NotImplementedError) as exc:
                skipped[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                break
            trial = Trial(name, value, found)
            trials.append(trial)
            if trial.stops:
                break
    return trials, skipped


def candidates(trials: list[Trial]) -> list[Trial]:
    """The first stopping setting of each defense (the weakest that works)."""
    out: dict[str, Trial] = {}
    for t in trials:
        if t.stops and t.defense not in out:
            out[t.defense] = t
    return list(out.values())


def finetune_accuracy(target: Target, workload: Any, defense: Any = None, *, rounds: int, seed: int) -> float:
    """Test accuracy after a short federated fine-tuning of the workload's model with ``defense`` (mean of the last rounds)."""
    from ..fl.data import ImageData
    from ..fl.simulation import train

    data = ImageData(
        workload.name, workload.X_train, workload.y_train, workload.X_test, workload.y_test, workload.n_classes, ""
    )
    run = train(data=data, model=target.model, rounds=rounds, defense=defense, rng=seed, **FINETUNE)
    accs = run.result.artifacts["accuracy_per_round"]
    return float(np.mean(accs[-LAST_ROUNDS:]))


def price(
    target: Target, workload: Any, found: list[Trial], *, rounds: int, seed: int
) -> tuple[float, dict[str, float]]:
    """Fine-tuned accuracy without a defense, and with each candidate (keyed ``"name=value"``)."""
    plain = finetune_accuracy(target, workload, None, rounds=rounds, seed=seed)
    costs = {}
    for t in found:
        costs[key(t)] = finetune_accuracy(target, workload, make_defense(t.defense, t.value), rounds=rounds, seed=seed)
    return plain, costs


def key(t: Trial) -> str:
    """``"pruning=0.9"``: a candidate's name in the Result."""
    return f"{t.defense}={t.value:g}"


def update_seconds(
    target: Target, batch: tuple[np.ndarray, np.ndarray], defense: Any, *, seed: int, repeat: int
) -> float:
    """Seconds of one client update (one FedSGD step on ``batch``) with ``defense`` (None: plain).

    The fastest of ``repeat`` calls: the update's own cost, with the machine's other load left out.
    """
    from ..bench import measure
    from ..fl.data import ClientData
    from ..fl.simulation import client_update

    client = ClientData(0, *batch)
    timing = measure(lambda: client_update(target.model, client, defense=defense, rng=seed), repeat=repeat)
    return float(min(timing.samples))


def rank(found: list[Trial], accuracy: dict[str, float], seconds: dict[str, float], *, n_test: int) -> list[Trial]:
    """Candidates cheapest first, by fine-tuned accuracy, and by time among equally accurate ones.

    Accuracies within one standard error of the best count as equal: a test accuracy ``a`` over
    ``n_test`` samples has ``sqrt(a (1 - a) / n_test)`` (at least one sample's worth, ``1 / n_test``).
    Among those, settings whose client update takes more than :data:`SLOW` times the fastest's go
    last; then higher accuracy first (the catalogue's order among equals). The rest follow by accuracy.

    >>> ts = [Trial("dp_sgd", 0.01, {"psnr": 5.0}), Trial("pruning", 0.99, {"psnr": 9.0})]
    >>> [t.defense for t in rank(ts, {"dp_sgd=0.01": 0.95, "pruning=0.99": 0.94}, {"dp_sgd=0.01": 0.02,
    ...                                                                              "pruning=0.99": 0.001}, n_test=100)]
    ['pruning', 'dp_sgd']
    """
    if not found:
        return []
    best = max(accuracy[key(t)] for t in found)
    se = tie_band(best, n_test)
    near = [t for t in found if accuracy[key(t)] >= best - se]
    far = [t for t in found if t not in near]
    fastest = min(seconds[key(t)] for t in near)
    slow = {key(t) for t in near if seconds[key(t)] > SLOW * fastest}
    order = sorted(near, key=lambda t: (key(t) in slow, -accuracy[key(t)]))
    return order + sorted(far, key=lambda t: -accuracy[key(t)])


def tie_band(accuracy: float, n_test: int) -> float:
    """One standard error of a test accuracy over ``n_test`` samples (at least ``1 / n_test``)."""
    return max(1.0 / n_test, float(np.sqrt(accuracy * (1 - accuracy) / n_test)))


def cheapest(
    ranked: list[Trial],
    *,
    target: Target,
    samples: list[tuple[np.ndarray, np.ndarray]],
    other_kind: str,
    iterations: int,
    seed: int,
    max_seconds: float | None = None,
    tick: Callable[[int], None] | None = None,
) -> Trial | None:
    """The first of the ``ranked`` candidates (:func:`rank`) that also holds against the other attack.

    Each is attacked with ``other_kind`` in turn; the first below the safe band for both attacks
    wins. When none holds, the first is returned (its ``stops`` is then False).
    """
    for t in ranked:
        t.other = _attack(
            target,
            other_kind,
            samples,
            make_defense(t.defense, t.value),
            iterations=iterations,
            seed=seed,
            max_seconds=max_seconds,
            tick=tick,
        )
        if t.stops:
            return t
    return ranked[0] if ranked else None
