"""Attestation, key release and the attack catalogue: each attack stopped with its own reason."""

import json
import os

import numpy as np
import pytest

from labkit.errors import InvalidInput, TamperDetected, VerificationFailed
from labkit.tee import attacks, model
from labkit.tee import primitives as P
from labkit.tee.enclave import Enclave, EnclaveError, RollbackDetected
from labkit.tee.image import EnclaveImage
from labkit.tee.platform import Platform, Quote
from labkit.tee.verifier import Policy, Verifier


def test_honest_enclave_passes_and_serves_correct_predictions(dep):
    assert dep.release.released and dep.release.appraisal.passed
    X, y = model.test_levels(40)
    pred = dep.client.infer(dep.enclave, X)
    assert np.array_equal(pred, model.plaintext_predict(dep.params, X))
    assert (pred == y).mean() > 0.85
    assert dep.enclave.pid != os.getpid() and dep.enclave.running


def test_host_sees_only_ciphertext(dep):
    # 24 labels: their bytes (48 hex digits) cannot turn up by chance in the logged ciphertext, which
    # 3 labels (6 hex digits) did once in a CI run
    X, _ = model.test_levels(24)
    labels = dep.client.infer(dep.enclave, X)
    assert labels.shape == (24,)
    assert not dep.enclave.host_saw(X.tobytes())
    assert not dep.enclave.host_saw(labels.astype(np.uint8).tobytes())
    assert not dep.enclave.host_saw(dep.key_service.peek("model"))
    assert not dep.enclave.host_saw(dep.params["W1"].tobytes()[:64])
    assert dep.enclave.host_saw(b'"op": "infer"')  # the host does see which operation ran


@pytest.mark.parametrize("name", [a for a in attacks.ATTACKS if a != "honest"])
def test_each_attack_is_stopped_with_its_reason(dep, name):
    res = attacks.run_attack(dep, name)
    outcome = attacks.summary(res)
    assert res.name == "attack" and res.params == {"attack": name} and res.flags
    assert outcome["stopped"] and res.metrics["stopped"] == 1, outcome
    assert attacks.EXPECTED[name] in outcome["reasons"], outcome
    assert not outcome["key_released"] and res.metrics["key_released"] == 0


def test_modified_code_with_old_signature_cannot_launch(dep):
    with pytest.raises(VerificationFailed, match="SIGSTRUCT"):
        Enclave(dep.image.tampered(dep.image.code + "\n# one more line\n"), platform=dep.platform)


def test_without_measurement_check_the_backdoor_leaks_the_key(dep):
    out = attacks.modified_code(dep, permissive=True)
    assert out.metrics["key_released"] == 1 and out.metrics["stopped"] == 0
    assert out.metrics["key_leaked_to_host"] == 1 and out.metrics["leaked_matches"] == 1
    assert out.artifacts["extra"] == {"key_leaked_to_host": True, "leaked_matches": True}
    assert "the backdoor handed the model key to the host" in out.artifacts["detail"]


def test_measurement_changes_with_any_byte_of_code_or_config(dep):
    img = dep.image
    assert img.tampered(img.code + " ").measurement != img.measurement
    other = EnclaveImage.build(dep.vendor_key, config={**img.config, "query_budget": 7}, svn=img.svn)
    assert other.measurement != img.measurement and other.signer_id == img.signer_id


def test_quote_bytes_round_trip_and_single_use_nonce(dep):
    nonce = dep.key_service.challenge()
    q = Quote.from_bytes(dep.enclave.quote(nonce).to_bytes())
    assert dep.key_service.verifier.appraise(q, nonce).passed
    assert "stale_nonce" in dep.key_service.verifier.appraise(q, nonce).codes


def test_report_data_altered_before_quoting_is_refused(dep):
    rep = dep.enclave.call("report", nonce=(b"n" * 32).hex())
    with pytest.raises(TamperDetected, match="MAC"):
        dep.platform.quote(
            dep.enclave.instance, b"\x00" * 32, bytes.fromhex(rep["mac"]), dep.enclave.public_key.to_bytes()
        )


def test_key_wrapped_to_enclave_does_not_open_elsewhere():
    a, b = P.HybridPrivateKey(), P.HybridPrivateKey()
    wrapped = P.wrap(a.public, b"k" * 32, b"key:model")
    assert a.unwrap(wrapped, b"key:model") == b"k" * 32
    with pytest.raises(TamperDetected):
        b.unwrap(wrapped, b"key:model")
    with pytest.raises(TamperDetected):
        a.unwrap(wrapped, b"key:other")
    assert len(a.public.to_bytes()) == 32 + 1184


