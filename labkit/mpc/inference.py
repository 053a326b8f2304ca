"""Private inference: a model owner and a data owner run a model neither shows the other.

Party 0 is the model owner: its process alone receives the weights and
secret-shares them. Party 1 is the data owner: its process alone receives
the inputs, shares them, and is the only party the result is revealed to.
With three parties, party 2 holds nothing and only computes on shares.
Every party builds the same ``crypten.nn`` circuit from the model's public
architecture (layer kinds and shapes).

Inside the parties the private forward pass and the plaintext forward pass
(same layers, same batch, plain torch) are timed interleaved with
:func:`labkit.bench.overhead`, and CrypTen's communicator counts the rounds
and bytes of one private pass; :mod:`labkit.mpc.network` turns those into
modelled LAN and WAN latency.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984).
Beaver, "Efficient Multiparty Protocols Using Circuit Randomization",
CRYPTO 1991 (the multiplication triples the dealer provides).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import bench, config, datasets, validate
from ..errors import InsecureParameters, InvalidInput
from ..results import NOT_FOR_PRODUCTION, Outcome, Result
from . import network
from .circuit import build_crypten_model, torch_forward
from .launcher import PROVIDERS, check_parties, run_parties
from .models import PlainModel, predictions
from .models import load as load_model

REVEALS = ("logits", "probabilities", "label")
MODEL_OWNER, DATA_OWNER = 0, 1
MAX_SAMPLES = 2000
SECURITY_MODEL = (
    "semi-honest (honest-but-curious) parties that do not collude; Beaver triples from a trusted dealer "
    "process (CrypTen TTP) that sees no protocol message"
)


# -- party side -------------------------------------------------------------------------------
def _reveal(y: Any, reveal: str, output: str, dst: int):
    if y.dim() > 2:  # maps (a model ending in a conv or pool): the scores of a sample are one row
        y = y.reshape(y.size(0), -1)
    if reveal == "probabilities":
        y = y.sigmoid() if output == "sigmoid" else y.softmax(dim=1)
    elif reveal == "label":
        y = (y > 0).long() if output == "sigmoid" else y.argmax(dim=1, one_hot=False)
    return y.get_plain_text(dst=dst)


def inference_task(party: Any, private: Any) -> dict[str, Any]:
    """Party side of :func:`private_inference`: build the circuit, share, run, time, count, reveal.

    Parameters
    ----------
    party : labkit.mpc.worker.Party
        This party (rank, CrypTen, torch, the public options).
    private : dict or None
        ``{"weights": ...}`` for the model owner, ``{"X": ...}`` for the data owner.

    Returns
    -------
    dict
        What was revealed (to the data owner only), online seconds, rounds, bytes,
        dealer traffic, set-up costs and the interleaved overhead.
    """
    torch, crypten, opt = party.torch, party.crypten, party.options
    arch, shape = opt["arch"], (opt["n"], *opt["input_shape"])
    weights = private["weights"] if party.rank == MODEL_OWNER else None
    model = build_crypten_model(crypten, torch, arch, weights)

    party.reset_comm_stats()
    t0 = time.perf_counter()
    model.encrypt(src=MODEL_OWNER)
    model.eval()
    setup = {"seconds": time.perf_counter() - t0, **party.comm_stats()}

    local_x = torch.from_numpy(private["X"]) if party.rank == DATA_OWNER else torch.zeros(shape)
    plain_layers = [
        {
            **spec,
            **{
                k: (weights[i][k] if weights else np.zeros(spec[f"{k}_shape"], np.float32))
                for k in ("weight", "bias")
                if f"{k}_shape" in spec
            },
        }
        for i, spec in enumerate(arch)
    ]

    def private_pass():
        with crypten.no_grad():
            x = party.share(private["X"] if party.rank == DATA_OWNER else None, shape=shape, src=DATA_OWNER)
            return _reveal(model(x), opt["reveal"], opt["output"], DATA_OWNER)

    def plain_pass():
        with torch.no_grad():
            return torch_forward(torch, plain_layers, local_x)

    party.reset_comm_stats()
    t1 = time.perf_counter()
    revealed = private_pass()
    online = time.perf_counter() - t1
    stats = party.comm_stats()
    ov = None
    if opt["repeat"] > 0:  # every party runs the same number of passes, in lockstep
        ov = bench.overhead(private_pass, plain_pass, repeat=opt["repeat"], warmup=0, names=("mpc", "plaintext"))
    return {
        "revealed": revealed.numpy() if party.rank == DATA_OWNER else None,
        "online_seconds": online,
        "rounds": stats["rounds"],
        "bytes": stats["bytes"],
        "comm_seconds": stats["time"],
        "dealer_rounds": stats["dealer_rounds"],
        "dealer_bytes": stats["dealer_bytes"],
        "setup": setup,
        "overhead": ov.to_dict() if ov is not None else None,
    }


# -- launcher side ----------------------------------------------------------------------------
def _check_inputs(model: PlainModel, inputs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray | None]:
    X = model.prepare(inputs)
    if not 1 <= len(X) <= MAX_SAMPLES:
        raise InvalidInput(f"give between 1 and {MAX_SAMPLES} samples per call, not {len(X)}; split the batch.")
    if labels is None:
        return X, None
    y = np.asarray(labels)
    if y.shape != (len(X),):
        raise InvalidInput(f"labels must have one entry per sample ({len(X)}), not shape {y.shape}.")
    return X, y.astype(np.int64)


def run_params(model: str, *, n: int, parties: int, reveal: str, provider: str, repeat: int, fast: bool) -> dict:
    """The parameters a private-inference Result is stored under (for resuming sweeps)."""
    return {
        "model": model,
        "n": n,
        "parties": parties,
        "reveal": reveal,
        "provider": provider,
        "repeat": repeat,
        "fast": fast,
    }


def expected(model: PlainModel, X: np.ndarray, reveal: str) -> np.ndarray:
    """What a plaintext run reveals: logits, probabilities or labels."""
    logits = model.logits(X)
    if reveal == "logits":
        return logits
    if reveal == "label":
        return predictions(logits, model.output)
    if model.output == "sigmoid":
        return 1.0 / (1.0 + np.exp(-logits))
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def private_inference(
    model: PlainModel | str,
    inputs: Any,
    *,
    parties: int = 2,
    labels: Any = None,
    reveal: str = "logits",
    provider: str = "TTP",
    allow_insecure: bool = False,
    repeat: int | None = None,
    links: tuple[network.Link, ...] = network.LINKS,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float | None = None,
) -> Outcome[np.ndarray]:
    """Run ``model`` on ``inputs`` with CrypTen parties; only the data owner learns the output.

    Parameters
    ----------
    model : PlainModel or str
        A trained model or a name from :data:`labkit.mpc.models.MODELS`.
    inputs : array, shape (n, features)
        The data owner's raw samples (1 to 2000).
    parties : {2, 3}
        2: model owner and data owner; 3: plus a helper with no input.
    labels : array, optional
        True labels, for the private run's accuracy.
    reveal : {"logits", "probabilities", "label"}
        What the data owner learns: logits; CrypTen's approximate softmax/sigmoid
        of them; or only the predicted class (computed under MPC, the least leakage).
    provider : {"TTP", "TFP"}
        Beaver triples from a dealer process (default) or from party 0 ("TFP": party 0
        then knows every triple and could unmask the data owner's input; needs allow_insecure).
    repeat : int, optional
        Interleaved private/plaintext passes for the overhead (default 5, 3 in fast mode; 0 skips).
    links : tuple of Link
        Networks for the modelled latency.
    host, port, timeout
        Rendezvous address, port (None: a free one) and the run's time limit in seconds.

    Returns
    -------
    Outcome
        ``value``: the predicted classes (ndarray of int), as the data owner computes them
        from what was revealed. ``result`` metrics: accuracy (private and plaintext), agreement with the plaintext predictions,
        max/mean absolute error of the revealed values, rounds and bytes per party, online
        and setup seconds, the overhead ratio, modelled latency per link.

    References
    ----------
    Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine Learning", NeurIPS 2021.
    """
    model = load_model(model) if isinstance(model, str) else model
    if not isinstance(model, PlainModel):
        raise InvalidInput(f"model must be a labkit.mpc.models.PlainModel or a model name, not {type(model).__name__}.")
    check_parties(parties)
    validate.choice("reveal", reveal, REVEALS)
    validate.choice("provider", provider, PROVIDERS)
    if provider == "TFP" and not allow_insecure:
        raise InsecureParameters(
            "provider='TFP' lets party 0 (the model owner) generate every Beaver triple, so it can unmask the "
            "data owner's inputs; use provider='TTP', or pass allow_insecure=True to study it."
        )
    repeat = config.pick(5, 3) if repeat is None else validate.integer("repeat", repeat, low=0, high=50)
    X, y = _check_inputs(model, inputs, labels)
    timeout = config.pick(300.0, 120.0) if timeout is None else timeout

    options = {
        "arch": model.architecture(),
        "input_shape": model.input_shape,
        "n": len(X),
        "reveal": reveal,
        "output": model.output,
        "repeat": repeat,
    }
    private = [{"weights": model.weights()}, {"X": X}] + [None] * (parties - 2)
    run = run_parties(
        "labkit.mpc.inference:inference_task",
        private,
        options=options,
        provider=provider,
        host=host,
        port=port,
        timeout=timeout,
    )
    outs = run.outputs
    revealed = outs[DATA_OWNER]["revealed"]
    if reveal != "label":
        revealed = revealed.reshape(len(X), -1)  # a model ending in a conv or pool reveals maps: one row each
    plain = expected(model, X, reveal)
    if reveal == "label":
        preds = revealed.astype(np.int64).reshape(-1)
    elif reveal == "probabilities" and model.output == "sigmoid":
        preds = (revealed.reshape(len(X), -1)[:, 0] > 0.5).astype(np.int64)
    else:
        preds = predictions(revealed, model.output)
    plain_preds = predictions(model.logits(X), model.output)

    result = Result(
        technique="mpc",
        name=f"{model.name}_inference",
        params=run_params(
            model.name,
            n=len(X),
            parties=parties,
            reveal=reveal,
            provider=provider,
            repeat=repeat,
            fast=config.fast(),
        ),
        artifacts={
            "security_model": SECURITY_MODEL,
            "host": run.host,
            "architecture": _arch_text(model),
            "pids": run.pids,
            "modelled": "latency_* metrics are modelled, not measured",
        },
    )
    m = result.metrics
    m["n"] = len(X)
    m["parties"] = parties
    m["agreement"] = float((preds == plain_preds).mean())
    m["max_abs_error"] = float(np.abs(revealed.astype(np.float64) - plain).max())
    m["mean_abs_error"] = float(np.abs(revealed.astype(np.float64) - plain).mean())
    if y is not None:
        m["accuracy_private"] = float((preds == y).mean())
        m["accuracy_plaintext"] = float((plain_preds == y).mean())
    add_costs(result, run, outs, links)
    if provider == "TFP":
        result.flag(NOT_FOR_PRODUCTION)
        result.artifacts["security_model"] = "party 0 generates the Beaver triples (CrypTen TFP): it can unmask inputs"
    return Outcome(preds, result)


def sample_run(model: str, *, parties: int = 2, batch: int = 10, repeat: int | None = None) -> Result:
    """Private inference of ``model`` on the first ``batch`` samples of its data set's test split.

    The quick measurement behind notebook 05's explorer: ``repeat`` interleaved
    private/plaintext passes (default 3, 2 in fast mode).

    Parameters
    ----------
    model : str
        A name from :data:`labkit.mpc.models.MODELS`.
    parties : {2, 3}
    batch : int
        Test samples in the batch.
    repeat : int, optional
        Interleaved passes for the overhead.

    Returns
    -------
    Result
        As :func:`private_inference` gives it.
    """
    repeat = config.pick(3, 2) if repeat is None else repeat
    plain = load_model(model)
    ds = datasets.load(plain.dataset)
    return private_inference(
        plain, ds.X_test[: validate.integer("batch", batch)], parties=parties, repeat=repeat
    ).result


def _arch_text(model: PlainModel) -> str:
    return " -> ".join(
        spec["kind"] + (f"{spec['weight_shape']}" if "weight_shape" in spec else "") for spec in model.architecture()
    )


def add_costs(result: Result, run: Any, outs: list[dict[str, Any]], links: tuple[network.Link, ...]) -> None:
    """Put the parties' costs into ``result``: rounds, bytes, times, overhead, modelled latency per link.

    Parameters
    ----------
    result : Result
        Filled in place.
    run : labkit.mpc.launcher.PartyRun
        The run (start-up and wall seconds).
    outs : list of dict
        Each party's report: ``rounds``, ``bytes``, ``online_seconds``, optionally
        ``overhead`` (a :class:`labkit.bench.Overhead` as a dict), ``setup`` and dealer counts.
    links : tuple of Link
        Networks for the modelled latency.
    """
    m = result.metrics
    for r, out in enumerate(outs):
        m[f"rounds_party{r}"] = out["rounds"]
        m[f"bytes_party{r}"] = out["bytes"]
    m["dealer_rounds"] = sum(out.get("dealer_rounds", 0) for out in outs)
    m["dealer_bytes"] = sum(out.get("dealer_bytes", 0) for out in outs)
    m["rounds"] = max(out["rounds"] for out in outs)
    m["bytes_max_party"] = max(out["bytes"] for out in outs)
    # CrypTen counts a message at both ends: half the sum is what crossed the network.
    m["bytes_total"] = sum(out["bytes"] for out in outs) / 2
    m["online_seconds"] = max(out["online_seconds"] for out in outs)
    m["startup_seconds"] = run.startup_seconds
    m["wall_seconds"] = run.wall_seconds
    if "setup" in outs[0]:
        m["setup_seconds"] = max(out["setup"]["seconds"] for out in outs)
        m["setup_bytes_max_party"] = max(out["setup"]["bytes"] for out in outs)
    ovs = [bench.Overhead.from_dict(out["overhead"]) for out in outs if out.get("overhead")]
    compute = m["online_seconds"]
    if ovs:
        slowest = max(ovs, key=lambda o: o.candidate.median)
        result.add_overhead("overhead", slowest)
        compute = slowest.candidate.median
    m["compute_seconds"] = compute
    for link in links:
        est = network.estimate(compute_s=compute, rounds=m["rounds"], bytes_=m["bytes_max_party"], link=link)
        key = link.name.lower()
        m[f"latency_{key}_s"] = est.total_s
        if ovs:
            m[f"overhead_{key}_modelled"] = est.total_s / slowest.baseline.median
        result.artifacts[f"link_{key}"] = str(link)
