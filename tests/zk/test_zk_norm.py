"""The federated update-norm proof: accept within the bound, reject above it, refuse forgeries."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import InvalidInput
from labkit.zk import UpdateNormProver


def test_update_within_bound_is_accepted(norm_prover, within_proof):
    assert norm_prover.excess(within_proof) <= norm_prover.tolerance
    assert norm_prover.verify(within_proof)


def test_update_above_bound_is_rejected_with_its_excess(norm_prover):
    v = np.random.default_rng(2).normal(size=8)
    v = 0.9 * v / np.max(np.abs(v))  # inside max_abs, norm above 1
    assert np.linalg.norm(v) > 1.2
    proof = norm_prover.prove(v)
    assert norm_prover.zk.verify(proof)  # a valid proof ...
    assert norm_prover.excess(proof) == pytest.approx(np.linalg.norm(v) ** 2 - 1.0, rel=0.05)
    assert not norm_prover.verify(proof)  # ... of a rejected update
    forged = proof.copy()
    forged.data["instances"][0][-1] = "00" * 32  # claim a zero excess
    assert norm_prover.excess(forged) == 0.0
    assert not norm_prover.verify(forged)


def test_commitment_binds_the_update(norm_prover, within_proof):
    commitment = norm_prover.commitment(within_proof)
    assert isinstance(commitment, str) and len(commitment) == 64
    assert norm_prover.verify(within_proof, commitment=commitment)
    assert not norm_prover.verify(within_proof, commitment="00" * 32)


def test_bad_updates_are_refused_before_proving(norm_prover):
    with pytest.raises(InvalidInput, match="length 8"):
        norm_prover.prove(np.zeros(5))
    with pytest.raises(InvalidInput, match="max_abs"):
        norm_prover.prove(np.full(8, 3.0))
    with pytest.raises(InvalidInput, match="NaN"):
        norm_prover.prove(np.full(8, np.nan))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dim": 0, "bound": 1.0}, "dim"),
        ({"dim": 4, "bound": -1.0}, "bound"),
        ({"dim": 4, "bound": float("nan")}, "bound"),
        ({"dim": 4, "bound": 1.0, "max_abs": 0}, "max_abs"),
    ],
)
def test_bad_prover_parameters(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        UpdateNormProver(**kwargs)


def test_screen_a_round(norm_prover, within_proof):
    forged = within_proof.copy()
    forged.data["proof"][10] ^= 1
    assert norm_prover.screen([within_proof, forged, "not a proof"]) == [True, False, False]
    good = norm_prover.commitment(within_proof)
    assert norm_prover.screen([within_proof], commitments=["00" * 32]) == [False]
    assert norm_prover.screen([within_proof], commitments=[good]) == [True]
    with pytest.raises(InvalidInput, match="one per proof"):
        norm_prover.screen([within_proof], commitments=[])