def test_ml_dsa_chain_attests_and_rejects_forgery():
    plat = Platform(scheme="ml-dsa-65")
    vendor = P.generate_signing_key("ml-dsa-65")
    image = EnclaveImage.build(vendor, svn=3)
    ver = Verifier(Policy.for_image(image, trusted_roots=[plat.root_certificate]))
    with Enclave(image, platform=plat) as enc:
        nonce = ver.challenge()
        q = enc.quote(nonce)
        assert ver.appraise(q, nonce).passed
        d = json.loads(q.to_bytes())
        d["svn"] = 9
        nonce2 = ver.challenge()
        assert (
            "bad_signature" in ver.appraise(Quote(**{**d, "report_data": enc.quote(nonce2).report_data}), nonce2).codes
        )


def test_enclave_refuses_after_budget_and_replayed_request(dep):

    plat = Platform()  # a fresh platform: no state sealed yet, so the enclave may start fresh
    small = EnclaveImage.build(dep.vendor_key, config={**dep.image.config, "query_budget": 3}, svn=dep.image.svn)
    with Enclave(small, platform=plat) as enc:
        pol = Policy.for_image(small, trusted_roots=[plat.root_certificate])
        from labkit.tee.keyservice import Client, KeyService

        ks = KeyService(Verifier(pol), {"model": dep.key_service.peek("model")})
        nonce = ks.challenge()
        enc.install_key("model", ks.release("model", enc.quote(nonce), nonce).wrapped)
        enc.load_model(dep.model_blob)
        client = Client(Verifier(pol))
        client.connect(enc)
        with pytest.raises(EnclaveError, match="state not restored"):
            client.infer(enc, np.zeros((1, 64), dtype=np.uint8))
        enc.start_fresh()  # allowed: nothing was ever sealed on this platform
        X, _ = model.test_levels(4)
        client.infer(enc, X[:3])
        with pytest.raises(EnclaveError, match="budget"):
            client.infer(enc, X[3:])
        sent = [h["frame"] for h in enc.host_view if h["op"] == "infer" and h["direction"] == "host->enclave"]
        replay = json.loads(sent[-1])  # the host resends a request frame it relayed earlier
        with pytest.raises(EnclaveError, match="replayed"):
            enc.call(replay.pop("op"), **replay)


def test_sealing_round_trip_and_signer_policy_across_versions(dep):
    enc = dep.enclave
    before = enc.status()["budget"]
    sealed = enc.seal_state(policy="signer")
    assert enc.unseal_state(sealed)["budget"] == before
    newer = EnclaveImage.build(dep.vendor_key, config=dep.image.config, svn=dep.image.svn + 1)
    older = EnclaveImage.build(dep.vendor_key, config=dep.image.config, svn=dep.image.svn - 1)
    with Enclave(newer, platform=dep.platform) as up:
        assert up.unseal_state(sealed)["budget"] == before  # upgrades can read older data
    with Enclave(older, platform=dep.platform) as down, pytest.raises(Exception, match="svn"):
        down.unseal_state(sealed)  # a downgrade cannot
    sealed_m = enc.seal_state(policy="measurement")
    assert newer.measurement == dep.image.measurement  # the svn is signed, not measured (as ISVSVN in SGX)
    rebuilt = EnclaveImage.build(dep.vendor_key, config={**dep.image.config, "query_budget": 5}, svn=dep.image.svn)
    with Enclave(rebuilt, platform=dep.platform) as other, pytest.raises(TamperDetected):
        other.unseal_state(sealed_m)  # the measurement policy binds to this exact code and config


def test_forged_counter_answer_is_refused(dep):
    enc = dep.enclave
    sealed = enc.seal_state()
    enc.call("counter_nonce")
    with pytest.raises(VerificationFailed, match="counter"):
        enc.call(
            "unseal_state",
            sealed=sealed,
            counter_id="state",
            counter_value=sealed["header"]["counter"],
            counter_tag="00" * 32,
        )


