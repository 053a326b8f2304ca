"""Proving in a child process: a time limit, and the memory the prover used.

ezkl's ``prove`` keeps Python's global interpreter lock for the whole proof
while Halo2 works on a pool of Rust threads. When one of those threads logs a
message whose target has not logged before, the bridge to Python logging
(pyo3-log) waits for the lock the main thread holds, and the process hangs
for good. Measured here: a model with a GELU (ONNX ``Erf``) hung on every
in-process proof, and proved in 1.4 s in a fresh process. :func:`prove_in_child`
therefore proves in a child process with a time limit: a hung child is killed
and tried once more, and a second hang is an error that says so, never a
frozen notebook. The child also reports its resident size before and after,
so every isolated proof measures the prover's peak memory.

References
----------
pyo3-log, "Script hangs forever when using rayon and logging within the
closure", https://github.com/vorner/pyo3-log/issues/65.
ezkl documentation, https://docs.ezkl.xyz/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..errors import LabkitError
from . import backend

ATTEMPTS = 2
MIN_TIMEOUT = 120.0  # seconds: a child's start, ezkl's import and reading the proving key included

_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from labkit.zk import backend

def status_bytes(key):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0

args = json.loads(sys.argv[2])
backend.ezkl()
before = status_bytes("VmRSS")
start = time.perf_counter()
backend.call("prove", args["witness"], args["compiled"], args["pk"], args["proof"], srs_path=args["srs"])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "before": before, "peak": status_bytes("VmHWM")}))
"""


class ProverHung(LabkitError):
    """The ezkl prover did not finish within its time limit, twice."""


def prove_in_child(
    *, witness: Path, compiled: Path, pk: Path, proof: Path, srs: Path, timeout: float = MIN_TIMEOUT
) -> dict[str, float]:
    """Run ezkl ``prove`` in a child process; the proof lands in ``proof``.

    Returns
    -------
    dict
        ``seconds`` (the prove call alone), ``prover_ram_bytes`` (peak resident
        size minus the size before proving) and ``peak_rss_bytes`` (the child's
        peak); memory figures are 0 where ``/proc`` is missing.

    Raises
    ------
    ProverHung
        After :data:`ATTEMPTS` children each ran past ``timeout`` seconds (each is killed).
    LabkitError
        When the child fails (ezkl's message is kept).
    """
    root = str(Path(__file__).resolve().parents[2])
    args = json.dumps(
        {k: str(v) for k, v in dict(witness=witness, compiled=compiled, pk=pk, proof=proof, srs=srs).items()}
    )
    for _ in range(ATTEMPTS):
        try:
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, root, args], capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:  # subprocess.run has killed the child
            continue
        if done.returncode != 0:
            raise LabkitError(f"the ezkl prover (ezkl {backend.version()}) failed: {done.stderr.strip()[-400:]}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        return {
            "seconds": float(out["seconds"]),
            "prover_ram_bytes": max(0, int(out["peak"]) - int(out["before"])),
            "peak_rss_bytes": int(out["peak"]),
        }
    raise ProverHung(
        f"the ezkl prover ran past {timeout:.0f} s in {ATTEMPTS} child processes and was stopped. ezkl can hang "
        "when its worker threads log (pyo3-log waits for Python's lock); a larger circuit may also just need "
        "more time: pass a longer timeout."
    )
