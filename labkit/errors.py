"""Exceptions raised by labkit.

Every error a learner can trigger derives from :class:`LabkitError`, so a
notebook can catch them all, and each message says what to change.
"""

from __future__ import annotations


class LabkitError(Exception):
    """Base class of every labkit error."""


class InvalidInput(LabkitError, ValueError):
    """An argument is malformed or out of range; raised before any work runs."""


class InsecureParameters(LabkitError):
    """Parameters below the security floor (e.g. < 128-bit HE parameters).

    Pass ``allow_insecure=True`` to run anyway; the Result is then flagged
    "not for production".
    """


class VerificationFailed(LabkitError):
    """A proof, signature, quote or certificate did not verify."""


class TamperDetected(VerificationFailed):
    """Authenticated data (a ciphertext, sealed blob, record) was modified."""


class BackendUnavailable(LabkitError, ImportError):
    """A cryptographic backend cannot be imported or does not work here.

    The message names the backend and the reason; ``labkit doctor`` shows all.
    """

    def __init__(self, backend: str, reason: str):
        self.backend = backend
        self.reason = reason
        super().__init__(f"{backend} is not available here: {reason} (run `labkit doctor`)")


class StoreError(LabkitError):
    """A ResultStore file is missing, corrupt, foreign or of a newer schema."""


__all__ = [
    "LabkitError",
    "InvalidInput",
    "InsecureParameters",
    "VerificationFailed",
    "TamperDetected",
    "BackendUnavailable",
    "StoreError",
]
