"""The round's moving parts attacked directly: forged norm proofs, uploads without a certificate."""

from __future__ import annotations

import numpy as np
import pytest


def test_byzantine_update_is_oversized_and_sign_flipped(round_setup):
    from labkit.capstone.round import client_vectors
    from labkit.fl import client_update

    s = round_setup
    own_gradient = client_update(s.model, s.clients[0], lr=s.lr, rng=0).vector  # what client 0 would honestly send
    vectors = client_vectors(s, ("zk",))
    bound = s.bound(("zk",))
    assert np.linalg.norm(vectors[0]) == pytest.approx(s.boost * bound)
    assert np.all(np.sign(vectors[0]) == -np.where(own_gradient >= 0, 1.0, -1.0))
    assert all(np.linalg.norm(v) <= bound * (1 + 1e-9) for v in vectors[1:])  # honest clients bound themselves


def test_a_forged_zero_excess_proof_is_rejected(round_setup):
    from labkit.capstone.round import client_vectors, norm_prover

    s = round_setup
    bound = s.bound(("zk",))
    poisoned = client_vectors(s, ("zk",))[0] / bound
    prover = norm_prover(s.dim)
    proof = prover.prove(poisoned)
    assert prover.zk.verify(proof) and prover.excess(proof) > 100  # honest about its excess: rejected
    forged = proof.copy()
    forged.data["instances"][0][-1] = "00" * 32  # claim the update is within the bound
    assert prover.excess(forged) == 0.0
    assert prover.screen([proof, forged]) == [False, False]


def test_upload_crosses_mutual_pq_tls_and_refuses_a_client_without_certificate():
    from labkit.capstone.transport import UploadServer, upload
    from labkit.pqc import CertificateRejected

    payload = np.arange(5000, dtype=np.float64).tobytes()  # larger than one TLS record
    with UploadServer() as server:
        info = upload(server, payload)
        assert info["group"] == "X25519MLKEM768" and info["bytes"] == len(payload)
        assert server.received == [payload]
        with pytest.raises(CertificateRejected) as err:
            upload(server, b"anonymous", present_certificate=False)
        assert err.value.reason == "client_cert_required"
        assert server.received == [payload]


def test_importing_the_capstone_loads_no_heavy_backend():
    import subprocess
    import sys

    code = (
        "import sys, labkit.capstone, labkit.capstone.lab, labkit.widgets.capstone; "
        "print(','.join(m for m in ('torch', 'tenseal', 'ezkl', 'openfhe', 'OpenSSL') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"data": 3}', '{"data": {}, "circuit": "x"}'])
def test_a_malformed_proof_upload_is_a_rejection_not_a_crash(round_setup, text):
    from labkit.capstone.round import norm_prover, read_proof

    proof = read_proof(text)
    assert proof is None or norm_prover(round_setup.dim).screen([proof]) == [False]
