"""What each party sees: its shares are uniformly random and say nothing about the input.

:func:`party_views` has the data owner secret-share two inputs of the same
shape, a real one (e.g. digit images) and an all-zero one, and every party
hands back the raw 64-bit shares it holds. :func:`share_statistics` then asks
of each party's shares what an eavesdropper could: do the bits look like fair
coins (frequency of ones per bit position), is the top byte uniform
(chi-square test), do the shares correlate with the secret, and can the
shares of the real input be told apart from the shares of zeros
(two-sample Kolmogorov-Smirnov test)? Adding all parties' shares, and only
then, gives the encoded input back.

References
----------
Shamir, "How to Share a Secret", CACM 1979, and the additive variant in
Cramer, Damgard, Nielsen, "Secure Multiparty Computation and Secret Sharing",
Cambridge University Press 2015, ch. 3 (any n-1 additive shares are uniform).
Knott et al., "CrypTen", NeurIPS 2021 (pseudo-random zero sharing of inputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import config, validate
from ..errors import InvalidInput
from ..results import Outcome, Result
from .launcher import check_parties, run_parties

PRECISION_BITS = 16
DATA_OWNER = 1


def views_task(party: Any, private: Any) -> dict[str, Any]:
    """Party side of :func:`party_views`: share both inputs from the data owner and return this party's raw shares."""
    shape = tuple(party.options["shape"])
    own = party.rank == DATA_OWNER
    real = party.share(private["real"] if own else None, shape=shape, src=DATA_OWNER)
    zeros = party.share(private["zeros"] if own else None, shape=shape, src=DATA_OWNER)
    return {"real": real.share.numpy().copy(), "zeros": zeros.share.numpy().copy()}


def party_views(secret: Any, *, parties: int = 2, timeout: float = 60.0) -> Outcome[dict[str, Any]]:
    """Run real parties and collect every party's raw shares of ``secret`` and of zeros.

    Parameters
    ----------
    secret : array
        The data owner's input (any shape, finite, within +-1e6).
    parties : {2, 3}
    timeout : float
        Seconds for the run.

    Returns
    -------
    Outcome
        ``value``: a dict with ``secret`` (float64), ``encoded`` (the int64 fixed-point
        encoding), ``real`` and ``zeros`` (lists, one per party, of int64 share arrays)
        and ``pids``; ``result``: the run ("share_views": parties, values, wall seconds).

    References
    ----------
    Cramer, Damgard, Nielsen, "Secure Multiparty Computation and Secret Sharing", 2015, ch. 3.
    """
    check_parties(parties)
    x = validate.finite_array("secret", secret)
    if x.size > 1_000_000:
        raise InvalidInput(f"secret must hold 1 to 1,000,000 values, not {x.size}.")
    if np.abs(x).max() > 1e6:
        raise InvalidInput("secret must lie within +-1e6 for 16-bit fixed point.")
    private: list[Any] = [None] * parties
    private[DATA_OWNER] = {"real": x, "zeros": np.zeros_like(x)}
    run = run_parties(
        "labkit.mpc.views:views_task",
        private,
        options={"shape": x.shape},
        provider="TFP",
        timeout=timeout,
    )
    # TFP is harmless here: sharing an input needs no Beaver triples.
    value = {
        "secret": x,
        "encoded": np.round(x * 2**PRECISION_BITS).astype(np.int64),
        "real": [o["real"] for o in run.outputs],
        "zeros": [o["zeros"] for o in run.outputs],
        "pids": run.pids,
    }
    result = Result(
        "mpc",
        "share_views",
        params={"parties": parties, "shape": list(x.shape)},
        metrics={"parties": parties, "values": int(x.size), "wall_seconds": run.wall_seconds},
        artifacts={"pids": run.pids},
    )
    return Outcome(value, result)


def reconstruct(shares: list[np.ndarray]) -> np.ndarray:
    """Add shares modulo 2**64 and decode the fixed-point value."""
    total = np.zeros_like(shares[0], dtype=np.uint64)
    for s in shares:
        total += s.astype(np.uint64)  # uint64 addition wraps modulo 2**64
    return total.astype(np.int64) / 2.0**PRECISION_BITS


