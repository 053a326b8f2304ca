"""Exercises of notebook 05_mpc: secret sharing, Beaver triples, the network cost, the published figures."""

from __future__ import annotations

from labkit.exercises import choice, numeric, register
from labkit.mpc.technique import compare_with_published, published_ratio

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
    "05.sum_error_bound",
    "secure_sum encodes each update with 16 fractional bits (rounding error at most 2**-16 per value). "
    "What is the worst-case error of one summed value over 8 clients?",
)(numeric(8 * 2.0**-16, rel_tol=0.01, hint="Each client's encoding can be off by up to 2**-16; errors add up."))


@register(
    "05.wan_bottleneck",
    "On the WAN link, which term dominates the modelled latency of the digits MLP: 'compute', 'rounds' or "
    "'bytes'? (pass parts=<the estimate's as_dict()>)",
)
def _wan_bottleneck(answer, *, parts=None, **_):
    if parts is None:
        raise TypeError("call check(..., parts=<network.estimate(...).as_dict()>)")
    names = {"compute": parts["compute_s"], "rounds": parts["latency_s"], "bytes": parts["transfer_s"]}
    truth = max(names, key=names.get)
    given = str(answer).strip().lower()
    if given not in names:
        raise ValueError("answer 'compute', 'rounds' or 'bytes'")
    if given == truth:
        return True, f"Yes: {truth} is {names[truth] * 1e3:.0f} ms of {sum(names.values()) * 1e3:.0f} ms."
    return False, f"Compare the three parts again: {given} is {names[given] * 1e3:.0f} ms."


@register(
    "05.published_ratio",
    f"CrypTen published ~{published_ratio(ANCHOR_MODEL):.0f}x (61 ms / 0.11 ms) for 2-party logistic-regression "
    "inference. Is your measured overhead 'below', 'similar' (within a factor 3) or 'above'? "
    "(pass measured=<your ratio>)",
)
def _published_ratio(answer, *, measured=None, **_):
    if measured is None:
        raise TypeError("call check(..., measured=<your overhead ratio>)")
    published = published_ratio(ANCHOR_MODEL)
    truth = compare_with_published(ANCHOR_MODEL, measured)
    given = str(answer).strip().lower()
    if given not in ("below", "similar", "above"):
        raise ValueError("answer 'below', 'similar' or 'above'")
    if given == truth:
        return True, f"Right: {measured:.0f}x against ~{published:.0f}x is {truth}."
    return False, f"Divide {measured:.0f} by {published:.0f} and compare with 1/3 and 3."
