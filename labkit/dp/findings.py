"""What the DP assessment found, in sentences built from its numbers, and where each number comes from.

:func:`provenance` labels every metric of a ``dp/assess`` Result: "measured"
(read off this run: accuracies, AUCs, times, the noise, sample rate and steps
actually used) or "modelled" (an analytical bound computed from those: the
accountant's epsilon, and the delta it is stated at). :func:`findings` writes
the short factual reading; each sentence is an f-string of the Result's numbers.
"""

from __future__ import annotations

from typing import Any

#: Metrics computed by the accountant's theorem from the run's noise, sample rate and steps (not measured).
MODELLED = {"epsilon", "epsilon_check", "target_epsilon", "delta", "estimate_seconds", "estimate_memory_bytes"}
#: AUCs within this many standard errors of 0.5 are no evidence of a leak.
SE_BAND = 2.0


def provenance(metrics: dict[str, Any]) -> dict[str, str]:
    """{metric: "measured" | "modelled"} for every metric."""
    return {k: "modelled" if k in MODELLED else "measured" for k in metrics}


def _leaks(auc: float, se: float) -> bool:
    return auc - 0.5 > SE_BAND * se


def findings(result: Any) -> list[str]:
    """Short factual sentences from a ``dp/assess`` Result's metrics and sweep."""
    m, a, p = result.metrics, result.artifacts, result.params
    out = []
    changes = a.get("changes") or []
    if changes:
        what = "; ".join(f"{c['from']} -> {c['to']}" for c in changes)
        out.append(
            f"Opacus' fix replaced {len(changes)} module(s) ({what}). Without privacy and with the same "
            f"{p['epochs']} epochs, the fixed architecture reached {m['accuracy_plain_fixed']:.3f} test accuracy "
            f"against {m['accuracy_plain']:.3f} for the original: the fix alone changes test accuracy by "
            f"{-m['accuracy_cost_of_fix']:+.3f}."
        )
    else:
        out.append("Opacus trains this architecture as it is: no module needed replacing.")
    points = ", ".join(f"{pt['accuracy']:.3f} at epsilon {pt['epsilon']:.2g}" for pt in a["sweep"])
    out.append(
        f"DP-SGD test accuracy: {points} (delta {m['delta']:g}, RDP accountant), against "
        f"{m['accuracy_plain_fixed']:.3f} without privacy, trained from scratch on {m['n_members']} samples."
    )
    plain, priv = m["audit_auc_plain"], m["audit_auc_private"]
    se_plain, se_priv = m["audit_auc_se_plain"], m["audit_auc_se_private"]
    sentence = (
        f"The loss-threshold membership attack reached AUC {plain:.3f} (standard error {se_plain:.3f}) against "
        f"the non-private model and {priv:.3f} ({se_priv:.3f}) against the DP model at epsilon {m['epsilon']:.2g}"
    )
    if not _leaks(plain, se_plain):
        sentence += (
            ": the non-private model shows no leak this attack can detect on this data, so it cannot show "
            "what DP-SGD removes here."
        )
    elif not _leaks(priv, se_priv):
        sentence += ": the non-private model leaks membership; under DP-SGD the attack is within noise of guessing."
    else:
        sentence += f": both models leak membership to this attack (AUC lower by {plain - priv:.3f} under DP-SGD)."
    out.append(sentence)
    emp, eps = m["empirical_epsilon_private"], m["epsilon"]
    relation = "below" if emp <= eps else "ABOVE (a bug or a broken guarantee)"
    out.append(
        f"The audit's empirical lower bound on epsilon for the DP model is {emp:.2f}, {relation} the accountant's "
        f"{eps:.2f}; for the non-private model it is {m['empirical_epsilon_plain']:.2f}."
    )
    out.append(
        f"A DP-SGD epoch took {m['overhead']:.2f}x a non-private epoch of the same architecture (ratio of the "
        f"median times of {p['epochs']} interleaved epochs each; IQR of the paired ratios "
        f"{m['overhead_low']:.2f}-{m['overhead_high']:.2f})."
    )
    return out
