"""The attack catalogue: what a malicious host or vendor impostor tries, and what stops it.

Each attack runs for real against a live :class:`~labkit.tee.lifecycle.Deployment`
and returns a :class:`~labkit.results.Result` (name ``"attack"``) saying whether it
was stopped (``metrics["stopped"]``), by which check (``artifacts["reasons"]``: an
appraisal reason code or the exception the enclave raised), and whether the model
key left the key service (``metrics["key_released"]``); :func:`summary` gives it as
the plain dict :func:`run_all` stores per attack. The one attack attestation does not
stop, the controlled-channel side channel, lives in :mod:`labkit.tee.sidechannel`.

References
----------
Birkholz et al., RFC 9334 (RATS), section 10 (freshness) and section 12 (security considerations).
Matetic et al., "ROTE: Rollback Protection for Trusted Execution", USENIX Security 2017.
Parno, "Bootstrapping Trust in a Trusted Platform", HotSec 2008 (why the measurement must be checked).
"""

from __future__ import annotations

import json
from dataclasses import replace

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .. import results
from ..errors import InvalidInput, TamperDetected, VerificationFailed
from . import primitives as P
from .enclave import Enclave, RollbackDetected
from .image import EnclaveImage
from .platform import ROOT_NAME, TCB_OID, Quote

# What a malicious build adds: after a key is installed, hand it to the host.
BACKDOOR = """

_honest_handle = handle


def handle(state, msg, touch):
    reply = _honest_handle(state, msg, touch)
    if msg.get("op") == "install_key":
        reply["exfiltrated"] = state["keys"][msg["name"]].hex()
    return reply
"""

ATTACKS = (
    "honest",
    "modified_code",
    "replayed_quote",
    "forged_quote",
    "resigned_quote",
    "swapped_key",
    "old_svn",
    "outdated_platform",
    "debug_enclave",
    "restart_reuse",
    "rolled_back_state",
    "reset_state",
    "tampered_blob",
)

EXPECTED = {
    "honest": None,
    "modified_code": "measurement_mismatch",
    "replayed_quote": "stale_nonce",
    "forged_quote": "bad_signature",
    "resigned_quote": "untrusted_platform",
    "swapped_key": "stale_nonce",
    "old_svn": "svn_below_policy",
    "outdated_platform": "platform_tcb_below_policy",
    "debug_enclave": "debug_enclave",
    "restart_reuse": "TamperDetected",
    "rolled_back_state": "RollbackDetected",
    "reset_state": "RollbackDetected",
    "tampered_blob": "TamperDetected",
}


SIM_FLAG = "simulated TEE: real cryptography, simulated hardware"


def outcome(
    attack: str, *, stopped: bool, reasons: tuple[str, ...], key_released: bool, detail: str, **extra
) -> results.Result:
    """One attack's Result: whether it was stopped, by which check(s), whether the key was released.

    Parameters
    ----------
    attack : str
        Its name in :data:`ATTACKS`.
    stopped, key_released : bool
        Stored as ``metrics["stopped"]`` and ``metrics["key_released"]`` (1 or 0).
    reasons : tuple of str
        The deciding appraisal codes or exception names (``artifacts["reasons"]``).
    detail : str
        One sentence on what happened (``artifacts["detail"]``).
    **extra : bool or int
        Further findings, kept in ``artifacts["extra"]`` and, as numbers, in the metrics.
    """
    res = results.Result(
        technique="tee",
        name="attack",
        params={"attack": attack},
        metrics={"stopped": int(stopped), "key_released": int(key_released), **{k: int(v) for k, v in extra.items()}},
        artifacts={"reasons": list(reasons), "detail": detail, "extra": dict(extra)},
    )
    return res.flag(SIM_FLAG)


def summary(res: results.Result) -> dict:
    """An attack's Result as a plain dict: attack, stopped, reasons, key_released, detail, extra."""
    return {
        "attack": res.params["attack"],
        "stopped": bool(res.metrics["stopped"]),
        "reasons": list(res.artifacts["reasons"]),
        "key_released": bool(res.metrics["key_released"]),
        "detail": res.artifacts["detail"],
        "extra": dict(res.artifacts["extra"]),
    }


