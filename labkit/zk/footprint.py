"""What a circuit will cost before its keys exist: proving-key and verifying-key bytes, prover memory.

ezkl's settings (after calibration) fix the circuit's shape: ``2**logrows``
rows, the rows the model needs (``num_rows``; more than ``2**logrows`` and
ezkl wraps the model into another block of advice columns), the constants,
the lookup tables of non-linear ops (their range and count), Poseidon hashing
of hashed parts, shuffles (MaxPool). A Halo2 proving key stores a fixed number
of field elements (32 bytes) per row and column, so its size is ``2**logrows
* 32 * F`` with ``F`` counted from those features. The prover holds the key
and works on polynomials of the same size, so its peak memory follows the
key's size. The constants below were fitted on 21 circuits measured on this
project's machines (ezkl 23.0.5, decomposition (256, 4), logrows 9 to 16;
docs/zk-preflight.md lists them): the proving key within 20% on every one,
prover memory within 30%.

>>> e = from_settings({"run_args": {"logrows": 13, "lookup_range": [0, 0]}, "num_rows": 8810,
...     "total_const_size": 1376, "required_lookups": [], "module_sizes": {"poseidon": [0, [0]]}, "num_shuffles": 0})
>>> e.blocks, round(e.pk_bytes / 2**20, 1)
(2, 54.0)

References
----------
The Halo2 book, "Proving system" and "Lookup argument":
https://zcash.github.io/halo2/design/proving-system.html.
ezkl documentation (settings, calibration): https://docs.ezkl.xyz/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .. import validate
from ..errors import InvalidInput

FELT_BYTES = 32
# Field elements per row in the proving key (fitted; see docs/zk-preflight.md).
F_BASE = 132  # one block of advice columns, one column of constants, range checks
F_BLOCK = 84  # each further block of advice columns (the model wrapped past 2**logrows rows)
F_CONSTANTS = 12  # each further column of constants
F_POSEIDON = 182  # Poseidon hashing (a hashed input, output or parameters)
F_SHUFFLE = 208  # shuffle arguments (MaxPool)
F_TABLE_COLUMN = 100  # each column of a lookup table (Sigmoid, Tanh, Exp...)
# Prover peak memory above the process's resident size before proving.
RAM_PER_KEY_BYTE = 2.33
RAM_PER_TABLE_BYTE = 3.9  # lookup arguments make the prover hold more per key byte
RAM_FIXED = 7.5e6
# Seconds per MiB of proving key, measured on 2 cores; a rough guide, not a promise.
PROVE_SECONDS_PER_MIB = 0.028


@dataclass(frozen=True)
class Footprint:
    """The cost of a circuit, from its settings alone (no setup, no proving).

    Attributes
    ----------
    logrows, num_rows : int
        Circuit size (``2**logrows`` rows) and the rows the model needs.
    blocks, table_columns : int
        Blocks of advice columns; columns of lookup tables.
    pk_bytes, vk_bytes, srs_bytes : int
        Proving key, verifying key and reference string on disk.
    prover_ram_bytes : int
        Peak memory proving adds to the process that proves.
    prove_seconds : float
        A rough proving time on 2 cores.
    """

    logrows: int
    num_rows: int
    blocks: int
    table_columns: int
    pk_bytes: int
    vk_bytes: int
    srs_bytes: int
    prover_ram_bytes: int
    prove_seconds: float
    features: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, float]:
        """The numbers, for a Result's metrics or a support estimate."""
        return {
            "logrows": self.logrows,
            "num_rows": self.num_rows,
            "blocks": self.blocks,
            "table_columns": self.table_columns,
            "pk_bytes": self.pk_bytes,
            "vk_bytes": self.vk_bytes,
            "srs_bytes": self.srs_bytes,
            "prover_ram_bytes": self.prover_ram_bytes,
            "prove_seconds": self.prove_seconds,
        }

    def describe(self) -> str:
        """One sentence with the figures (used in refusals)."""
        return (
            f"2**{self.logrows} rows, proving key about {self.pk_bytes / 2**20:,.0f} MB, "
            f"prover memory about {self.prover_ram_bytes / 2**20:,.0f} MB"
        )


def from_settings(settings: dict[str, Any]) -> Footprint:
    """The :class:`Footprint` of a circuit whose calibrated ezkl settings are ``settings``."""
    try:
        run_args = settings["run_args"]
        logrows = int(run_args["logrows"])
        num_rows = int(settings["num_rows"])
        low, high = (int(v) for v in run_args.get("lookup_range") or (0, 0))
        lookups = len(settings.get("required_lookups") or [])
        constants = int(settings.get("total_const_size") or 0)
        poseidon = int(((settings.get("module_sizes") or {}).get("poseidon") or [0])[0])
        shuffles = int(settings.get("num_shuffles") or 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"these are not ezkl settings ({exc!r} is missing or malformed).") from None
    rows = 2**logrows
    blocks = max(1, math.ceil(num_rows / rows))
    constant_columns = max(1, math.ceil(constants / rows))
    table_columns = lookups * math.ceil((high - low + 1) / rows) if lookups else 0
    per_row = (
        F_BASE
        + F_BLOCK * (blocks - 1)
        + F_CONSTANTS * (constant_columns - 1)
        + (F_POSEIDON if poseidon else 0)
        + (F_SHUFFLE if shuffles else 0)
    )
    pk_base = rows * FELT_BYTES * per_row
    pk_tables = rows * FELT_BYTES * F_TABLE_COLUMN * table_columns
    pk = pk_base + pk_tables
    extra_argument = bool(poseidon or shuffles or lookups)
    return Footprint(
        logrows=logrows,
        num_rows=num_rows,
        blocks=blocks,
        table_columns=table_columns,
        pk_bytes=int(pk),
        vk_bytes=int(rows * (2.1 * blocks + 0.7 * extra_argument) + 1300),
        srs_bytes=int(rows * 128 + 260),
        prover_ram_bytes=int(RAM_PER_KEY_BYTE * pk_base + RAM_PER_TABLE_BYTE * pk_tables + RAM_FIXED),
        prove_seconds=PROVE_SECONDS_PER_MIB * pk / 2**20,
        features={
            "constant_columns": constant_columns,
            "lookups": lookups,
            "lookup_range": [low, high],
            "poseidon": bool(poseidon),
            "shuffles": shuffles,
        },
    )


def check_budget(footprint: Footprint, budget_bytes: int | None = None) -> int:
    """The budget in bytes, or InvalidInput (with the estimate) when the prover would not fit in it.

    ``budget_bytes`` None takes :func:`labkit.workload.default_budget_bytes` (``LABKIT_MEMORY_BUDGET_MB``,
    else half the memory available now).
    """
    from ..workload.support import default_budget_bytes

    budget = default_budget_bytes() if budget_bytes is None else validate.integer("budget_bytes", budget_bytes)
    if footprint.prover_ram_bytes > budget:
        raise InvalidInput(
            f"proving this circuit would need about {footprint.prover_ram_bytes / 2**20:,.0f} MB of memory "
            f"({footprint.describe()}), over the budget of {budget / 2**20:,.0f} MB. Use a smaller model or a "
            "lower scale, or raise LABKIT_MEMORY_BUDGET_MB if this machine has the memory."
        )
    return budget
