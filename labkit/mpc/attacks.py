"""A curious model owner: what party 0 learns from its own view of private inference.

The first multiplication of an inference is ``x @ W.T`` with the data
owner's input ``x``. CrypTen multiplies with a Beaver triple ``(a, b, ab)``:
the parties open ``epsilon = x - a`` to each other. If party 0 also knows
``a`` it simply adds it back and reads ``x``. That is the case with CrypTen's
"TFP" provider (party 0 generates every triple); with the "TTP" provider the
triples come from a separate dealer and party 0 holds only a random share of
``a``, so the same computation returns noise.

:func:`curious_model_owner` runs the real protocol, lets party 0 follow it
honestly while recording what it sees (the opened ``epsilon`` and its own
knowledge of ``a``), and reports how well it reconstructs the data owner's
inputs under each provider.

References
----------
Beaver, "Efficient Multiparty Protocols Using Circuit Randomization", CRYPTO 1991.
Knott et al., "CrypTen", NeurIPS 2021, section 3 (trusted first/third party tuple generation).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import config, validate
from ..errors import InsecureParameters, InvalidInput
from ..results import NOT_FOR_PRODUCTION, Outcome, Result
from .inference import DATA_OWNER, MODEL_OWNER, build_crypten_model
from .launcher import PROVIDERS, run_parties
from .models import PlainModel
from .models import load as load_model

PRECISION_BITS = 16


def curious_task(party: Any, private: Any) -> dict[str, Any] | None:
    """Party side of :func:`curious_model_owner`: an honest run; party 0 records what it sees.

    Party 0 keeps the first opened value (epsilon = x - a) and the first ring element it drew
    for a triple (a), and returns their sum as its guess of the data owner's input.
    """
    crypten, torch, opt = party.crypten, party.torch, party.options
    seen: dict[str, Any] = {}
    if party.rank == MODEL_OWNER:
        providers = crypten.mpc.provider
        for module in (providers.tfp_provider, providers.ttp_provider):
            original = module.generate_random_ring_element

            def recording(*args, _original=original, **kwargs):
                value = _original(*args, **kwargs)
                seen.setdefault("a", value.clone())  # the first ring element drawn for a triple is a
                return value

            module.generate_random_ring_element = recording
        AST = crypten.mpc.primitives.ArithmeticSharedTensor
        reveal_batch = AST.reveal_batch

        def recording_reveal(tensors, dst=None):
            opened = reveal_batch(tensors, dst=dst)
            seen.setdefault("epsilon", opened[0].clone())
            return opened

        AST.reveal_batch = staticmethod(recording_reveal)
    weights = private["weights"] if party.rank == MODEL_OWNER else None
    model = build_crypten_model(crypten, torch, opt["arch"], weights)
    model.encrypt(src=MODEL_OWNER)
    model.eval()
    shape = (opt["n"], *opt["input_shape"])
    with crypten.no_grad():
        x = party.share(private["X"] if party.rank == DATA_OWNER else None, shape=shape, src=DATA_OWNER)
        model(x).get_plain_text(dst=DATA_OWNER)
    if party.rank != MODEL_OWNER:
        return None
    guess = (seen["epsilon"] + seen["a"]).double() / 2**PRECISION_BITS  # int64 addition wraps mod 2**64
    return {"guess": guess.numpy().reshape(opt["n"], -1)}


def curious_model_owner(
    inputs: Any,
    *,
    model: PlainModel | str = "digits_mlp",
    provider: str = "TTP",
    allow_insecure: bool = False,
    timeout: float | None = None,
) -> Outcome[np.ndarray]:
    """Run private inference and let party 0 try to read the data owner's inputs.

    Parameters
    ----------
    inputs : array (n, features)
    model : PlainModel or name
    provider : {"TTP", "TFP"}
        "TFP" needs ``allow_insecure=True`` (it is the insecure setting under test).
    timeout : float, optional
        Seconds for the run (default 120, 60 in fast mode).

    Returns
    -------
    Outcome
        ``value``: party 0's reconstruction (ndarray, n x features). ``result`` metrics: ``max_abs_error`` and ``exact_fraction`` (values recovered within 1e-3)
        of the guess against the true inputs, and ``correlation`` between them.

    References
    ----------
    Beaver, "Efficient Multiparty Protocols Using Circuit Randomization", CRYPTO 1991.
    """
    model = load_model(model) if isinstance(model, str) else model
    validate.choice("provider", provider, PROVIDERS)
    if provider == "TFP" and not allow_insecure:
        raise InsecureParameters("provider='TFP' is the insecure setting; pass allow_insecure=True to attack it.")
    X = model.prepare(inputs)
    if not 1 <= len(X) <= 500:
        raise InvalidInput(f"give 1 to 500 samples, not {len(X)}.")
    options = {"arch": model.architecture(), "input_shape": model.input_shape, "n": len(X)}
    run = run_parties(
        "labkit.mpc.attacks:curious_task",
        [{"weights": model.weights()}, {"X": X}],
        options=options,
        provider=provider,
        timeout=config.pick(120.0, 60.0) if timeout is None else timeout,
    )
    guess = run.outputs[MODEL_OWNER]["guess"]
    truth = X.reshape(len(X), -1).astype(np.float64)
    err = np.abs(guess - truth)
    result = Result("mpc", "curious_model_owner", params={"model": model.name, "n": len(X), "provider": provider})
    result.metrics["max_abs_error"] = float(err.max())
    result.metrics["exact_fraction"] = float((err < 1e-3).mean())
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(guess.reshape(-1), truth.reshape(-1))[0, 1]
    result.metrics["correlation"] = float(np.nan_to_num(corr))
    if provider == "TFP":
        result.flag(NOT_FOR_PRODUCTION)
    return Outcome(guess, result)
