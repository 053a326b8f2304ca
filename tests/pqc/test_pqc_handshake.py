"""Real TLS 1.3 handshakes on loopback: what is negotiated, what it costs, and that it stays light."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from labkit.errors import InvalidInput
from labkit.pqc import handshakes, tls
from labkit.pqc.handshakes import available_cert_types, available_groups, handshake


def test_default_is_hybrid_and_fast():
    start = time.perf_counter()
    r = handshake(group="X25519MLKEM768", cert="ecdsa-p256")
    assert time.perf_counter() - start < 1.0
    assert r.artifacts["group"] == "X25519MLKEM768"
    assert r.artifacts["server_group"] == "X25519MLKEM768"
    assert r.artifacts["cipher"].startswith("TLS_AES_") or r.artifacts["cipher"].startswith("TLS_CHACHA20")
    assert r.artifacts["protocol"] == "TLSv1.3"
    assert r.artifacts["signature_scheme"] == "ecdsa_secp256r1_sha256"
    assert 0 < r.metrics["latency_s"] < 0.5
    # ML-KEM-768 encapsulation key (1184 B) + X25519 share (32 B) go up; ciphertext (1088 B) + 32 B come down.
    assert r.metrics["bytes_client_to_server"] > 1184 + 32
    assert r.metrics["bytes_server_to_client"] > 1088 + 32
    assert r.technique == "pqc" and r.name == "handshake"


def test_hybrid_costs_about_one_kem_key_more_than_x25519():
    classical = handshake(group="X25519", cert="ecdsa-p256")
    hybrid = handshake(group="X25519MLKEM768", cert="ecdsa-p256")
    assert classical.artifacts["group"] == "X25519"
    extra_up = hybrid.metrics["bytes_client_to_server"] - classical.metrics["bytes_client_to_server"]
    extra_down = hybrid.metrics["bytes_server_to_client"] - classical.metrics["bytes_server_to_client"]
    assert extra_up == 1184  # exactly the ML-KEM-768 encapsulation key (FIPS 203, table 3)
    assert abs(extra_down - 1088) <= 2  # the ML-KEM-768 ciphertext (ECDSA signatures vary by a byte or two)
    assert "classical" in " ".join(classical.flags)
    assert not hybrid.flags


@pytest.mark.parametrize("group", tls.GROUPS)
def test_each_group_negotiates_itself(group):
    if group not in available_groups():
        pytest.skip(f"{group} not offered by this OpenSSL")
    r = handshake(group=group, cert="ecdsa-p256")
    assert r.artifacts["group"] == group


@pytest.mark.parametrize("cert", ["ecdsa-p256", "ed25519", "rsa-2048", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87"])
def test_each_certificate_type_signs_the_handshake(cert):
    if cert not in available_cert_types():
        pytest.skip(f"{cert} not available here")
    r = handshake(group="X25519MLKEM768", cert=cert)
    expected = {
        "ecdsa-p256": "ecdsa_secp256r1_sha256",
        "ed25519": "ed25519",
        "rsa-2048": "rsa_pss_rsae_sha256",
        "ml-dsa-44": "mldsa44",
        "ml-dsa-65": "mldsa65",
        "ml-dsa-87": "mldsa87",
    }[cert]
    assert r.artifacts["signature_scheme"] == expected
    assert r.artifacts["group"] == "X25519MLKEM768"


def test_rsa_3072_certificate():
    r = handshake(group="X25519MLKEM768", cert="rsa-3072")
    assert r.artifacts["signature_scheme"] == "rsa_pss_rsae_sha256"


def test_ml_dsa_certificates_dominate_the_server_flight():
    small = handshake(group="X25519", cert="ecdsa-p256")
    big = handshake(group="X25519", cert="ml-dsa-65")
    # ML-DSA-65: public key 1952 B in the certificate, twice 3309 B of signature (cert + CertificateVerify).
    # ECDSA P-256 spends about 65 + 2 * 72 bytes on the same items.
    assert big.metrics["bytes_server_to_client"] - small.metrics["bytes_server_to_client"] > 1952 + 2 * 3309 - 300


def test_repeat_gives_a_median_and_a_timing():
    r = handshake(group="X25519", cert="ecdsa-p256", repeat=5)
    assert r.metrics["handshakes"] == 5
    assert r.timings["handshake"].repeat == 5
    assert r.metrics["latency_s_q1"] <= r.metrics["latency_s"] <= r.metrics["latency_s_q3"]


def test_client_hello_segments_counted_at_a_given_mss():
    r = handshake(group="X25519MLKEM768", cert="ecdsa-p256", mss=1000)
    assert r.metrics["client_hello_bytes"] > 1200
    assert r.metrics["client_hello_segments"] == 2
    assert handshake(group="X25519", cert="ecdsa-p256").metrics["client_hello_segments"] == 1


def test_transfer_is_delivered():
    r = handshake(group="X25519MLKEM768", cert="ecdsa-p256", transfer_bytes=100_000)
    assert r.metrics["time_to_last_byte_s"] >= r.metrics["latency_s"]


def test_mutual_tls_presents_both_certificates():
    r = handshake(group="X25519MLKEM768", cert="ml-dsa-44", mutual=True)
    assert r.artifacts["server_saw_client_cert"] is True
    assert r.artifacts["client_signature_scheme"] == "mldsa44"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"group": "X25519KYBER"},
        {"group": []},
        {"cert": "dsa-1024"},
        {"cert": 3},
        {"repeat": 0},
        {"repeat": True},
        {"transfer_bytes": -1},
        {"mss": 10},
        {"trust": "anyone"},
        {"timeout": 0},
    ],
)
def test_bad_inputs_are_refused_before_any_handshake(kwargs):
    with pytest.raises(InvalidInput):
        handshake(**kwargs)


def test_group_names_are_case_insensitive_and_canonical():
    assert tls.check_groups("x25519mlkem768:x25519") == ["X25519MLKEM768", "X25519"]
    assert tls.canonical_group("x25519") == "X25519"


def test_result_survives_the_store(tmp_path):
    from labkit.results import ResultStore

    r = handshake(group="X25519MLKEM768", cert="ecdsa-p256")
    store = ResultStore(tmp_path / "r.sqlite")
    store.add(r)
    back = store.latest("pqc", "handshake")
    assert back.artifacts["group"] == "X25519MLKEM768"
    assert back.metrics["bytes_client_to_server"] == r.metrics["bytes_client_to_server"]


def test_import_is_light():
    code = (
        "import sys, labkit.pqc; "
        "heavy = [m for m in ('torch', 'tenseal', 'openfhe', 'crypten', 'ezkl', 'OpenSSL', 'cryptography') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_session_server_stops():
    with handshakes.Session(group="X25519", cert="ecdsa-p256") as s:
        s.run()
        thread = s.server._thread
    assert not thread.is_alive()


def test_starred_groups_send_two_key_shares_and_avoid_a_retry():
    one = handshake(group=["X25519MLKEM768", "X25519"], server_groups="X25519")
    both = handshake(group="*X25519MLKEM768:*X25519", server_groups="X25519")
    assert one.artifacts["group"] == both.artifacts["group"] == "X25519"
    hellos = [m for m in one.artifacts["messages"] if m[1] == "ClientHello"]
    assert len(hellos) == 2  # HelloRetryRequest made the client start over
    assert sum(1 for m in both.artifacts["messages"] if m[1] == "ClientHello") == 1
    assert both.metrics["client_hello_bytes"] - one.metrics["client_hello_bytes"] == 32 + 4  # X25519 share + entry
