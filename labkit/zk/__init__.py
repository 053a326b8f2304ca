"""Zero-knowledge proofs of inference with ezkl: audit trails, provenance, update bounds, tampering, cost.

A torch model becomes a zk-SNARK circuit (ezkl, Halo2 with KZG commitments);
a prover shows that the circuit maps an input to an output, and anyone with
the verifying key checks it in milliseconds. Importing this package is cheap:
torch and ezkl load when a function runs.

>>> import labkit.zk
>>> callable(labkit.zk.ZKModel)
True

References
----------
The Halo2 book, https://zcash.github.io/halo2/ (the proof system).
ezkl documentation, https://docs.ezkl.xyz/ (the circuit compiler).
Kang et al., "Scaling up trustless DNN inference with zero-knowledge proofs",
arXiv:2210.08674 (2022).
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "ZKModel": "model",
    "Proof": "model",
    "Visibility": "circuit",
    "cache_info": "circuit",
    "clear_cache": "circuit",
    "reference_string": "srs",
    "tamper": "tampering",
    "TAMPER_CASES": "tampering",
    "tamper_report": "tampering",
    "swap_weights": "provenance",
    "norm_module": "norm",
    "UpdateNormProver": "norm",
    "measure_costs": "costs",
    "sweep": "costs",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
