"""Harvest now, decrypt later: a recorded classical session opens, a hybrid one does not."""

from __future__ import annotations

import pytest

from labkit.errors import InvalidInput
from labkit.pqc import hndl

SECRET = b"salary review: 87,500"


def test_recording_hides_the_secret_on_the_wire():
    rec = hndl.record_session(group="X25519", secret=SECRET)
    assert SECRET not in rec.client_to_server
    kinds = {r["type"] for r in rec.inventory()}
    assert {"handshake", "application_data"} <= kinds


def test_classical_recording_opens_hybrid_does_not():
    r = hndl.harvest_now_decrypt_later(secret=SECRET)
    rows = {row["group"]: row for row in r.artifacts["rows"]}
    assert r.metrics["X25519.recovered"] == 1
    assert SECRET.decode() in rows["X25519"]["recovered"]
    assert r.metrics["X25519MLKEM768.recovered"] == 0
    assert rows["X25519MLKEM768"]["key_exchange_broken"] is False
    assert rows["X25519MLKEM768"]["recovered"] is None
    assert rows["X25519"]["server_name_visible"] is True  # SNI travels in clear either way


def test_wrong_keys_do_not_decrypt_a_recording():
    from cryptography.exceptions import InvalidTag

    rec = hndl.record_session(group="X25519", secret=SECRET)
    wrong = bytes(48)
    with pytest.raises(InvalidTag):
        hndl.decrypt_direction(rec.client_to_server, rec.cipher, wrong, wrong)


def test_oracle_reads_the_group_from_the_recording():
    rec = hndl.record_session(group="X25519MLKEM768", secret=SECRET)
    assert hndl.QuantumOracle().break_session(rec) is None
    rec.group = "X25519"  # a lying label does not help: the oracle parses the recorded ServerHello
    assert hndl.QuantumOracle().break_session(rec) is None


def test_hybrid_combiner_defeats_an_x25519_only_break():
    out = hndl.hybrid_combiner()
    assert out.metrics["classical_readable"] is True
    assert out.metrics["hybrid_readable"] is False
    assert out.metrics["mlkem_ciphertext_bytes"] == 1088


def test_bad_inputs():
    with pytest.raises(InvalidInput):
        hndl.record_session(secret="text")
    with pytest.raises(InvalidInput):
        hndl.parse_records(b"\x99\x03\x03\x00\x05hello")
