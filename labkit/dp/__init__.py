"""Differential privacy: DP-SGD with Opacus, epsilon-accuracy sweeps and an empirical audit.

- :func:`train_private` trains a small network with DP-SGD (Opacus) and the
  same network without privacy in the same run, reports accuracy, the
  ``(epsilon, delta)`` spent, the per-epoch time ratio, and audits both models
  with membership-inference attacks.
- :func:`sweep` runs it over target epsilons (or clip norms, batch sizes),
  cached in the ResultStore and resumable; :func:`frontier` tabulates it.
- :mod:`labkit.dp.audit` holds the attacks and the empirical epsilon bound;
  :mod:`labkit.dp.accounting` queries Opacus' accountants directly;
- :func:`labkit.dp.benchmark.benchmark` is ``labkit bench dp``;
  :mod:`labkit.dp.technique` declares the technique (its anchor, readings,
  chart points and ``labkit doctor`` check).

Importing this package does not import torch or Opacus; they load on first use.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "train_private": "training",
    "train_planned": "training",
    "plan": "training",
    "retrain": "training",
    "sweep": "sweeps",
    "frontier": "sweeps",
    "leak_setting": "sweeps",
    "SWEEP_EPSILONS": "sweeps",
    "epsilon": "accounting",
    "default_delta": "accounting",
    "split": "data",
    "TECHNIQUE": "technique",
}
_SUBMODULES = {
    "accounting",
    "audit",
    "data",
    "training",
    "sweeps",
    "benchmark",
    "models",
    "technique",
    "reference",
    "compat",
    "runs",
    "cost",
    "findings",
    "assess",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, _SUBMODULES)


__all__ = sorted(_EXPORTS)