def test_enclave_serves_nothing_until_state_is_restored(dep):
    enc = dep.enclave
    enc.seal_state()
    enc.restart()
    dep.attest_and_provision(resume=False)
    with pytest.raises(EnclaveError, match="state not restored"):
        dep.client.infer(enc, model.test_levels(1)[0])
    with pytest.raises(RollbackDetected, match="sealed state exists"):
        enc.start_fresh()
    enc.resume()  # the latest blob the host stored
    assert len(dep.client.infer(enc, model.test_levels(2)[0])) == 2


def test_rollback_exception_type(dep):
    enc = dep.enclave
    old = enc.seal_state()
    enc.seal_state()
    with pytest.raises(RollbackDetected):
        enc.unseal_state(old)


def test_bad_inputs_rejected_early(dep):
    with pytest.raises(InvalidInput):
        EnclaveImage.build(dep.vendor_key, svn=-1)
    with pytest.raises(InvalidInput):
        EnclaveImage.build(dep.vendor_key, config={"turbo": True})
    with pytest.raises(InvalidInput):
        Platform(scheme="rsa-1024")
    with pytest.raises(InvalidInput):
        dep.enclave.quote(b"short")
    with pytest.raises(InvalidInput):
        dep.client.infer(dep.enclave, np.full((1, 64), 17))
    with pytest.raises(InvalidInput):
        dep.key_service.release("nope", b"{}", b"x" * 32)
    with pytest.raises(InvalidInput):
        Policy(trusted_roots=[], measurements=[b"x"])
    with pytest.raises(InvalidInput):
        attacks.run_attack(dep, "teleport")


def test_no_enclave_process_left_behind():
    from labkit.tee import deploy

    d = deploy(provision=False)
    pid = d.enclave.pid
    d.close()
    assert not d.enclave.running
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(pid, 0)


@pytest.mark.parametrize("garbage", [b"not json", b"{}", b'{"svn": "two"}', b"[]"])
def test_malformed_quote_is_untrusted_not_a_crash(dep, garbage):
    nonce = dep.key_service.challenge()
    rel = dep.key_service.release("model", garbage, nonce)
    assert not rel.released and rel.appraisal.codes == ("malformed_quote",)


def test_quote_with_wrong_field_types_is_refused(dep):
    nonce = dep.key_service.challenge()
    d = json.loads(dep.enclave.quote(nonce).to_bytes())
    d["svn"] = "99"
    appraisal = dep.key_service.verifier.appraise(Quote(**d), nonce)
    assert not appraisal.passed and "bad_signature" in appraisal.codes


def test_key_rotation_needs_reencryption_and_fresh_attestation(dep):
    old_blob, old_key = dep.model_blob, dep.key_service.peek("model")
    rel = dep.rotate_model_key()
    assert rel.released and dep.key_service.peek("model") != old_key
    assert dep.key_service.versions["model"] >= 2
    assert any(e.get("event") == "rotated" for e in dep.key_service.audit)
    with pytest.raises(TamperDetected):
        dep.enclave.load_model(old_blob)  # the old blob does not open under the new key
    X, _ = model.test_levels(4)
    assert np.array_equal(dep.client.infer(dep.enclave, X), model.plaintext_predict(dep.params, X))


def test_deploy_seeds_the_model_from_rng():
    from labkit.tee import deploy

    with deploy(provision=False, rng=7) as a, deploy(provision=False, rng=7, hidden=40) as b:
        assert np.array_equal(a.params["W1"], b.params["W1"][:, :32])
    p = model.digits_model(rng=7).value
    assert np.array_equal(model.widen(p, 40, rng=1)["W1"], model.widen(p, 40, rng=1)["W1"])
    with pytest.raises(InvalidInput):
        model.widen(p, 16)


def test_enclave_that_dies_at_launch_is_reported(dep):
    from labkit.tee.enclave import EnclaveError

    broken = EnclaveImage.build(dep.vendor_key, code="def handle(:\n", svn=dep.image.svn)
    with pytest.raises(EnclaveError, match="did not answer"):
        Enclave(broken, platform=dep.platform, timeout=20)


def test_platform_tcb_is_stated_in_the_certificate(dep):
    from labkit.tee.platform import platform_tcb

    old = dep.platform.sibling(tcb=1)
    assert platform_tcb(dep.platform.certificate) == dep.platform.tcb == 2 and platform_tcb(old.certificate) == 1
    assert old.root_certificate == dep.platform.root_certificate  # same vendor, so the chain itself is fine
    with pytest.raises(InvalidInput):
        Platform(tcb=-1)
