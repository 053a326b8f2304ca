"""Remote attestation: appraise a quote against a policy and say why it passes or fails.

The verifier (a key service, a client, a relying party) trusts a vendor root
certificate and a policy: which measurements may run, which signer, which
minimum security version, whether debug enclaves are acceptable. It issues a
fresh nonce, receives a quote and checks, in this order and without stopping
at the first failure, so the appraisal lists every reason:

``malformed_quote``      the bytes are not a quote at all (nothing else is checked);
``untrusted_platform``   the platform certificate does not chain to a trusted root;
``bad_signature``        the quote's signature does not verify under that certificate;
``platform_tcb_below_policy`` the platform certificate states an older TCB (unpatched microcode);
``stale_nonce``          the report data is not SHA-256(this fresh nonce || the enclave key):
                         a replayed quote, or a key swapped in on the way;
``measurement_mismatch`` the code or config is not one the policy allows;
``signer_mismatch``      the image was signed by someone else;
``svn_below_policy``     the security version (TCB level) is older than policy allows;
``debug_enclave``        a debug enclave, whose memory the host can read.

References
----------
Birkholz et al., "Remote ATtestation procedureS (RATS) Architecture", RFC 9334 (2023):
roles of attester, verifier, relying party; appraisal policy; freshness by nonce.
Intel, "Intel SGX ECDSA Quote Library API": quote verification steps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import validate
from ..errors import InvalidInput
from . import primitives as P
from .platform import Quote, load_certificate, platform_tcb

REASONS = {
    "malformed_quote": "the quote cannot be parsed: wrong fields or types",
    "untrusted_platform": "the platform certificate does not chain to a trusted vendor root",
    "bad_signature": "the quote signature does not verify: forged or altered after signing",
    "stale_nonce": "report data does not bind this verifier's fresh nonce to the enclave key (replayed quote)",
    "platform_tcb_below_policy": "the platform's TCB level (microcode/firmware) is older than the policy allows",
    "measurement_mismatch": "the enclave's measurement is not in the policy: modified code or config",
    "signer_mismatch": "the enclave was signed by a key the policy does not trust",
    "svn_below_policy": "the enclave's security version is below the policy minimum",
    "debug_enclave": "debug enclave: its memory is readable by the host",
}


@dataclass(frozen=True)
class Policy:
    """What a verifier accepts.

    Parameters
    ----------
    trusted_roots : list of x509.Certificate
        Vendor root certificates (e.g. ``[platform.root_certificate]``).
    measurements : iterable of bytes or hex str
        Allowed enclave measurements (MRENCLAVE values).
    signer_id : bytes or hex str, optional
        Required signer identity (MRSIGNER); None accepts any signer.
    min_svn : int
        Lowest acceptable security version.
    min_platform_tcb : int
        Lowest acceptable platform TCB level (from the platform certificate).
    allow_debug : bool
        Accept debug enclaves (never in production).
    """

    trusted_roots: tuple
    measurements: frozenset
    signer_id: str | None = None
    min_svn: int = 0
    allow_debug: bool = False
    min_platform_tcb: int = 0

    @classmethod
    def for_image(
        cls, image, *, trusted_roots, min_svn: int | None = None, allow_debug: bool = False, min_platform_tcb: int = 0
    ) -> Policy:
        """Accept exactly this image's measurement and signer, at its security version or newer."""
        return cls(
            tuple(trusted_roots),
            frozenset([image.measurement.hex()]),
            image.signer_id.hex(),
            image.svn if min_svn is None else min_svn,
            allow_debug,
            min_platform_tcb,
        )

    def __post_init__(self):
        roots = tuple(self.trusted_roots)
        if not roots:
            raise InvalidInput("a policy needs at least one trusted root certificate.")
        object.__setattr__(self, "trusted_roots", roots)
        ms = frozenset(m.hex() if isinstance(m, bytes) else str(m).lower() for m in self.measurements)
        if not ms:
            raise InvalidInput("a policy needs at least one allowed measurement.")
        object.__setattr__(self, "measurements", ms)
        if isinstance(self.signer_id, bytes):
            object.__setattr__(self, "signer_id", self.signer_id.hex())
        for name in ("min_svn", "min_platform_tcb"):
            validate.integer(name, getattr(self, name), low=0)


