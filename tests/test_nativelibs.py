import json
import os
import subprocess
import sys

import pytest

from mutuality_helpers.nativelibs import cache_lookup

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux lookup")

# Imports WeasyPrint the given way; prints the programs it ran, and what it printed itself.
PROGRAMS_RUN = """
import contextlib, io, json, subprocess, sys
ran = []
popen_init = subprocess.Popen.__init__
def recording(self, args, *a, **k):
    ran.append(args[0] if isinstance(args, (list, tuple)) else args)
    popen_init(self, args, *a, **k)
subprocess.Popen.__init__ = recording
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    exec(sys.argv[1])
import weasyprint
print(json.dumps([ran, printed.getvalue(), callable(weasyprint.HTML)]))
"""


def programs_run(code):
    out = subprocess.run(
        [sys.executable, "-c", PROGRAMS_RUN, code],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_weasyprint_loads_with_one_look_at_the_linker_cache():
    ran, printed, usable = programs_run(
        "from mutuality_helpers.nativelibs import import_weasyprint; import_weasyprint()"
    )
    assert ran == ["/sbin/ldconfig"] and printed == "" and usable
    # The standard lookup, for comparison: a compiler and a linker per name not in the cache.
    ran, _, _ = programs_run("import weasyprint")
    assert any(os.path.basename(program) in ("gcc", "cc", "ld") for program in ran), ran


def test_weasyprint_loads_by_its_sonames_when_the_cache_cannot_be_read():
    ran, printed, usable = programs_run(
        "from mutuality_helpers.nativelibs import import_weasyprint\n"
        "import_weasyprint(ldconfig='/nonexistent/ldconfig')"
    )
    assert ran == ["/nonexistent/ldconfig"] and printed == "" and usable


# The quick try fails to load any library; the standard one can.
QUICK_TRY_FAILS = """
import cffi, ctypes.util
standard, dlopen = ctypes.util.find_library, cffi.FFI.dlopen
def failing(self, name, flags=0):
    if ctypes.util.find_library is not standard:
        raise OSError("not in the quick try")
    return dlopen(self, name, flags)
cffi.FFI.dlopen = failing
from mutuality_helpers.nativelibs import import_weasyprint
import_weasyprint()
"""


def test_a_library_the_quick_try_misses_is_found_the_standard_way():
    ran, printed, usable = programs_run(QUICK_TRY_FAILS)
    assert usable
    assert printed == ""  # WeasyPrint's help text from the failed try is not shown
    assert any(os.path.basename(program) in ("gcc", "cc", "ld") for program in ran), ran


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the listing below is x86-64's")
def test_the_cache_lookup_reads_ldconfig_once_and_matches_the_abi(tmp_path):
    listing = tmp_path / "ldconfig"
    listing.write_text(
        "#!/bin/sh\n"
        "echo '3 libs found in cache'\n"
        "echo '\tlibpango-1.0.so.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libpango-1.0.so.0'\n"
        "echo '\tlibfontconfig.so.1 (libc6) => /lib/i386-linux-gnu/libfontconfig.so.1'\n"
        f"echo ran >> {tmp_path / 'runs'}\n"
    )
    listing.chmod(0o755)
    find = cache_lookup(str(listing))
    assert find("pango-1.0") == "libpango-1.0.so.0"
    assert find("fontconfig") is None  # a 32-bit library is no use to this Python
    assert find("libpango-1.0-0") is None and find("pango") is None
    assert (tmp_path / "runs").read_text() == "ran\n"
