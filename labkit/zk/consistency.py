"""Redundant encodings in an ezkl proof file must agree, or the proof is refused.

An ezkl proof file says several things twice. The proof bytes are a list of
integers (``proof``) and again a hex string (``hex_proof``); the public values
are field elements (``instances``, what the SNARK binds) and again, for people,
in ``pretty_public_inputs``: the same elements as big-endian hex (``inputs``,
``outputs``, ``processed_*`` for Poseidon hashes) and as decoded numbers
(``rescaled_inputs``, ``rescaled_outputs``). ezkl's verifier reads only the
proof bytes and the instances: edit ``hex_proof`` or a pretty value and the
proof still verifies, while a reader of the file (a person, a dashboard, a
contract reading ``hex_proof``) sees something the proof never showed. The lab
refuses such a file instead: :func:`problems` lists every disagreement, and
:meth:`labkit.zk.ZKModel.verify` returns False when there is one.

>>> big_endian("0100000000000000000000000000000000000000000000000000000000000000")[-4:]
'0001'
>>> problems({"proof": [1, 2], "hex_proof": "0x0103", "instances": [[]]}, groups={}, rescaled={})
['hex_proof (0x0103) is not the proof bytes (0x0102)']

References
----------
ezkl documentation, proof files and verification: https://docs.ezkl.xyz/
The Halo2 book, "Proving system": https://zcash.github.io/halo2/design/proving-system.html
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend

# The parts of ``pretty_public_inputs`` holding field elements, and those holding decoded numbers.
FELT_GROUPS = ("inputs", "processed_inputs", "processed_params", "processed_outputs", "outputs")
RESCALED_GROUPS = ("rescaled_inputs", "rescaled_outputs")


def big_endian(felt: str) -> str:
    """A field element as ``instances`` hold it (little-endian hex) in the pretty form (``0x``, big-endian)."""
    return "0x" + bytes.fromhex(felt)[::-1].hex()


def _short(text: str, n: int = 18) -> str:
    return text if len(text) <= n else f"{text[:n]}..."


def proof_bytes_problems(data: dict[str, Any]) -> list[str]:
    """``proof`` must be a list of bytes and ``hex_proof`` (when present) the same bytes as ``0x`` hex."""
    raw = data.get("proof")
    if not isinstance(raw, list) or not raw or not all(isinstance(b, int) and 0 <= b <= 255 for b in raw):
        return ["proof is not a non-empty list of bytes (integers 0 to 255)"]
    hex_proof = data.get("hex_proof")
    if hex_proof is None:
        return []
    want = "0x" + bytes(raw).hex()
    if not isinstance(hex_proof, str) or hex_proof.lower() != want:
        shown = _short(hex_proof) if isinstance(hex_proof, str) else type(hex_proof).__name__
        return [f"hex_proof ({shown}) is not the proof bytes ({_short(want)})"]
    return []


def instance_problems(data: dict[str, Any]) -> list[str]:
    """``instances`` must be one group of 32-byte little-endian hex field elements."""
    inst = data.get("instances")
    if not isinstance(inst, list) or len(inst) != 1 or not isinstance(inst[0], list):
        return ["instances is not a list holding one group of field elements"]
    for i, felt in enumerate(inst[0]):
        if not isinstance(felt, str) or len(felt) != 64:
            return [f"instance {i} is not a 32-byte hex field element"]
        try:
            bytes.fromhex(felt)
        except ValueError:
            return [f"instance {i} is not hexadecimal"]
    return []


def _flat(group: Any) -> list[Any] | None:
    if not isinstance(group, list) or not all(isinstance(g, list) for g in group):
        return None
    return [v for g in group for v in g]


def pretty_problems(
    pretty: dict[str, Any], *, groups: dict[str, list[str]], rescaled: dict[str, tuple[np.ndarray, float]]
) -> list[str]:
    """Disagreements between ``pretty_public_inputs`` and what the instances say.

    Parameters
    ----------
    pretty : dict
        The proof file's ``pretty_public_inputs``.
    groups : dict
        For each of :data:`FELT_GROUPS`, the instances (little-endian hex) it must
        repeat; a group not named must be empty.
    rescaled : dict
        For each of :data:`RESCALED_GROUPS`, the numbers decoded from the
        instances and the fixed-point grid step; a decoded number must lie within
        a quarter step of the pretty one (so both name the same fixed-point
        value). A group not named must be empty.
    """
    out = []
    for key in FELT_GROUPS:
        got = _flat(pretty.get(key, []))
        want = [big_endian(f) for f in groups.get(key, [])]
        if got is None:
            out.append(f"pretty_public_inputs.{key} is not a list of lists")
        elif [str(v).lower() for v in got] != want:
            out.append(f"pretty_public_inputs.{key} ({len(got)} values) differs from the instances it repeats")
    for key in RESCALED_GROUPS:
        got = _flat(pretty.get(key, []))
        decoded, step = rescaled.get(key, (np.zeros(0), 1.0))
        if got is None:
            out.append(f"pretty_public_inputs.{key} is not a list of lists")
            continue
        try:
            values = np.array([float(v) for v in got], dtype=float)
        except (TypeError, ValueError):
            out.append(f"pretty_public_inputs.{key} holds a value that is not a number")
            continue
        if values.shape != decoded.shape:
            out.append(f"pretty_public_inputs.{key} has {values.size} values; the instances hold {decoded.size}")
        elif values.size and not (np.all(np.isfinite(values)) and np.max(np.abs(values - decoded)) <= step / 4):
            worst = int(np.argmax(np.where(np.isfinite(values), np.abs(values - decoded), math.inf)))
            out.append(f"pretty_public_inputs.{key}[{worst}] says {got[worst]}; the instances say {decoded[worst]:.6g}")
    return out


def expected_copies(
    instances: list[str], *, layout: dict[str, slice], visibility: dict[str, str], scales: dict[str, int]
) -> tuple[dict[str, list[str]], dict[str, tuple[np.ndarray, float]]]:
    """What ``pretty_public_inputs`` must repeat, given where each part sits among the instances.

    Returns the ``groups`` and ``rescaled`` arguments of :func:`pretty_problems`:
    public parts repeat their field elements and decoded numbers (at the part's
    fixed-point ``scales``), hashed parts their Poseidon hashes. Raises ValueError
    when a public instance is not a field element.
    """
    groups: dict[str, list[str]] = {}
    rescaled: dict[str, tuple[np.ndarray, float]] = {}
    for part in ("input", "output"):
        felts, plural = instances[layout[part]], f"{part}s"
        if visibility[part] == "public":
            groups[plural] = felts
            try:
                decoded = np.array([backend.felt_to_float(f, scales[part]) for f in felts], dtype=float)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # a Rust panic on a value outside the field
                raise ValueError(f"a public {part} instance is not a field element") from None
            rescaled[f"rescaled_{plural}"] = (decoded, 2.0 ** -scales[part])
        elif visibility[part] == "hashed":
            groups[f"processed_{plural}"] = felts
    if visibility["params"] == "hashed":
        groups["processed_params"] = instances[layout["params"]]
    return groups, rescaled


def problems(data: Any, *, groups: dict[str, list[str]], rescaled: dict[str, tuple[np.ndarray, float]]) -> list[str]:
    """Every disagreement between the redundant encodings of a proof file (empty: they agree).

    ``groups`` and ``rescaled`` are as in :func:`pretty_problems`. A file
    without ``hex_proof`` or ``pretty_public_inputs`` (both optional in ezkl)
    has nothing there to disagree with; the verifier reads neither. When the
    instances themselves are malformed the pretty values are not compared.
    """
    if not isinstance(data, dict):
        return [f"the proof data is a {type(data).__name__}, not a JSON object"]
    malformed = instance_problems(data)
    out = proof_bytes_problems(data) + malformed
    pretty = data.get("pretty_public_inputs")
    if pretty is None or malformed:
        return out
    if not isinstance(pretty, dict):
        return [*out, "pretty_public_inputs is not a JSON object"]
    return out + pretty_problems(pretty, groups=groups, rescaled=rescaled)
