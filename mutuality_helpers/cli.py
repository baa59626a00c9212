"""The ``mutuality`` command line.

Every command takes ``--data DIR`` (else ``MUTUALITY_DATA``, else the checkout's
``data/``, or the user data folder outside a checkout: see :mod:`.config`). Errors
are one line on stderr and a non-zero exit, never a traceback.

Who runs a command (``--as NAME``, else ``JUPYTERHUB_USER``, else the login name, checked
against ``<data>/users.yaml``: see :mod:`.roles`) decides which couples it shows; every
command that reads or writes a couple's clinical data leaves an entry in the audit trail.

Only click and the package's light modules are imported up front; each command imports
what it needs (pandas, SQLAlchemy, the report machinery) when it runs, so ``mutuality
--help`` answers at once (``benchmarks/bench_cli.py`` measures it).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import config
from .exceptions import MutualityError
from .formatting import printable

if TYPE_CHECKING:
    from .store import Store

EXIT_ERROR = 1
# Usage errors keep click's own exit code (2).
EXIT_INTERNAL = 3


DATA_OPTION = click.option(
    "--data",
    "data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder (default: $MUTUALITY_DATA, else the checkout's data/, else the user "
    "data folder, e.g. ~/.local/share/mutuality-workbook).",
)


def _use_store(_ctx: click.Context, _param: click.Parameter, url: str | None) -> None:
    # Through the environment: the kernels, report workers and servers a command starts
    # open the same store.
    if url:
        import os

        os.environ[config.STORE_ENV] = config.store_url(url) or url


STORE_OPTION = click.option(
    "--store",
    "store_url",
    metavar="URL",
    default=None,
    expose_value=False,
    is_eager=True,
    callback=_use_store,
    help="A PostgreSQL server for the store, e.g. postgresql://therapist@db.example/practice "
    "(default: $MUTUALITY_STORE, else workbook.sqlite in the data folder).",
)


def _given_data(data: Path | None) -> Path | None:
    """``--data``, else the enclosing group's (``mutuality alerts --data DIR seen 3``)."""
    if data is None:
        data = (click.get_current_context().obj or {}).get("data")
    return data