def _release(dep, enclave, quote_fn=None):
    nonce = dep.key_service.challenge()
    quote = enclave.quote(nonce)
    if quote_fn is not None:
        quote, nonce = quote_fn(quote, nonce)
    return dep.key_service.release("model", quote, nonce)


def _from_release(name: str, rel, detail: str, **extra) -> results.Result:
    return outcome(
        name, stopped=not rel.released, reasons=rel.appraisal.codes, key_released=rel.released, detail=detail, **extra
    )


def honest(dep) -> results.Result:
    """No attack: the genuine enclave asks for the key with a fresh nonce (the control)."""
    rel = _release(dep, dep.enclave)
    return _from_release("honest", rel, "genuine enclave, fresh nonce: the key service releases the model key")


def modified_code(dep, *, permissive: bool = False) -> results.Result:
    """Backdoored workload. The old signature no longer fits (launch refused), so the attacker
    re-signs with their own key; the quote then carries the backdoor's measurement."""
    evil = dep.image.code + BACKDOOR
    try:
        Enclave(dep.image.tampered(evil), platform=dep.platform).close()
        launch = "launched (unexpected)"
    except VerificationFailed:
        launch = "launch with the vendor's old signature refused (SIGSTRUCT check)"
    attacker = P.generate_signing_key(dep.platform.scheme)
    evil_image = EnclaveImage.build(attacker, code=evil, config=dep.image.config, svn=dep.image.svn)
    with Enclave(evil_image, platform=dep.platform) as enclave:
        ks = dep.key_service
        if permissive:  # what happens when the key service does not check measurement or signer
            from .keyservice import KeyService
            from .verifier import Verifier

            pol = replace(dep.policy, measurements=frozenset([evil_image.measurement.hex()]), signer_id=None)
            ks = KeyService(Verifier(pol), {"model": dep.key_service.peek("model")})
        nonce = ks.challenge()
        rel = ks.release("model", enclave.quote(nonce), nonce)
        leaked = None
        if rel.released:
            leaked = enclave.call("install_key", name="model", wrapped=rel.wrapped.hex()).get("exfiltrated")
    detail = f"{launch}; re-signed build attested with reasons {list(rel.appraisal.codes) or 'none'}"
    if leaked:
        detail += "; the backdoor handed the model key to the host"
    return _from_release(
        "modified_code",
        rel,
        detail,
        key_leaked_to_host=bool(leaked),
        leaked_matches=leaked == dep.key_service.peek("model").hex() if leaked else False,
    )


def replayed_quote(dep) -> results.Result:
    """The host kept a genuine quote from an earlier session and answers a new challenge with it."""
    old_nonce = dep.key_service.challenge()
    old = dep.enclave.quote(old_nonce)
    dep.key_service.release("model", old, old_nonce)  # the earlier, legitimate exchange
    rel_new = _release(dep, dep.enclave, lambda q, n: (old, n))  # new nonce, old quote
    rel_same = dep.key_service.release("model", old, old_nonce)  # old nonce reused
    reasons = tuple(dict.fromkeys(rel_new.appraisal.codes + rel_same.appraisal.codes))
    released = rel_new.released or rel_same.released
    return outcome(
        "replayed_quote",
        stopped=not released,
        reasons=reasons,
        key_released=released,
        detail="an old quote fails both against a new nonce and with its own, already used nonce",
    )


def forged_quote(dep) -> results.Result:
    """Edit the measurement inside a genuine quote to claim an allowed value, keeping the signature."""

    def forge(quote: Quote, nonce):
        d = json.loads(quote.to_bytes())
        d["svn"] = d["svn"] + 1
        d["measurement"] = "00" * 32
        return Quote(**d), nonce

    return _from_release(
        "forged_quote",
        _release(dep, dep.enclave, forge),
        "fields changed after signing: the platform signature no longer verifies",
    )


