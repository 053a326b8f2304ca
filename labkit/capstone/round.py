"""One federated round with the chosen layers: clients, Byzantine client, proofs, transport, aggregation.

The round starts from a global model warmed up by a few plain federated rounds
(:func:`setup`, computed once per process and parameters), so that its
accuracy means something. In the round itself every client takes one FedSGD
step on its private batch (its update is exactly its gradient, the case the
inversion papers study), except client 0, the Byzantine client, which sends a
sign-flipped update ``boost`` times longer than the public norm bound (the
bound without DP; the same poisoned update in every stack).

What each layer changes (see :data:`labkit.capstone.layers.DESCRIPTIONS`):

- ``dp``: honest clients compute their gradient with DP-SGD (per-sample
  clipping to ``max_grad_norm`` and Gaussian noise ``noise_multiplier *
  max_grad_norm``, Opacus);
- ``zk``: honest clients clip their update to the public bound ``B`` (norm
  bounding, Sun et al. 2019) and prove ``||u / B|| <= 1`` with ezkl; the server
  verifies the proofs it receives and drops the clients whose proof fails or
  states an excess;
- ``tls``: each client uploads its update and proof over a fresh mutual-TLS
  1.3 connection with X25519MLKEM768; the server works only from the bytes it
  received;
- ``secagg``: each client encrypts its update under CKKS and uploads the
  ciphertexts; the server adds the accepted ones and sees only the decrypted
  sum (divided by the number of accepted clients: equal public weights);
- ``tee`` (on top of ``secagg``): the CKKS secret key is held only by an
  attested enclave (:class:`labkit.tee.KeyHolderEnclave`, a separate process
  on simulated hardware), which decrypts the round's sum and nothing smaller.

References
----------
McMahan et al., "Communication-Efficient Learning of Deep Networks from
Decentralized Data", AISTATS 2017.
Sun, Kairouz, Suresh & McMahan, "Can you really backdoor federated learning?",
arXiv:1911.07963 (2019).
"""

from __future__ import annotations

import copy
import math
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import config, validate
from ..errors import InvalidInput
from ..results import Outcome, Result
from .layers import check_stack

_SETUPS: dict[tuple, Setup] = {}
_PROVERS: dict[int, Any] = {}
_AGGREGATORS: dict[str, Any] = {}
_KEY_HOLDERS: dict[str, Any] = {}
KEY_HOLDER_ROUNDS = 100_000  # sums the key-holder enclave decrypts in a process (its sealed budget)


@dataclass
class Setup:
    """Everything the stacks share: data, the warmed-up global model, the round's clients and the knobs."""

    data: Any
    model: Any
    clients: list[Any]
    accuracy_before: float
    dim: int
    hidden: int
    batch_size: int
    lr: float
    noise_multiplier: float
    max_grad_norm: float
    boost: float
    seed: int
    byzantine: int = 0
    target: int = 1

    @property
    def n_clients(self) -> int:
        """Clients in the round, the Byzantine one included."""
        return len(self.clients)

    def bound(self, layers: tuple[str, ...]) -> float:
        """The public L2 bound on an update: 1.5 x the honest norm (``C``, or ``C sqrt(1 + z^2 d)`` with DP)."""
        honest = self.max_grad_norm
        if "dp" in layers:
            honest = self.max_grad_norm * math.sqrt(1.0 + self.noise_multiplier**2 * self.dim)
        return 1.5 * honest

    def params(self) -> dict[str, Any]:
        """The plain parameters a Result records for this setup."""
        return {
            "data": self.data.name,
            "n_clients": self.n_clients,
            "batch_size": self.batch_size,
            "hidden": self.hidden,
            "lr": self.lr,
            "noise_multiplier": self.noise_multiplier,
            "max_grad_norm": self.max_grad_norm,
            "boost": self.boost,
            "seed": self.seed,
        }


