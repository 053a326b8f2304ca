"""What the lab's claims are made of, and the threat models they answer.

Each technique declares its own claims and published anchors in its
package (``labkit/<technique>/technique.py``, found through
:mod:`labkit.techniques`); this module holds only what they share: the
:class:`Claim` type, the rows of the overview chart (:data:`PROTECTIONS`) and
the threat models (:data:`THREATS`). The claimed figures come from a widely
shared 2025 practitioner guide; ``labkit.report`` checks each against what
this machine measures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """A claimed cost as a time ratio against plaintext (1.05 = 5% slower)."""

    text: str
    low: float
    high: float
    source: str = "practitioner guide (2025)"
    unit: str = "time ratio vs plaintext"


PROTECTIONS: tuple[str, ...] = (
    "confidentiality in transit",
    "confidentiality in use",
    "integrity of outputs",
    "attack success prevented",
)

THREATS: dict[str, str] = {
    "data at rest": "someone reads stored files or backups: encryption at rest and key management (TEE sealing).",
    "data in transit": "someone on the network reads or changes traffic: TLS, and post-quantum TLS against "
    "recordings kept for a future quantum computer.",
    "data in use": "the machine that computes sees the data: HE, MPC and TEEs keep it hidden while processed.",
    "honest-but-curious server": "follows the protocol but studies everything it receives (e.g. gradients).",
    "Byzantine client": "a federated client that sends poisoned or oversized updates to steer the model.",
    "future quantum attacker": "records encrypted traffic today to decrypt it once quantum computers can.",
}
