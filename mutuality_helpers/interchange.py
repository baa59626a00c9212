"""The interchange CSV: import and export of answers, seasons and couples.

Three kinds of file, told apart by their header:

- answers: ``couple_id,partner,week,item,value``
- seasons: ``couple_id,partner,reason,start,planned_end,agreed,note``
- couples: ``couple_id,name_a,name_b`` (display names, which the other two cannot carry)

A file with any bad row is rejected whole: every bad row is named with its line
number and reason, and nothing is written. A row is rejected here for its shape (field
count, a contradiction with an earlier row) and in :mod:`~mutuality_helpers.models` for
its values. Export writes the same formats, so export then import round-trips.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import config
from .exceptions import ImportRejected, MutualityError, ValidationError
from .models import Answer, CoupleNames, Season, make_answer, make_couple, make_season
from .scratch import scratch_prefix
from .store import Store

ANSWER_HEADER = ("couple_id", "partner", "week", "item", "value")
SEASON_HEADER = ("couple_id", "partner", "reason", "start", "planned_end", "agreed", "note")
COUPLE_HEADER = ("couple_id", "name_a", "name_b")
HEADERS = {"answers": ANSWER_HEADER, "seasons": SEASON_HEADER, "couples": COUPLE_HEADER}
# Files longer than this show a progress bar while they are checked.
PROGRESS_FROM_ROWS = 20_000


@dataclass
class ParsedFile:
    """A checked file: its kind and its validated rows, nothing written yet."""

    path: str
    kind: str
    answers: list[Answer] = field(default_factory=list)
    seasons: list[Season] = field(default_factory=list)
    couples: list[CoupleNames] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.answers) + len(self.seasons) + len(self.couples)

    def couple_ids(self) -> set[str]:
        records: list[Answer | Season | CoupleNames] = [*self.answers, *self.seasons]
        return {r.couple_id for r in [*records, *self.couples]}


def _rows_with_lines(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Yield each record with the line number it starts on (quoted newlines span lines)."""
    line = reader.line_num + 1
    for record in reader:
        yield line, record
        line = reader.line_num + 1


