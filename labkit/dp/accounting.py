"""Privacy accounting for DP-SGD, straight from Opacus' accountants.

DP-SGD releases ``steps`` noisy gradient sums, each computed on a Poisson
sample of the data (every example joins a batch with probability
``sample_rate``) with per-example gradients clipped to norm ``C`` and
Gaussian noise of standard deviation ``noise_multiplier * C`` added. An
accountant turns ``(noise_multiplier, sample_rate, steps)`` into the
``epsilon`` of an ``(epsilon, delta)`` guarantee. Two accountants are offered:

- ``"rdp"``: Rényi DP of the subsampled Gaussian, converted to
  ``(epsilon, delta)`` (Mironov 2017; Mironov, Talwar, Zhang 2019);
- ``"prv"``: numerical composition of privacy loss random variables
  (Gopi, Lee, Wutschitz 2021), tighter than RDP.

Nothing here is hand-rolled: these functions build a fresh Opacus accountant
with the given history and ask it, which is how the lab checks the epsilon
reported after training independently of the accountant that was attached to
the optimizer during training.

References
----------
Abadi et al., "Deep learning with differential privacy", CCS 2016.
Mironov, "Rényi differential privacy", CSF 2017.
Mironov, Talwar, Zhang, "Rényi differential privacy of the sampled Gaussian mechanism", 2019.
Gopi, Lee, Wutschitz, "Numerical composition of differential privacy", NeurIPS 2021.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .. import validate
from ..errors import InvalidInput

ACCOUNTANTS = ("rdp", "prv")


def check_accountant(accountant: str) -> str:
    """The accountant's name if it is one of :data:`ACCOUNTANTS` ("rdp", "prv"); InvalidInput otherwise."""
    return validate.choice("accountant", accountant, ACCOUNTANTS)


def default_delta(n: int) -> float:
    """The largest power of ten at most ``1 / (10 n)``: safely below ``1/n``.

    >>> default_delta(1347), default_delta(426)
    (1e-05, 0.0001)
    """
    if n < 1:
        raise InvalidInput(f"the training set must hold at least one example, not {n}.")
    return 10.0 ** math.floor(math.log10(1.0 / (10 * n)))


# Opacus' default Rényi orders (1.1 to 63) extended upwards: with a large noise multiplier the optimal
# order lies above 63, and the default range then overestimates epsilon (Opacus warns).
RDP_ALPHAS = tuple(
    [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [80, 96, 128, 192, 256, 384, 512, 1024]
)


def epsilon(*, noise_multiplier: float, sample_rate: float, steps: int, delta: float, accountant: str = "rdp") -> float:
    """Epsilon of ``steps`` subsampled-Gaussian steps, from a fresh Opacus accountant.

    Parameters
    ----------
    noise_multiplier : float
        Noise standard deviation over the clip norm (positive).
    sample_rate : float
        Poisson sampling probability of each example per step, in (0, 1].
    steps : int
        Noisy steps taken.
    delta : float
        The delta of the ``(epsilon, delta)`` guarantee, in (0, 1).
    accountant : {"rdp", "prv"}

    >>> round(epsilon(noise_multiplier=1.0, sample_rate=256 / 60000, steps=60 * 235, delta=1e-5), 2)
    3.08
    """
    check_accountant(accountant)
    sigma = validate.positive("noise_multiplier", noise_multiplier)
    q = validate.positive("sample_rate", sample_rate, high=1.0)
    steps = validate.integer("steps", steps)
    d = validate.fraction("delta", delta)
    from opacus.accountants import create_accountant

    acc = create_accountant(mechanism=accountant)
    acc.history = [(sigma, q, steps)]
    if accountant == "rdp":  # large noise puts the best order beyond Opacus' default range (it warns and overestimates)
        return float(acc.get_epsilon(delta=d, alphas=RDP_ALPHAS))
    import warnings

    with warnings.catch_warnings():
        # PRV sizes its discretisation domain with an RDP bound over Opacus' default orders; that bound
        # only widens the domain, the epsilon returned is the PRV one, so its "largest alpha" advice is moot
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        return float(acc.get_epsilon(delta=d))


def noise_for_epsilon(
    *,
    target_epsilon: float,
    sample_rate: float,
    steps: int,
    delta: float,
    accountant: str = "rdp",
    alphas: Sequence[float] | None = None,
) -> float:
    """The noise multiplier that spends ``target_epsilon`` in ``steps`` steps (Opacus' search).

    ``alphas``: the Rényi orders the RDP accountant searches over (default: Opacus' own). Fewer
    orders search faster and give an epsilon bound at least as large, so the noise found is
    never too small for the target.
    """
    check_accountant(accountant)
    validate.positive("target_epsilon", target_epsilon)
    from opacus.accountants.utils import get_noise_multiplier

    extra = {} if alphas is None else {"alphas": [float(a) for a in alphas]}
    return float(
        get_noise_multiplier(
            target_epsilon=float(target_epsilon),
            target_delta=float(delta),
            sample_rate=float(sample_rate),
            steps=int(steps),
            accountant=accountant,
            **extra,
        )
    )
