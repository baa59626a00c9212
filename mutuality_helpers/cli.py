"""The ``mutuality`` command line.

Every command takes ``--data DIR`` (else ``MUTUALITY_DATA``, else the checkout's
``data/``). Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import config
from .exceptions import MutualityError
from .store import Store

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def data_option(command: Callable) -> Callable:
    """Add ``--data DIR`` to a command and hand it an open :class:`Store` as ``store``."""

    @click.option(
        "--data",
        "data",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data folder (default: $MUTUALITY_DATA, else the checkout's data/).",
    )
    @functools.wraps(command)
    def wrapper(data: Path | None, **kwargs: Any) -> Any:
        with Store(data) as store:
            return command(store=store, **kwargs)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mutuality-workbook")
def cli() -> None:
    """Mutuality Workbook: who does the relational lifting, week by week."""


@cli.command()
@data_option
def demo(store: Store) -> None:
    """Seed the synthetic demo couples (idempotent) and print a summary line."""
    from .demo import load_demo

    counts = load_demo(store)
    couples = store.couples()
    demo_ids = couples[couples["couple_id"].str.startswith("D")]
    click.echo(
        f"demo: {len(demo_ids)} couples, {int(demo_ids['weeks_answered'].sum())} couple-weeks "
        f"in {store.path or store.url} ({counts.get('answers_added', 0)} answers added, "
        f"{counts.get('sessions_added', 0)} sessions added)"
    )


@cli.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@data_option
def import_(store: Store, files: tuple[Path, ...]) -> None:
    """Import interchange CSV files (answers, seasons or couples); all or nothing."""
    from .interchange import import_files

    result = import_files(store, files)
    for parsed in result.files:
        click.echo(f"{parsed.path}: {parsed.kind}, {parsed.rows} row(s) checked")
    counts = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in result.counts.items())
    click.echo(f"imported: {counts}")
    if result.created:
        click.echo(f"new couples: {', '.join(result.created)}")


@cli.command()
@click.argument("couple")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="CSV file to write.")
@data_option
def export(store: Store, couple: str, out: Path | None) -> None:
    """Export a couple's answers (and seasons, names) as interchange CSV."""
    from .interchange import export_couple

    for path in export_couple(store, couple, out):
        click.echo(f"wrote {path}", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@data_option
def couples(store: Store, as_json: bool) -> None:
    """List every couple: display names, weeks answered, last answer."""
    frame = store.couples()
    frame["last_answer"] = frame["last_answer"].dt.strftime("%Y-%m-%d").fillna("-")
    if as_json:
        click.echo(json.dumps(frame.to_dict(orient="records"), indent=2))
        return
    if frame.empty:
        click.echo("no couples yet (try: mutuality demo, or mutuality import FILE)")
        return
    click.echo(f"{'couple':<10} {'partner A':<16} {'partner B':<16} {'weeks':>5}  last answer")
    for r in frame.itertuples(index=False):
        click.echo(
            f"{r.couple_id:<10} {r.name_a or '-':<16} {r.name_b or '-':<16} "
            f"{r.weeks_answered:>5}  {r.last_answer}"
        )


@cli.command()
@click.argument("couple")
@click.option("--date", "date", required=True, help="Session date, YYYY-MM-DD.")
@click.option("--notes", default="", help="Session notes.")
@click.option("--agreements", default="", help="Agreements for the coming weeks.")
@data_option
def session(store: Store, couple: str, date: str, notes: str, agreements: str) -> None:
    """Record the couple's next session."""
    from .store import session_week

    number = store.add_session(couple, date, notes, agreements)
    click.echo(f"{couple}: session {number} on {date} (judged as of week {session_week(date)})")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every error into one line on stderr."""
    try:
        code = cli.main(args=argv, prog_name="mutuality", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("mutuality: aborted", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" (see: {exc.ctx.command_path} --help)"
        click.echo(f"mutuality: {exc.format_message()}{hint}".replace("\n", " "), err=True)
        return exc.exit_code
    except MutualityError as exc:
        click.echo(f"mutuality: {exc}".replace("\n", " "), err=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("mutuality: interrupted", err=True)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 -- the promise is: never a traceback
        click.echo(
            f"mutuality: internal error: {type(exc).__name__}: {exc}".replace("\n", " "), err=True
        )
        return EXIT_INTERNAL
    # --help and --version come back as an exit code; commands return None.
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
