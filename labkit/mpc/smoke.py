"""The one-second check that CrypTen parties work: two parties add secret-shared vectors.

``labkit doctor`` runs it (through :func:`labkit.mpc.technique.smoke_crypten`)
and notebook 05 opens with it.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984).
"""

from __future__ import annotations

from typing import Any

from ..errors import BackendUnavailable, LabkitError
from . import backend
from .launcher import check_parties, run_parties

# Inputs of the smoke test: party 0 holds A, party 1 holds B.
SMOKE_A = (1.5, 2.5)
SMOKE_B = (3.0, 4.0)
SMOKE_EXPECTED = sum(SMOKE_A) + sum(SMOKE_B)  # 11.0


def smoke_task(party: Any, private: Any) -> float:
    """Party side of :func:`smoke_add`: share own input, add, reveal the total."""
    a = party.share(private if party.rank == 0 else None, shape=(len(SMOKE_A),), src=0)
    b = party.share(private if party.rank == 1 else None, shape=(len(SMOKE_B),), src=1)
    return float((a + b).sum().get_plain_text().item())


def smoke_add(parties: int = 2, *, timeout: float = 30.0) -> float:
    """Add two secret-shared vectors with real CrypTen parties; return the decrypted total.

    Party 0 holds ``[1.5, 2.5]``, party 1 holds ``[3.0, 4.0]``; each shares its
    own vector, the parties add the shares and reveal the total, 11.0. Every
    party is a separate OS process talking to the others over TCP on
    127.0.0.1 (torch.distributed, gloo). Takes one to three seconds, most of
    it importing torch in each process.

    Parameters
    ----------
    parties : int
        Number of parties, 2 or 3 (the third holds no input).
    timeout : float
        Seconds before the parties are killed and :class:`~labkit.mpc.supervisor.PartyTimeout` is raised.

    Returns
    -------
    float
        The decrypted sum, 11.0 up to fixed-point precision (2**-16).

    Raises
    ------
    InvalidInput
        ``parties`` or ``timeout`` out of range.
    BackendUnavailable
        CrypTen is not installed (a failing import inside the parties surfaces as PartyFailed
        naming BackendUnavailable and its reason).
    LabkitError
        A party failed, the rendezvous failed, the parties disagree, or the timeout expired.
        No party process is left running in any case.

    References
    ----------
    Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine Learning", NeurIPS 2021.
    """
    check_parties(parties, allowed=(2, 3))
    if backend.version() is None:
        raise BackendUnavailable(backend.BACKEND, backend.NOT_INSTALLED)
    run = run_parties(
        "labkit.mpc.smoke:smoke_task",
        [list(SMOKE_A), list(SMOKE_B)] + [None] * (parties - 2),
        timeout=timeout,
        provider="TFP",  # an addition needs no Beaver triples, so no dealer process is started
    )
    totals = run.outputs
    if any(abs(t - totals[0]) > 1e-9 for t in totals):
        raise LabkitError(f"CrypTen parties revealed different sums: {totals}.")
    return totals[0]


__all__ = ["SMOKE_A", "SMOKE_B", "SMOKE_EXPECTED", "smoke_add", "smoke_task"]
