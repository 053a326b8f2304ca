"""Secure multi-party computation with CrypTen: parties as real processes.

Public entry points: :func:`private_inference` (a model owner and a data
owner run a model neither shows the other), :func:`secure_sum` (clients'
updates summed without any server seeing one), :func:`party_views` (what each
party holds), :func:`smoke_add` (the doctor's one-second check),
:func:`run_parties` (the launcher: parties are OS processes over TCP) and, for
parties on separate machines, :func:`join_inference` and :func:`join_sum` (one
call per machine, given party 0's address and port).

Importing ``labkit.mpc`` is light: torch and CrypTen load only inside the
functions that need them (CrypTen through :func:`labkit.mpc.backend.load`,
the one place that imports it).

Modules: ``backend`` (CrypTen on torch 2.x), ``rendezvous`` (where parties
meet), ``processes`` (starting party processes), ``supervisor`` (watching
them), ``launcher`` (a run, end to end), ``worker`` (one party), ``smoke``,
``models``, ``inference``, ``aggregation``, ``views``, ``attacks``,
``faults``, ``network``, ``benchmark``, ``hosts`` (parties on several
machines) and ``technique`` (the registry descriptor).
"""

from __future__ import annotations

from ..lazy import lazy_exports

_LAZY = {
    "private_inference": (".inference", "private_inference"),
    "secure_sum": (".aggregation", "secure_sum"),
    "party_views": (".views", "party_views"),
    "load": (".backend", "load"),
    "smoke_add": (".smoke", "smoke_add"),
    "run_parties": (".launcher", "run_parties"),
    "join_inference": (".hosts", "join_inference"),
    "join_sum": (".hosts", "join_sum"),
    "shutdown": (".processes", "shutdown"),
    "PartyFailed": (".supervisor", "PartyFailed"),
    "PartyTimeout": (".supervisor", "PartyTimeout"),
    "RendezvousError": (".rendezvous", "RendezvousError"),
    "RendezvousUnreachable": (".supervisor", "RendezvousUnreachable"),
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = sorted(_LAZY)
