"""CKKS secure aggregation split into its two sides: client uploads (bytes) and the server's encrypted sum."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import InvalidInput, TamperDetected


@pytest.fixture(scope="module")
def ckks():
    from labkit.fl import CKKSSum

    return CKKSSum()


@pytest.fixture(scope="module")
def updates():
    rng = np.random.default_rng(3)
    return [rng.normal(scale=0.05, size=5000) for _ in range(3)]  # two ciphertexts each (4096 slots)


def test_uploads_are_ciphertext_and_their_sum_decrypts_to_the_plain_sum(ckks, updates):
    uploads = [ckks.encrypt_update(u) for u in updates]
    assert all(u[:64] not in up for u, up in zip((x.astype("<f8").tobytes() for x in updates), uploads))
    total = ckks.add_uploads(uploads)
    assert len(total) == 2 and ckks.last_stats["bytes_to_server"] == sum(map(len, uploads))
    out = np.concatenate([ct.decrypt() for ct in total])[:5000]
    assert np.max(np.abs(out - np.sum(updates, axis=0))) < 1e-5


def test_a_changed_upload_byte_is_detected(ckks, updates):
    up = bytearray(ckks.encrypt_update(updates[0]))
    up[-100] ^= 0x01  # inside the last ciphertext, before its HMAC tag
    with pytest.raises(TamperDetected):
        ckks.add_uploads([bytes(up), ckks.encrypt_update(updates[1])])


def test_bad_uploads_and_updates_are_refused(ckks, updates):
    with pytest.raises(InvalidInput, match="at least one"):
        ckks.add_uploads([])
    with pytest.raises(InvalidInput, match="ciphertexts where the others hold"):
        ckks.add_uploads([ckks.encrypt_update(updates[0]), ckks.encrypt_update(updates[0][:100])])
    with pytest.raises(InvalidInput, match="bound"):
        ckks.encrypt_update(np.full(10, 100.0))
    with pytest.raises(InvalidInput, match="NaN"):
        ckks.encrypt_update(np.array([1.0, np.nan]))
