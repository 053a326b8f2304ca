"""DP-SGD with Opacus next to the same network trained without privacy, in one run.

:func:`train_private` trains two copies of one small network from the same
initial weights on the same members: one with DP-SGD (Opacus: per-example
clipping to ``max_grad_norm``, Gaussian noise of ``noise_multiplier *
max_grad_norm``, Poisson-sampled batches, a privacy accountant), one with
plain SGD on shuffled batches of the same size. Their epochs alternate (DP,
plain, DP, plain...) through :func:`labkit.bench.overhead`, so the per-epoch
time ratio is measured under the same machine load. Then both models are
audited with membership-inference attacks (:mod:`labkit.dp.audit`).

Epsilon is never reported without its delta. Delta defaults to a power of ten
below ``1/(10 n)``; a delta of ``1/n`` or more would let a mechanism publish
a whole random record and still "satisfy" DP, so it is refused unless
``allow_insecure=True``.

References
----------
Abadi et al., "Deep learning with differential privacy", CCS 2016.
Yousefpour et al., "Opacus: user-friendly differential privacy library in PyTorch", 2021 (arXiv:2109.12298).
Dwork & Roth, "The algorithmic foundations of differential privacy", 2014 (delta well below 1/n, section 2.3).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from .. import bench, config, datasets, validate
from ..errors import BackendUnavailable, InsecureParameters, InvalidInput
from ..results import NOT_FOR_PRODUCTION, Result
from . import accounting, audit, reference
from .data import DATASETS, split

TECHNIQUE = "dp"
NAME = "train_private"
CACHE_VERSION = 3  # bump when a change to the training or audit code makes stored points stale
MOMENTUM = 0.9
MIN_EPSILON = 0.1


def _secure_mode_available() -> None:
    try:
        import torchcsprng  # noqa: F401
    except ImportError:
        raise BackendUnavailable(
            "Opacus secure_mode",
            "it needs the torchcsprng package (a cryptographically secure noise generator), which is not installed; "
            "run with secure_mode=False for teaching (the Result is then flagged not for production)",
        ) from None


def plan(
    dataset: str,
    *,
    target_epsilon: float | None = None,
    noise_multiplier: float | None = None,
    max_grad_norm: float = 1.0,
    delta: float | None = None,
    epochs: int | None = None,
    batch_size: int = 128,
    accountant: str = "rdp",
    lr: float = 0.05,
    hidden: int = 32,
    n_train: int | None = None,
    n_reference: int = 2,
    secure_mode: bool = False,
    rng: int | np.random.Generator | None = None,
    allow_insecure: bool = False,
) -> dict[str, Any]:
    """Validate the parameters of :func:`train_private` and fill in defaults.

    Returns the plain parameter dict stored with the Result (``rng`` resolved
    to the int ``seed``); sweeps use it to find a point already computed.
    Raises before any training runs. Fast mode shrinks the default ``epochs``.

    >>> p = plan("digits", target_epsilon=1.0)
    >>> p["delta"], p["accountant"], p["secure_mode"]
    (1e-05, 'rdp', False)
    """
    validate.choice("dataset", dataset, DATASETS)
    n_available = len(datasets.load(dataset).train_idx)
    n = n_available if n_train is None else validate.integer("n_train", n_train, low=20, high=n_available)
    if (target_epsilon is None) == (noise_multiplier is None):
        raise InvalidInput(
            "give exactly one of target_epsilon (the budget to spend) or noise_multiplier (the noise to add)."
        )
    if target_epsilon is not None:
        target_epsilon = validate.positive("target_epsilon", target_epsilon, high=100.0)
        if target_epsilon < MIN_EPSILON:
            raise InvalidInput(
                f"target_epsilon={target_epsilon:g} is below {MIN_EPSILON}: the noise needed would drown any "
                "signal (and Opacus' noise search would run for minutes). Use a budget of 0.1 or more."
            )
    if noise_multiplier is not None:
        noise_multiplier = validate.positive("noise_multiplier", noise_multiplier, high=1e3)
    delta = accounting.default_delta(n) if delta is None else validate.fraction("delta", delta)
    if delta >= 1.0 / n and not allow_insecure:
        raise InsecureParameters(
            f"delta={delta:g} is not below 1/n = 1/{n}: such a guarantee allows publishing a whole training "
            f"record. Use delta below {1.0 / n:.2g} (the default is {accounting.default_delta(n):g}), "
            "or pass allow_insecure=True to run it flagged not for production."
        )
    if not isinstance(secure_mode, bool):
        raise InvalidInput(f"secure_mode must be True or False, not {secure_mode!r}.")
    if secure_mode:
        _secure_mode_available()
    return {
        "dataset": dataset,
        "target_epsilon": target_epsilon,
        "noise_multiplier": noise_multiplier,
        "max_grad_norm": validate.positive("max_grad_norm", max_grad_norm, high=1e3),
        "delta": float(delta),
        "epochs": validate.integer("epochs", config.pick(20, 5) if epochs is None else epochs, low=1, high=500),
        "batch_size": validate.integer("batch_size", batch_size, low=8, high=n),
        "accountant": accounting.check_accountant(accountant),
        "lr": validate.positive("lr", lr, high=100.0),
        "hidden": validate.integer("hidden", hidden, low=2, high=2048),
        "n_train": n,
        "n_reference": validate.integer("n_reference", n_reference, low=1, high=16),
        "secure_mode": secure_mode,
        "seed": validate.integer("rng", config.seed_from(rng), low=0, high=2**63 - 1),
        "allow_insecure": bool(allow_insecure),
        "version": CACHE_VERSION,
    }


def _progress_bar(progress: bool | Callable[[int, int], None], total: int, desc: str):
    """Return ``update(done)``: drives a tqdm bar, a caller's callback, or nothing."""
    if callable(progress):
        return lambda done: progress(done, total), lambda: None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, leave=False)

        def update(done: int) -> None:
            bar.update(done - bar.n)

        return update, bar.close
    return lambda done: None, lambda: None


