"""Loading WeasyPrint without running the C compiler.

WeasyPrint loads seven native libraries (GObject, Pango, HarfBuzz, fontconfig, ...) and
tries up to six names for each, for the different platforms. cffi hands every name to
``ctypes.util.find_library``, which on Linux runs ``ldconfig -p`` and then, for each name
the linker's cache does not hold, ``gcc`` and ``ld``: some two dozen programs, and about
0.2 s before a command's first PDF.

:func:`import_weasyprint` imports it with a lookup that reads the cache once and runs
nothing else. A library found only by the full lookup (a folder named in
``LD_LIBRARY_PATH``, a cache not rebuilt) is still found: the import is then done again,
the standard way.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import subprocess
import sys
from collections.abc import Callable

LDCONFIG = "/sbin/ldconfig"
# The ABI tag ``ldconfig -p`` prints for this machine's libraries (as ctypes.util reads it).
_ABI = {
    "x86_64-64": "libc6,x86-64",
    "ppc64-64": "libc6,64bit",
    "sparc64-64": "libc6,64bit",
    "s390x-64": "libc6,64bit",
    "ia64-64": "libc6,IA-64",
}


def cache_lookup(ldconfig: str = LDCONFIG) -> Callable[[str], str | None]:
    """A ``find_library`` that only reads the linker's cache (``ldconfig -p``, run once)."""
    try:
        listing = subprocess.run(
            [ldconfig, "-p"],
            capture_output=True, env={"LC_ALL": "C", "LANG": "C"}, timeout=30, check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        listing = b""
    bits = "-32" if struct.calcsize("l") == 4 else "-64"
    abi = _ABI.get(os.uname().machine + bits, "libc6")

    def find_library(name: str) -> str | None:
        found = re.search(
            rb"\s+(lib%s\.[^\s]+)\s+\(%s" % (re.escape(name.encode()), abi.encode()), listing
        )
        return os.fsdecode(found.group(1)) if found else None

    return find_library


def import_weasyprint(ldconfig: str = LDCONFIG) -> None:
    """Import WeasyPrint, its libraries looked up in the linker's cache (see the module)."""
    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        import weasyprint  # noqa: F401

        return
    import ctypes.util

    standard = ctypes.util.find_library
    # Replaced for the import only (mypy: a module's function is not meant to be assigned).
    ctypes.util.find_library = cache_lookup(ldconfig)  # type: ignore[assignment]
    try:
        # A library it cannot load makes WeasyPrint print a help text: not for this try.
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint  # noqa: F401
    except OSError:
        for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[name]
        ctypes.util.find_library = standard
        import weasyprint  # noqa: F401
    finally:
        ctypes.util.find_library = standard
