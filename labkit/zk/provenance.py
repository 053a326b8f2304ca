"""Model provenance: a published hash of the weights, and what happens when someone swaps them.

With ``params="hashed"`` the circuit takes the weights as private witness
values and exposes their Poseidon hash as a public instance. The circuit,
and so the proving and verifying keys, depend only on the architecture: any
weights of the right shapes produce proofs that verify. What ties a proof to
*the* model is the hash it states, which the verifier compares with the
commitment the model owner published. :func:`swap_weights` plays the
dishonest prover who reuses the published keys with other weights.

References
----------
Grassi et al., "Poseidon: a new hash function for zero-knowledge proof
systems", USENIX Security 2021.
South et al., "Verifiable evaluations of machine learning models using
zkSNARKs", arXiv:2402.02675 (2024).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from typing import Any

import numpy as np

from .. import config
from ..errors import InvalidInput
from . import backend
from .circuit import FILES, Circuit, export_onnx, onnx_ops
from .model import ZKModel


def swap_weights(zk: ZKModel, model: Any) -> ZKModel:
    """The same published circuit and keys as ``zk``, proving with the weights of ``model``.

    Parameters
    ----------
    zk : ZKModel
        Built with ``params`` "hashed" or "private" (with "public" parameters
        the weights are constants of the circuit and another model needs its
        own setup, with a verifying key of its own).
    model : torch.nn.Module
        Same architecture (same operators, input and output shapes), other weights.

    Returns
    -------
    ZKModel
        Its proofs verify under ``zk``'s verifying key, yet state the hash of
        the other weights.
    """
    if zk.visibility.params == "public":
        raise InvalidInput(
            "with public parameters the weights are fixed in the circuit; build the other model "
            "with its own ZKModel (its verifying key differs), or use params='hashed'."
        )
    sample = np.zeros(zk.input_shape)
    onnx_bytes = export_onnx(model, sample)
    if onnx_ops(onnx_bytes) != onnx_ops(zk.onnx):
        raise InvalidInput("the other model has another architecture (other operators); swap weights only.")
    key = hashlib.sha256(zk.circuit.key.encode() + hashlib.sha256(onnx_bytes).digest()).hexdigest()
    folder = config.cache_dir("zk", "swapped", key[:32])
    (folder / FILES["onnx"]).write_bytes(onnx_bytes)
    shutil.copyfile(zk.circuit.path("settings"), folder / FILES["settings"])
    for name in ("pk", "vk"):  # the published keys, shared, not copied (a proving key is ~100 MB)
        link = folder / FILES[name]
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(zk.circuit.path(name).resolve(), link)
    try:
        backend.call("compile_circuit", folder / FILES["onnx"], folder / FILES["compiled"], folder / FILES["settings"])
    except RuntimeError as exc:
        raise InvalidInput(f"the other model does not fit the published circuit: {exc}") from None
    other = zk.rebound(model, onnx_bytes, Circuit(key, folder, zk.visibility, zk.circuit.srs, built=True))
    try:
        other.plaintext(sample)
    except Exception as exc:
        raise InvalidInput(f"the other model does not take inputs of shape {zk.input_shape}: {exc}") from None
    return other
