"""The defense layers of the capstone and the stacks of them it compares.

>>> check_stack(["zk", "dp"])
('dp', 'zk')
>>> stack_name(())
'plain'
>>> check_stack(["tee"])
Traceback (most recent call last):
...
labkit.errors.InvalidInput: layer 'tee' needs 'secagg' (the enclave holds the key of secure aggregation): add it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import InvalidInput

LAYERS = ("dp", "secagg", "zk", "tls", "tee")
"""Every layer, in the order a client applies them."""

DESCRIPTIONS = {
    "dp": "DP-SGD on each client (Opacus): clipped per-sample gradients plus Gaussian noise",
    "secagg": "secure aggregation by CKKS (TenSEAL): the server sees only the sum",
    "zk": "ezkl proof that each update's norm is within the public bound; oversized updates dropped unseen",
    "tls": "uploads over TLS 1.3 with X25519MLKEM768 and mutual certificates on real sockets",
    "tee": "the CKKS secret key is released only to an attested (simulated) enclave, which decrypts only sums",
}

REQUIRES = {"tee": "secagg"}
"""Layers that only make sense on top of another: the enclave holds the key of CKKS secure aggregation."""

STACKS = ((), ("dp",), ("secagg",), ("zk",), ("tls",), ("secagg", "tee"), ("dp", "secagg"), LAYERS)
"""The stacks :func:`labkit.capstone.compare` runs by default: none, each alone (``tee`` on ``secagg``), DP with
secure aggregation, all."""


def check_stack(layers: Iterable[str] | str) -> tuple[str, ...]:
    """Validate a stack of layer names and return it in canonical order (a tuple)."""
    if isinstance(layers, str):
        layers = [layers] if layers else []
    try:
        names = list(layers)
    except TypeError:
        raise InvalidInput(f"layers must be a list of names from {LAYERS}, not {layers!r}.") from None
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        raise InvalidInput(f"unknown layer(s) {unknown}: choose from {LAYERS}.")
    for layer, needed in REQUIRES.items():
        if layer in names and needed not in names:
            raise InvalidInput(
                f"layer {layer!r} needs {needed!r} (the enclave holds the key of secure aggregation): add it."
            )
    return tuple(n for n in LAYERS if n in names)


def stack_name(layers: Iterable[str]) -> str:
    """A short label: "plain" for no layer, else the layers joined by "+"."""
    stack = check_stack(layers)
    return "+".join(stack) if stack else "plain"
