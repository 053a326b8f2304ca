"""The loader that runs inside the enclave process (``python -m labkit.tee.enclave_worker``).

It plays the part of the CPU's launch sequence and the enclave's entry point:
it receives the image and the keys the platform derived for it in one launch
frame, ``exec``s the measured code, then serves one request per frame on
stdin/stdout (4-byte big-endian length + UTF-8 JSON). That pipe is the only
channel between host and enclave, and the host sees every byte of it.

Simulated: on hardware the launch keys never leave the CPU package (EGETKEY
derives them on request) and the OS learns page accesses from page faults.
Here the keys arrive over the launch pipe from the simulated platform, and, when
the host asks for it at launch, the loader reports each request's page trace
next to the reply, outside the encrypted payload, as the OS would observe it.

References
----------
Intel SGX Developer Reference: ECALL/OCALL, EGETKEY, EREPORT.
"""

from __future__ import annotations

import json
import struct
import sys

import numpy as np


def read_frame(stream) -> bytes | None:
    """One length-prefixed frame from ``stream`` (None at end of stream)."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    data = stream.read(n)
    if len(data) < n:
        return None
    return data


def write_frame(stream, data: bytes) -> None:
    """Write ``data`` as one length-prefixed frame (4-byte big-endian length) and flush."""
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def main() -> int:
    """The enclave process: read the launch frame, run the measured code, serve one request per frame."""
    rx, tx = sys.stdin.buffer, sys.stdout.buffer
    launch = read_frame(rx)
    if launch is None:
        return 1
    init = json.loads(launch)
    namespace: dict = {"__name__": "enclave"}
    exec(compile(init["code"], "<enclave>", "exec"), namespace)  # the measured code, nothing else
    state = {k: v for k, v in init.items() if k != "code"}
    trace_pages = bool(init.get("host_traces_pages"))
    while True:
        frame = read_frame(rx)
        if frame is None:
            return 0
        pages: list = []
        touch = pages.append if trace_pages else None
        try:
            reply = namespace["handle"](state, json.loads(frame), touch)
            out = {"ok": True, "reply": reply}
        except Exception as exc:  # report to the host, keep serving
            out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        if pages:
            out["mmu_pages"] = np.concatenate(pages).astype(">u2").tobytes().hex()
        write_frame(tx, json.dumps(out).encode())


if __name__ == "__main__":
    sys.exit(main())