def setup(
    *,
    n_clients: int | None = None,
    batch_size: int = 1,
    hidden: int | None = None,
    lr: float = 0.1,
    noise_multiplier: float = 0.5,
    max_grad_norm: float = 1.0,
    boost: float = 20.0,
    warm_rounds: int | None = None,
    rng: int | np.random.Generator | None = None,
) -> Setup:
    """Build (or reuse, per process) the shared part of every stack's round.

    Parameters
    ----------
    n_clients : int, optional
        Clients in the round, the Byzantine one included (default 5, 3 in fast mode).
    batch_size : int
        Private images per client in the round.
    hidden : int, optional
        Hidden width of the MLP (default 16, 8 in fast mode): the update has ``75 * hidden + 10`` values,
        which the ZK circuit takes whole (at most 4096).
    lr : float
        Server learning rate (FedSGD).
    noise_multiplier, max_grad_norm : float
        DP-SGD's ``z`` and ``C`` (used by the ``dp`` layer).
    boost : float
        The Byzantine update's norm, in multiples of the public bound without DP (``1.5 * max_grad_norm``);
        the same poisoned update is sent whatever the stack.
    warm_rounds : int, optional
        Plain federated rounds that warm the model up first (default 20, 10 in fast mode).
    rng : int or numpy Generator, optional
        Seeds the model, the warm-up, the pick of the round's images and the clients' randomness
        (None: ``LABKIT_SEED``); ``Setup.seed`` records the int seed used.
    """
    from ..fl.data import ClientData, image_data
    from ..fl.models import accuracy, make_model
    from ..fl.simulation import train

    seed = config.seed_from(rng)
    n_clients = validate.integer("n_clients", config.pick(5, 3) if n_clients is None else n_clients, low=2)
    batch_size = validate.integer("batch_size", batch_size)
    hidden = validate.integer("hidden", config.pick(16, 8) if hidden is None else hidden)
    warm_rounds = validate.integer("warm_rounds", config.pick(20, 10) if warm_rounds is None else warm_rounds, low=0)
    lr = validate.positive("lr", lr)
    max_grad_norm = validate.positive("max_grad_norm", max_grad_norm)
    boost = validate.positive("boost", boost)
    noise_multiplier = validate.non_negative("noise_multiplier", noise_multiplier)
    dim = 75 * hidden + 10  # digits: 64 -> hidden -> 10
    if dim > 4096:
        raise InvalidInput(
            f"hidden={hidden} gives updates of {dim} values; the norm proof takes at most 4096: use hidden <= 54."
        )
    if boost <= 1.0 or boost > math.sqrt(dim):
        raise InvalidInput(
            f"boost must be in (1, sqrt(dim)] = (1, {math.sqrt(dim):.1f}] so the poisoned update "
            "exceeds the bound but fits the circuit's value range."
        )
    key = (n_clients, batch_size, hidden, lr, noise_multiplier, max_grad_norm, boost, warm_rounds, seed)
    if key in _SETUPS:
        return _SETUPS[key]
    data = image_data("digits")
    model = make_model("mlp", input_shape=data.image_shape, n_classes=data.n_classes, hidden=hidden, rng=seed)
    if warm_rounds:
        model = train(
            data=data, model=model, n_clients=4, rounds=warm_rounds, local_steps=5, batch_size=16, rng=seed
        ).value
    picks = np.random.default_rng(seed + 1).choice(len(data.y_train), size=n_clients * batch_size, replace=False)
    clients = [
        ClientData(
            k,
            data.X_train[picks[k * batch_size : (k + 1) * batch_size]],
            data.y_train[picks[k * batch_size : (k + 1) * batch_size]],
        )
        for k in range(n_clients)
    ]
    s = Setup(
        data,
        model,
        clients,
        accuracy(model, data.X_test, data.y_test),
        dim,
        hidden,
        batch_size,
        lr,
        float(noise_multiplier),
        float(max_grad_norm),
        float(boost),
        seed,
    )
    _SETUPS[key] = s
    return s


