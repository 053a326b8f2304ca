"""``python -m labkit.zk bench``: the zk benchmark (the cache: ``labkit cache zk [--clear]``)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.zk", description="PET Lab zero-knowledge lab.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("bench", help="prove the digits MLP cold and cached; report against the targets")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    from .benchmark import report, run

    out = run(width=args.width, repeat=args.repeat)
    print(report(out))
    return 0 if all(out["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
