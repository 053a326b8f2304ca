"""The host's handle on an enclave: a separate OS process behind one byte pipe.

:class:`Enclave` launches the measured image on a :class:`Platform` in a child
process (``python -m labkit.tee.enclave_worker``) and talks to it only through
length-prefixed JSON frames on the child's stdin/stdout. Every frame the host
relays is logged in :attr:`Enclave.host_view`, so the lab can show what an
untrusted host sees (sizes, operation names, ciphertext) and what it does not.

References
----------
Costan, Devadas, "Intel SGX Explained", IACR ePrint 2016/086, section 5 (enclave lifecycle).
"""

from __future__ import annotations

import collections
import json
import os
import select
import subprocess
import sys
import weakref

import numpy as np

from .. import validate
from ..errors import InvalidInput, LabkitError, TamperDetected, VerificationFailed
from . import primitives as P
from .enclave_worker import read_frame, write_frame
from .image import EnclaveImage
from .platform import Platform, Quote

HOST_VIEW_FRAMES = 256  # the host's log keeps the most recent frames in full


class EnclaveError(LabkitError):
    """The enclave refused a request (its own check failed); the message says which."""


class RollbackDetected(TamperDetected):
    """A sealed blob is authentic but older than the platform's monotonic counter."""


def _raise_for(error: str) -> None:
    if "rollback" in error:
        raise RollbackDetected(f"enclave refused: {error}")
    if error.startswith("TamperDetected"):
        raise TamperDetected(f"enclave refused: {error}")
    if "counter response" in error:
        raise VerificationFailed(f"enclave refused: {error}")
    raise EnclaveError(f"enclave refused: {error}")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


