"""Every refusal the TLS lab promises, attacked for real on loopback."""

from __future__ import annotations

import pytest

from labkit.errors import VerificationFailed
from labkit.pqc import CertificateRejected, HandshakeFailed, handshake, refusals
from labkit.pqc.security import CASES, tampered_handshake


def test_no_silent_downgrade():
    with pytest.raises(HandshakeFailed) as info:
        handshake(group="X25519MLKEM768", server_groups="X25519:secp256r1")
    assert info.value.reason == "no_common_group"
    assert "no suitable key share" in str(info.value)


def test_allowed_fallback_is_visible():
    r = handshake(group=["X25519MLKEM768", "X25519"], server_groups="X25519")
    assert r.artifacts["group"] == "X25519"
    assert any("classical" in f for f in r.flags)


def test_unknown_ca_refused():
    with pytest.raises(CertificateRejected) as info:
        handshake(trust="other-ca")
    assert info.value.reason == "unknown_ca"
    assert isinstance(info.value, VerificationFailed)


def test_expired_certificate_refused():
    with pytest.raises(CertificateRejected) as info:
        handshake(expired=True)
    assert info.value.reason == "expired"
    assert "expired" in str(info.value)


def test_wrong_hostname_refused():
    with pytest.raises(CertificateRejected) as info:
        handshake(hostname="bank.example")
    assert info.value.reason == "hostname_mismatch"


def test_missing_client_certificate_refused_under_mutual_tls():
    with pytest.raises(CertificateRejected) as info:
        handshake(mutual=True, client_cert=False)
    assert info.value.reason == "client_cert_required"
    assert info.value.side == "server"


def test_ml_dsa_chain_refusals_too():
    with pytest.raises(CertificateRejected) as info:
        handshake(cert="ml-dsa-65", trust="other-ca")
    assert info.value.reason == "unknown_ca"


@pytest.mark.parametrize("offset", [20, 200])
def test_tampered_client_hello_detected(offset):
    out = tampered_handshake(offset=offset)
    assert out.metrics["flipped"] is True
    assert out.metrics["refused"] is True
    assert out.artifacts["reason"] == "tampered"


def test_refusals_table_all_as_expected():
    r = refusals()
    assert r.metrics["refused_as_expected"] == r.metrics["cases"] == len(CASES)
    rows = {row["case"]: row for row in r.artifacts["rows"]}
    assert rows["fallback_allowed"]["refused"] is False
    assert "X25519" in rows["fallback_allowed"]["message"]


def test_untrusted_client_certificate_refused_under_mutual_tls():
    with pytest.raises(CertificateRejected) as info:
        handshake(mutual=True, client_cert="other-ca", cert="ml-dsa-44")
    assert info.value.reason == "bad_client_cert"
    assert info.value.side == "server"


def test_client_cert_value_checked():
    from labkit.errors import InvalidInput

    with pytest.raises(InvalidInput):
        handshake(mutual=True, client_cert="maybe")
