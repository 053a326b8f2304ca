"""A simple network model: turn measured rounds and bytes into LAN and WAN latency.

The parties in this lab talk over loopback, where a round trip costs tens of
microseconds, so the measured wall time hides what a real network adds. The
model below adds it back, and every number it produces is labelled
*modelled*::

    latency = compute + rounds x RTT + bytes x 8 / bandwidth

``compute`` is the protocol's measured wall time on loopback (local work plus
loopback transfers), ``rounds`` and ``bytes`` are CrypTen's per-party
communicator counts (the busiest party is used). Counting one full round trip
per round is conservative (some rounds overlap), and it ignores TCP slow
start and congestion, which make WAN numbers worse, not better.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (communication rounds and bytes as the cost measures
of MPC protocols).
Demmler, Schneider, Zohner, "ABY - A Framework for Efficient Mixed-Protocol
Secure Two-Party Computation", NDSS 2015 (LAN and WAN settings as the two
regimes in which MPC costs are reported).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidInput


@dataclass(frozen=True)
class Link:
    """A network link between parties: round-trip time (seconds) and bandwidth (bits per second)."""

    name: str
    rtt_s: float
    bandwidth_bps: float

    def __post_init__(self):
        if not (self.rtt_s >= 0 and self.bandwidth_bps > 0):
            raise InvalidInput(
                f"a link needs rtt_s >= 0 and bandwidth_bps > 0, not {self.rtt_s!r}, {self.bandwidth_bps!r}."
            )

    def __str__(self) -> str:
        return f"{self.name} ({self.rtt_s * 1e3:g} ms RTT, {self.bandwidth_bps / 1e6:g} Mbit/s)"


# Example links (our assumptions, not measurements): a data-centre LAN and a cross-region WAN.
LAN = Link("LAN", rtt_s=0.0005, bandwidth_bps=1e9)
WAN = Link("WAN", rtt_s=0.05, bandwidth_bps=100e6)
LINKS = (LAN, WAN)


@dataclass(frozen=True)
class Estimate:
    """A modelled latency and its three parts (seconds)."""

    link: Link
    compute_s: float
    latency_s: float
    transfer_s: float

    @property
    def total_s(self) -> float:
        """Modelled end-to-end seconds: compute + latency + transfer."""
        return self.compute_s + self.latency_s + self.transfer_s

    def as_dict(self) -> dict[str, float]:
        """The three parts and the total, in seconds, by name."""
        return {
            "compute_s": self.compute_s,
            "latency_s": self.latency_s,
            "transfer_s": self.transfer_s,
            "total_s": self.total_s,
        }


def estimate(*, compute_s: float, rounds: float, bytes_: float, link: Link) -> Estimate:
    """Modelled end-to-end time of a protocol run over ``link``.

    Parameters
    ----------
    compute_s : float
        Measured wall time on loopback.
    rounds, bytes_ : float
        Communication rounds and bytes of the busiest party (CrypTen's counters).
    link : Link

    >>> e = estimate(compute_s=0.01, rounds=10, bytes_=125_000, link=WAN)
    >>> round(e.total_s, 4)   # 0.01 + 10 x 0.05 + 1e6 bits / 1e8 bit/s
    0.52
    """
    for label, value in (("compute_s", compute_s), ("rounds", rounds), ("bytes_", bytes_)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value or value < 0:
            raise InvalidInput(f"{label} must be a non-negative number, not {value!r}.")
    if not isinstance(link, Link):
        raise InvalidInput(f"link must be a labkit.mpc.network.Link, not {type(link).__name__}.")
    return Estimate(link, float(compute_s), rounds * link.rtt_s, bytes_ * 8.0 / link.bandwidth_bps)


def custom(rtt_ms: float, bandwidth_mbps: float, name: str = "custom") -> Link:
    """A link from the units people quote: milliseconds and Mbit/s."""
    return Link(name, rtt_s=float(rtt_ms) / 1e3, bandwidth_bps=float(bandwidth_mbps) * 1e6)
