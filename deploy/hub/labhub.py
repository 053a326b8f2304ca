"""The workshop hub's helpers: trainee accounts, the notebooks in each home, a memory limit per server.

Used by ``jupyterhub_config.py`` next to this file (the spawner) and by the
trainer from a root shell (accounts and results)::

    sudo .venv/bin/python deploy/hub/labhub.py add-admin trainer
    sudo .venv/bin/python deploy/hub/labhub.py add-trainees 25          # trainee01 .. trainee25
    sudo .venv/bin/python deploy/hub/labhub.py add-trainees alice bob   # or the trainer's list
    sudo .venv/bin/python deploy/hub/labhub.py collect workshop.sqlite  # everyone's Results, merged
    sudo .venv/bin/python deploy/hub/labhub.py remove-trainees          # after the workshop

Each trainee is a Unix account in the group ``labkit-trainees`` with a home
readable by nobody else (mode 0700) and a generated password, printed once for
the trainer to hand out; the trainer is a separate account, outside that group.
Each single-user server runs as its trainee, in a memory cgroup of its own
(``memory.limit_in_bytes`` in cgroup v1, ``memory.max`` in v2) under the hub's
own cgroup, so one trainee's notebook cannot take the others' memory; when the
server stops, anything still running in that cgroup is ended.

References
----------
JupyterHub documentation, "Spawners" (LocalProcessSpawner) and "Authenticators"
(PAMAuthenticator, allowed_groups).
Linux kernel documentation, "Memory Resource Controller" (cgroup v1) and
"Control Group v2" (memory.max, the no-internal-process rule).
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GROUP = os.environ.get("LABKIT_HUB_GROUP", "labkit-trainees")  # the trainees' Unix group
NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
NOTEBOOK_FOLDER = "petlab"  # where the notebooks land in each home
CGROUP_PARENT = "labkit-hub"


def student_notebooks(repo: Path = REPO) -> Path:
    """The folder whose notebooks every trainee gets: the student version (answers left as ``...``).

    It is written by ``make student`` (:mod:`labkit.student`) into ``build/student/``, or
    the folder ``STUDENT_DIR`` names; built here when missing or older than a notebook,
    so a hub never hands out a stale copy. The instructor version (solutions included)
    is the repository's ``notebooks/``.
    """
    from labkit import student

    folder = Path(os.environ.get("STUDENT_DIR") or repo / "build" / "student")
    sources = sorted((repo / "notebooks").glob(student.NOTEBOOK_GLOB))
    built = [folder / p.name for p in sources]
    if not all(b.exists() and b.stat().st_mtime >= p.stat().st_mtime for b, p in zip(built, sources)):
        student.build(folder, source=repo / "notebooks")
    return folder


def copy_notebooks(username: str, source: Path | None = None) -> Path:
    """Copy the notebooks into the user's home (once: a trainee's edits are never overwritten)."""
    user = pwd.getpwnam(username)
    target = Path(user.pw_dir) / NOTEBOOK_FOLDER
    if target.exists():
        return target
    shutil.copytree(source or student_notebooks(), target, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    for path in [target, *target.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    return target


def password(length: int = 14) -> str:
    """A generated password (letters and digits from the OS CSPRNG, without look-alikes)."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "Il1O0o")
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _run(*cmd: str, stdin: str | None = None) -> None:
    subprocess.run(cmd, input=stdin, text=True, check=True, capture_output=True)


def add_account(name: str, *, group: str | None) -> str:
    """Create a Unix account with a private home (0700) and a generated password; returns the password."""
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not a usable account name: lower-case letters, digits and '-', 1-31 long.")
    if group:
        _run("groupadd", "--force", group)
    try:
        pwd.getpwnam(name)
    except KeyError:
        _run("useradd", "--create-home", "--shell", "/bin/bash", *(["--groups", group] if group else []), name)
    else:
        raise ValueError(f"the account {name!r} exists already; pick another name or remove it first.")
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    secret = password()
    _run("chpasswd", stdin=f"{name}:{secret}\n")
    return secret


def members(group: str = GROUP) -> list[str]:
    """The accounts in ``group`` (the trainees), sorted; empty if the group does not exist."""
    try:
        return sorted(grp.getgrnam(group).gr_mem)
    except KeyError:
        return []


def remove_account(name: str) -> None:
    """Delete an account and its home (the trainee's files and ResultStore)."""
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
    _run("userdel", "--remove", name)


