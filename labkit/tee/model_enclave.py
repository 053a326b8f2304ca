"""Enclave code for a user's model: appended to the lab's enclave workload, measured with it, run inside it.

The host never calls these functions. :func:`labkit.tee.assess.enclave_code`
joins the source of :mod:`labkit.tee.workload` (keys, attestation report,
sessions, sealing, the monotonic counter), this file's source and one line
pinning the SHA-256 of the model the image serves; the platform measures that
text and the enclave process ``exec``s it. Two operations join the workload's:

- ``load_workload_model``: decrypt the model blob (AES-256-GCM under the
  released model key: a modified blob is refused as TamperDetected), check
  that its SHA-256 is the pinned one, read the ONNX graph as the lab's
  feed-forward program and rebuild it in torch
  (:func:`labkit.workload.torchmodel.to_torch`), on one thread;
- ``infer_batch``: decrypt a batch of float32 samples under the client's
  session key (sequence numbers refuse replays), run the model, return the
  outputs encrypted under the same key. The query budget and the
  "state restored" rule of the workload apply.

Simulated: the measurement covers this source, not the Python interpreter,
numpy, onnx or torch it imports (an SGX enclave links and measures its
runtime too).

References
----------
Costan, Devadas, "Intel SGX Explained", IACR ePrint 2016/086 (measured enclave code).
Hunt et al., "Chiron: Privacy-preserving Machine Learning as a Service", arXiv:1803.05961 (models in enclaves).
"""

import functools

import numpy as np

from labkit.tee import primitives as P

MODEL_SHA256 = None  # the enclave code built by the host sets it on a line after this file's text
MODEL_AAD = b"labkit-tee model"


def model_digest(onnx_bytes):
    """The hex SHA-256 the image pins for a model (the same function on both sides)."""
    return P.sha256(b"labkit-tee user model", bytes(onnx_bytes)).hex()


def _load_workload_model(state, msg):
    if "model" not in state["keys"]:
        raise PermissionError("no model key: attest and obtain it from the key service first")
    raw = P.aead_open(state["keys"]["model"], bytes.fromhex(msg["blob"]), MODEL_AAD, what="model blob")
    if model_digest(raw) != MODEL_SHA256:
        raise PermissionError("the model blob is not the model this enclave was measured with")
    import torch

    from labkit.workload.graph import read
    from labkit.workload.onnxfile import parse_model
    from labkit.workload.torchmodel import to_torch

    torch.set_num_threads(1)  # one enclave thread, like the host's baseline
    program, problems = read(parse_model(raw))
    if program is None:
        raise ValueError("the model is not a feed-forward program: " + "; ".join(map(str, problems)))
    state["user_model"] = to_torch(program)
    state["input_shape"] = tuple(program.input_shape)
    return {"parameters": int(sum(p.numel() for p in state["user_model"].parameters()))}


def _infer_batch(state, msg, open_request):
    import torch

    if "user_model" not in state:
        raise PermissionError("no model loaded")
    raw = open_request(state, msg)
    tag = state["seq"].to_bytes(8, "big")
    x = np.frombuffer(raw, dtype="<f4").reshape(-1, *state["input_shape"])
    if len(x) > state["budget"]:
        raise PermissionError(f"query budget exhausted ({state['budget']} left)")
    state["budget"] -= len(x)
    state["served"] += len(x)
    with torch.no_grad():
        out = state["user_model"](torch.from_numpy(x.copy())).numpy()
    reply = P.aead_seal(state["session"], np.ascontiguousarray(out, dtype="<f4").tobytes(), b"resp" + tag)
    return {"ciphertext": reply.hex(), "outputs": int(out.shape[1]) if out.ndim > 1 else 1}


def install(handlers, open_request):
    """Add this file's operations to the workload's handler table (the last line of the enclave code calls it).

    ``open_request`` is the workload's request check (state restored, session, fresh sequence number,
    decryption): the user's model is served behind the same one as the lab's."""
    handlers["load_workload_model"] = _load_workload_model
    handlers["infer_batch"] = functools.partial(_infer_batch, open_request=open_request)
