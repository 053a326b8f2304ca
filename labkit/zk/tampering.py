"""Tampering with proofs: each way a dishonest prover or a man in the middle might cheat.

Every case starts from an honest proof and changes one thing; the verifier
must refuse each. The cases:

- ``output``: the stated output is changed (two output values swapped, as if
  another class had been predicted);
- ``public_input``: the stated input is changed (the proof is replayed for
  another input);
- ``commitment``: the stated parameter hash is changed (another model claimed);
- ``proof_byte``: one bit of the proof itself is flipped;
- ``other_key``: the proof is checked with another model's verifying key.

>>> flip_felt("0100000000000000000000000000000000000000000000000000000000000000")[:2]
'00'

References
----------
Halo2 book, "Proving system" (soundness of the PLONKish argument):
https://zcash.github.io/halo2/design/proving-system.html
"""

from __future__ import annotations

from ..errors import InvalidInput
from ..results import NOT_FOR_PRODUCTION, Result
from .model import Proof, ZKModel

TAMPER_CASES = ("output", "public_input", "commitment", "proof_byte", "other_key")


def flip_felt(felt: str) -> str:
    """A field element (little-endian hex) with its lowest bit flipped."""
    low = int(felt[:2], 16) ^ 1
    return f"{low:02x}{felt[2:]}"


def tamper(zk: ZKModel, proof: Proof, case: str) -> Proof:
    """A copy of ``proof`` changed as ``case`` says (not ``other_key``, which changes the verifier)."""
    if case not in TAMPER_CASES or case == "other_key":
        raise InvalidInput(
            f"case must be one of {', '.join(c for c in TAMPER_CASES if c != 'other_key')}, not {case!r}."
        )
    bad = proof.copy()
    instances = bad.data["instances"][0]
    layout = zk.layout(proof)
    if case == "proof_byte":
        middle = len(bad.data["proof"]) // 2
        bad.data["proof"][middle] ^= 0x01
        return bad
    part, needed = {
        "output": ("output", "public"),
        "public_input": ("input", "public"),
        "commitment": ("params", "hashed"),
    }[case]
    positions = list(range(len(instances)))[layout[part]]
    if getattr(zk.visibility, part) != needed or not positions:
        raise InvalidInput(f"this proof has no {needed} {part} to change (visibility {zk.visibility.as_dict()}).")
    if case == "output" and len(positions) >= 2 and instances[positions[0]] != instances[positions[1]]:
        i, j = positions[0], positions[1]
        instances[i], instances[j] = instances[j], instances[i]
    else:
        instances[positions[0]] = flip_felt(instances[positions[0]])
    return bad


def applicable(zk: ZKModel) -> list[str]:
    """The cases that make sense for this model's visibility (``other_key`` always does)."""
    cases = ["proof_byte", "other_key"]
    if zk.visibility.output == "public":
        cases.insert(0, "output")
    if zk.visibility.input == "public":
        cases.insert(1, "public_input")
    if zk.visibility.params == "hashed":
        cases.append("commitment")
    return cases


def tamper_report(zk: ZKModel, proof: Proof, *, other: ZKModel | None = None) -> Result:
    """Verify the honest proof and each applicable tampered copy; what the proofs buy, as a Result.

    A sound system verifies the honest proof and refuses every case.
    ``other_key`` needs ``other`` (another ZKModel, whose verifying key is
    tried) and is skipped without it.

    Returns
    -------
    Result
        ``zk/tamper``: ``metrics`` holds ``honest_verified`` (1 or 0), ``cases``
        tried, ``tampered_accepted`` (should be 0) and ``detection_rate``
        (rejected / tried); ``artifacts["verified"]`` maps each case to whether
        its tampered proof verified.
    """
    cases: dict[str, bool] = {}
    for case in applicable(zk):
        if case == "other_key":
            if other is not None:
                cases[case] = bool(other.verify(proof))
            continue
        cases[case] = bool(zk.verify(tamper(zk, proof, case)))
    honest = zk.verify(proof)
    tried = len(cases)
    accepted = sum(cases.values())
    result = Result(
        technique="zk",
        name="tamper",
        params={"visibility": zk.visibility.as_dict(), "logrows": zk.logrows, "cases": sorted(cases)},
        metrics={
            "honest_verified": int(honest),
            "cases": tried,
            "tampered_accepted": accepted,
            "detection_rate": (tried - accepted) / tried if tried else 0.0,
        },
        artifacts={"verified": cases, "verifying_key": zk.verifying_key_id[:16]},
    )
    if zk.development_setup:
        result.flag(NOT_FOR_PRODUCTION)
    return result