def norm_prover(dim: int):
    """The ezkl circuit proving ``||u||_2 <= 1`` for updates of ``dim`` values (setup cached by labkit.zk)."""
    if dim not in _PROVERS:
        from ..zk import UpdateNormProver

        _PROVERS[dim] = UpdateNormProver(dim=dim, bound=1.0, max_abs=1.0, commit=False)
    return _PROVERS[dim]


def aggregator(name: str = "seal"):
    """The CKKS secure aggregator (context and keys made once per process)."""
    if name not in _AGGREGATORS:
        from ..fl.secure_agg import CKKSSum

        _AGGREGATORS[name] = CKKSSum(backend=name)
    return _AGGREGATORS[name]


def key_holder(name: str = "seal"):
    """The attested enclave holding :func:`aggregator`'s CKKS secret key (launched once per process)."""
    holder = _KEY_HOLDERS.get(name)
    if holder is None or not holder.enclave.running:
        from ..tee.aggregation import KeyHolderEnclave

        holder = _KEY_HOLDERS[name] = KeyHolderEnclave(aggregator(name).ctx, min_clients=2, rounds=KEY_HOLDER_ROUNDS)
    return holder


@dataclass
class Round:
    """What one round made, beyond its numbers: the updates sent, what the server saw, the new model."""

    layers: tuple[str, ...]
    sent: list[np.ndarray]
    view: dict[str, Any]
    aggregate: np.ndarray
    model: Any = field(repr=False)


def _pack(body: bytes, proof_json: str) -> bytes:
    """A client's upload: its update (float64 bytes, or CKKS ciphertexts with secagg) and its proof."""
    return struct.pack("<Q", len(body)) + body + proof_json.encode()


def _unpack(payload: bytes) -> tuple[bytes, str]:
    (n,) = struct.unpack("<Q", payload[:8])
    return payload[8 : 8 + n], payload[8 + n :].decode()


def read_proof(text: str):
    """The proof a client sent, or None when it is not one (a malformed upload is a rejection, not a crash)."""
    from ..zk import Proof

    try:
        proof = Proof.from_json(text)
    except (ValueError, KeyError, TypeError):
        return None
    return proof if isinstance(proof.data, dict) else None


def client_vectors(s: Setup, layers: tuple[str, ...]) -> list[np.ndarray]:
    """Each client's update as it leaves the client (client 0 is the Byzantine one)."""
    from ..fl.simulation import client_update
    from ..inversion.defenses import DPSGD

    bound = s.bound(layers)
    out = []
    for c in s.clients:
        honest = c.client_id != s.byzantine
        defense = DPSGD(s.noise_multiplier, s.max_grad_norm) if ("dp" in layers and honest) else None
        u = client_update(s.model, c, local_steps=1, lr=s.lr, defense=defense, rng=s.seed + 100 + c.client_id).vector
        if not honest:  # the same poison in every stack: sign-flipped, spread evenly, boost x the plain bound
            signs = np.where(u >= 0, 1.0, -1.0)
            u = -signs * s.boost * s.bound(()) / math.sqrt(s.dim)
        elif "zk" in layers:  # honest clients bound their own norm (Sun et al. 2019)
            u = u * min(1.0, bound / max(float(np.linalg.norm(u)), 1e-12))
        out.append(u)
    return out