def train_private(
    dataset: str = "digits", *, progress: bool | Callable[[int, int], None] = False, **kwargs: Any
) -> Result:
    """Train with DP-SGD (Opacus) and without, in the same run; audit both models.

    Parameters
    ----------
    dataset : {"digits", "breast_cancer"}
    target_epsilon : float, optional
        Spend this budget over ``epochs`` (Opacus finds the noise). Give this
        or ``noise_multiplier``, not both.
    noise_multiplier : float, optional
        Noise standard deviation over the clip norm; epsilon is then computed.
    max_grad_norm : float
        Per-example gradient clip norm ``C`` (default 1.0).
    delta : float, optional
        Default: a power of ten below ``1/(10 n)``. ``delta >= 1/n`` raises
        InsecureParameters unless ``allow_insecure=True``.
    epochs, batch_size, lr, hidden : training recipe, the same for both models
        (SGD with momentum 0.9; ``batch_size`` is the expected Poisson batch).
    accountant : {"rdp", "prv"}
    n_train : int, optional
        Train on a subset of the training split (small sets overfit and leak).
    n_reference : int
        Reference models trained on public data for the calibrated attack.
    secure_mode : bool
        Opacus' secure mode (cryptographic noise; needs torchcsprng). Off, the
        Result is flagged not for production.
    rng : int, numpy Generator or None
        Seeds weights, sampling and noise (teaching randomness; None: ``LABKIT_SEED``).
    progress : bool or callable
        True shows a tqdm bar; a callable receives ``(epochs_done, epochs)``.

    Returns
    -------
    Result
        ``metrics``: accuracy, baseline_accuracy, accuracy_cost, epsilon, delta,
        epsilon_check (a fresh Opacus accountant given the same noise, sample
        rate and step count), noise_multiplier, sample_rate, steps, overhead
        (DP/non-DP per-epoch time), and for the DP model and the baseline
        (``baseline_`` prefix): attack_auc (and its standard error attack_auc_se),
        attack_auc_calibrated, tpr_at_low_fpr(_calibrated), empirical_epsilon.
        ``artifacts`` spell out the guarantee and whether secure mode was on.

    Examples
    --------
    >>> r = train_private("breast_cancer", noise_multiplier=1.0, epochs=1, n_reference=1)
    >>> r.artifacts["guarantee"]
    '(4.05, 0.0001)-DP by the RDP accountant'

    """
    params = plan(dataset, **kwargs)
    return train_planned(params, progress=progress)


