"""The CKKS key holder as an attested enclave: honest decryption of sums, and the attacks it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import InvalidInput, TamperDetected, VerificationFailed
from labkit.tee import EnclaveError, KeyHolderEnclave

DIM = 1210  # a capstone update (hidden 16)


@pytest.fixture(scope="module")
def ckks():
    from labkit.fl.secure_agg import CKKSSum

    return CKKSSum()


@pytest.fixture(scope="module")
def updates():
    rng = np.random.default_rng(7)
    return [rng.normal(scale=0.01, size=DIM) for _ in range(3)]


@pytest.fixture
def holder(ckks):
    with KeyHolderEnclave(ckks.ctx, min_clients=2, rounds=2) as kh:
        yield kh


def test_enclave_decrypts_the_sum_and_the_host_never_sees_the_keys(ckks, holder, updates):
    out = holder.decrypt_sum(ckks.encrypted_sum(updates), clients=3, length=DIM)
    assert out.shape == (DIM,)
    assert np.max(np.abs(out - np.sum(updates, axis=0))) < 1e-6
    assert holder.decryptions == 1  # the platform's monotonic counter
    assert holder.release.released
    assert not holder.enclave.host_saw(ckks.ctx.impl.secret_key_bytes())
    assert not holder.enclave.host_saw(holder.key_service.peek("aggregation"))
    assert not holder.enclave.host_saw(updates[0].astype("<f8").tobytes()[:64])  # only ciphertexts crossed


def test_a_sum_of_too_few_clients_is_refused(ckks, holder, updates):
    one = ckks.encrypted_sum(updates[:1])
    with pytest.raises(EnclaveError, match="sums of >= 2"):
        holder.decrypt_sum(one, clients=1, length=DIM)
    assert holder.decryptions == 1  # the attempt still counts against the budget (the host incremented first)


def test_the_decryption_budget_bounds_how_many_ciphertexts_the_host_gets_opened_even_across_restarts(
    ckks, holder, updates
):
    total = ckks.encrypted_sum(updates)
    holder.decrypt_sum(total, clients=3, length=DIM)
    holder.restart()  # a new instance starts from the platform's counter, not from a fresh budget
    holder.decrypt_sum(total, clients=3, length=DIM)
    with pytest.raises(EnclaveError, match="budget exhausted"):
        holder.decrypt_sum(total, clients=3, length=DIM)


def test_a_decryption_without_a_counter_increment_is_refused(ckks, holder, updates):
    raw = [ct.ctx.impl.serialize(ct.raw).hex() for ct in ckks.encrypted_sum(updates)]
    stale = holder.enclave.counter("decryptions", increment=False)  # the host skips the increment
    with pytest.raises(EnclaveError, match="not incremented"):
        holder.enclave.call("decrypt_aggregate", clients=3, length=DIM, ciphertexts=raw, **stale)
    other = holder.enclave.counter("state", increment=True)  # or increments another counter
    with pytest.raises(EnclaveError, match="'decryptions'"):
        holder.enclave.call("decrypt_aggregate", clients=3, length=DIM, ciphertexts=raw, **other)


def test_a_key_leaking_build_signed_by_the_vendor_gets_no_key(ckks):
    from labkit.tee.image import workload_source

    leaky = workload_source() + "\n\ndef _leak(state, msg):\n    return {'key': state['keys']['aggregation'].hex()}\n"
    with pytest.raises(VerificationFailed, match="refused the aggregation key"):
        KeyHolderEnclave(ckks.ctx, code=leaky)


def test_a_tampered_key_blob_is_refused_inside_the_enclave(holder):
    blob = bytearray(holder.key_blob)
    blob[40] ^= 0x01
    with pytest.raises(TamperDetected, match="HE key blob"):
        holder.enclave.call(
            "load_he_key", blob=bytes(blob).hex(), **holder.enclave.counter("decryptions", increment=False)
        )


def test_after_a_restart_the_enclave_holds_no_key_until_it_attests_again(ckks, holder, updates):
    holder.enclave.restart()
    with pytest.raises(EnclaveError, match="no HE key loaded"):
        holder.decrypt_sum(ckks.encrypted_sum(updates), clients=3, length=DIM)
    stale = holder.release.wrapped  # wrapped to the previous instance's key: useless now
    with pytest.raises(TamperDetected):
        holder.enclave.install_key("aggregation", stale)
    holder.restart()  # attest again: the key service releases the key to the new instance
    out = holder.decrypt_sum(ckks.encrypted_sum(updates), clients=3, length=DIM)
    assert np.max(np.abs(out - np.sum(updates, axis=0))) < 1e-6


def test_bad_inputs_are_named(ckks, holder, updates):
    with pytest.raises(InvalidInput, match="min_clients"):
        KeyHolderEnclave(ckks.ctx, min_clients=0)
    with pytest.raises(InvalidInput, match="SEAL CKKS"):
        from labkit import he

        KeyHolderEnclave(he.context("seal", preset="bfv-8192"))
    with pytest.raises(InvalidInput, match="length"):
        holder.decrypt_sum(ckks.encrypted_sum(updates), clients=3, length=10**6)
    with pytest.raises(InvalidInput, match="summed ciphertexts"):
        holder.decrypt_sum([], clients=3, length=DIM)