def run_round(s: Setup, layers: tuple[str, ...] | list[str] = ()) -> Outcome[Round]:
    """Play one round of ``s`` with ``layers`` switched on; everything runs for real.

    Returns
    -------
    Outcome
        ``value``: the :class:`Round` (updates sent, the server's view, the aggregate, the new model);
        ``result``: technique ``capstone``, name ``round``, with ``metrics`` ``accuracy``, ``bound``,
        ``poison_admitted``, ``clients_accepted`` and the costs of each layer that ran (``prove_seconds``,
        ``tls_bytes``...), and ``artifacts`` ``accepted`` (per client) and ``tls_group``.
    """
    import torch

    from ..fl.aggregation import unflatten
    from ..fl.models import accuracy, torch_threads

    layers = check_stack(layers)
    bound = s.bound(layers)
    stats: dict[str, Any] = {}
    with torch_threads(1):
        t = time.perf_counter()
        vectors = client_vectors(s, layers)
        stats["client_seconds"] = time.perf_counter() - t
    proofs_json = [""] * len(vectors)
    if "zk" in layers:
        prover = norm_prover(s.dim)
        t = time.perf_counter()
        proofs_json = [prover.prove(v / bound).to_json() for v in vectors]
        stats["prove_seconds"] = time.perf_counter() - t
        stats["proof_bytes"] = sum(len(p) for p in proofs_json)
    t = time.perf_counter()
    if "secagg" in layers:  # clients encrypt under CKKS: what leaves a client is ciphertext
        bodies = [aggregator().encrypt_update(v) for v in vectors]
        stats["encrypt_seconds"] = time.perf_counter() - t
    else:
        bodies = [v.astype("<f8").tobytes() for v in vectors]
    payloads = [_pack(b, p) for b, p in zip(bodies, proofs_json)]
    if "tls" in layers:
        from .transport import UploadServer, upload

        t = time.perf_counter()
        with UploadServer() as server:
            infos = [upload(server, payload) for payload in payloads]
            payloads = list(server.received)
        stats.update(
            tls_seconds=time.perf_counter() - t,
            tls_group=infos[0]["group"],
            tls_bytes=sum(i["bytes"] for i in infos),
            tls_connections=len(infos),
        )
        if len(payloads) != len(vectors):
            raise InvalidInput(f"the server received {len(payloads)} uploads from {len(vectors)} clients.")
    received = [_unpack(b) for b in payloads]  # from here on the server works only from the bytes it received
    accepted = [True] * len(received)
    if "zk" in layers:
        t = time.perf_counter()
        accepted = prover.screen([read_proof(p) for _, p in received])
        stats["verify_seconds"] = time.perf_counter() - t
    kept = [body for (body, _), ok in zip(received, accepted) if ok]
    if not kept:
        raise InvalidInput("every client was rejected: nothing to aggregate (raise the bound or lower the noise).")
    t = time.perf_counter()
    if "secagg" in layers:  # the server adds the ciphertexts it kept; the mean is public once the sum is
        agg_backend = aggregator()
        total = agg_backend.add_uploads(kept)
        stats["aggregation_bytes"] = agg_backend.last_stats["bytes_to_server"]
        if "tee" in layers:  # only the key-holder enclave decrypts the sum
            start = time.perf_counter()
            agg = key_holder().decrypt_sum(total, clients=len(kept), length=s.dim) / len(kept)
            stats["tee_seconds"] = time.perf_counter() - start
        else:  # the simulated single key holder
            agg = np.concatenate([ct.decrypt() for ct in total])[: s.dim] / len(kept)
        view = {"sum": agg, "n_clients": len(kept)}
    else:
        updates = [np.frombuffer(body, dtype="<f8") for body in kept]
        agg = np.mean(updates, axis=0)  # equal batches: equal public weights
        view = {
            "updates": {
                k: np.frombuffer(body, dtype="<f8") for k, ((body, _), ok) in enumerate(zip(received, accepted)) if ok
            }
        }
    stats["aggregation_seconds"] = time.perf_counter() - t
    model = copy.deepcopy(s.model)
    params = [p for p in model.parameters() if p.requires_grad]
    with torch.no_grad():
        for p, g in zip(params, unflatten(agg, params)):
            p -= s.lr * g
    acc = accuracy(model, s.data.X_test, s.data.y_test)
    accepted = [bool(ok) for ok in accepted]
    tls_group = stats.pop("tls_group", None)
    result = Result(
        "capstone",
        "round",
        params={"layers": list(layers), **s.params()},
        metrics={
            "accuracy": acc,
            "bound": bound,
            "poison_admitted": accepted[s.byzantine],
            "clients_accepted": sum(accepted),
            **{k: float(v) for k, v in stats.items()},
        },
        artifacts={"accepted": accepted, "tls_group": tls_group},
    )
    return Outcome(Round(layers, vectors, view, agg, model), result)
