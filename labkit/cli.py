"""The ``labkit`` command: doctor, lab, results.

- ``labkit doctor [--json] [--only NAME]``: which backends work here, and why not
- ``labkit bench [TECHNIQUE ...] [--fast] [--json]``: each registered technique's standard benchmark, stored
- ``labkit assess (--model M.onnx --data D.npz|.csv | --example NAME) [--techniques he,mpc,zk] [--fast]
  [--check-only] [--budget MINUTES] [-o TECHNIQUE.NAME=VALUE ...] [--out report.html] [--json] [--store FILE]``: your
  model and data under each technique, with the support check first, cheapest first, and one HTML report
- ``labkit report [--store FILE] [--out report.html]``: the claims check, printed and as one HTML file
- ``labkit lab [--port N]``: JupyterLab on notebooks/, bound to 127.0.0.1
- ``labkit setup-jupyter``: make .py notebooks open as notebooks (jupytext)
- ``labkit results [--store FILE]``: what the ResultStore holds
- ``labkit results merge FILE``: copy another machine's Results in
- ``labkit student [--out DIR]``: the student version of the notebooks (answers left as ``...``)
- ``labkit cache [LAB ...] [--clear]``: what each lab keeps under ``LABKIT_HOME/cache`` (built keys...), or delete it
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from . import config

# Open text notebooks with jupytext on a double click (jupytext's documented setting).
_VIEWER_OVERRIDES = {
    "@jupyterlab/docmanager-extension:plugin": {
        "defaultViewers": {"python": "Jupytext Notebook", "markdown": "Jupytext Notebook"}
    }
}


def overrides_path(prefix: str | os.PathLike | None = None) -> Path:
    """JupyterLab's settings overrides file inside an environment (``sys.prefix``)."""
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def setup_jupyter(prefix: str | os.PathLike | None = None) -> Path:
    """Write (merge) the jupytext default-viewer setting into the environment's overrides."""
    path = overrides_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}
    for plugin, settings in _VIEWER_OVERRIDES.items():
        section = current.setdefault(plugin, {})
        viewers = section.setdefault("defaultViewers", {})
        viewers.update(settings["defaultViewers"])
    path.write_text(json.dumps(current, indent=2) + "\n")
    return path


def lab_command(*, port: int = 8888, open_browser: bool = True, root: str | os.PathLike | None = None) -> list[str]:
    """The JupyterLab command line `make lab` runs (tests start the same one)."""
    notebooks = Path(root) if root is not None else config.repo_root() / "notebooks"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={int(port)}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={notebooks}",
    ]
    if not open_browser:
        cmd.append("--ServerApp.open_browser=False")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root
        cmd.append("--ServerApp.allow_root=True")
    return cmd


