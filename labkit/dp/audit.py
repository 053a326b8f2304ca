"""Empirical privacy audit: membership inference against a trained model.

The attacker sees one example and the model's loss on it, and guesses
whether the example was in the training set. Two attacks:

- **loss threshold** (Yeom et al. 2018): members tend to have lower loss;
  the score is ``-loss``.
- **calibrated loss** (Watson et al. 2022, difficulty calibration): some
  examples are hard for any model, so their high loss says little. The score
  is ``-(loss - mean reference loss)``, where reference models were trained
  on public data that never contains the example ("offline" calibration, as
  in Carlini et al. 2022's offline LiRA, with a difference instead of a
  likelihood ratio).

Each attack gives its ROC AUC (0.5 = guessing) and its true-positive rate at a
low false-positive rate (Carlini et al. 2022 argue this is the number that
matters). The attack also gives an **empirical lower bound on epsilon**: an
``(epsilon, delta)``-DP training run forces every membership test to satisfy
``TPR <= exp(epsilon) * FPR + delta`` and ``TNR <= exp(epsilon) * FNR + delta``
(Kairouz, Oh, Viswanath 2015), so an observed (TPR, FPR) proves
``epsilon >= log((TPR - delta) / FPR)``. To keep the bound honest, the
threshold and the attack are chosen on one random half of the examples and
the rates are measured on the other half with Clopper-Pearson 95% intervals
(TPR at its lower limit, FPR at its upper limit), following Jagielski,
Ullman, Oprea 2020.

Caveat: DP's guarantee is about one example's presence in one training run.
Scoring many members of one model is the usual, cheaper heuristic; it gives
an indicative bound, not a proof (Steinke, Nasr, Jagielski 2023 show how a
one-run audit can be made rigorous with randomly included canaries). The
bound can only show leakage, never certify privacy: a bound near 0 means
this attack found nothing, not that nothing leaks.

References
----------
Yeom et al., "Privacy risk in machine learning: analyzing the connection to overfitting", CSF 2018.
Watson et al., "On the importance of difficulty calibration in membership inference attacks", ICLR 2022.
Carlini et al., "Membership inference attacks from first principles", IEEE S&P 2022.
Kairouz, Oh, Viswanath, "The composition theorem for differential privacy", ICML 2015.
Jagielski, Ullman, Oprea, "Auditing differentially private machine learning: how private is private SGD?",
NeurIPS 2020.
Steinke, Nasr, Jagielski, "Privacy auditing with one (1) training run", NeurIPS 2023.
Hanley & McNeil, "The meaning and use of the area under a ROC curve", Radiology 1982.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import config, validate
from ..errors import InvalidInput
from ..results import Result

LOW_FPR = 0.05  # a few hundred non-members cannot resolve 0.1% FPR; 5% is the lowest we can read honestly
CONFIDENCE = 0.95


def scores(name: str, a) -> np.ndarray:
    """A 1-D float64 array of at least 2 finite scores or losses (:func:`labkit.validate.finite_array`)."""
    return validate.finite_array(name, a, ndim=1, min_size=2)


def auc(member_scores, nonmember_scores) -> float:
    """Probability that a random member scores above a random non-member (ties count half).

    >>> auc([3, 4, 5], [0, 1, 2])
    1.0
    >>> auc([1, 2], [1, 2])
    0.5
    """
    m = scores("member_scores", member_scores)
    n = scores("nonmember_scores", nonmember_scores)
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([m, n]))
    u = ranks[: len(m)].sum() - len(m) * (len(m) + 1) / 2
    return float(u / (len(m) * len(n)))


HISTOGRAM_EDGES = [round(-6 + 0.25 * i, 2) for i in range(31)]  # log10(loss) from 1e-6 to ~1.8


def loss_histogram(member_loss, nonmember_loss) -> dict[str, list[float]]:
    """Fractions of members and non-members per bin of ``log10(loss)`` (edges ``HISTOGRAM_EDGES``).

    Losses outside the range land in the first or last bin. Small enough to keep in a Result.

    >>> h = loss_histogram([1e-7, 0.01], [1.0, 50.0])
    >>> h["members"][0], h["nonmembers"][-1], round(sum(h["members"]), 6)
    (0.5, 0.5, 1.0)
    """
    edges = np.asarray(HISTOGRAM_EDGES)
    out = {}
    for key, losses in (("members", member_loss), ("nonmembers", nonmember_loss)):
        logs = np.clip(np.log10(np.maximum(scores(key, losses), 1e-300)), edges[0], edges[-1] - 1e-9)
        counts, _ = np.histogram(logs, bins=edges)
        out[key] = (counts / counts.sum()).round(5).tolist()
    return out


def auc_standard_error(value: float, n_members: int, n_nonmembers: int) -> float:
    """Standard error of an AUC estimated from ``n_members`` and ``n_nonmembers`` scores (Hanley & McNeil 1982).

    An AUC within about two standard errors of 0.5 is no evidence of a leak.

    >>> round(auc_standard_error(0.5, 400, 70), 3)
    0.037
    """
    a = float(value)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_members - 1) * (q1 - a * a) + (n_nonmembers - 1) * (q2 - a * a)) / (
        n_members * n_nonmembers
    )
    return math.sqrt(max(var, 0.0))


def tpr_at_fpr(member_scores, nonmember_scores, fpr: float = LOW_FPR) -> float:
    """Largest TPR of a threshold whose FPR is at most ``fpr``.

    >>> tpr_at_fpr([5, 6, 1, 2], [0, 1, 2, 3], fpr=0.0)
    0.5
    """
    m = np.sort(scores("member_scores", member_scores))
    n = scores("nonmember_scores", nonmember_scores)
    fpr = validate.fraction("fpr", fpr, closed=True)
    if fpr == 1:
        raise InvalidInput(f"fpr must be below 1, not {fpr!r}.")
    # Threshold: guess "member" when score > t. Allow at most floor(fpr * len(n)) false positives.
    allowed = int(math.floor(fpr * len(n) + 1e-9))
    n_desc = np.sort(n)[::-1]
    t = n_desc[allowed] if allowed < len(n_desc) else -np.inf
    return float(np.mean(m > t))


def _clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    from scipy.stats import beta

    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def epsilon_bound(tp: int, n_members: int, fp: int, n_nonmembers: int, *, delta: float) -> float:
    """Lower bound on epsilon from counts, with Clopper-Pearson intervals (0 when nothing is shown).

    >>> epsilon_bound(50, 100, 50, 100, delta=1e-5)
    0.0
    >>> round(epsilon_bound(90, 100, 5, 100, delta=1e-5), 2)
    1.99
    """
    alpha = 1 - CONFIDENCE
    tpr_lo, tpr_hi = _clopper_pearson(tp, n_members, alpha)
    fpr_lo, fpr_hi = _clopper_pearson(fp, n_nonmembers, alpha)
    best = 0.0
    # Both directions of the test: "member" when above, and the complementary guess.
    for hit, false in ((tpr_lo, fpr_hi), (1 - fpr_hi, 1 - tpr_lo)):
        if hit - delta > 0 and false > 0:
            best = max(best, math.log((hit - delta) / false))
    return best


def _thresholds(m: np.ndarray, n: np.ndarray, max_count: int = 200) -> np.ndarray:
    qs = np.linspace(0, 1, max_count)
    return np.unique(np.quantile(np.concatenate([m, n]), qs))


def _counts(m: np.ndarray, n: np.ndarray, t: float) -> tuple[int, int]:
    return int(np.sum(m > t)), int(np.sum(n > t))


@dataclass(frozen=True)
class AttackScores:
    """Per-example attack scores of one attack (higher = "more likely a member")."""

    name: str
    members: np.ndarray
    nonmembers: np.ndarray


def empirical_epsilon(
    attacks: list[AttackScores], *, delta: float, rng: int | np.random.Generator | None = None
) -> tuple[float, str]:
    """Epsilon lower bound: attack and threshold picked on one half, measured on the other.

    Returns the bound and the name of the attack that gave it (``rng``: the random halves, None for
    ``LABKIT_SEED``).
    """
    if not attacks:
        raise InvalidInput("empirical_epsilon needs at least one attack's scores.")
    gen = config.rng(rng)
    n_m, n_n = len(attacks[0].members), len(attacks[0].nonmembers)
    if n_m < 4 or n_n < 4:
        raise InvalidInput("an epsilon bound needs at least 4 members and 4 non-members.")
    pm, pn = gen.permutation(n_m), gen.permutation(n_n)
    pick_m, eval_m = pm[: n_m // 2], pm[n_m // 2 :]
    pick_n, eval_n = pn[: n_n // 2], pn[n_n // 2 :]
    best = (-1.0, attacks[0].name, math.inf)
    for att in attacks:
        m, n = att.members[pick_m], att.nonmembers[pick_n]
        for t in _thresholds(m, n):
            tp, fp = _counts(m, n, t)
            bound = epsilon_bound(tp, len(m), fp, len(n), delta=delta)
            if bound > best[0]:
                best = (bound, att.name, float(t))
    _, name, t = best
    chosen = next(a for a in attacks if a.name == name)
    tp, fp = _counts(chosen.members[eval_m], chosen.nonmembers[eval_n], t)
    return epsilon_bound(tp, len(eval_m), fp, len(eval_n), delta=delta), name


def run(
    *,
    member_loss,
    nonmember_loss,
    member_reference_loss,
    nonmember_reference_loss,
    delta: float,
    rng: int | np.random.Generator | None = None,
) -> Result:
    """Both attacks on one model: AUCs, TPR at low FPR and the epsilon lower bound.

    Parameters
    ----------
    member_loss, nonmember_loss : array of float
        The target model's per-example loss on members and non-members.
    member_reference_loss, nonmember_reference_loss : array of float
        The mean loss of reference models (trained on public data) on the same examples.
    delta : float
        The delta of the guarantee being audited.
    rng : int, numpy Generator or None
        Draws the random halves that pick and measure the bound (None: ``LABKIT_SEED``).

    Returns
    -------
    Result
        ``dp/audit``: ``metrics`` ``attack_auc`` (loss threshold) and its standard error
        ``attack_auc_se``, ``attack_auc_calibrated``, ``tpr_at_low_fpr`` and
        ``tpr_at_low_fpr_calibrated`` (at ``LOW_FPR``), ``empirical_epsilon``; ``artifacts``
        ``best_attack`` (the name of the attack that gave the bound).

    Examples
    --------
    >>> r = np.random.default_rng(0)
    >>> out = run(member_loss=r.exponential(0.2, 300), nonmember_loss=r.exponential(1.0, 300),
    ...           member_reference_loss=np.ones(300), nonmember_reference_loss=np.ones(300), delta=1e-5, rng=0)
    >>> out.metrics["attack_auc"] > 0.75, out.metrics["empirical_epsilon"] > 0.5
    (True, True)
    """
    ml = scores("member_loss", member_loss)
    nl = scores("nonmember_loss", nonmember_loss)
    mr = scores("member_reference_loss", member_reference_loss)
    nr = scores("nonmember_reference_loss", nonmember_reference_loss)
    if mr.shape != ml.shape or nr.shape != nl.shape:
        raise InvalidInput("reference losses must have one value per member and per non-member.")
    loss_attack = AttackScores("loss", -ml, -nl)
    calibrated = AttackScores("calibrated", -(ml - mr), -(nl - nr))
    eps_lb, best = empirical_epsilon([loss_attack, calibrated], delta=delta, rng=rng)
    auc_loss = auc(loss_attack.members, loss_attack.nonmembers)
    return Result(
        technique="dp",
        name="audit",
        params={"delta": float(delta), "n_members": len(ml), "n_nonmembers": len(nl)},
        metrics={
            "attack_auc": auc_loss,
            "attack_auc_se": auc_standard_error(auc_loss, len(ml), len(nl)),
            "attack_auc_calibrated": auc(calibrated.members, calibrated.nonmembers),
            "tpr_at_low_fpr": tpr_at_fpr(loss_attack.members, loss_attack.nonmembers, LOW_FPR),
            "tpr_at_low_fpr_calibrated": tpr_at_fpr(calibrated.members, calibrated.nonmembers, LOW_FPR),
            "empirical_epsilon": eps_lb,
        },
        artifacts={"best_attack": best},
    )
