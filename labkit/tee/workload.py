"""The enclave's code: the bytes the platform measures and the child process runs.

This file is not imported by the host. ``EnclaveImage`` reads its text, the
platform hashes it into the measurement, and the enclave process ``exec``s it.
Everything the enclave does with secrets is here: unwrapping released keys,
decrypting the model, the client session, inference, sealing, and the
attestation report. Change a byte and the measurement changes.

Simulated: the measurement covers this source and the config, not the Python
interpreter, numpy or pyca/cryptography it uses (an SGX enclave would link its
crypto library in and measure it too). ``touch(page)`` is the simulated MMU: it
records which 4 KiB page of the lookup table an access lands on, which is what a
malicious OS learns on real hardware by unmapping pages and catching the faults
(the controlled-channel attack).

References
----------
Xu, Cui, Peinado, "Controlled-Channel Attacks: Deterministic Side Channels for
Untrusted Operating Systems", IEEE S&P 2015.
"""

import io
import json
import os

import numpy as np

from labkit.tee import primitives as P

LEVELS = 17  # digits pixels are integers 0..16
LANES = 512  # float64 lanes per table row: one row = 4096 bytes = one page
TABLE_BASE_PAGE = 0x40  # page number of row 0 in the enclave's address space


def dequant_table():
    """Lookup table: row v holds the pixel value v/16 in every lane (one row per page)."""
    return np.repeat((np.arange(LEVELS) / 16.0)[:, None], LANES, axis=1)


def decode_leaky(levels, table, touch=None):
    """Table lookup indexed by the secret pixel level: fast, and its page trace is the input."""
    if touch is not None:
        touch(TABLE_BASE_PAGE + levels.ravel())
    return table[levels, 0]


def decode_oblivious(levels, table, touch=None):
    """Touch every row for every pixel and select arithmetically: the trace is input-independent."""
    if touch is not None:
        touch(np.tile(TABLE_BASE_PAGE + np.arange(LEVELS), levels.size))
    onehot = (levels[..., None] == np.arange(LEVELS)).astype(np.float64)
    return onehot @ table[:, 0]


def forward(params, x):
    """The digits MLP: ReLU hidden layer, linear output; returns class scores."""
    h = np.maximum(x @ params["W1"] + params["b1"], 0.0)
    return h @ params["W2"] + params["b2"]


def _b(state, key):
    return bytes.fromhex(state[key])


def _hello(state, msg):
    state["hpke"] = P.HybridPrivateKey()
    state["keys"] = {}
    state["table"] = dequant_table()
    state["budget"] = int(state["config"]["query_budget"])
    state["served"] = 0
    state["ready"] = False  # no queries until the latest sealed state is restored (or none exists)
    return {"public_key": state["hpke"].public.to_bytes().hex()}


def _report(state, msg):
    # EREPORT: report data binds the verifier's nonce to this instance's public key;
    # the MAC under the launch-derived report key lets the quoting platform trust it.
    report_data = P.sha256(b"labkit-tee report", bytes.fromhex(msg["nonce"]), state["hpke"].public.to_bytes())
    return {"report_data": report_data.hex(), "mac": P.mac(_b(state, "report_key"), report_data).hex()}


def _install_key(state, msg):
    name = msg["name"]
    state["keys"][name] = state["hpke"].unwrap(bytes.fromhex(msg["wrapped"]), b"key:" + name.encode())
    return {"installed": name}


def _load_model(state, msg):
    if "model" not in state["keys"]:
        raise PermissionError("no model key: attest and obtain it from the key service first")
    raw = P.aead_open(state["keys"]["model"], bytes.fromhex(msg["blob"]), b"labkit-tee model", what="model blob")
    with np.load(io.BytesIO(raw)) as npz:
        state["model"] = {k: npz[k] for k in npz.files}
    return {"loaded": sorted(state["model"])}


def _open_session(state, msg):
    state["session"] = state["hpke"].unwrap(bytes.fromhex(msg["wrapped"]), b"session")
    state["seq"] = -1
    return {"session": True}