def resigned_quote(dep) -> results.Result:
    """Sign a perfect-looking quote with a platform key the attacker made (own root CA)."""
    scheme = dep.platform.scheme
    fake_root, fake_key = P.generate_signing_key(scheme), P.generate_signing_key(scheme)
    tcb = x509.UnrecognizedExtension(TCB_OID, dep.platform.tcb.to_bytes(2, "big"))
    # the vendor's names and the platform's TCB level, but issued by the attacker's own root
    fake_cert = P.make_certificate(
        "Simulated TEE Platform", fake_key.public_key(), ROOT_NAME, fake_root, ca=False, extensions=[tcb]
    )
    fake_pem = fake_cert.public_bytes(serialization.Encoding.PEM).decode()

    def resign(quote: Quote, nonce):
        d = json.loads(quote.to_bytes())
        d.update(platform_certificate=fake_pem, signature="")
        q = Quote(**d)
        return replace(q, signature=P.sign(fake_key, q.body()).hex()), nonce

    return _from_release(
        "resigned_quote",
        _release(dep, dep.enclave, resign),
        "the signature verifies, but under a certificate no trusted vendor root issued",
    )


def swapped_key(dep) -> results.Result:
    """The host substitutes its own public key so the model key would be wrapped to the host."""
    from .primitives import HybridPrivateKey

    host_key = HybridPrivateKey()
    rel = _release(dep, dep.enclave, lambda q, n: (replace(q, enclave_public_key=host_key.public.to_bytes().hex()), n))
    return _from_release("swapped_key", rel, "report data binds the nonce to the enclave's own key, not the host's")


def _other_build(dep, name: str, detail: str, **build) -> results.Result:
    image = EnclaveImage.build(dep.vendor_key, config={**dep.image.config, **build.pop("config", {})}, **build)
    with Enclave(image, platform=dep.platform) as enclave:
        rel = _release(dep, enclave)
    return _from_release(name, rel, detail)


def old_svn(dep) -> results.Result:
    """A genuine, vendor-signed, but older build (before a security fix)."""
    return _other_build(
        dep, "old_svn", "vendor-signed build at an older security version", svn=max(0, dep.image.svn - 1)
    )


def outdated_platform(dep) -> results.Result:
    """The genuine enclave on another machine of the same vendor that missed a microcode update."""
    old_machine = dep.platform.sibling(tcb=max(0, dep.platform.tcb - 1))
    with Enclave(dep.image, platform=old_machine) as enclave:
        rel = _release(dep, enclave)
    return _from_release(
        "outdated_platform",
        rel,
        "vendor-certified platform, but its certificate states an older "
        "TCB level (e.g. before a side-channel microcode fix)",
    )


def debug_enclave(dep) -> results.Result:
    """A genuine debug build: the host can read its memory, so no secrets for it."""
    return _other_build(
        dep,
        "debug_enclave",
        "debug builds are measurably different and flagged in the quote",
        svn=dep.image.svn,
        config={"debug": True},
    )


def restart_reuse(dep) -> results.Result:
    """Restart the enclave and feed it the key wrapped for the previous instance."""
    old = _release(dep, dep.enclave)
    dep.enclave.restart()
    try:
        dep.enclave.install_key("model", old.wrapped)
        stopped, reason, detail = False, "", "the old wrapped key opened in the new instance"
    except TamperDetected:
        stopped, reason = True, "TamperDetected"
        detail = "the new instance has new ephemeral keys: the old wrap does not open; it must attest again"
    dep.attest_and_provision()  # the legitimate path: re-attest, then the key is released again
    return outcome(
        "restart_reuse",
        stopped=stopped,
        reasons=(reason,) if reason else (),
        key_released=False,
        detail=detail,
        reattested=bool(dep.release and dep.release.released),
    )


