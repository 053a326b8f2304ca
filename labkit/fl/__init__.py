"""A small federated-learning simulation, shared by the gradient-inversion lab and the capstone.

Clients hold disjoint splits of a data set (``digits`` or ``patches32``), compute
updates with FedSGD (one gradient) or FedAvg (several local SGD steps), and a
server aggregates them by mean, coordinate-wise median, trimmed mean or Krum.
Two hooks let other labs plug in:

- a client-side :class:`~labkit.fl.hooks.GradientDefense` (noise, clipping,
  DP-SGD, pruning... from :mod:`labkit.inversion.defenses`) that changes what a
  client sends;
- a :class:`~labkit.fl.secure_agg.SecureAggregator` that gives the server only the
  sum over clients: :class:`~labkit.fl.secure_agg.CKKSSum` (CKKS through
  ``labkit.he``), :class:`~labkit.fl.secure_agg.MPCSum` (CrypTen secret shares
  through ``labkit.mpc``), or :class:`~labkit.fl.secure_agg.PlainSum` (the
  reference in the clear, for tests; flagged "not for production").

Typical use::

    from labkit import fl
    data = fl.image_data("digits")
    run = fl.train(data=data, n_clients=4, rounds=5)
    run.value               # the trained global model
    run.result              # a labkit Result: accuracy per round, timings, params
    fl.train(data=data, secure_aggregator=fl.CKKSSum())   # the server sees only the sum

Importing this package is light: torch loads when a function needs it.

References
----------
McMahan et al., "Communication-Efficient Learning of Deep Networks from
Decentralized Data", AISTATS 2017 (FedSGD, FedAvg).
Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine
Learning", CCS 2017.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "ImageData": "data",
    "ClientData": "data",
    "image_data": "data",
    "split_clients": "data",
    "make_model": "models",
    "accuracy": "models",
    "AGGREGATORS": "aggregation",
    "aggregate": "aggregation",
    "flatten": "aggregation",
    "unflatten": "aggregation",
    "GradientDefense": "hooks",
    "NoDefense": "hooks",
    "SecureAggregator": "secure_agg",
    "PlainSum": "secure_agg",
    "CKKSSum": "secure_agg",
    "MPCSum": "secure_agg",
    "Update": "simulation",
    "client_update": "simulation",
    "train": "simulation",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