def data_option(command: Callable | None = None, *, create: bool = False) -> Callable:
    """Add ``--data DIR`` to a command and hand it an open :class:`Store` as ``store``.

    Only the commands that bring data in (``demo``, ``import``) pass ``create=True``; the
    others refuse a folder without a store, so a misspelt ``--data`` creates nothing.
    """

    def decorate(command: Callable) -> Callable:
        @DATA_OPTION
        @STORE_OPTION
        @functools.wraps(command)
        def wrapper(data: Path | None, **kwargs: Any) -> Any:
            from .store import Store

            with Store(_given_data(data), create=create) as store:
                return command(store=store, **kwargs)

        return wrapper

    return decorate if command is None else decorate(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mutuality-workbook")
@click.option(
    "--as",
    "as_user",
    default=None,
    metavar="NAME",
    help="Act as NAME of <data>/users.yaml (default: $JUPYTERHUB_USER, else your login name).",
)
def cli(as_user: str | None) -> None:
    """Mutuality Workbook: who does the relational lifting, week by week."""
    from .roles import AS_ENV

    if as_user is not None:
        # In the environment, so the report kernels and workers this command starts act as
        # NAME too; checked against users.yaml when the store is opened.
        os.environ[AS_ENV] = as_user


@cli.command()
@data_option(create=True)
def demo(store: Store) -> None:
    """Seed the synthetic demo couples (idempotent), render a demo report, print its path."""
    from .demo import demo_couple_ids, demo_report, load_demo

    counts = load_demo(store)
    couples = store.couples()
    # By the demo's own ids: a practice's real couple may well be called D-something.
    demo_ids = couples[couples["couple_id"].isin(demo_couple_ids())]
    click.echo(
        f"demo: {len(demo_ids)} couples, {int(demo_ids['weeks_answered'].sum())} couple-weeks "
        f"in {store.where} ({counts.get('answers_added', 0)} answers added, "
        f"{counts.get('sessions_added', 0)} sessions added)"
    )
    click.echo(demo_report(store))


@cli.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@DATA_OPTION
def import_(files: tuple[Path, ...], data: Path | None) -> None:
    """Import interchange CSV files (answers, seasons or couples); all or nothing."""
    from .interchange import import_files, parse_csv
    from .store import Store

    # Checked before the store is opened: a rejected file creates no store in a new folder.
    checked = [parse_csv(p) for p in files]
    with Store(data, create=True) as store:
        result = import_files(store, files, checked)
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
    # Plain rows, no frame: listing the couples needs no pandas (a fast command).
    rows = [{**r, "last_answer": r["last_answer"] or "-"} for r in store.couple_rows()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no couples yet (try: mutuality demo, or mutuality import FILE)")
        return
    click.echo(f"{'couple':<10} {'partner A':<16} {'partner B':<16} {'weeks':>5}  last answer")
    for r in rows:
        click.echo(
            f"{r['couple_id']:<10} {printable(r['name_a']) or '-':<16} "
            f"{printable(r['name_b']) or '-':<16} {r['weeks_answered']:>5}  {r['last_answer']}"
        )


@cli.command()
@click.argument("couple")
@click.option("--date", "date", default=None, help="Session date, YYYY-MM-DD.")
@click.option("--notes", default=None, help="Session notes.")
@click.option("--agreements", default=None, help="Agreements for the coming weeks.")
@click.option(
    "--edit",
    "edit",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Change session N (its --date, --notes, --agreements); the old version is kept.",
)
@click.option(
    "--delete",
    "delete",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Delete session N (kept in the history; its number is not reused).",
)
@click.option(
    "--same-day",
    is_flag=True,
    help="Record (or move) a session on a date that already has one: a second that day.",
)
@click.option("--yes", is_flag=True, help="With --delete: do not ask for confirmation.")
@data_option
def session(
    store: Store,
    couple: str,
    date: str | None,
    notes: str | None,
    agreements: str | None,
    edit: int | None,
    delete: int | None,
    same_day: bool,
    yes: bool,
) -> None:
    """Record the couple's next session, or edit (--edit N) or delete (--delete N) one."""
    from .exceptions import DuplicateSession
    from .formatting import long_day

    if edit is not None and delete is not None:
        raise click.UsageError("--edit and --delete: one at a time")
    if delete is not None:
        if date is not None or notes is not None or agreements is not None:
            raise click.UsageError("--delete takes no --date, --notes or --agreements")
        old = store.session(couple, delete)
        if not yes:
            click.confirm(
                f"Delete session {delete} of {couple} ({long_day(old['date'])})? "
                "It is kept in the history (mutuality sessions COUPLE --history).",
                abort=True,
            )
        store.delete_session(couple, delete, source="command line")
        click.echo(f"{couple}: deleted session {delete} (kept in the history)")
        return
    try:
        if edit is not None:
            if date is None and notes is None and agreements is None:
                raise click.UsageError("--edit N needs --date, --notes or --agreements")
            changed = store.edit_session(
                couple, edit, date, notes, agreements, same_day, source="command line"
            )
            row = store.session(couple, edit)
            what = "changed" if changed else "unchanged (nothing differs)"
            click.echo(
                f"{couple}: session {edit} {what}, on {row['date'].date()} "
                f"(judged as of week {row['as_of'].date()})"
            )
            return
        if date is None:
            raise click.UsageError("recording a session needs --date DATE")
        number = store.add_session(couple, date, notes or "", agreements or "", same_day)
    except DuplicateSession as exc:
        raise DuplicateSession(
            f"{exc}; add --same-day to have two sessions that day",
            exc.couple_id,
            exc.number,
            exc.date,
        ) from None
    week = store.session_week(couple, date)
    click.echo(f"{couple}: session {number} on {date} (judged as of week {week})")


@cli.command()
@click.argument("couple")
@click.option(
    "--history", is_flag=True, help="Also every earlier version and every deleted session."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
@data_option
def sessions(store: Store, couple: str, history: bool, as_json: bool) -> None:
    """List the couple's sessions: number, date, judged week, notes and agreements."""
    couple = store.require_couple(couple)
    current = store.sessions(couple)
    rows = [
        {
            "number": int(r.number),
            "date": r.date.date().isoformat(),
            "as_of": r.as_of.date().isoformat(),
            "notes": r.notes,
            "agreements": r.agreements,
        }
        for r in current.itertuples(index=False)
    ]
    past = []
    if history:
        past = [
            {
                "number": int(r.number),
                "change": r.change,
                "changed_at": r.changed_at,
                "source": r.source,
                "date": r.date.date().isoformat(),
                "notes": r.notes,
                "agreements": r.agreements,
                "saved_at": r.saved_at,
            }
            for r in store.session_history(couple).itertuples(index=False)
        ]
    store.record_access("sessions", couple, "listed, with history" if history else "listed")
    if as_json:
        shown: dict[str, Any] = {"sessions": rows}
        if history:
            shown["history"] = past
        click.echo(json.dumps(shown, indent=2))
        return
    if not rows:
        click.echo(f"{couple}: no sessions (record one: mutuality session {couple} --date DATE)")
    for r in rows:
        click.echo(f"session {r['number']}  {r['date']}  judged as of week {r['as_of']}")
        for name in ("notes", "agreements"):
            if r[name]:
                click.echo(printable(f"    {name}: {r[name]}"))
    if history:
        from .formatting import long_time

        click.echo(f"history ({len(past)} earlier version(s) and deletion(s), oldest first):")
        for h in past:
            what = "deleted" if h["change"] == "deleted" else "replaced"
            click.echo(
                f"session {h['number']}  {what} {long_time(h['changed_at'])} ({h['source']}); "
                f"it was: {h['date']}"
            )
            for name in ("notes", "agreements"):
                if h[name]:
                    click.echo(printable(f"    {name}: {h[name]}"))


@cli.command()
@click.argument("couple")
@click.option("--partner", required=True, help="A or B: whose worksheet.")
@click.option("--week", default=None, help="The week to answer (its Monday, YYYY-MM-DD).")
@click.option(
    "--form",
    "instrument",
    type=click.Choice(["weekly_checkin", "mutuality_inventory"]),
    default="weekly_checkin",
    show_default=True,
    help="Which worksheet.",
)
@data_option
def worksheet(store: Store, couple: str, partner: str, week: str | None, instrument: str) -> None:
    """Write a partner's personalised worksheet notebook into <data>/worksheets/."""
    from .worksheets import write_worksheet

    click.echo(write_worksheet(store, couple, partner, week, instrument))


def serve_limit(name: str, help: str, metavar: str | None = None) -> Callable:
    """A numeric ``serve`` option with ServeOptions' own range and default."""
    from .serve import LIMITS, ServeOptions

    lo, hi = LIMITS[name]
    return click.option(
        f"--{name.replace('_', '-')}",
        type=click.IntRange(lo, hi),
        default=ServeOptions.__dataclass_fields__[name].default,
        show_default=True,
        metavar=metavar,
        help=help,
    )


@cli.command()
@serve_limit("port", "The port to listen on (127.0.0.1 unless --address).")
@click.option("--address", default=None, help="Bind address (needs a token unless loopback).")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Owner-only file holding the access token (else $MUTUALITY_TOKEN).",
)
@click.option("--token", "token_argv", default=None, hidden=True)
@click.option(
    "--public-url",
    default=None,
    metavar="URL",
    help="The address partners use (the TLS proxy's, e.g. https://checkin.example.org; "
    "default: public_url in practice.yaml).",
)
@serve_limit("max_forms", "Forms open at once; one more partner is asked to come back in a minute.")
@serve_limit("pool", "Preheated check-in kernels kept ready (0: none).")
@serve_limit(
    "idle_timeout", "Shut a form's kernel down after this long without activity.", "SECONDS"
)
@click.option(
    "--links",
    "links_for",
    multiple=True,
    metavar="COUPLE",
    help="Print both partners' links for COUPLE (repeatable).",
)
@click.option(
    "--expires",
    "link_days",
    type=click.IntRange(1, 366),
    default=56,
    show_default=True,
    metavar="DAYS",
    help="The links printed by --links work for this many days.",
)
@click.option(
    "--nginx-site",
    nargs=2,
    default=None,
    metavar="CERT KEY",
    help="Print the nginx site for this server (TLS for --public-url's host) and exit.",
)
@data_option
def serve(
    store: Store,
    port: int,
    address: str | None,
    token_file: Path | None,
    token_argv: str | None,
    public_url: str | None,
    max_forms: int,
    pool: int,
    idle_timeout: int,
    links_for: tuple[str, ...],
    link_days: int,
    nginx_site: tuple[str, str] | None,
) -> None:
    """Serve the couples' worksheets (Voila, bounded and private) on 127.0.0.1 until stopped."""
    from .exceptions import ServeError
    from .practice import urgent_help
    from .serve import ServeOptions, check_bind, read_token
    from .serve import serve as run_server

    if token_argv is not None:
        raise ServeError(
            "--token would show the secret to every local user (ps): put it in an owner-only "
            "file (--token-file FILE) or in MUTUALITY_TOKEN"
        )
    from .practice import public_url as practice_url

    options = ServeOptions(
        port=port,
        address=address,
        token=read_token(token_file),
        public_url=public_url or practice_url(store.data_dir),
        max_forms=max_forms,
        pool=pool,
        idle_timeout=idle_timeout,
    )
    check_bind(options.address, options.token)  # refuse before anything starts
    urgent_help(store.data_dir)  # a broken practice.yaml too
    if nginx_site:
        from .proxy import site_for

        click.echo(site_for(options, *nginx_site), nl=False)
        return
    couples = [store.require_couple(c) for c in links_for]
    data = store.data_dir
    store.close()  # the server itself never opens the store; the forms' kernels do
    code = run_server(data, options, announce=click.echo, links_for=couples, link_days=link_days)
    if code:
        raise click.ClickException(f"the form server stopped with exit code {code}")


@cli.command()
@data_option
def backup(store: Store) -> None:
    """Copy the store into <data>/backups/ (safe while others keep saving); print its path."""
    from .backup import backup as make_backup

    data = store.data_dir
    store.close()
    click.echo(make_backup(data))


def _redacted(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Restore a file that holds no couples (empties the caseload).",
)
@DATA_OPTION
@STORE_OPTION
def restore(file: Path, yes: bool, allow_empty: bool, data: Path | None) -> None:
    """Replace the store with the backup FILE (the current store is backed up first).

    What FILE holds (couples, answers, last answer) is shown first; a file with no couples
    is refused unless --allow-empty.
    """
    # No data_option: restoring is how a damaged store is repaired, so it must not be opened.
    from .backup import check_backup_file
    from .backup import restore as restore_store

    if not yes:
        # A bad file is refused before anyone is asked anything (restore checks it anyway,
        # so with --yes the full integrity check is not run twice).
        contents = check_backup_file(file, allow_empty)
        click.echo(f"{file} holds {contents}", err=True)
        url = config.store_url()
        target = config.store_path(data) if url is None else _redacted(url)
        click.confirm(f"Replace {target} with {file}?", abort=True)
    result = restore_store(file, data, allow_empty)
    if result.safety_backup:
        click.echo(f"the store as it was is kept in {result.safety_backup}", err=True)
    if result.set_aside:
        click.echo(f"the damaged store was moved, unchanged, to {result.set_aside}", err=True)
    click.echo(f"restored {result.store} from {result.restored_from} ({result.contents})")


@cli.command()
@click.argument("couple")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_option
def erase(store: Store, couple: str, yes: bool) -> None:
    """Delete every trace of COUPLE: answers, history, seasons, sessions, reports, worksheets."""
    from .erase import erase_couple
    from .validation import parse_couple_id

    couple = parse_couple_id(couple)
    if not yes:
        click.confirm(
            f"Erase every trace of couple {couple}, including backups? This cannot be undone.",
            abort=True,
        )
    result = erase_couple(store, couple)
    rows = sum(result.rows.values())
    click.echo(
        f"erased {couple}: {rows} row(s) from the store, {len(result.files)} report/worksheet "
        f"item(s), cleaned {len(result.backups_cleaned)} backup(s)"
    )
    if result.leftovers:
        shown = ", ".join(str(p) for p in result.leftovers[:10])
        raise MutualityError(
            f"{len(result.leftovers)} file(s) in the data folder still mention {couple} "
            f"(not deleted, check and remove them by hand): {shown}"
        )


@cli.command()
@click.argument("couple")
@click.option("--week", default=None, help="Bind the links to this one week (its Monday).")
@click.option(
    "--expires",
    type=click.IntRange(1, 366),
    default=56,
    show_default=True,
    metavar="DAYS",
    help="The links work for this many days.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the handout PDFs (default: <data>/reports/handouts).",
)
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="Where partners reach the forms (default: public_url in practice.yaml).",
)
@click.option(
    "--form",
    "instrument",
    type=click.Choice(["weekly_checkin", "mutuality_inventory"]),
    default="weekly_checkin",
    show_default=True,
    help="Which worksheet the links open.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Owner-only file with the server's access token, if it needs one (else $MUTUALITY_TOKEN).",
)
@data_option
def links(
    store: Store,
    couple: str,
    week: str | None,
    expires: int,
    out: Path | None,
    base_url: str | None,
    instrument: str,
    token_file: Path | None,
) -> None:
    """Print each partner's link and write a one-page handout PDF (link and QR code) each."""
    from .handout import make_handouts, resolve_base_url
    from .serve import read_token

    base = resolve_base_url(base_url, store.data_dir)
    made = make_handouts(
        store, couple, base, instrument, week, expires, out, token=read_token(token_file)
    )
    for h in made:
        bound = f", week of {h.week}" if h.week else ""
        click.echo(f"{h.couple_id} partner {h.partner} (until {h.expires}{bound}): {h.link}")
        click.echo(f"  handout: {h.path}")


@cli.command()
@click.argument("couple")
@click.option("--name-a", default="", help="Partner A's display name (optional).")
@click.option("--name-b", default="", help="Partner B's display name (optional).")
@data_option
def reuse(store: Store, couple: str, name_a: str, name_b: str) -> None:
    """Use an erased couple id again: create a new, empty couple under it."""
    generations = store.reuse_id(couple, name_a, name_b)
    click.echo(
        f"{couple}: a new couple under an erased id; links of the erased couple stay refused "
        f"(link generation {generations['A']})"
    )


@cli.command()
@click.argument("couple")
@click.option(
    "--partner",
    type=click.Choice(["A", "B"], case_sensitive=False),
    default=None,
    help="Only this partner's links (default: both partners').",
)
@data_option
def revoke(store: Store, couple: str, partner: str | None) -> None:
    """Retire every link handed out so far to COUPLE's partners (or one partner)."""
    generations = store.revoke_links(couple, partner.upper() if partner else None)
    who = f"partner {partner.upper()}'s" if partner else "both partners'"
    click.echo(
        f"{couple}: {who} earlier links no longer open a form; make new ones with "
        f"`mutuality links {couple}` (generations A {generations['A']}, B {generations['B']})"
    )


class _AlertsGroup(click.Group):
    """``mutuality alerts [COUPLE]`` lists; ``mutuality alerts seen|resolve REF`` marks."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # No subcommand named (a couple id, list options): it means "list".
        if args and not set(args) & (set(self.commands) | {"-h", "--help"}):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_AlertsGroup, invoke_without_command=True)
@DATA_OPTION
@STORE_OPTION
@click.pass_context
def alerts(ctx: click.Context, data: Path | None) -> None:
    """Alerts that need action (urgent safety answers, silence): list them, mark them.

    \b
    mutuality alerts [COUPLE] [--all] [--json]     what needs action, urgent first
    mutuality alerts seen REF [--by NAME] [--note TEXT]
    mutuality alerts resolve REF --note TEXT [--by NAME]
    """
    ctx.ensure_object(dict)["data"] = data
    if ctx.invoked_subcommand is None:
        ctx.invoke(alerts_list)


@alerts.command(name="list")
@click.argument("couple", required=False)
@click.option("--all", "include_resolved", is_flag=True, help="Resolved ones too (the record).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
@data_option
def alerts_list(store: Store, couple: str | None, include_resolved: bool, as_json: bool) -> None:
    """List the alerts that need action (of COUPLE, else of every couple), urgent first."""
    from .alert_record import needing_action
    from .formatting import long_time

    ids = None if couple is None else [store.require_couple(couple)]
    found = needing_action(store, ids, include_resolved)
    shown = sorted({a["couple_id"] for a in found} | set(ids or []))
    with store.atomic():
        for couple_id in shown:
            store.record_access("alerts", couple_id, "listed")
        if not shown:
            store.record_access("alerts", None, "listed: none")
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("nothing needs action" + ("" if include_resolved else " (--all: the record)"))
        return
    for a in found:
        ref = f"#{a['ref']}" if a["alert_id"] else a["ref"]
        flag = "URGENT " if a["urgent"] else ""
        state = a["state"]
        if a["seen_by"]:
            state += f", seen by {a['seen_by']} {long_time(a['seen_at'])}"
        if a["resolved_by"]:
            state += f", resolved by {a['resolved_by']} {long_time(a['resolved_at'])}"
        click.echo(printable(f"{ref}  {a['couple_id']}  {flag}[{state}] {a['message']}"))
        if a["note"]:
            click.echo(printable(f"      note: {a['note']}"))


def _by_option(command: Callable) -> Callable:
    from .practice import current_user

    return click.option(
        "--by",
        default=current_user,
        show_default="your login name",
        help="Who marks it (a name or initials).",
    )(command)


@alerts.command(name="seen")
@click.argument("ref")
@_by_option
@click.option("--note", default="", help="A note for the record (optional).")
@data_option
def alerts_seen(store: Store, ref: str, by: str, note: str) -> None:
    """Mark alert REF (its number, or a silence alert's key) seen."""
    record = store.mark_alert(ref, "seen", by, note)
    click.echo(f"alert #{record['alert_id']} ({record['couple_id']}): {record['state']}")


@alerts.command(name="resolve")
@click.argument("ref")
@click.option("--note", required=True, help="What was done (kept in the record).")
@_by_option
@data_option
def alerts_resolve(store: Store, ref: str, note: str, by: str) -> None:
    """Resolve alert REF with a note; it stays in the record."""
    record = store.mark_alert(ref, "resolved", by, note)
    click.echo(
        f"alert #{record['alert_id']} ({record['couple_id']}): resolved by {record['resolved_by']}"
    )


@cli.command()
@click.argument("couple")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Judge as of the week holding this date (default: today, see docs/method.md).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@data_option
def summary(store: Store, couple: str, as_of: str | None, as_json: bool) -> None:
    """The couple's judgement: status per domain, perception gaps, mutuality index, alerts."""
    from .presentation import summary_text
    from .summary import summarize

    result = summarize(store, couple, as_of=as_of)
    store.record_access("summary", result["couple_id"], f"as of {result['as_of']}")
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    # Names come from clients: no escape sequence reaches the terminal.
    click.echo("\n".join(printable(line) for line in summary_text(result).split("\n")))


@cli.command()
@click.argument("couple", required=False)
@click.option(
    "--session",
    type=click.IntRange(min=1),
    default=None,
    help="Session number (default: the couple's latest).",
)
@click.option(
    "--all",
    "all_sessions",
    is_flag=True,
    help="Every session without a current report (of COUPLE, else of every couple).",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Judge as of the week holding this date (default: the session's week).",
)
@click.option(
    "--include-reflections",
    is_flag=True,
    help="Also print the partners' free-text reflections (left out by default).",
)
@click.option(
    "--paper",
    type=click.Choice(["A4", "Letter"], case_sensitive=False),
    default="A4",
    show_default=True,
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 32),
    default=None,
    help="Parallel workers for many reports (default: one per CPU, at most 4).",
)
@click.option("--force", is_flag=True, help="With --all: render current reports again too.")
@click.option(
    "--no-worker",
    is_flag=True,
    help="Render one report in this process, not in the warm report worker "
    "(see: mutuality worker --help).",
)
@DATA_OPTION
@STORE_OPTION
def report(
    data: Path | None,
    couple: str | None,
    session: int | None,
    all_sessions: bool,
    as_of: str | None,
    include_reflections: bool,
    paper: str,
    jobs: int | None,
    force: bool,
    no_worker: bool,
) -> None:
    """Render session report PDFs: <data>/reports/<couple>/session-<n>.pdf (owner-only)."""
    from . import worker
    from .store import Store

    if couple is not None and not all_sessions and not no_worker and worker.enabled():
        # One report: the warm worker renders it (validation included), without this
        # process importing the store or the report machinery at all.
        wanted = {"couple": couple, "session": session, "as_of": as_of}
        wanted |= {"include_reflections": include_reflections, "paper": paper}
        answer = worker.render(config.data_dir(data), wanted)
        if answer is not None:
            click.echo(answer.out, nl=False)
            click.echo(answer.err, nl=False, err=True)
            if answer.code:
                click.get_current_context().exit(answer.code)
            return

    from .batch import default_jobs, render_reports
    from .render import render_one
    from .report import plan
    from .scratch import sweep, sweep_kernel_folders

    with Store(data, create=False) as store:
        # A killed batch's half-printed PDFs and kernel socket folders (their writers are gone).
        sweep(store.data_dir)
        sweep_kernel_folders()

        options = {"include_reflections": include_reflections, "paper": paper}
        if as_of:
            options["as_of"] = as_of
        requests, skipped = plan(store, couple, session, all_sessions, force, **options)
        for line in skipped:
            click.echo(line, err=True)
        if not requests:
            click.echo("no reports due: all are current (--force renders them again)", err=True)
            return
        if len(requests) == 1 and not all_sessions:
            click.echo(render_one(requests[0]))
            return
        outcomes = render_reports(requests, jobs or default_jobs(len(requests)))
        failed = [o for o in outcomes if o.error]
        for outcome in outcomes:
            if outcome.path is not None:
                click.echo(outcome.path)
        for outcome in failed:
            click.echo(f"mutuality: {outcome.error}", err=True)
        if failed:
            raise MutualityError(f"{len(failed)} of {len(outcomes)} report(s) failed")


@cli.group(name="worker")
@DATA_OPTION
@STORE_OPTION
@click.pass_context
def worker_group(ctx: click.Context, data: Path | None) -> None:
    """The warm report worker that renders `mutuality report COUPLE` (one per data folder and user).

    \b
    mutuality worker status [--json]     whether one runs: pid, idle time, reports served
    mutuality worker start [--idle SECONDS]
    mutuality worker stop
    """
    ctx.ensure_object(dict)["data"] = data


def _worker_data(data: Path | None) -> Path:
    return config.data_dir(_given_data(data))


def _describe_worker(state: dict[str, Any]) -> str:
    ready = "ready" if state["ready"] else "starting"
    doing = "rendering a report" if state["busy"] else f"idle {state['idle_s']:.0f} s"
    return (
        f"report worker: pid {state['pid']}, {ready}, {doing} (stops after "
        f"{state['idle_timeout_s']:.0f} s idle), {state['served']} report(s) served, "
        f"{state['kernels']} kernel(s) started"
    )


@worker_group.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a line.")
@DATA_OPTION
@STORE_OPTION
def worker_status(data: Path | None, as_json: bool) -> None:
    """Say whether a report worker runs for the data folder (and you): pid, idle, served."""
    from . import worker

    folder = _worker_data(data)
    state = worker.status(folder)
    if as_json:
        click.echo(json.dumps({"running": state is not None, **(state or {})}, indent=2))
    elif state is None:
        click.echo(f"no report worker runs for {folder} (mutuality report starts one)")
    else:
        click.echo(_describe_worker(state))


@worker_group.command(name="start")
@click.option(
    "--idle",
    "idle_s",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="Exit after this long without a report (default: $MUTUALITY_WORKER_IDLE, else 600).",
)
@DATA_OPTION
@STORE_OPTION
def worker_start(data: Path | None, idle_s: float | None) -> None:
    """Start the report worker now (mutuality report starts one when none runs)."""
    from . import worker

    click.echo(_describe_worker(worker.start(_worker_data(data), idle_s)))


@worker_group.command(name="stop")
@DATA_OPTION
@STORE_OPTION
def worker_stop(data: Path | None) -> None:
    """Stop the report worker (after the report it is rendering, if any)."""
    from . import worker

    folder = _worker_data(data)
    last = worker.stop(folder)
    if last is None:
        click.echo(f"no report worker runs for {folder}")
    else:
        click.echo(f"report worker (pid {last['pid']}) stopped after {last['served']} report(s)")


def os_error(exc: OSError) -> str:
    """An operating-system error as one line: what failed, and on which file."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return f"{reason}"
    return f"cannot use {exc.filename}: {reason}"


@cli.command()
@click.argument("couple")
@click.argument("therapist")
@data_option
def assign(store: Store, couple: str, therapist: str) -> None:
    """Give COUPLE to THERAPIST (supervisors only); only they (and supervisors) see it."""
    name = store.assign(couple, therapist)
    click.echo(f"{couple}: assigned to {name}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@DATA_OPTION
def users(data: Path | None, as_json: bool) -> None:
    """List the practice's users (<data>/users.yaml) and who you are."""
    # No store: the users file alone answers (and a broken one is named in one line).
    from .roles import identify, read_users, users_path

    listed = read_users(data)
    me = identify(data)
    if as_json:
        click.echo(json.dumps({"you": me.name, "role": me.role, "users": listed}, indent=2))
        return
    if listed is None:
        click.echo(
            f"no {users_path(data)}: one person's workbook, {me.name} sees every couple "
            "(list the practice's therapists there: see README, Group practice)"
        )
        return
    for name, role in listed.items():
        click.echo(f"{name:<24} {role}{'  (you)' if name == me.name else ''}")


@cli.command()
@click.argument("couple", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
@data_option
def audit(store: Store, couple: str | None, as_json: bool) -> None:
    """Who read or wrote which couple's data, when (of COUPLE, else every one you may see)."""
    entries = store.audit_log(couple)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo("no audit entries yet")
        return
    for e in entries:
        line = f"{e['at']}  {e['who']} ({e['role']})  {e['couple_id'] or '-'}  {e['action']}"
        click.echo(printable(f"{line}: {e['detail']}" if e["detail"] else line))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every error into one line on stderr."""
    from .roles import AS_ENV

    # --as sets MUTUALITY_AS for this command's own kernels; the caller's is restored after.
    before = os.environ.get(AS_ENV)
    try:
        return _run(argv)
    finally:
        if before is None:
            os.environ.pop(AS_ENV, None)
        else:
            os.environ[AS_ENV] = before


def _run(argv: list[str] | None) -> int:
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
    except OSError as exc:
        # A file that cannot be written or read (no such folder, no permission, a full
        # disk): the system's reason and the file, on one line.
        click.echo(f"mutuality: {os_error(exc)}".replace("\n", " "), err=True)
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