def rolled_back_state(dep) -> results.Result:
    """Seal, spend queries, seal again; after a restart offer the older blob to restore the budget."""
    import numpy as np

    from .model import test_levels

    enclave = dep.enclave
    older = enclave.seal_state()
    dep.client.infer(enclave, test_levels(8)[0])
    newer = enclave.seal_state()
    dep.enclave.restart()
    dep.attest_and_provision()
    try:
        enclave.unseal_state(older)
        stopped, reason, detail = False, "", "the older state was accepted: the budget was restored"
    except RollbackDetected as exc:
        stopped, reason, detail = True, "RollbackDetected", str(exc)
    restored = enclave.unseal_state(newer)
    return outcome(
        "rolled_back_state",
        stopped=stopped,
        reasons=(reason,) if reason else (),
        key_released=False,
        detail=detail,
        restored_budget=int(np.int64(restored["budget"])),
    )


def reset_state(dep) -> results.Result:
    """Restart and simply never hand back the sealed state, hoping for a fresh query budget."""
    dep.enclave.seal_state()
    dep.enclave.restart()
    dep.attest_and_provision(resume=False)
    try:
        dep.enclave.start_fresh()
        stopped, reason, detail = False, "", "the enclave started fresh: the budget was reset"
    except RollbackDetected as exc:
        stopped, reason, detail = True, "RollbackDetected", str(exc)
    dep.enclave.resume()  # the honest path: restore the latest sealed state
    return outcome(
        "reset_state", stopped=stopped, reasons=(reason,) if reason else (), key_released=False, detail=detail
    )


def tampered_blob(dep) -> results.Result:
    """Flip one bit of the sealed ciphertext, and separately edit its header's counter."""
    sealed = dep.enclave.seal_state()
    blob = bytearray(bytes.fromhex(sealed["blob"]))
    blob[len(blob) // 2] ^= 0x01
    outcomes = []
    for variant in (
        {**sealed, "blob": bytes(blob).hex()},
        {**sealed, "header": {**sealed["header"], "policy": "signer"}},
    ):
        try:
            dep.enclave.unseal_state(variant)
            outcomes.append(False)
        except TamperDetected as exc:
            outcomes.append(not isinstance(exc, RollbackDetected))
    stopped = all(outcomes)
    return outcome(
        "tampered_blob",
        stopped=stopped,
        reasons=("TamperDetected",) if stopped else (),
        key_released=False,
        detail="AES-GCM authenticates the ciphertext and, as associated data, the header",
    )


RUNNERS = {name: globals()[name] for name in ATTACKS}


def run_attack(dep, name: str) -> results.Result:
    """Run one attack from :data:`ATTACKS` against ``dep``; its Result says whether and how it was stopped.

    >>> from labkit.tee import deploy
    >>> with deploy() as dep:
    ...     res = run_attack(dep, "replayed_quote")
    >>> res.metrics["stopped"], res.artifacts["reasons"]
    (1, ['stale_nonce'])
    """
    if name not in RUNNERS:
        raise InvalidInput(f"unknown attack {name!r}; choose one of {ATTACKS}.")
    return RUNNERS[name](dep)


def run_all(*, attacks: tuple[str, ...] = ATTACKS, scheme: str = "ecdsa-p256") -> results.Result:
    """Run the catalogue on a fresh deployment; metrics count stopped attacks, artifacts hold each outcome.

    Returns
    -------
    Result
        ``metrics["stopped"]``, ``metrics["attacks"]`` and per-attack ``stopped.<name>`` (1/0);
        ``artifacts["outcomes"]`` holds the outcomes as dicts.
    """
    from .lifecycle import deploy

    unknown = set(attacks) - set(ATTACKS)
    if unknown:
        raise InvalidInput(f"unknown attacks {sorted(unknown)}; choose from {ATTACKS}.")
    with deploy(scheme=scheme) as dep:
        outcomes = [summary(run_attack(dep, name)) for name in attacks]
    hostile = [o for o in outcomes if o["attack"] != "honest"]
    res = results.Result(
        technique="tee",
        name="attack_catalogue",
        params={"attacks": list(attacks), "scheme": scheme},
        metrics={
            "attacks": len(hostile),
            "stopped": sum(o["stopped"] for o in hostile),
            **{f"stopped.{o['attack']}": int(o["stopped"]) for o in outcomes},
        },
        artifacts={"outcomes": outcomes},
    )
    return res.flag(SIM_FLAG)
