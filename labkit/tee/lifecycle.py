"""The whole story in one call: vendor, platform, enclave, key service, client.

:func:`deploy` builds a platform, signs the workload image, trains the digits
model, encrypts it for the host to store, launches the enclave, attests it to
the key service, installs the released model key, loads the model and opens a
client session. Tests, the attack catalogue, the widget and the notebook all
start from it, so every part of the lab exercises the same path.

References
----------
Birkholz et al., RFC 9334 (RATS architecture).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import config
from ..errors import VerificationFailed
from . import model as M
from . import primitives as P
from .enclave import Enclave
from .image import EnclaveImage
from .keyservice import Client, KeyService, Release, encrypt_model
from .platform import Platform
from .verifier import Policy, Verifier


@dataclass
class Deployment:
    """Everything one run of the lab holds; ``close()`` stops the enclave process."""

    platform: Platform
    vendor_key: object = field(repr=False)
    image: EnclaveImage = field(repr=False)
    policy: Policy = field(repr=False)
    key_service: KeyService = field(repr=False)
    model_blob: bytes = field(repr=False)
    params: dict = field(repr=False)
    accuracy: float = 0.0
    enclave: Enclave | None = None
    client: Client | None = None
    release: Release | None = None

    def attest_and_provision(self, *, resume: bool = True) -> Release:
        """Fresh nonce -> quote -> appraisal -> wrapped model key -> model load -> client session.

        With ``resume`` the host then restores the enclave's latest sealed state (or starts it
        fresh if none was ever sealed), as an honest host does after every (re)start.
        """
        nonce = self.key_service.challenge()
        self.release = self.key_service.release("model", self.enclave.quote(nonce), nonce)
        if not self.release.released:
            raise VerificationFailed(f"key service refused the model key: {self.release.appraisal}")
        self.enclave.install_key("model", self.release.wrapped)
        self.enclave.load_model(self.model_blob)
        if resume:
            self.enclave.resume()
        self.client = Client(Verifier(self.policy))
        self.client.connect(self.enclave)
        return self.release

    def rotate_model_key(self) -> Release:
        """Scheduled rotation: new model key, the owner re-encrypts the model, the enclave re-attests for it."""
        self.model_blob = encrypt_model(M.to_npz(self.params), self.key_service.rotate("model"))
        nonce = self.key_service.challenge()
        self.release = self.key_service.release("model", self.enclave.quote(nonce), nonce)
        if not self.release.released:
            raise VerificationFailed(f"key service refused the rotated model key: {self.release.appraisal}")
        self.enclave.install_key("model", self.release.wrapped)
        self.enclave.load_model(self.model_blob)
        return self.release

    def close(self) -> None:
        """Stop the enclave process."""
        if self.enclave is not None:
            self.enclave.close()

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def deploy(
    *,
    scheme: str = "ecdsa-p256",
    oblivious: bool = False,
    query_budget: int = 100_000,
    svn: int = 2,
    host_traces_pages: bool = False,
    provision: bool = True,
    hidden: int = 32,
    max_iter: int | None = None,
    rng: int | np.random.Generator | None = None,
) -> Deployment:
    """Stand up the lab: an honest enclave, attested and provisioned unless ``provision=False``.

    Parameters
    ----------
    scheme : {"ecdsa-p256", "ml-dsa-65"}
        Signature scheme of the vendor chain, quotes and the image signature.
    oblivious : bool
        Build the enclave with the oblivious (side-channel resistant) table lookup.
    query_budget : int
        Queries the enclave answers before refusing (its sealed state).
    svn : int
        Security version of the image; the policy requires at least this.
    host_traces_pages : bool
        Let the malicious host trace the enclave's page accesses.
    provision : bool
        Run attestation, key release, model load and the client session now.
    hidden : int
        Hidden width of the model the enclave serves (>= 32; extra units are compute padding,
        see :func:`labkit.tee.model.widen`).
    max_iter : int, optional
        Training iterations of the digits model (300; 150 in fast mode).
    rng : int, Generator or None
        Seed of the model's weights and padding (None: ``LABKIT_SEED``). Key material always
        comes from the operating system's secure generator.

    Returns
    -------
    Deployment
        The scene: platform, image, policy, key service, encrypted model, enclave and client.
    """
    platform = Platform(scheme=scheme)
    vendor_key = P.generate_signing_key(scheme)
    image = EnclaveImage.build(vendor_key, config={"oblivious": oblivious, "query_budget": query_budget}, svn=svn)
    policy = Policy.for_image(image, trusted_roots=[platform.root_certificate], min_platform_tcb=platform.tcb)
    key_service = KeyService(Verifier(policy))
    model_key = key_service.add_key("model")
    trained = M.digits_model(max_iter=config.pick(300, 150) if max_iter is None else max_iter, rng=rng)
    params, acc = trained.value, trained.result.metrics["accuracy"]
    if hidden != params["W1"].shape[1]:
        params = M.widen(params, hidden, rng=rng)
    dep = Deployment(
        platform, vendor_key, image, policy, key_service, encrypt_model(M.to_npz(params), model_key), params, acc
    )
    dep.enclave = Enclave(image, platform=platform, host_traces_pages=host_traces_pages)
    if provision:
        try:
            dep.attest_and_provision()
        except BaseException:
            dep.close()
            raise
    return dep
