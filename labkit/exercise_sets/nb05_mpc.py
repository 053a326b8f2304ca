"""Exercises of notebook 05_mpc: secret sharing, Beaver triples, the network cost, the published figures."""

from __future__ import annotations

from labkit.exercises import choice, metric_of, numeric, predicted, predicted_choice, register
from labkit.mpc.technique import published_ratio

ANCHOR_MODEL = "breast_cancer_logreg"  # the published figure the last exercise compares with

register(
    "05.shares_to_reconstruct",
    "With 3 parties and additive secret sharing, how many shares must be added to recover an input?",
)(numeric(3, rel_tol=0, abs_tol=0.01, unit=" shares", hint="Any fewer than all of them are uniformly random."))

register(
    "05.leaky_provider",
    "Which CrypTen triple provider lets party 0 (the model owner) read the data owner's inputs: 'TFP' or 'TTP'?",
)(
    choice(
        ["tfp", "trusted first party"],
        hints={"ttp": "With TTP the triples come from a separate dealer; party 0 holds only a random share of a."},
        default_hint="Which provider makes party 0 generate a, b and ab in the clear?",
    )
)

register(
    "05.max_clients",
    "secure_sum encodes each update with 16 fractional bits (rounding error at most 2**-16 per value). "
    "How many clients can it sum at most before the worst-case error of one summed value could exceed 0.001?",
)(
    numeric(
        int(0.001 / 2.0**-16),
        rel_tol=0,
        abs_tol=0.01,
        unit=" clients",
        hint="Each client's encoding can be off by up to 2**-16 and the errors add up: solve n * 2**-16 <= 0.001 "
        "for the largest whole n.",
    )
)


def _wan_term(*, result=None, **_):
    from labkit.mpc import network

    e = network.estimate(
        compute_s=metric_of(result, "compute_seconds"),
        rounds=metric_of(result, "rounds"),
        bytes_=metric_of(result, "bytes_max_party"),
        link=network.WAN,
    ).as_dict()
    parts = {"compute": e["compute_s"], "rounds": e["latency_s"], "bytes": e["transfer_s"]}
    return max(parts, key=parts.get)


register(
    "05.wan_bottleneck",
    "Predict before the network model runs: on the WAN link (50 ms round trip, 100 Mbit/s), which term will "
    "dominate the modelled latency of the 2-party digits MLP: 'compute', 'rounds' or 'bytes'?",
)(
    predicted_choice(
        _wan_term,
        ["compute", "rounds", "bytes"],
        hints={
            "compute": "On loopback compute is most of the time, but a WAN adds 50 ms per round trip: count the "
            "rounds in the inference Result and multiply.",
            "bytes": "Compare the busiest party's bytes at 100 Mbit/s (12.5 MB per second) with rounds x 50 ms.",
        },
    )
)


def _lr_overhead(*, result=None, **_):
    return metric_of(result, "overhead")


register(
    "05.published_ratio",
    f"Predict before the logistic regression runs: CrypTen published ~{published_ratio(ANCHOR_MODEL):.0f}x "
    "(61 ms / 0.11 ms) for 2-party logistic-regression inference. What overhead (private time over plaintext "
    "time) will our run measure? (within a factor 10 either way counts)",
)(
    predicted(
        _lr_overhead,
        factor=10,
        unit="x",
        hint="Both run CrypTen with two parties on a one-layer model (two rounds); ours are processes on one "
        "machine over loopback, and the plaintext baseline is a fraction of a millisecond. Think in powers of ten.",
    )
)