def parse_csv(path: str | os.PathLike, text: str | None = None) -> ParsedFile:
    """Read and validate one interchange file.

    Raises
    ------
    ImportRejected
        Naming every bad row with its line number and reason.
    """
    name = str(path)
    if text is None:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise MutualityError(f"{name}: cannot be read ({exc.strerror})") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise ImportRejected(name, [(line, "not UTF-8 text")]) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportRejected(name, [(line, "contains a NUL byte (is this a CSV file?)")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRejected(name, [(1, "the file is empty; a header row is required")]) from None
    except csv.Error as exc:
        raise ImportRejected(name, [(1, f"unreadable CSV: {exc}")]) from None
    header_t = tuple(h.strip() for h in header)
    kind = next((k for k, h in HEADERS.items() if h == header_t), None)
    if kind is None:
        expected = " | ".join(",".join(h) for h in HEADERS.values())
        raise ImportRejected(
            name, [(1, f"unknown header {','.join(header_t)[:80]!r}; expected one of: {expected}")]
        )
    parsed = ParsedFile(path=name, kind=kind)
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[Any, ...], tuple[int, str]] = {}
    width = len(HEADERS[kind])
    rows = _rows_with_lines(reader)
    total = text.count("\n")
    with tqdm(
        total=total, desc=f"checking {Path(name).name}", unit="line", file=sys.stderr,
        disable=total < PROGRESS_FROM_ROWS, leave=False,
    ) as bar:  # fmt: skip
        while True:
            try:
                line, record = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                problems.append((reader.line_num, f"unreadable CSV: {exc}"))
                break
            bar.update(1)
            if not any(cell.strip() for cell in record):
                continue  # blank lines are harmless
            if len(record) != width:
                problems.append((line, f"expected {width} fields, found {len(record)}"))
                continue
            try:
                key, value = _parse_row(kind, record, parsed)
            except ValidationError as exc:
                problems.append((line, str(exc)))
                continue
            if key in seen and seen[key][1] != value:
                problems.append((line, f"contradicts line {seen[key][0]} (same {kind[:-1]} key)"))
            seen.setdefault(key, (line, value))
    if problems:
        raise ImportRejected(name, problems)
    return parsed


def _parse_row(kind: str, record: list[str], parsed: ParsedFile) -> tuple[tuple[Any, ...], str]:
    """Validate one record into ``parsed``; return its identity key and its value."""
    key: tuple[Any, ...]
    if kind == "answers":
        answer = make_answer(*record)
        parsed.answers.append(answer)
        key = (answer.couple_id, answer.partner, answer.week, answer.item)
        return key, answer.value
    if kind == "seasons":
        season = make_season(*record)
        parsed.seasons.append(season)
        key = (season.couple_id, season.partner, season.reason, season.start)
        return key, repr((season.planned_end, season.agreed, season.note))
    couple = make_couple(*record)
    parsed.couples.append(couple)
    return (couple.couple_id,), repr((couple.name_a, couple.name_b))


@dataclass
class ImportResult:
    files: list[ParsedFile]
    counts: dict[str, int]
    created: list[str]


def import_files(
    store: Store, paths: Iterable[str | os.PathLike], parsed: list[ParsedFile] | None = None
) -> ImportResult:
    """Check every file, then write them all in one transaction (or nothing at all).

    ``parsed``: the files already checked with :func:`parse_csv` (not read again).

    Raises
    ------
    ImportRejected
        For the first file with bad rows; nothing from any file is written.
    """
    if parsed is None:
        parsed = [parse_csv(p) for p in paths]
    known = set(store.couple_ids())
    created = sorted(set().union(*(p.couple_ids() for p in parsed)) - known)

    counts: dict[str, int] = {}
    with store.atomic():
        for p in parsed:
            source = f"import:{Path(p.path).name}"
            if p.kind == "answers":
                part = store.save_answers(p.answers, source)
            elif p.kind == "seasons":
                part = store.save_seasons(p.seasons, source)
            else:
                for c in p.couples:
                    store.add_couple(c.couple_id, c.name_a, c.name_b)
                part = {"couples_named": len(p.couples)}
            for couple_id in sorted(p.couple_ids()):
                store.record_access("import", couple_id, f"{p.kind} from {Path(p.path).name}")
            part.pop("couples_created", None)
            for k, v in part.items():
                key = k if p.kind == "couples" else f"{p.kind}_{k}"
                counts[key] = counts.get(key, 0) + v
    return ImportResult(files=parsed, counts=counts, created=created)


def _write_private_csv(path: Path, header: tuple[str, ...], rows: Iterable[Iterable[Any]]) -> None:
    """Write one CSV owner-only, whole or not at all (a temporary file renamed into place).

    Renaming also means a symbolic link at ``path`` is replaced, never written through.
    """
    if not path.parent.is_dir():
        config.private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=scratch_prefix(path.name), suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, config.PRIVATE_FILE_MODE)
        with open(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _terminal_safe(rows: Iterable[list[str]]) -> Iterator[list[str]]:
    """Rows for a terminal: control and bidi characters escaped (a file keeps them exact)."""
    from .formatting import printable

    for row in rows:
        yield [printable(cell) for cell in row]


def answer_rows(store: Store, couple_id: str) -> list[list[str]]:
    frame = store.answers(couple_id)
    return [
        [r.couple_id, r.partner, r.week.date().isoformat(), r.item, r.value]
        for r in frame.itertuples(index=False)
    ]


def season_rows(store: Store, couple_id: str) -> list[list[str]]:
    frame = store.seasons(couple_id)
    return [
        [
            r.couple_id,
            r.partner,
            r.reason,
            r.start.date().isoformat(),
            r.planned_end.date().isoformat(),
            "true" if r.agreed else "false",
            r.note,
        ]  # fmt: skip
        for r in frame.itertuples(index=False)
    ]


def export_couple(store: Store, couple_id: str, out: str | os.PathLike | None) -> list[Path]:
    """Export a couple's answers (and seasons and display names) in the interchange format.

    With ``out``, answers go to ``out``, seasons to ``<stem>-seasons.csv`` and names to
    ``<stem>-couple.csv`` beside it, all owner-only; returns the paths written. Without
    ``out``, the answers are written to stdout and nothing is returned.
    """
    couple_id = store.require_couple(couple_id)
    store.record_access("export", couple_id, "to stdout" if out is None else f"to {Path(out).name}")
    answers = answer_rows(store, couple_id)
    if out is None:
        # On a terminal an escape sequence in a reflection would act on it; a pipe or a
        # redirect gets the exact text (what import reads back).
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(ANSWER_HEADER)
        writer.writerows(_terminal_safe(answers) if sys.stdout.isatty() else answers)
        return []
    out = Path(out)
    seasons = season_rows(store, couple_id)
    seasons_path = out.with_name(f"{out.stem}-seasons.csv")
    names_path = out.with_name(f"{out.stem}-couple.csv")
    # Every file this export may write is checked before the first is written.
    for path in (out, seasons_path, names_path):
        config.refuse_owned(path, store.data_dir)
    written = [out]
    _write_private_csv(out, ANSWER_HEADER, answers)
    if seasons:
        _write_private_csv(seasons_path, SEASON_HEADER, seasons)
        written.append(seasons_path)
    # The names as stored: get_couple would fill in "Partner A/B" for missing ones.
    raw_names = store.couples().set_index("couple_id").loc[couple_id]
    if raw_names["name_a"] or raw_names["name_b"]:
        _write_private_csv(
            names_path, COUPLE_HEADER, [[couple_id, raw_names["name_a"], raw_names["name_b"]]]
        )
        written.append(names_path)
    return written