def collect(into: Path, group: str = GROUP) -> dict[str, int]:
    """Merge every trainee's ResultStore into the store ``into``; new Results per trainee."""
    from labkit.results import ResultStore

    store = ResultStore(into)
    added = {}
    for name in members(group):
        path = Path(pwd.getpwnam(name).pw_dir) / ".labkit" / "results.sqlite"
        added[name] = store.merge(path) if path.exists() else 0
    return added


class MemoryCgroup:
    """A memory cgroup for one user's server under the hub's own cgroup (v1 memory controller, or v2).

    Parameters
    ----------
    name : str
        The user's name (one cgroup per user).
    """

    def __init__(self, name: str):
        self.base = self._hub_cgroup()
        self.v2 = self.base is not None and (self.base / "cgroup.controllers").exists()
        self.path = None if self.base is None else self.base / CGROUP_PARENT / name

    @staticmethod
    def _hub_cgroup() -> Path | None:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        for line in lines:  # cgroup v1 with a memory controller
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(",") and Path("/sys/fs/cgroup/memory").is_dir():
                return Path("/sys/fs/cgroup/memory" + path)
        for line in lines:  # cgroup v2 (unified), memory controller available
            if line.startswith("0::") and "memory" in Path("/sys/fs/cgroup/cgroup.controllers").read_text():
                return Path("/sys/fs/cgroup" + line[3:])
        return None

    def create(self, limit: int) -> None:
        """Make the cgroup with ``limit`` bytes of memory; raise OSError where the hub cannot."""
        if self.path is None:
            raise OSError("no memory cgroup controller is available to the hub")
        parent = self.path.parent
        if self.v2 and not parent.exists():
            # v2 allows controllers for children only in a cgroup without processes of its own:
            # move the hub's processes into a leaf first, then delegate "memory" down
            leaf = self.base / "hub"
            leaf.mkdir(exist_ok=True)
            for pid in (self.base / "cgroup.procs").read_text().split():
                (leaf / "cgroup.procs").write_text(pid)
            (self.base / "cgroup.subtree_control").write_text("+memory")
            parent.mkdir()
            (parent / "cgroup.subtree_control").write_text("+memory")
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / ("memory.max" if self.v2 else "memory.limit_in_bytes")).write_text(str(limit))

    def join(self) -> None:
        """Move the calling process into the cgroup (in the spawned server, before it drops root)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def limit(self) -> int:
        """The limit in bytes, as the kernel holds it."""
        text = (self.path / ("memory.max" if self.v2 else "memory.limit_in_bytes")).read_text().strip()
        return -1 if text == "max" else int(text)

    def peak(self) -> int:
        """Peak memory of everything in the cgroup so far, in bytes (v2 needs Linux 5.19 for it)."""
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        return int((self.path / name).read_text())

    def pids(self) -> list[int]:
        """The processes in the cgroup now."""
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def end(self) -> None:
        """Kill whatever still runs in the cgroup, then remove it."""
        if self.path is None or not self.path.exists():
            return
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        for folder in (self.path, self.path.parent):  # the parent only once no user's cgroup is left
            try:
                folder.rmdir()
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    """The trainer's commands (run as root): add-admin, add-trainees, collect, remove-trainees."""
    parser = argparse.ArgumentParser(prog="labhub.py", description="Accounts and results of the workshop hub.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("add-admin", help="the trainer's account (hub admin, not a trainee)").add_argument("name")
    p = sub.add_parser("add-trainees", help="a number (trainee01..) or a list of names")
    p.add_argument("names", nargs="+")
    sub.add_parser("collect", help="merge every trainee's Results into one store").add_argument("store")
    sub.add_parser("remove-trainees", help="delete every trainee account and home")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("run this as root (it creates or reads other users' accounts).", file=sys.stderr)
        return 1
    if args.command == "add-admin":
        print(f"{args.name}\t{add_account(args.name, group=None)}")
    elif args.command == "add-trainees":
        names = args.names
        if len(names) == 1 and names[0].isdigit():
            names = [f"trainee{i:02d}" for i in range(1, int(names[0]) + 1)]
        print("# hand each trainee their line; the passwords are not stored anywhere else")
        for name in names:
            print(f"{name}\t{add_account(name, group=GROUP)}")
    elif args.command == "collect":
        for name, added in collect(Path(args.store)).items():
            print(f"{name}: {added} new Results")
    else:
        for name in members():
            remove_account(name)
            print(f"removed {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
