"""Everything in the repository points only inside it.

Every repository path that the notebooks, labkit, docs/ and the README mention
(``docs/claims.md``, ``notebooks/03_gradient_inversion.py``, a markdown link)
must exist, and nothing may send the reader to the engineers' material outside
the repository (the engineers' shared folder, its claims file) or to a path on one machine.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = ("docs", "notebooks", "labkit", "datasets", "binder", "tests", "deploy", ".ci")
_TOP = "|".join(map(re.escape, TOP))
MENTION = re.compile(rf"(?<![\w./-])((?:\.\./)*(?:{_TOP})/[\w./-]*[\w/])(.?)")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
PLACEHOLDER = set("*<{[")
SHARED = "sha" + "red"  # spelled in two parts so this guard does not itself point outside the repository
OUTSIDE = re.compile(
    rf"\.\./{SHARED}|{SHARED}/CLAIMS|{SHARED}/references|CLAIMS\.md|/wo" r"rk/|/ro" r"ot/|/Users/|[A-Z]:\\\\Users"
)


def sources() -> list[Path]:
    files = [*ROOT.glob("notebooks/*.py"), *ROOT.glob("labkit/**/*.py"), *ROOT.glob("docs/**/*.md")]
    return sorted([*files, ROOT / "README.md"])


def mentioned_paths(path: Path) -> list[tuple[int, str, Path]]:
    """(line number, text, resolved path) of every repository path ``path`` mentions."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for m in MENTION.finditer(line):
            text, after = m.groups()
            if after in PLACEHOLDER or "NN" in text:  # a pattern (nbNN_*.py, <technique>/), not a path
                continue
            base = path.parent if text.startswith("../") else ROOT
            found.append((number, text, base / text))
        if path.suffix == ".md":
            for m in LINK.finditer(line):
                target = m.group(1)
                if "://" in target or target.startswith("mailto:"):
                    continue
                found.append((number, target, path.parent / target))
    return found


def test_every_mentioned_path_exists_and_stays_inside():
    missing, checked = [], 0
    for path in sources():
        for number, text, target in mentioned_paths(path):
            checked += 1
            resolved = target.resolve()
            if not resolved.exists() or ROOT not in (resolved, *resolved.parents):
                missing.append(f"{path.relative_to(ROOT)}:{number}: {text}")
    assert checked > 50, f"only {checked} paths found: the pattern no longer matches the way files are named"
    assert not missing, "paths that do not exist in the repository:\n" + "\n".join(missing)


def test_nothing_points_outside_the_repository():
    bad = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}"
        for path in sources()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not bad, "references outside the repository:\n" + "\n".join(bad)


def test_the_checks_catch_a_broken_path_and_an_outside_pointer(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(
        "See `docs/claims.md` and `docs/no-such-file.md`, [guide](missing.md), `labkit/exercise_sets/nbNN_*.py`.\n"
        f"Sources: ../{SHARED}/CLAIMS.md\n"
    )
    found = {text: target.exists() for _, text, target in mentioned_paths(page)}
    assert found == {"docs/claims.md": True, "docs/no-such-file.md": False, "missing.md": False}
    assert OUTSIDE.search(page.read_text().splitlines()[1])