def open_request(state, msg):
    """A client's request, checked and decrypted: the state restored, a session open, a fresh sequence number
    (a replay is refused), the ciphertext authentic under the session key and bound to that number. Shared with
    the model operations of ``labkit/tee/model_enclave.py`` (handed to its ``install``), so both refuse alike."""
    if not state["ready"]:
        raise PermissionError("state not restored: resume from the latest sealed state before serving queries")
    seq = int(msg["seq"])
    if "session" not in state or seq <= state["seq"]:
        raise PermissionError("no session or replayed request sequence number")
    state["seq"] = seq
    return P.aead_open(state["session"], bytes.fromhex(msg["ciphertext"]), b"req" + seq.to_bytes(8, "big"), "request")


def _infer(state, msg, touch):
    raw = open_request(state, msg)
    seq = state["seq"]
    levels = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 64).astype(np.int64)
    if levels.max(initial=0) >= LEVELS:
        raise ValueError("pixel levels must be 0..16")
    if len(levels) > state["budget"]:
        raise PermissionError(f"query budget exhausted ({state['budget']} left)")
    state["budget"] -= len(levels)
    state["served"] += len(levels)
    decode = decode_oblivious if state["config"]["oblivious"] else decode_leaky
    x = decode(levels, state["table"], touch)
    labels = np.argmax(forward(state["model"], x), axis=1).astype(np.uint8)
    out = P.aead_seal(state["session"], labels.tobytes(), b"resp" + seq.to_bytes(8, "big"))
    return {"ciphertext": out.hex()}


def _seal_policy_key(state, policy, svn):
    if policy == "measurement":
        return _b(state, "seal_key_measurement")
    keys = state["seal_keys_signer"]
    if str(svn) not in keys:
        raise PermissionError(f"cannot derive the signer seal key for svn {svn} (this enclave is svn {state['svn']})")
    return bytes.fromhex(keys[str(svn)])


def _counter_nonce(state, msg):
    state["counter_nonce"] = os.urandom(32)
    return {"nonce": state["counter_nonce"].hex()}


def _check_counter(state, msg):
    nonce = state.pop("counter_nonce", None)
    value = int(msg["counter_value"])
    body = P.sha256(b"counter", msg["counter_id"].encode(), value.to_bytes(8, "big"), nonce or b"")
    if nonce is None or not P.mac_ok(_b(state, "counter_key"), body, bytes.fromhex(msg["counter_tag"])):
        raise PermissionError("counter response is not authentic or not fresh")
    return value


def _seal_state(state, msg):
    counter = _check_counter(state, msg)
    policy = msg["policy"]
    header = {"policy": policy, "svn": state["svn"], "counter_id": msg["counter_id"], "counter": counter}
    body = json.dumps({"budget": state["budget"], "served": state["served"]}).encode()
    aad = json.dumps(header, sort_keys=True).encode()
    blob = P.aead_seal(_seal_policy_key(state, policy, state["svn"]), body, aad)
    return {"sealed": {"header": header, "blob": blob.hex()}}


def _unseal_state(state, msg):
    current = _check_counter(state, msg)
    header, blob = msg["sealed"]["header"], bytes.fromhex(msg["sealed"]["blob"])
    aad = json.dumps(header, sort_keys=True).encode()
    body = json.loads(P.aead_open(_seal_policy_key(state, header["policy"], header["svn"]), blob, aad, "sealed blob"))
    if header["counter_id"] != msg["counter_id"] or header["counter"] != current:
        raise PermissionError(f"rollback: sealed at counter {header['counter']}, platform counter is {current}")
    state["budget"], state["served"] = body["budget"], body["served"]
    state["ready"] = True
    return {"budget": state["budget"], "served": state["served"]}


def _start_fresh(state, msg):
    # Starting from the initial budget is itself a rollback (to the genesis state) once any state was sealed.
    value = _check_counter(state, msg)
    if value != 0:
        raise PermissionError(f"rollback: sealed state exists (counter {value}); restore it instead of starting fresh")
    state["ready"] = True
    return {"budget": state["budget"], "served": state["served"]}


