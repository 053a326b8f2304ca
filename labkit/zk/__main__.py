"""``python -m labkit.zk bench | cache [--clear]``: the zk benchmark and the zk cache."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.zk", description="PET Lab zero-knowledge lab.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("bench", help="prove the digits MLP cold and cached; report against the targets")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--repeat", type=int, default=None)
    p = sub.add_parser("cache", help="show the zk cache (circuits, keys, reference strings) or clear it")
    p.add_argument("--clear", action="store_true", help="delete cached circuits, keys and reference strings")
    args = parser.parse_args(argv)
    if args.command == "bench":
        from .benchmark import report, run

        out = run(width=args.width, repeat=args.repeat)
        print(report(out))
        return 0 if all(out["targets_met"].values()) else 1
    from .circuit import cache_info, clear_cache

    if args.clear:
        print(f"freed {clear_cache() / 1e6:.1f} MB")
    print(json.dumps(cache_info(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
