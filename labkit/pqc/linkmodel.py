"""A small model of handshake and transfer time on a real link, from bytes counted on loopback.

Loopback has no delay and a 64 KiB MTU, so it hides what extra kilobytes cost
on a real path. The model adds back the three effects that matter for a
handshake: round trips (TCP connect, the TLS 1.3 flight, the request),
serialisation at the link's bandwidth (with 40 bytes of IPv4+TCP header per
segment), and TCP slow start (a flight larger than the initial congestion
window of 10 segments waits extra round trips). CPU time is the measured
loopback time. It ignores loss, pacing, delayed ACKs and TLS record
framing beyond what was counted; it is a teaching model, not a simulator.

References
----------
RFC 6928, Increasing TCP's Initial Window (10 segments).
RFC 5681, TCP Congestion Control (slow start).
RFC 8446, TLS 1.3 (one round trip for a full handshake).
Sikeridis, Kampanakis & Devetsikiotis, "Post-Quantum Authentication in TLS 1.3: A Performance Study", NDSS 2020.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidInput

HEADER_BYTES = 40  # IPv4 (20) + TCP (20) per segment
INITCWND = 10  # segments (RFC 6928)

#: Named link profiles: (round-trip time in seconds, bandwidth in bit/s).
PROFILES = {
    "datacentre": (0.0005, 10e9),
    "broadband": (0.020, 50e6),
    "mobile 4G": (0.060, 10e6),
    "slow 3G": (0.300, 0.4e6),
}


@dataclass(frozen=True)
class Link:
    """A network path: round-trip time (s), bandwidth (bit/s), segment size (bytes)."""

    rtt: float
    bandwidth: float
    mss: int = 1460

    def __post_init__(self):
        if not (0 <= self.rtt <= 10):
            raise InvalidInput(f"rtt must be between 0 and 10 seconds, not {self.rtt!r}.")
        if not (1e3 <= self.bandwidth <= 1e12):
            raise InvalidInput(f"bandwidth must be between 1 kbit/s and 1 Tbit/s (in bit/s), not {self.bandwidth!r}.")
        if not (500 <= self.mss <= 65495):
            raise InvalidInput(f"mss must be between 500 and 65495 bytes, not {self.mss!r}.")

    def segments(self, nbytes: int) -> int:
        """TCP segments that carry ``nbytes``."""
        return max(1, math.ceil(nbytes / self.mss)) if nbytes > 0 else 0

    def serialise(self, nbytes: int) -> float:
        """Seconds to clock ``nbytes`` of payload onto the link, headers included."""
        return (nbytes + self.segments(nbytes) * HEADER_BYTES) * 8 / self.bandwidth

    def flight_rounds(self, nbytes: int, cwnd: int = INITCWND) -> int:
        """Round trips slow start needs to deliver a flight of ``nbytes`` from a window of ``cwnd`` segments."""
        n = self.segments(nbytes)
        rounds, sent, window = 0, 0, cwnd
        while sent < n:
            sent += window
            window *= 2
            rounds += 1
        return max(rounds, 1)


def handshake_time(link: Link, *, bytes_up: int, bytes_down: int, cpu: float = 0.0) -> float:
    """Seconds from SYN to the client's TLS Finished: TCP connect + one TLS round trip + extras.

    >>> round(handshake_time(Link(0.1, 1e9), bytes_up=300, bytes_down=800), 3)
    0.2
    """
    extra_rounds = link.flight_rounds(bytes_down) - 1 + link.flight_rounds(bytes_up) - 1
    return 2 * link.rtt + extra_rounds * link.rtt + link.serialise(bytes_up) + link.serialise(bytes_down) + cpu


def time_to_last_byte(link: Link, *, bytes_up: int, bytes_down: int, transfer: int, cpu: float = 0.0) -> float:
    """Handshake, then a request and ``transfer`` bytes of response (slow start continuing from the handshake)."""
    hs = handshake_time(link, bytes_up=bytes_up, bytes_down=bytes_down, cpu=cpu)
    return hs + link.rtt * link.flight_rounds(transfer) + link.serialise(transfer)


def compare(link: Link, *, candidate: dict, baseline: dict, transfer: int) -> dict[str, float]:
    """Modelled handshake and time-to-last-byte of two configurations and their ratios.

    ``candidate`` and ``baseline`` hold ``bytes_up``, ``bytes_down`` and ``cpu`` (seconds).
    """
    hs_c = handshake_time(link, **candidate)
    hs_b = handshake_time(link, **baseline)
    tt_c = time_to_last_byte(link, transfer=transfer, **candidate)
    tt_b = time_to_last_byte(link, transfer=transfer, **baseline)
    return {
        "handshake_s": hs_c,
        "baseline_handshake_s": hs_b,
        "handshake_ratio": hs_c / hs_b,
        "ttlb_s": tt_c,
        "baseline_ttlb_s": tt_b,
        "ttlb_ratio": tt_c / tt_b,
    }