def bit_frequencies(shares: np.ndarray) -> np.ndarray:
    """Fraction of ones at each of the 64 bit positions (0.5 each for uniform shares)."""
    u = shares.astype(np.uint64).reshape(-1)
    bits = (u[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    return bits.mean(axis=0)


def top_byte(shares: np.ndarray) -> np.ndarray:
    """The most significant byte of each share (0-255)."""
    return (shares.astype(np.uint64).reshape(-1) >> np.uint64(56)).astype(np.int64)


def share_statistics(views: dict[str, Any]) -> Result:
    """Statistics of each party's shares (``views``: the ``value`` of :func:`party_views`); metrics per party ``p``:

    ``bit_bias_max_p``: the largest distance of a bit's frequency of ones from 0.5;
    ``chi2_pvalue_p``: chi-square test that the top byte is uniform on 0-255;
    ``corr_p``: correlation of the share's top byte with the secret;
    ``ks_pvalue_p``: KS test, shares of the secret vs shares of zeros (same law: high p);
    the same two tests on the plain encoding (``*_plain``: what a party would see without
    sharing, which fails them), and ``reconstruction_error``: all shares added, against the secret.
    """
    from scipy import stats

    secret = views["secret"].reshape(-1)
    n = secret.size
    result = Result("mpc", "party_views", params={"parties": len(views["real"]), "n": int(n)})
    m = result.metrics
    for p, (real, zeros) in enumerate(zip(views["real"], views["zeros"])):
        m[f"bit_bias_max_{p}"] = float(np.abs(bit_frequencies(real) - 0.5).max())
        counts = np.bincount(top_byte(real), minlength=256)
        m[f"chi2_pvalue_{p}"] = float(stats.chisquare(counts).pvalue)
        tb = top_byte(real).astype(np.float64)
        m[f"corr_{p}"] = float(np.corrcoef(tb, secret)[0, 1]) if secret.std() > 0 and tb.std() > 0 else 0.0
        m[f"ks_pvalue_{p}"] = float(stats.ks_2samp(top_byte(real), top_byte(zeros)).pvalue)
    encoded = views["encoded"].reshape(-1)
    m["bit_bias_max_plain"] = float(np.abs(bit_frequencies(encoded) - 0.5).max())
    m["chi2_pvalue_plain"] = float(stats.chisquare(np.bincount(top_byte(encoded), minlength=256)).pvalue)
    m["reconstruction_error"] = float(np.abs(reconstruct(views["real"]).reshape(-1) - secret).max())
    result.artifacts["note"] = (
        "each party alone holds uniform 64-bit numbers; only the sum of all shares decodes to the secret"
    )
    return result


def guess_from_shares(
    views: dict[str, Any], labels: Any, *, party: int = 0, rng: int | np.random.Generator | None = None
) -> Result:
    """A curious party's attack: learn the labels from its shares, against the same attack on plaintext.

    Splits the samples in half, fits a logistic regression on one half
    (features: the party's shares scaled to [-1, 1), or the plain inputs) and
    scores it on the other half. Shares give chance accuracy; plaintext does not.

    Parameters
    ----------
    views : dict
        The ``value`` of :func:`party_views`.
    labels : array
        One label per sample.
    party : int
        Whose shares the attacker holds.
    rng : int, numpy Generator or None
        Seeds the split (None: ``LABKIT_SEED``).

    Returns
    -------
    Result
        metrics ``accuracy_shares``, ``accuracy_plain`` and ``chance`` (the majority class rate).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels).reshape(-1)
    X_plain = views["secret"].reshape(len(y), -1)
    if len(y) < 20:
        raise InvalidInput(f"the attack needs at least 20 labelled samples, not {len(y)}.")
    X_shares = views["real"][party].reshape(len(y), -1).astype(np.float64) / 2.0**63
    order = config.rng(rng).permutation(len(y))
    train, test = order[: len(y) // 2], order[len(y) // 2 :]

    def score(X: np.ndarray) -> float:
        scaler = StandardScaler().fit(X[train])
        clf = LogisticRegression(max_iter=500).fit(scaler.transform(X[train]), y[train])
        return float((clf.predict(scaler.transform(X[test])) == y[test]).mean())

    chance = float(np.bincount(y[test]).max() / len(test))
    return Result(
        "mpc",
        "guess_from_shares",
        params={"parties": len(views["real"]), "party": party, "n": len(y)},
        metrics={"accuracy_shares": score(X_shares), "accuracy_plain": score(X_plain), "chance": chance},
    )
