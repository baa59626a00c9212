"""Session report PDFs: parameters, content, privacy, the PDF read back, the CLI.

Real renders are few and shared: one module-scoped fixture renders the demo couple
D004's latest session twice on one warm kernel (without and with reflections).
Everything else checks parameters and content without a kernel.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import pdf_text, reachable_fonts
from pypdf import PdfReader

from mutuality_helpers import config
from mutuality_helpers.cli import main
from mutuality_helpers.exceptions import ParameterError, UnknownCouple, UnknownSession
from mutuality_helpers.formatting import STATUS_LABELS
from mutuality_helpers.instruments import DOMAIN_LABELS, SHARE_DOMAINS
from mutuality_helpers.models import make_answer
from mutuality_helpers.report import (
    PARAMETERS,
    check_namespace,
    check_parameters,
    prepare,
    validate_request,
)
from mutuality_helpers.store import Store
from mutuality_helpers.summary import summarize

COUPLE = "D004"  # chronic repair and feelings, an unagreed burnout season
SESSION = 2
KNOWN_REFLECTION = "I'm exhausted from keeping the peace."
HOSTILE = '<script>alert("x")</script><b>bold</b> & done'
NOTEBOOK_LEAKS = ("In [", "Out[", "Traceback", "import ", "def ", "get_ipython", "report.header",
                  "mutuality_helpers", "prepare(", "papermill", "Error")  # fmt: skip


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, _demo_template):
    """D004 session 2 rendered twice on one kernel: by default, and with reflections."""
    from mutuality_helpers.render import Renderer

    data = tmp_path_factory.mktemp("report") / "data"
    shutil.copytree(_demo_template, data)
    with Store(data) as store:
        # A hostile reflection in the window: it must print as text, never as markup.
        week = store.sessions(COUPLE).iloc[-1]["as_of"].date()
        store.save_answers([make_answer(COUPLE, "B", week, "reflection", HOSTILE)], "test")
        summary = summarize(store, COUPLE, as_of=week)
    params = {"couple_id": COUPLE, "session": SESSION, "data_dir": str(data)}
    with Renderer() as renderer:
        plain = renderer.render(validate_request(params))
        with_reflections = renderer.render(
            validate_request({**params, "include_reflections": True}),
            out=data / "reports" / COUPLE / "with-reflections.pdf",
        )
    return {"data": data, "plain": plain, "reflections": with_reflections, "summary": summary}


# -- the PDF read back ------------------------------------------------------------------------


@pytest.mark.slow
def test_pdf_lands_owner_only_under_the_pseudonymous_id(rendered):
    path = rendered["plain"]
    assert path == config.report_path(COUPLE, SESSION, rendered["data"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert not list(path.parent.glob("*.part")), "a temporary file was left behind"


@pytest.mark.slow
def test_pdf_is_a4_with_several_numbered_pages(rendered):
    reader = PdfReader(rendered["plain"])
    assert 3 <= len(reader.pages) <= 10
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    text = pdf_text(rendered["plain"])
    assert f"Page 1 of {len(reader.pages)}" in text
    assert "Confidential: clinical record" in text


@pytest.mark.slow
def test_pdf_names_the_couple_every_domain_and_the_computed_statuses(rendered):
    text = flat(pdf_text(rendered["plain"]))
    summary = rendered["summary"]
    assert COUPLE in text
    assert "Morgan" in text and "Riley" in text
    for domain in (*SHARE_DOMAINS, "personal_work"):
        assert flat(DOMAIN_LABELS[domain]) in text
    # Each domain's row carries the status that summarize computes.
    for domain in SHARE_DOMAINS:
        label = STATUS_LABELS[summary["domains"][domain]["status"]]
        row = re.search(re.escape(DOMAIN_LABELS[domain]).replace(r"\ ", r"\s+") + r"\s+(\S+)", text)
        assert row is not None and label.startswith(row.group(1)), (domain, label)
    assert summary["domains"]["repair"]["status"] == "chronic"
    assert f"Mutuality index: {summary['mutuality_index']:.0f}" in text
    for alert in summary["alerts"]:
        assert flat(alert["message"])[:60] in text


@pytest.mark.slow
def test_pdf_shows_no_code_prompts_or_tracebacks(rendered):
    for key in ("plain", "reflections"):
        text = pdf_text(rendered[key])
        for leak in NOTEBOOK_LEAKS:
            assert leak not in text, f"{leak!r} in the {key} PDF"


def _xobjects(resources, seen=None):
    seen = set() if seen is None else seen
    xobjects = (resources or {}).get("/XObject") or {}
    for ref in xobjects.values():
        obj = ref.get_object()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        yield from _xobjects(obj.get("/Resources"), seen)


PATH_OPERATOR = re.compile(rb"(?:^|\s)(?:re|l|c|m|h)(?=\s)")


@pytest.mark.slow
def test_charts_are_vector_graphics_not_images(rendered):
    reader = PdfReader(rendered["plain"])
    subtypes = {str(x.get("/Subtype")) for p in reader.pages for x in _xobjects(p["/Resources"])}
    assert "/Image" not in subtypes
    # The page holding the week-by-week chart is drawn with many path operators.
    chart_pages = [p for p in reader.pages if "who carried more" in (p.extract_text() or "")]
    assert chart_pages, "the timeline chart's title is missing"
    ops = 0
    for page in chart_pages:
        ops += len(PATH_OPERATOR.findall(page.get_contents().get_data()))
        ops += sum(len(PATH_OPERATOR.findall(x.get_data())) for x in _xobjects(page["/Resources"]))
    assert ops > 300


CHART_TITLES = (
    "Who is doing the relational lifting?",
    "Do you see it the same way?",
    "Week by week: who carried more",
    "How each of you has been",
    "Is each of you doing your own work?",
)


def test_chart_titles_are_captions_in_the_text_not_drawn_in_the_svg(demo_data_dir):
    import base64

    from mutuality_helpers.report import prepare
    from mutuality_helpers.sections import CHART_ALT

    report = prepare(couple_id=COUPLE, session=SESSION, data_dir=str(demo_data_dir))
    assert [f.title for f in report.figures.values()] == list(CHART_TITLES)
    html = report.charts().data
    for key, figure in report.figures.items():
        svg = base64.b64decode(figure.svg_base64).decode()
        assert figure.title not in svg and figure.subtitle
        assert all(line not in svg for line in figure.subtitle)
        assert f'alt="{CHART_ALT[key]}"' in html
    assert html.count("<figcaption>") == len(CHART_TITLES)


def test_every_chart_title_and_subtitle_reaches_the_pdf_text(rendered):
    text = flat(pdf_text(rendered["plain"]))
    for title in CHART_TITLES:
        assert title in text
    assert "The grey band is within 20 points of 50/50." in text


@pytest.mark.slow
def test_reflections_only_when_asked_and_printed_as_text(rendered):
    plain = flat(pdf_text(rendered["plain"]))
    with_reflections = flat(pdf_text(rendered["reflections"]))
    assert KNOWN_REFLECTION not in plain
    assert "Reflections" not in plain
    assert KNOWN_REFLECTION in with_reflections
    # Markup typed into a reflection shows literally, never interpreted.
    assert HOSTILE in with_reflections
    assert "bold & done" not in plain


# -- parameters (no kernel) --------------------------------------------------------------------


def test_notebook_parameters_cell_matches_the_declared_parameters():
    import nbformat

    nb = nbformat.read(config.NOTEBOOKS_DIR / "session_report.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = re.findall(r"^(\w+)\s*(?::[^=]+)?=", tagged[0].source, flags=re.M)
    assert names == list(PARAMETERS)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code")  # fmt: skip


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"couple_id": "D001", "session": 1, "include_reflection": True},
            "did you mean 'include_reflections'",
        ),
        ({"couple_id": "D001", "sesion": 1}, "did you mean 'session'"),
        ({"couple_id": "D001"}, "session is required"),
        ({"couple_id": "D001", "session": 0}, "session must be"),
        ({"couple_id": "D001", "session": True}, "session must be"),
        ({"couple_id": "D001", "session": 1, "include_reflections": "yes"}, "include_reflections"),
        ({"couple_id": "D001", "session": 1, "paper": "A5"}, "paper must be"),
        ({"couple_id": "D001", "session": 1, "window_weeks": "8"}, "window_weeks"),
        ({"couple_id": "D001", "session": 1, "chronic_weeks": 2}, "drifting_weeks < chronic_weeks"),
        ({"couple_id": "D001", "session": 1, "as_of": "next week"}, "as_of"),
        ({"couple_id": "../etc", "session": 1}, "couple id"),
    ],
)
def test_bad_parameters_are_refused_with_one_line(params, message):
    with pytest.raises(ParameterError) as info:
        check_parameters(params)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_parameters_are_checked_against_the_store(demo_data_dir, demo_store):
    ok = validate_request({"couple_id": "D002", "session": 3, "data_dir": str(demo_data_dir)})
    assert ok.as_of.isoformat() == "2026-11-23" and ok.paper == "A4"
    assert ok.output == demo_data_dir / "reports" / "D002" / "session-3.pdf"
    with pytest.raises(UnknownCouple):
        validate_request({"couple_id": "D999", "session": 1}, demo_store)
    with pytest.raises(UnknownSession):
        validate_request({"couple_id": "D002", "session": 9}, demo_store)
    with pytest.raises(ParameterError, match="no answers up to"):
        validate_request({"couple_id": "D002", "session": 1, "as_of": "2020-01-06"}, demo_store)
    demo_store.add_couple("N001")
    demo_store.add_session("N001", "2026-11-26")
    with pytest.raises(ParameterError, match="nothing to report"):
        validate_request({"couple_id": "N001", "session": 1}, demo_store)


def test_render_report_validates_before_starting_anything(demo_data_dir, monkeypatch):
    from mutuality_helpers import render, render_report

    def no_kernel(*_args, **_kwargs):
        raise AssertionError("a kernel was started for a bad request")

    monkeypatch.setattr(render.ReportKernel, "start", no_kernel)
    with pytest.raises(UnknownSession):
        render_report("D001", 7, demo_data_dir)
    with pytest.raises(ParameterError, match="include_reflections"):
        render_report("D001", 1, demo_data_dir, include_reflection=True)
    assert not config.reports_dir(demo_data_dir).exists()


def test_a_misspelt_data_folder_does_not_grow_a_store(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ParameterError, match="no Mutuality store"):
        validate_request({"couple_id": "D001", "session": 1, "data_dir": str(missing)})
    assert not missing.exists()


def test_the_notebook_refuses_a_stray_injected_name():
    # papermill injects an unknown parameter as a new variable and only warns.
    namespace = {"couple_id": "D001", "session": 1, "In": [], "_": None, "os": os}
    assert check_namespace(namespace) == {"couple_id": "D001", "session": 1}
    with pytest.raises(ParameterError, match="include_reflection'"):
        check_namespace({**namespace, "include_reflection": True})


# -- content (in this process, no kernel) ---------------------------------------------------------


def test_typed_text_is_escaped_everywhere(demo_data_dir, demo_store):
    demo_store.add_couple("D004", name_a="<i>Morgan</i>")
    demo_store.update_session("D004", 2, notes=HOSTILE, agreements="a <b>bold</b> promise")
    report = prepare(couple_id="D004", session=2, data_dir=str(demo_data_dir), paper="letter")
    markup = "".join(
        getattr(report, section)().data
        for section in ("header", "mutuality", "alerts", "charts", "seasons", "agreements",
                        "personal_work", "reflections", "method")
    )  # fmt: skip
    assert "<script>" not in markup and "<b>bold</b>" not in markup and "<i>Morgan" not in markup
    assert "&lt;script&gt;" in markup and "&lt;i&gt;Morgan&lt;/i&gt;" in markup
    assert "size: letter" in report.header().data
    # Charts are embedded as SVG (vectors), never as JavaScript or PNG.
    assert report.charts().data.count("data:image/svg+xml;base64,") == 5
    assert "<script" not in report.charts().data


# -- the warm kernel -----------------------------------------------------------------------------


def kernel_prints(kernel, code: str) -> str:
    """What ``code`` prints when run in ``kernel``."""
    printed = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    kernel.kc.execute_interactive(code, timeout=30, output_hook=hook)
    return "".join(printed)


@pytest.mark.slow
def test_kernel_reset_forgets_the_last_report_and_stop_leaves_nothing():
    from mutuality_helpers.engine import ReportKernel

    with ReportKernel(preload=False) as kernel:
        kernel.wait_ready()
        folder, process = kernel._folder, kernel.km.provisioner.process
        assert folder.stat().st_mode & 0o777 == 0o700
        kernel.kc.execute_interactive("couple_id = 'C001'; import json", timeout=30)
        kernel.reset()
        printed = kernel_prints(
            kernel, "print('couple_id' in globals(), 'json' in globals(), len(Out))"
        )
    assert printed == "False False 0\n"
    assert not folder.exists()
    assert process.poll() is not None, "the kernel process outlived its manager"


@pytest.mark.slow
def test_a_preloaded_kernel_has_its_imports_frozen():
    from mutuality_helpers.engine import ReportKernel

    with ReportKernel() as kernel:
        kernel.wait_ready()
        printed = kernel_prints(
            kernel,
            "import gc as _gc, sys as _sys; "
            "print(_gc.get_freeze_count() > 10_000, 'vl_convert' in _sys.modules, 'gc' in dir())",
        )
    assert printed == "True True False\n"


def test_the_report_kernel_draws_charts_without_the_system_liberation_sans():
    from mutuality_helpers.engine import ReportKernel

    with ReportKernel(preload=False) as kernel:
        kernel.wait_ready()
        printed = kernel_prints(kernel, "import os; print(os.environ['FONTCONFIG_FILE'])")
        config = Path(printed.strip())
        assert config.parent == kernel._folder
        fonts = reachable_fonts(config)
    assert fonts and not any(name.endswith("LiberationSans-Regular.ttf") for name in fonts)
    assert not config.exists()  # removed with the kernel's folder


@pytest.mark.slow
def test_a_kernel_that_cannot_preload_says_why(monkeypatch):
    from mutuality_helpers import engine as kernel_module
    from mutuality_helpers.exceptions import ReportError

    monkeypatch.setattr(kernel_module, "PRELOAD", "import no_such_module  # {unused}")
    with kernel_module.ReportKernel() as kernel, pytest.raises(ReportError) as info:
        kernel.wait_ready(timeout=60)
    assert "ModuleNotFoundError" in str(info.value) and "no_such_module" in str(info.value)


# -- atomic writes -------------------------------------------------------------------------------


def test_a_failed_print_leaves_no_file(tmp_path, monkeypatch):
    import weasyprint

    from mutuality_helpers.pdf import write_pdf

    class Broken:
        def __init__(self, **_):
            pass

        def write_pdf(self, target, **_):
            target.write(b"%PDF-half")
            raise RuntimeError("disk full")

    monkeypatch.setattr(weasyprint, "HTML", Broken)
    out = tmp_path / "reports" / "X1" / "session-1.pdf"
    with pytest.raises(RuntimeError):
        write_pdf("<p>x</p>", out)
    assert list(out.parent.iterdir()) == []


# -- command line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "D999", "--session", "1"], "no couple 'D999'"),
        (["report", "D001", "--session", "9"], "has no session 9"),
        (["report", "D001", "--session", "1", "--as-of", "2020-01-06"], "no answers up to"),
        (["report", "D001", "--session", "1", "--as-of", "soon"], "as_of"),
        (["report", "D001", "--session", "1", "--paper", "A5"], "A5"),
        (["report", "--session", "1"], "name a couple"),
        (["report", "--all", "--session", "1"], "leave out --session"),
    ],
)
def test_report_command_refuses_bad_requests_and_writes_nothing(
    demo_data_dir, capsys, args, message
):
    code = main([*args, "--data", str(demo_data_dir)])
    err = capsys.readouterr().err
    assert code != 0
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not config.reports_dir(demo_data_dir).exists() or not any(
        config.reports_dir(demo_data_dir).rglob("*.pdf")
    )


def test_all_renders_only_due_sessions(demo_data_dir, demo_store):
    every = demo_store.due_sessions()
    assert len(every) == len(demo_store.sessions())
    done = config.report_path("D001", 1, demo_data_dir)
    config.private_dir(done.parent)
    done.write_bytes(b"%PDF")
    assert not demo_store.report_is_current("D001", 1)  # a file alone is not a report
    demo_store.record_report("D001", 1, demo_store.change_count("D001"), done)
    assert demo_store.report_is_current("D001", 1)
    assert ("D001", 1) not in demo_store.due_sessions()
    assert ("D001", 1) in demo_store.due_sessions(force=True)
    # File times decide nothing: a PDF dated far in the future is due after a change...
    os.utime(done, (4_000_000_000, 4_000_000_000))
    demo_store.record_report("D001", 1, demo_store.change_count("D001"), done)
    demo_store.save_answers([make_answer("D001", "A", "2026-11-23", "energy", 1)], "test")
    assert ("D001", 1) in demo_store.due_sessions(["D001"])
    # ...and a PDF replaced by another file (a copy put back by hand) is due too.
    demo_store.record_report("D001", 1, demo_store.change_count("D001"), done)
    done.write_bytes(b"%PDF another")
    assert ("D001", 1) in demo_store.due_sessions(["D001"])
    assert not demo_store.report_is_current("D001", 1)
    done.unlink()
    assert ("D001", 1) in demo_store.due_sessions(["D001"])
    assert not demo_store.report_is_current("D001", 99)  # no such session: no current report


@pytest.mark.slow
def test_all_with_two_jobs_renders_in_parallel_and_prints_paths(demo_data_dir, capsys):
    code = main(["report", "D005", "--all", "--jobs", "2", "--data", str(demo_data_dir)])
    out, err = capsys.readouterr()
    paths = [Path(line) for line in out.splitlines()]
    assert code == 0, err
    assert paths == [config.report_path("D005", n, demo_data_dir) for n in (1, 2)]
    assert all(p.stat().st_size > 10_000 for p in paths)
    assert "reports" in err and "2/2" in err  # the progress bar, on stderr
    assert "D005" in pdf_text(paths[1])


# -- everything typed is printed: long unbroken runs, every script, emoji --------------------

MIXED = "Ελληνικά Русский עברית العربية हिन्दी 中文 日本語 한국어 ไทย 😀🙏🌱"
UNBROKEN = "".join(chr(ord("a") + i % 26) for i in range(3000))  # no space to break at
URL = "https://example.org/" + "path/" * 120 + "?q=" + "x" * 200


def _glyphs(text: str) -> str:
    # PDF text extraction puts line breaks where the text wrapped: compare without white space.
    return re.sub(r"\s+", "", text)


def body_text(path: Path) -> str:
    """The text a reader sees: poppler's pdftotext keeps only what lies on the page (pypdf
    would also return a run that overflows the page edge), without the page furniture
    (running title, footer) that a page break puts in the middle of a long run."""
    shown = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    # -layout keeps each running title and footer on one line of its own.
    furniture = re.compile(r"^\s*(Session report: .*Mutuality Workbook|Confidential: .*)$")
    return "\n".join(line for line in shown.stdout.splitlines() if not furniture.match(line))


@pytest.mark.slow
def test_long_unbroken_and_mixed_script_text_prints_whole(demo_data_dir, demo_store):
    from mutuality_helpers.render import render_report

    week = demo_store.sessions(COUPLE).iloc[-1]["as_of"].date()
    demo_store.add_couple(COUPLE, "Ana 😀", "李 Ben")
    demo_store.save_answers(
        [
            make_answer(COUPLE, "A", week, "reflection", UNBROKEN),
            make_answer(COUPLE, "B", week, "reflection", MIXED),
        ],
        "test",
    )
    demo_store.update_session(COUPLE, SESSION, notes=URL, agreements=UNBROKEN[:500])
    path = render_report(COUPLE, SESSION, data=demo_data_dir, include_reflections=True)
    text = _glyphs(body_text(path))
    for typed in (UNBROKEN, URL, UNBROKEN[:500], "Ana😀", "李Ben"):
        assert _glyphs(typed) in text, f"lost from the PDF: {typed[:40]}..."
    # Complex scripts come back from text extraction in visual, not logical, order (the
    # Devanagari vowel sign i precedes its consonant): every character must be there.
    for ch in _glyphs(MIXED):
        assert ch in text, f"{ch!r} (U+{ord(ch):04X}) is missing from the PDF"
    # A glyph the fonts lack would be embedded as .notdef: every font used must be one we ship.
    fonts = {
        str(font["/BaseFont"]).split("+", 1)[-1]
        for page in PdfReader(path).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert all(f.startswith(("Liberation", "DejaVu", "Noto")) for f in fonts), fonts
    # Without the Noto fonts, Pango draws emoji, CJK, Devanagari and Thai as empty
    # boxes: each script must have come from a font that has it.
    for script_font in (
        "Noto-Color-Emoji",
        "Noto-Sans-CJK",
        "Noto-Sans-Devanagari",
        "Noto-Sans-Thai",
    ):
        assert any(f.startswith(script_font) for f in fonts), (script_font, fonts)
