"""Parties on several machines: each machine starts its own party with party 0's address and port.

Two organisations (or more) each run one call on their own machine:
:func:`join_sum` (every party holds a vector; all learn the sum and nothing
else) or :func:`join_inference` (party 0 holds a model, party 1 the data;
party 1 alone learns the model's output). The call starts this machine's
party (party 0 also starts CrypTen's triple dealer next to it) through
:func:`labkit.mpc.launcher.run_parties` with ``local_ranks=[rank]``: a
party's private input is read on its own machine only, and only secret
shares travel. The machines meet at party 0's rendezvous (torch.distributed
over TCP, gloo); each finds the network interface that reaches party 0 by
itself. Beyond the rendezvous port, gloo opens connections between the
parties on ephemeral ports, so the machines must reach each other on any TCP
port (a VPN between organisations; the traffic itself is not encrypted).

Example, party 0 on 192.0.2.1 and party 1 on another machine::

    # on 192.0.2.1
    join_sum([1.0, 2.0], rank=0, host="192.0.2.1", port=29500)
    # on the other machine
    join_sum([3.0, 4.0], rank=1, host="192.0.2.1", port=29500)   # both: [4.0, 6.0]

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984).
PyTorch documentation, "Distributed communication package - torch.distributed"
(TCP initialisation, ``GLOO_SOCKET_IFNAME``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import config, validate
from ..errors import InvalidInput
from ..results import Outcome, Result
from .launcher import PartyRun, check_parties, run_parties
from .models import PlainModel, predictions
from .models import load as load_model

MODEL_OWNER, DATA_OWNER = 0, 1
INFERENCE_TASK = "labkit.mpc.inference:inference_task"


def sum_task(party: Any, private: Any) -> np.ndarray:
    """Party side of :func:`join_sum`: share this party's vector, add every party's, reveal the sum to all."""
    shape = tuple(party.options["shape"])
    total = None
    for src in range(party.world_size):
        share = party.share(private if party.rank == src else None, shape=shape, src=src)
        total = share if total is None else total + share
    return total.get_plain_text().double().numpy()


def _check_rank(rank: Any, parties: int) -> int:
    return validate.integer("rank", rank, low=0, high=parties - 1)


def _result(name: str, run: PartyRun, rank: int, params: dict[str, Any]) -> Result:
    info = run.party_info[rank]
    result = Result(
        technique="mpc",
        name=name,
        params={**params, "rank": rank, "parties": run.parties, "host": run.host, "port": run.port},
        artifacts={"interface": run.interface, "pids": run.pids, "provider": run.provider},
    )
    result.metrics["wall_seconds"] = run.wall_seconds
    result.metrics["startup_seconds"] = info["init_seconds"]
    result.metrics["task_seconds"] = info["task_seconds"]
    result.metrics["bytes"] = float(info["comm"]["bytes"])
    result.metrics["rounds"] = float(info["comm"]["rounds"])
    return result


def join_sum(
    values: Any,
    *,
    rank: int,
    parties: int = 2,
    host: str,
    port: int,
    timeout: float | None = None,
) -> Outcome[np.ndarray]:
    """Run party ``rank`` of a sum of the parties' vectors; every party learns the sum and nothing else.

    Parameters
    ----------
    values : array
        This party's vector (every party's of one shape), values within +-1e9.
    rank : int
        This party's rank, 0 to ``parties - 1``; rank 0 hosts the rendezvous.
    parties : {2, 3}
        Number of parties, one per machine.
    host, port : str, int
        Party 0's address and port (the same on every machine).
    timeout : float, optional
        Seconds for the run, waiting for party 0 included (default 120, 60 in fast mode).

    Returns
    -------
    Outcome
        ``value``: the sum, equal to the plain sum within ``parties * 2**-16``
        (CrypTen's fixed-point encoding); ``result``: this party's costs.

    References
    ----------
    Knott et al., NeurIPS 2021.
    """
    parties = check_parties(parties)
    rank = _check_rank(rank, parties)
    mine = validate.finite_array("values", np.asarray(values, dtype=np.float64))
    if np.abs(mine).max() > 1e9:
        raise InvalidInput("values must lie within +-1e9 (fixed-point range); scale them down.")
    private = [mine if r == rank else None for r in range(parties)]
    run = run_parties(
        "labkit.mpc.hosts:sum_task",
        private,
        options={"shape": mine.shape},
        provider="TFP",  # additions need no Beaver triples: no party generates any
        host=host,
        port=port,
        local_ranks=[rank],
        timeout=config.pick(120.0, 60.0) if timeout is None else timeout,
    )
    total = np.asarray(run.outputs[rank]).reshape(mine.shape)
    result = _result("joint_sum", run, rank, {"size": int(mine.size)})
    result.metrics["size"] = int(mine.size)
    result.metrics["error_bound"] = parties * 2.0**-16
    return Outcome(total, result)


def join_inference(
    model: PlainModel | str,
    *,
    rank: int,
    inputs: Any = None,
    n: int | None = None,
    parties: int = 2,
    reveal: str = "logits",
    host: str,
    port: int,
    timeout: float | None = None,
) -> Outcome[np.ndarray | None]:
    """Run party ``rank`` of a private inference: party 0 owns the model, party 1 the data.

    Parameters
    ----------
    model : PlainModel or str
        The model (a name from :data:`labkit.mpc.models.MODELS`). Party 0 shares its
        weights; the other parties use only its public architecture.
    rank : int
        0: the model owner; 1: the data owner; 2: a helper holding nothing.
    inputs : array, optional
        The data owner's samples (rank 1 only).
    n : int, optional
        The number of samples, agreed in advance (public); needed by ranks 0 and 2.
    parties : {2, 3}
    reveal : {"logits", "probabilities", "label"}
        What the data owner learns (as in :func:`labkit.mpc.private_inference`).
    host, port : str, int
        Party 0's address and port (the same on every machine).
    timeout : float, optional
        Seconds for the run (default 300, 120 in fast mode).

    Returns
    -------
    Outcome
        ``value``: for the data owner the predicted classes from what was revealed,
        for the others None; ``result``: this party's costs.

    References
    ----------
    Knott et al., NeurIPS 2021.
    """
    model = load_model(model) if isinstance(model, str) else model
    if not isinstance(model, PlainModel):
        raise InvalidInput(f"model must be a labkit.mpc.models.PlainModel or a model name, not {type(model).__name__}.")
    parties = check_parties(parties)
    rank = _check_rank(rank, parties)
    validate.choice("reveal", reveal, ("logits", "probabilities", "label"))
    X = None
    if rank == DATA_OWNER:
        if inputs is None:
            raise InvalidInput("the data owner (rank 1) gives its samples as inputs=.")
        X = model.prepare(inputs)
        n = len(X)
    elif inputs is not None:
        raise InvalidInput(f"only the data owner (rank 1) holds inputs; party {rank} gives n= (the batch size).")
    n = validate.integer("n", n, low=1, high=2000)
    private: list[Any] = [None] * parties
    private[rank] = {"weights": model.weights()} if rank == MODEL_OWNER else ({"X": X} if X is not None else None)
    options = {
        "arch": model.architecture(),
        "input_shape": model.input_shape,
        "n": n,
        "reveal": reveal,
        "output": model.output,
        "repeat": 0,
    }
    run = run_parties(
        INFERENCE_TASK,
        private,
        options=options,
        provider="TTP",  # Beaver triples from a dealer process next to party 0
        host=host,
        port=port,
        local_ranks=[rank],
        timeout=config.pick(300.0, 120.0) if timeout is None else timeout,
    )
    result = _result(f"{model.name}_joint_inference", run, rank, {"model": model.name, "n": n, "reveal": reveal})
    value = None
    if rank == DATA_OWNER:
        revealed = np.asarray(run.outputs[rank]["revealed"])
        if reveal == "label":
            value = revealed.astype(np.int64).reshape(-1)
        elif reveal == "probabilities" and model.output == "sigmoid":
            value = (revealed.reshape(n, -1)[:, 0] > 0.5).astype(np.int64)
        else:
            value = predictions(revealed, model.output)
    return Outcome(value, result)


__all__ = ["join_inference", "join_sum", "sum_task"]