def train_planned(params: dict[str, Any], *, progress: bool | Callable[[int, int], None] = False) -> Result:
    """Train the point ``params`` (a dict from :func:`plan`), with and without DP-SGD, and audit both models.

    This is :func:`train_private` after its validation; :func:`labkit.dp.sweep`
    calls it for each point it has not stored yet.

    Parameters
    ----------
    params : dict
        The validated parameters, as :func:`plan` returns them.
    progress : bool or callable
        True shows a tqdm bar; a callable receives ``(epochs_done, epochs)``.

    Returns
    -------
    Result
        As :func:`train_private`.
    """
    import torch
    from opacus import PrivacyEngine

    from . import models

    p = params
    s = split(p["dataset"], n_train=p["n_train"], rng=p["seed"])
    epochs = p["epochs"]
    update, close = _progress_bar(progress, epochs, f"DP-SGD {p['dataset']}")
    with torch.random.fork_rng(), models.single_thread(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Secure RNG turned off.*")
        warnings.filterwarnings("ignore", message=".*Full backward hook is firing.*")
        warnings.filterwarnings("ignore", message=".*Optimal order is the (largest|smallest) alpha.*")
        torch.manual_seed(p["seed"])
        dp_model = models.mlp(s.n_features, s.n_classes, p["hidden"])
        base_model = models.mlp(s.n_features, s.n_classes, p["hidden"])
        base_model.load_state_dict(dp_model.state_dict())  # same starting weights
        members = models.tensors(s.X_members, s.y_members)
        base_loader = torch.utils.data.DataLoader(members, batch_size=p["batch_size"], shuffle=True)
        engine = PrivacyEngine(accountant=p["accountant"], secure_mode=p["secure_mode"])
        common = dict(
            module=dp_model,
            optimizer=torch.optim.SGD(dp_model.parameters(), lr=p["lr"], momentum=MOMENTUM),
            data_loader=torch.utils.data.DataLoader(members, batch_size=p["batch_size"]),
            max_grad_norm=p["max_grad_norm"],
        )
        try:
            if p["target_epsilon"] is not None:
                dp_wrapped, dp_opt, dp_loader = engine.make_private_with_epsilon(
                    **common, target_epsilon=p["target_epsilon"], target_delta=p["delta"], epochs=epochs
                )
            else:
                dp_wrapped, dp_opt, dp_loader = engine.make_private(**common, noise_multiplier=p["noise_multiplier"])
        except ValueError as exc:  # Opacus' noise search gives up on budgets that are far too small
            raise InvalidInput(f"Opacus cannot reach these settings ({exc}); raise target_epsilon.") from exc
        base_opt = torch.optim.SGD(base_model.parameters(), lr=p["lr"], momentum=MOMENTUM)
        steps = {"dp": 0, "base": 0}

        def dp_epoch() -> None:
            steps["dp"] += models.train_epoch(dp_wrapped, dp_loader, dp_opt)

        def base_epoch() -> None:
            steps["base"] += models.train_epoch(base_model, base_loader, base_opt)
            update(steps["base"] // len(base_loader))

        try:
            ov = bench.overhead(dp_epoch, base_epoch, repeat=epochs, warmup=0, names=("dp_epoch", "nonprivate_epoch"))
        finally:
            close()
        sigma = float(dp_opt.noise_multiplier)
        sample_rate = 1.0 / len(dp_loader)
        eps = float(engine.get_epsilon(p["delta"]))
        eps_check = accounting.epsilon(
            noise_multiplier=sigma,
            sample_rate=sample_rate,
            steps=steps["dp"],
            delta=p["delta"],
            accountant=p["accountant"],
        )
        with bench.stopwatch("audit") as audit_watch:
            ref_members, ref_nonmembers = _reference_losses(p)
            audits, histograms = {}, {}
            for label, model in (("dp", dp_model), ("baseline", base_model)):
                member_loss = models.per_example_loss(model, s.X_members, s.y_members)
                nonmember_loss = models.per_example_loss(model, s.X_nonmembers, s.y_nonmembers)
                histograms[label] = audit.loss_histogram(member_loss, nonmember_loss)
                audits[label] = audit.run(
                    member_loss=member_loss,
                    nonmember_loss=nonmember_loss,
                    member_reference_loss=ref_members,
                    nonmember_reference_loss=ref_nonmembers,
                    delta=p["delta"],
                    rng=p["seed"],
                )
        accuracy = models.accuracy(dp_model, s.X_test, s.y_test)
        base_accuracy = models.accuracy(base_model, s.X_test, s.y_test)
        metrics = {
            "accuracy": accuracy,
            "baseline_accuracy": base_accuracy,
            "accuracy_cost": base_accuracy - accuracy,
            "train_accuracy": models.accuracy(dp_model, s.X_members, s.y_members),
            "baseline_train_accuracy": models.accuracy(base_model, s.X_members, s.y_members),
            "epsilon": eps,
            "delta": p["delta"],
            "epsilon_check": eps_check,
            "noise_multiplier": sigma,
            "sample_rate": sample_rate,
            "steps": steps["dp"],
            "secure_mode": p["secure_mode"],
        }
    best = {label: a.artifacts["best_attack"] for label, a in audits.items()}
    metrics.update(audits["dp"].metrics)
    metrics.update({f"baseline_{k}": v for k, v in audits["baseline"].metrics.items()})
    result = Result(
        technique=TECHNIQUE,
        name=NAME,
        params=params,
        metrics=metrics,
        timings={"audit": audit_watch.timing},
        artifacts={
            "n_members": s.n_members,
            "n_nonmembers": len(s.y_nonmembers),
            "n_public": len(s.y_public),
            "best_attack": best["dp"],
            "baseline_best_attack": best["baseline"],
            "loss_histogram": {"edges": audit.HISTOGRAM_EDGES, **histograms},
            "guarantee": f"({eps:.3g}, {p['delta']:g})-DP by the {p['accountant'].upper()} accountant",
            "secure_mode": "on" if p["secure_mode"] else "off: pseudo-random, seeded noise and sampling",
        },
    )
    result.add_overhead("overhead", ov)
    if not p["secure_mode"] or p["delta"] >= 1.0 / p["n_train"]:
        result.flag(NOT_FOR_PRODUCTION)
    return result


def _reference_losses(p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Mean per-example loss of ``n_reference`` non-private models trained on the public pool.

    Each reference model trains with the target's recipe (see
    :func:`labkit.dp.reference.mean_losses`) on the whole public pool, which
    holds no member and no audited non-member. The losses depend only on the
    data and the recipe, not on the privacy settings, so a sweep computes them
    once per process.
    """
    key = tuple(p[k] for k in ("dataset", "n_train", "seed", "hidden", "epochs", "batch_size", "lr", "n_reference"))
    return _reference_losses_cached(key)


@lru_cache(maxsize=8)
def _reference_losses_cached(key: tuple) -> tuple[np.ndarray, np.ndarray]:
    from . import models

    dataset, n_train, seed, hidden, epochs, batch_size, lr, n_reference = key
    s = split(dataset, n_train=n_train, rng=seed)
    members, nonmembers = reference.mean_losses(
        lambda: models.mlp(s.n_features, s.n_classes, hidden),
        s.X_public,
        s.y_public,
        [(s.X_members, s.y_members), (s.X_nonmembers, s.y_nonmembers)],
        n_reference=n_reference,
        seed=seed,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
    )
    return members, nonmembers


def retrain(result: Result, *, progress: bool | Callable[[int, int], None] = False) -> Result:
    """Train the point of a stored ``train_private`` Result again, for real, with the same parameters."""
    if not isinstance(result, Result) or (result.technique, result.name) != (TECHNIQUE, NAME):
        raise InvalidInput("retrain takes a dp/train_private Result (from train_private or sweep).")
    params = {k: v for k, v in result.params.items() if k != "version"}
    params["rng"] = params.pop("seed")
    return train_private(params.pop("dataset"), progress=progress, **params)