class Enclave:
    """A running enclave instance.

    Parameters
    ----------
    image : EnclaveImage
        What to run; the platform checks its signature and measures it.
    platform : Platform
        The simulated hardware it runs on.
    host_traces_pages : bool
        The malicious-OS switch: when True the host records every page of the
        enclave's lookup table that each request touches (controlled channel).
    timeout : float
        Seconds to wait for any one reply.

    Attributes
    ----------
    host_view : deque of dict
        The last frames the host relayed: direction, operation, size and the full bytes.
    """

    def __init__(
        self, image: EnclaveImage, *, platform: Platform, host_traces_pages: bool = False, timeout: float = 60.0
    ):
        if not isinstance(platform, Platform):
            raise InvalidInput(f"platform must be a labkit.tee.Platform, not {type(platform).__name__}.")
        if not isinstance(image, EnclaveImage):
            raise InvalidInput(f"image must be an EnclaveImage, not {type(image).__name__}.")
        self.image, self.platform, self.timeout = image, platform, timeout
        self.host_traces_pages = bool(host_traces_pages)
        self.host_view: collections.deque[dict] = collections.deque(maxlen=HOST_VIEW_FRAMES)
        self.last_pages = np.zeros(0, dtype=np.int64)
        self._proc: subprocess.Popen | None = None
        self._record = None
        self.restarts = 0
        self.last_sealed: dict | None = None  # the host's storage: it keeps the latest sealed blob
        self.start()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Launch: signature check and measurement by the platform, then the child process."""
        record = self.platform.launch(self.image)  # raises VerificationFailed on a bad SIGSTRUCT
        # One BLAS thread in the enclave (like a single enclave thread); benchmarks pin the baseline to one too.
        env = {**os.environ, **{k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "labkit.tee.enclave_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        self._record = record
        launch = {
            "code": self.image.code,
            "config": self.image.config,
            "svn": self.image.svn,
            "host_traces_pages": self.host_traces_pages,
            **record.keys,
        }
        write_frame(self._proc.stdin, json.dumps(launch).encode())  # simulated: keys over the launch pipe
        self.public_key = P.HybridPublicKey.from_bytes(bytes.fromhex(self.call("hello")["public_key"]))

    def close(self) -> None:
        """Terminate the process; its ephemeral keys and unsealed state die with it."""
        if self._proc is not None:
            self._finalizer()
            self.platform.terminate(self._record.instance)
            self._proc = None

    def restart(self) -> None:
        """Stop and launch again: a new instance with new keys, which must attest again."""
        self.close()
        self.restarts += 1
        self.start()

    @property
    def running(self) -> bool:
        """Whether the enclave process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The enclave process id (None once closed)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def instance(self) -> int:
        """The platform's number for this launched instance."""
        return self._record.instance

    def __enter__(self) -> Enclave:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the narrow channel -------------------------------------------------------------------
    def call(self, op: str, **fields) -> dict:
        """Send one request frame and wait for the reply frame (both logged in ``host_view``)."""
        if not self.running:
            raise EnclaveError("the enclave process is not running; call start() or restart().")
        request = json.dumps({"op": op, **fields}).encode()
        self._log("host->enclave", op, request)
        write_frame(self._proc.stdin, request)
        frame = self._read_with_timeout()
        self._log("enclave->host", op, frame)
        out = json.loads(frame)
        pages = out.pop("mmu_pages", None)
        self.last_pages = (
            np.frombuffer(bytes.fromhex(pages), dtype=">u2").astype(np.int64) if pages else np.zeros(0, dtype=np.int64)
        )
        if not out["ok"]:
            _raise_for(out["error"])
        return out["reply"]

    def _read_with_timeout(self) -> bytes:
        ready, _, _ = select.select([self._proc.stdout], [], [], self.timeout)
        frame = read_frame(self._proc.stdout) if ready else None
        if frame is None:
            self.close()
            raise EnclaveError(f"the enclave process did not answer within {self.timeout} s (or died) and was stopped.")
        return frame

    def _log(self, direction: str, op: str, frame: bytes) -> None:
        self.host_view.append({"direction": direction, "op": op, "bytes": len(frame), "frame": frame})

    def host_saw(self, secret: bytes) -> bool:
        """Whether ``secret`` (raw, or hex as the JSON frames carry bytes) crossed the pipe in the logged frames."""
        needles = (bytes(secret), bytes(secret).hex().encode())
        return any(n in h["frame"] for h in self.host_view for n in needles)

    # -- operations ---------------------------------------------------------------------------
    def quote(self, nonce: bytes) -> Quote:
        """Ask the enclave for a report over ``nonce`` and have the platform sign it into a quote."""
        if not isinstance(nonce, (bytes, bytearray)) or len(nonce) < 16:
            raise InvalidInput("nonce must be at least 16 bytes from the verifier's challenge().")
        rep = self.call("report", nonce=bytes(nonce).hex())
        return self.platform.quote(
            self.instance, bytes.fromhex(rep["report_data"]), bytes.fromhex(rep["mac"]), self.public_key.to_bytes()
        )

    def install_key(self, name: str, wrapped: bytes) -> None:
        """Hand the enclave a key wrapped to its ephemeral public key (it unwraps it inside)."""
        self.call("install_key", name=name, wrapped=wrapped.hex())

    def load_model(self, blob: bytes) -> None:
        """Hand the enclave the encrypted model blob; it decrypts it with the installed model key."""
        self.call("load_model", blob=blob.hex())

    def open_session(self, wrapped: bytes) -> None:
        """Hand the enclave a client's session key, wrapped to its ephemeral public key."""
        self.call("open_session", wrapped=wrapped.hex())

    def status(self) -> dict:
        """Budget left, requests served and the names of installed keys."""
        return self.call("status")

    def counter(self, counter_id: str, *, increment: bool) -> dict:
        """A fresh, authenticated counter answer for the enclave: its nonce, the platform's value and MAC."""
        nonce = bytes.fromhex(self.call("counter_nonce")["nonce"])
        value, tag = self.platform.counter(self._record.signer_id, counter_id, nonce, increment=increment)
        return {"counter_id": counter_id, "counter_value": value, "counter_tag": tag.hex()}

    def seal_state(self, *, policy: str = "measurement", counter_id: str = "state") -> dict:
        """Seal the enclave's state (query budget, requests served) for the host to store.

        The platform's monotonic counter is incremented first and its value is
        sealed with the state, so an older blob is recognisably older.
        """
        validate.choice("policy", policy, ("measurement", "signer"))
        sealed = self.call("seal_state", policy=policy, **self.counter(counter_id, increment=True))["sealed"]
        self.last_sealed = sealed
        return sealed

    def unseal_state(self, sealed: dict, *, counter_id: str = "state") -> dict:
        """Restore sealed state; TamperDetected if modified, RollbackDetected if not the latest."""
        if not isinstance(sealed, dict) or not {"header", "blob"} <= set(sealed):
            raise InvalidInput("sealed must be the dict returned by seal_state().")
        return self.call("unseal_state", sealed=sealed, **self.counter(counter_id, increment=False))

    def resume(self, sealed: dict | None = None, *, counter_id: str = "state") -> dict:
        """Make the enclave ready to serve: restore ``sealed`` (default: the latest blob the host
        stored), or start fresh, which the enclave allows only while no state was ever sealed."""
        sealed = sealed if sealed is not None else self.last_sealed
        if sealed is not None:
            return self.unseal_state(sealed, counter_id=counter_id)
        return self.start_fresh(counter_id=counter_id)

    def start_fresh(self, *, counter_id: str = "state") -> dict:
        """Ask the enclave to serve from its initial state; RollbackDetected once any state was sealed."""
        return self.call("start_fresh", **self.counter(counter_id, increment=False))
