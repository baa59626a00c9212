"""Scratch files: how a half-written file is named, and how a killed run's ones are swept.

Everything the program writes in steps (a backup, a PDF, an export, a restore, a backup
being cleaned by erase) is first written under a *scratch name* and renamed into place only
when it is complete and checked, so no file named like a good one is ever half-written.
A scratch name starts with ``.``, carries ``-p<pid>-`` (the process writing it) and ends in
``.part`` (SQLite's ``-journal`` of it ends in ``.part-journal``). The report kernels'
socket folders are named ``mut-k-p<pid>-...`` in the temporary folder.

:func:`sweep` removes the scratch files of processes that are gone (a killed backup or
batch), never those of a process still running.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

PART = ".part"
KERNEL_PREFIX = "mut-k-"
_PID = re.compile(r"-p(\d+)-")
#: A scratch file without a writer's pid (older releases) is swept after this long.
ORPHAN_AGE_S = 24 * 3600


def scratch_prefix(stem: str) -> str:
    """The start of a scratch name for ``stem``, naming this process."""
    return f".{stem}-p{os.getpid()}-"


def is_scratch(name: str) -> bool:
    return name.startswith(".") and PART in name


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs (one of another account's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _abandoned(path: Path, now: float) -> bool:
    found = _PID.search(path.name)
    if found is not None:
        return not process_alive(int(found.group(1)))
    try:
        return now - path.lstat().st_mtime > ORPHAN_AGE_S
    except OSError:
        return False


def sweep(data: str | os.PathLike) -> list[Path]:
    """Remove the scratch files in the data folder whose writer is gone; returns them."""
    folder = Path(data)
    places = [folder, folder / "backups", folder / "worksheets"]
    reports = folder / "reports"
    if reports.is_dir():
        places += [reports, *(p for p in reports.iterdir() if p.is_dir())]
    now = time.time()
    removed = []
    for place in places:
        if not place.is_dir():
            continue
        for path in place.iterdir():
            if is_scratch(path.name) and path.is_file() and _abandoned(path, now):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def kernel_folder() -> Path:
    """A new private folder for one report kernel's sockets (or a process's chart fonts,
    :mod:`~mutuality_helpers.chartfonts`), named after this process."""
    folder = Path(tempfile.mkdtemp(prefix=f"{KERNEL_PREFIX}p{os.getpid()}-"))
    os.chmod(folder, 0o700)
    return folder


def sweep_kernel_folders(root: str | os.PathLike | None = None) -> list[Path]:
    """Remove the kernel socket folders of killed report runs (this user's, writer gone)."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    now = time.time()
    for path in base.glob(f"{KERNEL_PREFIX}*"):
        try:
            mine = path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid()
        except OSError:
            continue
        found = _PID.search(f"-{path.name[len(KERNEL_PREFIX) :]}")
        gone = not process_alive(int(found.group(1))) if found else _abandoned(path, now)
        if mine and gone:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
