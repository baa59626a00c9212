"""The store's tables, as SQLAlchemy Core metadata, and the schema revision they are.

Dates and weeks are ISO text (``YYYY-MM-DD``), times ISO UTC text: portable between
SQLite and PostgreSQL, and readable in any SQLite browser.

The tables are made and changed only by the Alembic migrations in ``migrations/versions/``
(see :mod:`~mutuality_helpers.migrate`); a test checks that the migrations, run from an
empty database, build exactly these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

#: The newest migration: what these tables are. A change to a table is a new migration,
#: and this names it (tests/test_migrate.py checks it against Alembic's head).
SCHEMA_REVISION = "0008"

metadata = sa.MetaData()

# Frozen since revision 0002 at schema_version "2": release 0.1 reads only this row, and so
# refuses a newer store instead of misreading it. Nothing here reads it any more.
meta_table = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)
couples_table = sa.Table(
    "couples",
    metadata,
    sa.Column("couple_id", sa.String, primary_key=True),
    sa.Column("name_a", sa.String, nullable=False, server_default=""),
    sa.Column("name_b", sa.String, nullable=False, server_default=""),
    sa.Column("created_at", sa.String, nullable=False),
    # Each partner's link generation (revision 0004): signed into every link of theirs, so
    # raising it (``mutuality revoke``) retires every link handed out before.
    sa.Column("link_generation_a", sa.Integer, nullable=False, server_default="1"),
    sa.Column("link_generation_b", sa.Integer, nullable=False, server_default="1"),
    # Created by `mutuality demo` (revision 0005): the only couples demo may change.
    sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
    # Revision 0007: raised by every write that changes the couple's clinical record, in the
    # same transaction (:func:`~mutuality_helpers.changes.count_changes`); a report is current
    # only while the count it was rendered at is still the couple's (``reports``).
    sa.Column("change_count", sa.Integer, nullable=False, server_default="0"),
    # Whose couple this is (revision 0008): a users.yaml name. A therapist sees only their
    # own couples; NULL (a couple from before, or made by a supervisor) is a supervisor's.
    sa.Column("therapist", sa.String, nullable=True, index=True),
)
# Erased couple ids (revision 0004): a late save for one is refused, and the id comes back
# only through ``mutuality reuse``. No content: a digest of the id (so the id itself is in
# no file after erasure), when, and the highest link generation it had (a re-created couple
# starts above it, so no link of the erased couple opens the new one's form).
erased_table = sa.Table(
    "erased_couples",
    metadata,
    sa.Column("id_digest", sa.String(64), primary_key=True),
    sa.Column("erased_at", sa.String, nullable=False),
    sa.Column("link_generation", sa.Integer, nullable=False),
)
answers_table = sa.Table(
    "answers",
    metadata,
    sa.Column("couple_id", sa.String, primary_key=True),
    sa.Column("partner", sa.String(1), primary_key=True),
    sa.Column("week", sa.String(10), primary_key=True),
    sa.Column("item", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
    # Numeric items keep their number too, so analysis reads no text.
    sa.Column("value_num", sa.Float, nullable=True),
    sa.Column("instrument", sa.String, nullable=False),
    sa.Column("saved_at", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),
)
history_table = sa.Table(
    "answer_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("couple_id", sa.String, nullable=False, index=True),
    sa.Column("partner", sa.String(1), nullable=False),
    sa.Column("week", sa.String(10), nullable=False),
    sa.Column("item", sa.String, nullable=False),
    sa.Column("value", sa.String, nullable=False),
    sa.Column("saved_at", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("replaced_at", sa.String, nullable=False),
)
seasons_table = sa.Table(
    "seasons",
    metadata,
    sa.Column("season_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("couple_id", sa.String, nullable=False, index=True),
    sa.Column("partner", sa.String(1), nullable=False),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("start", sa.String(10), nullable=False),
    sa.Column("planned_end", sa.String(10), nullable=False),
    sa.Column("agreed", sa.Boolean, nullable=False),
    sa.Column("note", sa.String, nullable=False, server_default=""),
    sa.Column("closed_on", sa.String(10), nullable=True),
    sa.Column("saved_at", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.UniqueConstraint("couple_id", "partner", "reason", "start"),
)
sessions_table = sa.Table(
    "sessions",
    metadata,
    sa.Column("couple_id", sa.String, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("date", sa.String(10), nullable=False),
    sa.Column("notes", sa.String, nullable=False, server_default=""),
    sa.Column("agreements", sa.String, nullable=False, server_default=""),
    sa.Column("saved_at", sa.String, nullable=False),
)
# Alerts that need action (revision 0003): a private safety answer that signals risk is
# recorded here when it is saved; a silence alert when a therapist first marks it. Rows are
# never deleted (but by erasing the couple): the record keeps every alert and its state.
alerts_table = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
    # kind:couple:partner:week (+ :instrument for safety): what the alert is about.
    sa.Column("key", sa.String, nullable=False, index=True),
    sa.Column("couple_id", sa.String, nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("partner", sa.String(1), nullable=True),
    sa.Column("week", sa.String(10), nullable=True),
    sa.Column("instrument", sa.String, nullable=False, server_default=""),
    # The private answers given (item=value;item=value), for a safety alert.
    sa.Column("answers", sa.String, nullable=False, server_default=""),
    # When the answer was given (its saved_at), or the alert first recorded.
    sa.Column("raised_at", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False),  # new, seen, resolved
    sa.Column("seen_by", sa.String, nullable=True),
    sa.Column("seen_at", sa.String, nullable=True),
    sa.Column("resolved_by", sa.String, nullable=True),
    sa.Column("resolved_at", sa.String, nullable=True),
    sa.Column("note", sa.String, nullable=False, server_default=""),
)
# Revision 0006: every prior version of a session, and every deleted one (its last version),
# with when it stopped being current. Session numbers are never reused after a deletion.
session_history_table = sa.Table(
    "session_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("couple_id", sa.String, nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("date", sa.String(10), nullable=False),
    sa.Column("notes", sa.String, nullable=False, server_default=""),
    sa.Column("agreements", sa.String, nullable=False, server_default=""),
    sa.Column("saved_at", sa.String, nullable=False),
    sa.Column("change", sa.String, nullable=False),  # edited, deleted
    sa.Column("changed_at", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False, server_default=""),
)
# What the therapist typed in the session workbook and has not saved into the session yet
# (number 0: the notes of the next session, not recorded yet). Cleared once saved.
session_drafts_table = sa.Table(
    "session_drafts",
    metadata,
    sa.Column("couple_id", sa.String, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("notes", sa.String, nullable=False, server_default=""),
    sa.Column("agreements", sa.String, nullable=False, server_default=""),
    sa.Column("saved_at", sa.String, nullable=False),
)
# Who read or wrote which couple's clinical data, when (revision 0008). Append-only: the
# package inserts rows and reads them, it has no path that updates or deletes one (but
# erasing a couple, which removes the couple's id everywhere and leaves one entry without it).
audit_table = sa.Table(
    "audit",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String, nullable=False),  # ISO UTC to the second
    sa.Column("who", sa.String, nullable=False),
    sa.Column("role", sa.String, nullable=False),  # therapist, supervisor, partner
    sa.Column("couple_id", sa.String, nullable=True, index=True),  # NULL: no one couple
    sa.Column("action", sa.String, nullable=False),
    # What was done, never clinical content: a session number, a file name, a count.
    sa.Column("detail", sa.String, nullable=False, server_default=""),
)
# Revision 0007: the session reports rendered into the couple's report folder, each with the
# couple's change count read when its render started and the file it wrote (size and
# modification time in nanoseconds), so a report is current only while both still hold.
reports_table = sa.Table(
    "reports",
    metadata,
    sa.Column("couple_id", sa.String, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("change_count", sa.Integer, nullable=False),
    sa.Column("file", sa.String, nullable=False),
    sa.Column("rendered_at", sa.String, nullable=False),
)