def _doctor(args: argparse.Namespace) -> int:
    from . import doctor

    if not args.json:
        print("Running one real operation per backend (a few seconds)...", file=sys.stderr)
    known = [c.name for c in doctor.checks()]
    unknown = [n for n in args.only if n not in known]
    if unknown:
        print(f"labkit doctor: unknown backend {unknown[0]!r}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    statuses = doctor.run(args.only or None)
    print(doctor.as_json(statuses) if args.json else doctor.table(statuses))
    ok = doctor.healthy(statuses)
    if not ok and not args.json:
        print("\nA required backend failed: see the reason above; `make lab` reinstalls the environment.")
    return 0 if ok else 1


def _bench(args: argparse.Namespace) -> int:
    if args.fast:
        os.environ["LABKIT_FAST"] = "1"
    import contextlib

    from . import benchmarks
    from .results import ResultStore

    store = ResultStore(args.store)
    # with --json, stdout carries Results only: anything a benchmark prints goes to stderr
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    with quiet:
        found = benchmarks.run(args.labs, store=store, progress=not args.json)
    if args.json:
        for r in found:
            print(r.to_json())
    else:
        print(benchmarks.table(found))
        print(f"\n{len(found)} Results stored in {store.path}")
    return 0


def _assess(args: argparse.Namespace) -> int:
    if args.fast:
        os.environ["LABKIT_FAST"] = "1"
    import contextlib

    from .assessment import assess
    from .errors import InvalidInput
    from .results import ResultStore
    from .workload import Workload, examples

    if args.example:
        if args.model or args.data:
            raise InvalidInput("give either --example or --model with --data, not both.")
        workload = examples.workload(args.example)
    elif args.model and args.data:
        label = int(args.label) if args.label and args.label.lstrip("-").isdigit() else args.label
        workload = Workload.load(args.model, args.data, label=label, name=args.name)
    else:
        raise InvalidInput(
            "give the model and its data: --model MODEL.onnx --data DATA.npz (or .csv), or --example NAME."
        )
    budget = int(args.budget_mb * 2**20) if args.budget_mb else None
    if args.out and not str(args.out).lower().endswith((".html", ".htm")):
        raise InvalidInput(f"the report is an HTML file: give --out a name ending in .html, not {args.out!r}.")
    store = ResultStore(args.store) if args.store or not args.check_only else None
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    with quiet:
        found = assess(
            workload,
            techniques=args.techniques,
            store=store,
            progress=not args.json,
            check_only=args.check_only,
            budget_bytes=budget,
            budget_minutes=args.budget,
            options=_technique_options(args.option),
        )
    if args.out:
        from . import assessment_report

        page = assessment_report.write(found, args.out, store=store, command=_assess_command(args))
        print(f"wrote {page}", file=sys.stderr)
    if args.json:
        for r in found.results:
            print(r.to_json())
        return 0
    print(found)
    if args.check_only:
        for key, s in found.support.items():
            if s.supported:
                figures = ", ".join(f"{k} {v:,.4g}" for k, v in s.estimate.items())
                print(f"  {key} estimate: {figures}")
            for note in s.notes:
                print(f"  {key} note: {note}")
    if store is not None:
        print(f"\n{len(found.results)} Results stored in {store.path}")
    return 0


def _option_value(text: str) -> Any:
    """A command-line option value: a number, true/false, a comma-separated tuple of those, or text."""
    if "," in text:
        return tuple(_option_value(part.strip()) for part in text.split(",") if part.strip())
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _technique_options(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """``-o he.backend=openfhe -o mpc.parties=3`` as ``{"he": {"backend": "openfhe"}, "mpc": {"parties": 3}}``."""
    from .errors import InvalidInput

    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        key, dot, option = name.strip().partition(".")
        if not (sep and dot and key and option and value.strip()):
            raise InvalidInput(f"an option is TECHNIQUE.NAME=VALUE (e.g. he.backend=openfhe), not {pair!r}.")
        out.setdefault(key, {})[option] = _option_value(value.strip())
    return out


def _assess_command(args: argparse.Namespace) -> str:
    """The command that reproduces an assessment (the report prints it per technique)."""
    import shlex

    words = ["labkit", "assess"]
    if args.example:
        words += ["--example", args.example]
    else:
        words += ["--model", args.model, "--data", args.data]
        words += ["--label", args.label] if args.label else []
    words += ["--fast"] if args.fast else []
    for pair in args.option:
        words += ["-o", pair]
    return shlex.join(words)


def _report(args: argparse.Namespace) -> int:
    from . import report
    from .results import ResultStore

    if args.store and not Path(args.store).is_file():
        print(
            f"labkit report: no ResultStore at {args.store}; run `labkit bench --store {args.store}` first, "
            "or leave out --store to read the lab's own.",
            file=sys.stderr,
        )
        return 2
    path, rows = report.write(args.out, store=ResultStore(args.store), workload=args.workload)
    print(report.table(rows))
    missing = sum(r.measured is None for r in rows)
    fast = " Some figures come from fast mode (LABKIT_FAST=1, shrunken workloads)." if any(r.fast for r in rows) else ""
    print(f"\n{len(rows)} readings ({missing} without a measurement); wrote {path}.{fast}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    setup_jupyter()
    cmd = lab_command(port=args.port, open_browser=not args.no_browser)
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover


def _results(args: argparse.Namespace) -> int:
    from .results import ResultStore

    store = ResultStore(args.store)
    if args.action == "merge":
        if not args.file:
            print("labkit results merge needs the FILE of another store.", file=sys.stderr)
            return 2
        added = store.merge(args.file)
        print(f"merged {added} new Results from {args.file} into {store.path}")
        return 0
    counts = store.techniques()
    print(f"{store.path}: {sum(counts.values())} Results")
    for technique, n in counts.items():
        print(f"  {technique:12s} {n}")
    return 0


def cache_usage() -> dict[str, tuple[int, int]]:
    """Files and bytes of each lab's cache folder under ``LABKIT_HOME/cache``, by lab name."""
    root = config.home() / "cache"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return {folder.name: config.folder_usage(folder) for folder in folders}


def _cache(args: argparse.Namespace) -> int:
    import shutil

    usage = cache_usage()
    unknown = [name for name in args.labs if name not in usage]
    if unknown:
        known = ", ".join(usage) or "none yet"
        print(f"labkit cache: no cache for {unknown[0]!r} (caches here: {known}).", file=sys.stderr)
        return 2
    chosen = args.labs or list(usage)
    if args.clear:
        freed = 0
        for name in chosen:
            freed += usage[name][1]
            shutil.rmtree(config.home() / "cache" / name)
        print(f"freed {freed / 1e6:.1f} MB ({', '.join(chosen) or 'nothing cached'})")
        return 0
    print(f"{config.home() / 'cache'}:")
    for name in chosen:
        files, size = usage[name]
        print(f"  {name:8s} {files:5d} files {size / 1e6:9.1f} MB")
    if not chosen:
        print("  (empty)")
    return 0


def _student(args: argparse.Namespace) -> int:
    from . import student

    written = student.build(args.out)
    print(f"wrote the student version of {len(written)} notebooks to {written[0].parent}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``labkit`` argument parser, one sub-command per action."""
    parser = argparse.ArgumentParser(prog="labkit", description="PET Lab helper command.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("doctor", help="check every backend with one real operation")
    p.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    p.add_argument("--only", action="append", default=[], metavar="BACKEND", help="check only this backend")
    p.set_defaults(func=_doctor)
    p = sub.add_parser("bench", help="run each technique's standard benchmark and store the Results")
    p.add_argument("labs", nargs="*", metavar="TECHNIQUE", help="techniques to run (default: every registered one)")
    p.add_argument("--fast", action="store_true", help="shrunken workloads (LABKIT_FAST=1)")
    p.add_argument("--json", action="store_true", help="print the Results as JSON lines")
    p.add_argument("--store", help="ResultStore file (default: LABKIT_HOME/results.sqlite)")
    p.set_defaults(func=_bench)
    p = sub.add_parser("assess", help="your model and data under each technique: support check, cost, accuracy")
    p.add_argument("--model", help="the model as an .onnx file")
    p.add_argument("--data", help="the data as .npz (X, y, optionally X_test, y_test) or .csv (label column last)")
    p.add_argument("--label", help="with a .csv: the label column's name or index (default: the last column)")
    p.add_argument("--name", help="the workload's name in reports (default: the model file's stem)")
    p.add_argument("--example", help="a demonstration workload instead: digits_cnn, cryptonets or digits_mlp")
    p.add_argument("--techniques", help="comma-separated (default: every technique that can assess a model)")
    p.add_argument("--fast", action="store_true", help="fewer samples and repeats (LABKIT_FAST=1)")
    p.add_argument("--check-only", action="store_true", help="the support check and estimates only, in seconds")
    p.add_argument("--budget-mb", type=float, help="memory a technique may plan to use (default: half the free RAM)")
    p.add_argument(
        "--budget", type=float, metavar="MINUTES",
        help="time for the whole run: a technique whose estimate does not fit in what is left is skipped, with the reason",
    )  # fmt: skip
    p.add_argument(
        "-o", "--option", action="append", default=[], metavar="TECHNIQUE.NAME=VALUE",
        help="an option of one technique, repeatable: he.backend=openfhe, he.degree=4, mpc.parties=3, "
        "dp.epsilons=1,4,8, tee.batch_size=16 (an unknown one is refused with the list of those it takes)",
    )  # fmt: skip
    p.add_argument("--out", help="write the assessment report, one self-contained HTML page (e.g. report.html)")
    p.add_argument("--json", action="store_true", help="print one Result per line as JSON")
    p.add_argument("--store", help="ResultStore file (default: LABKIT_HOME/results.sqlite)")
    p.set_defaults(func=_assess)
    p = sub.add_parser("report", help="the claims check: measured vs claimed, printed and written as HTML")
    p.add_argument("--store", help="ResultStore file (default: LABKIT_HOME/results.sqlite)")
    p.add_argument("--out", default="report.html", help="HTML file to write (default: report.html)")
    p.add_argument("--workload", help="draw only this workload's points on the overview chart")
    p.set_defaults(func=_report)
    p = sub.add_parser("lab", help="start JupyterLab on the notebooks (127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("LABKIT_PORT", "8888")))
    p.add_argument("--no-browser", action="store_true")
    p.set_defaults(func=_lab)
    p = sub.add_parser("setup-jupyter", help="open .py notebooks as notebooks (jupytext default viewer)")
    p.set_defaults(func=lambda a: print(f"wrote {setup_jupyter()}") or 0)
    p = sub.add_parser("results", help="list the ResultStore, or merge another store into it")
    p.add_argument("action", nargs="?", choices=["list", "merge"], default="list")
    p.add_argument("file", nargs="?", help="with merge: the other store file")
    p.add_argument("--store", help="ResultStore file (default: LABKIT_HOME/results.sqlite)")
    p.set_defaults(func=_results)
    p = sub.add_parser("student", help="write the student version of the notebooks (solutions left out)")
    p.add_argument("--out", help="folder to write (default: $STUDENT_DIR, else build/student)")
    p.set_defaults(func=_student)
    p = sub.add_parser("cache", help="show what each lab caches (built circuits and keys...), or --clear it")
    p.add_argument("labs", nargs="*", metavar="LAB", help="only these labs' caches (default: all)")
    p.add_argument("--clear", action="store_true", help="delete the cached files; the next build makes them again")
    p.set_defaults(func=_cache)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``labkit`` command; returns its exit code (2 for a labkit error, printed as one line)."""
    args = build_parser().parse_args(argv)
    from .errors import LabkitError

    try:
        return args.func(args)
    except LabkitError as exc:
        print(f"labkit: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