def _seal_api(params):
    """A SEAL CKKS context for ``params`` (the key holder's parameters, from the sealed key blob)."""
    import tenseal.sealapi as s

    n = int(params["poly_modulus_degree"])
    parms = s.EncryptionParameters(s.SCHEME_TYPE.CKKS)
    parms.set_poly_modulus_degree(n)
    parms.set_coeff_modulus(s.CoeffModulus.Create(n, [int(b) for b in params["coeff_mod_bit_sizes"]]))
    return s, s.SEALContext(parms, True, s.SEC_LEVEL_TYPE.TC128)


def _seal_load(obj, context, data):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # the bindings load from a path only
        path = os.path.join(tmp, "object.seal")
        with open(path, "wb") as fh:
            fh.write(data)
        obj.load(context, path)
    return obj


def _decryption_counter(state, msg):
    # The value of the platform's "decryptions" counter that came with this message (authentic and fresh).
    if msg["counter_id"] != "decryptions":
        raise PermissionError("the decryption count must come from the platform counter 'decryptions'")
    return _check_counter(state, msg)


def _load_he_key(state, msg):
    # The CKKS secret key of secure aggregation, sealed by its owner under the released "aggregation" key.
    # The platform's monotonic counter "decryptions" counts every decryption ever made, across restarts;
    # its current value (read, not incremented, with this message) is where this instance starts.
    if "aggregation" not in state["keys"]:
        raise PermissionError("no aggregation key: attest and obtain it from the key service first")
    start = _decryption_counter(state, msg)
    raw = P.aead_open(state["keys"]["aggregation"], bytes.fromhex(msg["blob"]), b"labkit-tee he key", "HE key blob")
    sealed = json.loads(raw)
    s, context = _seal_api(sealed["params"])
    secret = _seal_load(s.SecretKey(), context, bytes.fromhex(sealed["secret_key"]))
    state["he"] = {
        "s": s,
        "context": context,
        "decryptor": s.Decryptor(context, secret),
        "encoder": s.CKKSEncoder(context),
        "count": start,
    }
    return {"slots": state["he"]["encoder"].slot_count(), "decryptions": start}


def _decrypt_aggregate(state, msg):
    # Decrypt one sum of client updates: only a sum of at least min_clients, and only with a fresh increment
    # of the platform's "decryptions" counter, which must stay within the budget (query_budget in the config).
    he = state.get("he")
    if he is None:
        raise PermissionError("no HE key loaded: the key owner's sealed key must be loaded first")
    clients, least = int(msg["clients"]), int(state["config"]["min_clients"])
    if clients < least:
        raise PermissionError(f"refused: a sum of {clients} update(s); this enclave decrypts sums of >= {least}")
    count = _decryption_counter(state, msg)
    if count <= he["count"]:
        raise PermissionError("refused: the platform counter was not incremented for this decryption")
    he["count"] = count
    if count > int(state["config"]["query_budget"]):
        raise PermissionError(f"decryption budget exhausted ({state['config']['query_budget']} sums in all)")
    values = []
    for text in msg["ciphertexts"]:
        ct = _seal_load(he["s"].Ciphertext(), he["context"], bytes.fromhex(text))
        pt = he["s"].Plaintext()
        he["decryptor"].decrypt(ct, pt)
        values.append(np.asarray(he["encoder"].decode_double(pt))[: he["encoder"].slot_count()])
    out = np.concatenate(values)[: int(msg["length"])]
    return {"values": out.astype("<f8").tobytes().hex(), "decryptions": count}


def _status(state, msg):
    return {"budget": state["budget"], "served": state["served"], "keys": sorted(state["keys"])}


HANDLERS = {
    "hello": _hello,
    "report": _report,
    "install_key": _install_key,
    "load_model": _load_model,
    "open_session": _open_session,
    "counter_nonce": _counter_nonce,
    "seal_state": _seal_state,
    "unseal_state": _unseal_state,
    "start_fresh": _start_fresh,
    "status": _status,
    "load_he_key": _load_he_key,
    "decrypt_aggregate": _decrypt_aggregate,
}


def handle(state, msg, touch):
    """Entry point called by the loader for every message from the host."""
    op = msg.get("op")
    if op == "infer":
        return _infer(state, msg, touch)
    if op not in HANDLERS:
        raise ValueError(f"unknown operation {op!r}")
    return HANDLERS[op](state, msg)