@dataclass(frozen=True)
class Appraisal:
    """The verifier's judgement: a verdict, the reasons, and the claims it looked at."""

    verdict: str  # "trusted" or "untrusted"
    reasons: tuple[tuple[str, str], ...]
    claims: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return self.verdict == "trusted"

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes of the failed checks, in order."""
        return tuple(code for code, _ in self.reasons)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return "trusted: every check passed"
        return "untrusted: " + "; ".join(f"{c} ({t})" for c, t in self.reasons)


def report_data_for(nonce: bytes, enclave_public_key: bytes) -> bytes:
    """What an honest enclave puts in its report: SHA-256(label, nonce, public key)."""
    return P.sha256(b"labkit-tee report", nonce, enclave_public_key)


class Verifier:
    """Issues nonces and appraises quotes against a :class:`Policy`.

    Each nonce is single use: appraising consumes it, so a replayed quote fails
    even with its original nonce.
    """

    def __init__(self, policy: Policy):
        if not isinstance(policy, Policy):
            raise InvalidInput(f"Verifier needs a Policy, not {type(policy).__name__}.")
        self.policy = policy
        self._outstanding: set[bytes] = set()

    def challenge(self) -> bytes:
        """A fresh 32-byte nonce for the next quote."""
        nonce = os.urandom(32)
        self._outstanding.add(nonce)
        return nonce

    def appraise(self, quote: Quote | bytes, nonce: bytes) -> Appraisal:
        """Check ``quote`` against the policy and ``nonce``; never raises on a bad quote."""
        if not isinstance(quote, (Quote, bytes, bytearray)):
            raise InvalidInput(f"appraise needs a Quote or its bytes, not {type(quote).__name__}.")
        if not isinstance(nonce, (bytes, bytearray)) or len(nonce) < 16:
            raise InvalidInput("nonce must be the bytes from Verifier.challenge() (at least 16 bytes).")
        fresh = bytes(nonce) in self._outstanding
        self._outstanding.discard(bytes(nonce))
        try:
            if isinstance(quote, (bytes, bytearray)):
                quote = Quote.from_bytes(bytes(quote))
            return self._check(quote, bytes(nonce), fresh)
        except (InvalidInput, TypeError, ValueError, AttributeError):
            return Appraisal("untrusted", (("malformed_quote", REASONS["malformed_quote"]),), {})

    def _check(self, quote: Quote, nonce: bytes, fresh: bool) -> Appraisal:
        pol, codes = self.policy, []
        try:
            cert = load_certificate(quote.platform_certificate)
        except Exception:
            cert = None
        chained = (
            cert is not None
            and P.certificate_current(cert)
            and any(P.certificate_signed_by(cert, root) and P.certificate_current(root) for root in pol.trusted_roots)
        )
        if not chained:
            codes.append("untrusted_platform")
        elif platform_tcb(cert) < pol.min_platform_tcb:
            codes.append("platform_tcb_below_policy")
        if cert is None or not P.verify(cert.public_key(), _unhex(quote.signature), quote.body()):
            codes.append("bad_signature")
        expected = report_data_for(nonce, _unhex(quote.enclave_public_key))
        if not fresh or _unhex(quote.report_data) != expected:
            codes.append("stale_nonce")
        if quote.measurement.lower() not in pol.measurements:
            codes.append("measurement_mismatch")
        if pol.signer_id is not None and quote.signer_id.lower() != pol.signer_id:
            codes.append("signer_mismatch")
        if not isinstance(quote.svn, int) or quote.svn < pol.min_svn:
            codes.append("svn_below_policy")
        if quote.debug and not pol.allow_debug:
            codes.append("debug_enclave")
        claims = {
            "platform_tcb": platform_tcb(cert) if cert is not None else None,
            "measurement": quote.measurement,
            "signer_id": quote.signer_id,
            "svn": quote.svn,
            "debug": quote.debug,
            "scheme": quote.scheme,
        }
        return Appraisal("untrusted" if codes else "trusted", tuple((c, REASONS[c]) for c in codes), claims)


def _unhex(value: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except (ValueError, TypeError):
        return b""
