"""Provenance: a proof made with other weights verifies as a SNARK but not against the published commitment."""

from __future__ import annotations

import types

import pytest

from labkit.errors import InvalidInput
from labkit.zk import Visibility, swap_weights


@pytest.fixture(scope="module")
def swapped(tiny, make_mlp):
    return swap_weights(tiny, make_mlp(shift=0.5))


@pytest.fixture(scope="module")
def swapped_proof(swapped, sample):
    return swapped.prove(sample)


def test_other_weights_reuse_the_published_keys(tiny, swapped):
    assert swapped.verifying_key_id == tiny.verifying_key_id
    assert swapped.params_commitment != tiny.params_commitment


def test_provenance_mismatch_is_detected(tiny, swapped_proof, tiny_proof):
    published = tiny.params_commitment
    assert tiny.verify(swapped_proof)  # a valid proof ... about other weights
    assert tiny.claimed_commitment(swapped_proof) != published
    assert tiny.verify(swapped_proof, commitment=published) is False
    assert tiny.verify(tiny_proof, commitment=published) is True


def test_swapped_model_computes_with_its_own_weights(tiny, swapped, swapped_proof, sample):
    assert list(swapped.claimed_output(swapped_proof)) != list(tiny.plaintext(sample))


def test_public_parameters_cannot_be_swapped(make_mlp):
    fake = types.SimpleNamespace(visibility=Visibility(params="public"))
    with pytest.raises(InvalidInput, match="fixed in the circuit"):
        swap_weights(fake, make_mlp())


def test_other_architecture_is_refused(tiny):
    import torch

    other = torch.nn.Sequential(torch.nn.Linear(8, 3), torch.nn.Sigmoid())
    with pytest.raises(InvalidInput, match="architecture"):
        swap_weights(tiny, other)
