"""Capstone: one federated-learning round on ``digits`` with defense layers switched on or off.

Layers (each a real run of another lab's code):

- ``dp``: DP-SGD on every honest client (Opacus, through
  :class:`labkit.inversion.defenses.DPSGD`);
- ``secagg``: secure aggregation by CKKS (:class:`labkit.fl.CKKSSum`, TenSEAL);
  the server sees only the sum of the accepted updates;
- ``zk``: every client proves with ezkl that its update's norm is within a
  public bound (:class:`labkit.zk.UpdateNormProver`); the server drops a client
  whose proof states an excess, without seeing its update;
- ``tls``: clients upload their update and proof over real TLS 1.3 sockets on
  127.0.0.1 with hybrid X25519MLKEM768 key exchange and mutual certificates
  (:mod:`labkit.pqc`).
- ``tee`` (with ``secagg``): the CKKS secret key is released only to an
  attested enclave (:class:`labkit.tee.KeyHolderEnclave`), which decrypts the
  round's sum of at least two updates and nothing else.

Attackers: an honest-but-curious server running gradient inversion
(:func:`labkit.inversion.attack`) on what it sees, and a Byzantine client that
sends an oversized, sign-flipped update. :func:`evaluate` scores one stack of
layers; :func:`compare` scores several, against the plain round, in one run.

Importing this package is light: torch, ezkl, TenSEAL and OpenSSL load when a
function needs them.

References
----------
Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine
Learning", CCS 2017.
Sun, Kairouz, Suresh & McMahan, "Can you really backdoor federated learning?",
arXiv:1911.07963 (2019).
Geiping et al., "Inverting Gradients", NeurIPS 2020.
Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "LAYERS": "layers",
    "STACKS": "layers",
    "check_stack": "layers",
    "stack_name": "layers",
    "Setup": "round",
    "setup": "round",
    "key_holder": "round",
    "aggregator": "round",
    "client_vectors": "round",
    "Round": "round",
    "run_round": "round",
    "evaluate": "lab",
    "compare": "lab",
    "table": "lab",
    "UploadServer": "transport",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
