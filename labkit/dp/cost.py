"""How long and how much memory the DP assess door will take, from the model's shape alone (no training).

The door trains the architecture ``1 + len(epsilons) + (1 if a module was
replaced) + n_reference`` times for the same number of epochs. One epoch costs
a fixed price per optimiser step plus a price per sample proportional to the
model's forward multiply-adds (and, under DP-SGD, to its parameter count: one
gradient per example, clipped). The constants were measured on this lab's
2-core machine (torch on one thread) with the 8x8 digits CNN and MLP and the
28x28 CryptoNets shape, and a fixed start-up (imports, Opacus' noise search,
the audit's forward passes) is added.

Memory: the process with torch and Opacus loaded, the data as float32, and per
batch the activations (forward and backward) and, under DP-SGD, one gradient
per example per parameter.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Seconds: a non-private optimiser step, a DP-SGD step (Opacus' hooks, clipping, noise), on one thread.
STEP_PLAIN, STEP_DP = 1e-3, 3e-3
#: Seconds per sample per forward multiply-add (forward + backward); DP-SGD's, and its per parameter per sample.
PER_MAC_PLAIN, PER_MAC_DP, PER_PARAM_DP = 6e-10, 1e-9, 3e-9
#: Seconds of fixed work: Opacus' noise search and its two epsilon checks per sweep point, one model's audit (thresholds, intervals), the start.
SEARCH_S, AUDIT_S, START_S = 0.8, 0.15, 1.5
#: Resident bytes of the process with torch, Opacus and scipy loaded, before any model (measured ~0.9-1.0 GB
#: with torch 2.9: its CPU kernels alone are ~0.75 GB).
BASE_BYTES = 950 * 2**20
#: Opacus keeps, per example of a batch, each parameter's gradient, its clipped copy and working buffers.
PER_SAMPLE_GRAD_COPIES = 6


def macs(workload: Any) -> tuple[float, float]:
    """(forward multiply-adds, activation values) of one sample, from the program's layer shapes."""
    total, acts = 0.0, 0.0
    for layer in workload.program.layers:
        out = float(np.prod(layer.out_shape))
        acts += out
        if layer.kind == "linear":
            total += float(np.size(layer.params["weight"]))
        elif layer.kind == "conv":
            w = np.shape(layer.params["weight"])
            total += out * float(np.prod(w[1:]))
        else:
            total += out
    return total, acts


def seconds(
    workload: Any, *, n_parameters: int, batch: int, epochs: int, points: int, n_reference: int, replaced: bool
) -> float:
    """Estimated wall-clock seconds of one assessment with these settings."""
    mac, _ = macs(workload)
    n_train, n_test = len(workload.y_train), len(workload.y_test)
    steps = math.ceil(n_train / batch)
    plain_epoch = steps * STEP_PLAIN + n_train * mac * PER_MAC_PLAIN
    dp_epoch = steps * STEP_DP + n_train * (mac * PER_MAC_DP + n_parameters * PER_PARAM_DP)
    public = n_test // 2
    ref_epoch = math.ceil(public / max(batch, 64)) * STEP_PLAIN + public * mac * PER_MAC_PLAIN
    train = epochs * ((1 + int(replaced)) * plain_epoch + points * dp_epoch + n_reference * ref_epoch)
    audit = (points + 2) * (AUDIT_S + (n_train + n_test) * mac * PER_MAC_PLAIN)
    return START_S + points * SEARCH_S + train + audit


def memory_bytes(workload: Any, *, n_parameters: int, batch: int) -> float:
    """Estimated peak resident bytes of the assessment."""
    _, acts = macs(workload)
    data = 4.0 * (workload.X_train.size + workload.X_test.size)
    per_batch = batch * 4.0 * (acts * 3 + n_parameters * PER_SAMPLE_GRAD_COPIES)
    evaluation = 4.0 * acts * 2 * max(len(workload.y_train), len(workload.y_test))
    return BASE_BYTES + 2 * data + per_batch + evaluation


def estimate(workload: Any, *, n_parameters: int, batch: int, replaced: bool) -> dict[str, float]:
    """``seconds`` (default mode), ``seconds_fast`` and ``memory_bytes`` of the DP assess door."""
    from .recipe import EPOCHS, EPSILONS, N_REFERENCE

    out = {}
    for key, i in (("seconds", 0), ("seconds_fast", 1)):
        out[key] = seconds(
            workload,
            n_parameters=n_parameters,
            batch=batch,
            epochs=EPOCHS[i],
            points=len(EPSILONS[i]),
            n_reference=N_REFERENCE[i],
            replaced=replaced,
        )
    out["memory_bytes"] = memory_bytes(workload, n_parameters=n_parameters, batch=batch)
    return out
