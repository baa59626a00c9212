"""Whose couples a store shows, and the audit trail of who read or wrote them.

These are :class:`~mutuality_helpers.store.Store` methods (this class is one of its bases).
The store is opened *as* someone (:func:`~mutuality_helpers.roles.identify`): every read of
couples, answers, seasons, sessions and alerts is narrowed to the couples that identity may
see (:meth:`Access.scoped`), and a couple it may not see is "no couple ... in the store",
word for word what an id that does not exist gets, so nobody learns that it does.

The audit trail (the ``audit`` table) is append-only: :meth:`Access.record_access` inserts an
entry (who, role, when, couple, action, a detail without clinical content) and
:meth:`Access.audit_log` reads them. Nothing in the package updates or deletes an entry, except
erasing a couple (:mod:`~mutuality_helpers.erase`), which removes the couple's id from every
table and then appends one entry that does not name it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from . import roles
from .database import Database
from .exceptions import AccessDenied, UnknownCouple
from .roles import Identity
from .schema import audit_table, couples_table
from .validation import parse_couple_id

#: The longest detail an audit entry keeps.
DETAIL_LIMIT = 200
AUDIT_COLUMNS = ["entry_id", "at", "who", "role", "couple_id", "action", "detail"]


def no_such_couple(couple_id: str) -> UnknownCouple:
    """The one message for a couple that does not exist *or* is not the user's to see."""
    return UnknownCouple(f"no couple {couple_id!r} in the store")


class Access(Database):
    """Identity, scope and audit (methods of :class:`~mutuality_helpers.store.Store`).

    Parameters
    ----------
    user
        Who opens the store: an :class:`~mutuality_helpers.roles.Identity`, a name (as
        ``--as``), or None: :func:`~mutuality_helpers.roles.identify` decides.
    """

    identity: Identity

    def __init__(self, *args: Any, user: Identity | str | None = None, **kwargs: Any) -> None:
        from . import config

        if not isinstance(user, Identity):
            # Decided before the store is opened: a refused user changes nothing in it.
            data = args[0] if args else kwargs.get("data")
            user = roles.identify(config.data_dir(data), user)
        self.identity = user
        super().__init__(*args, **kwargs)

    # -- scope ---------------------------------------------------------------------------

    def scope(self, column: Any) -> Any:
        """A clause keeping the rows whose couple id (``column``) this identity may see.

        None for a supervisor (everything). For a therapist their couples' ids, read when the
        clause is built (so a couple assigned a moment ago shows at once) and given as a list:
        the tables' couple-id indexes then find the rows, where a subquery let PostgreSQL
        scan every couple's answers.
        """
        who = self.identity
        if who.sees_all:
            return None
        if who.role == roles.PARTNER:
            return column == who.couple_id
        c = couples_table
        mine = [r[0] for r in self.read(sa.select(c.c.couple_id).where(c.c.therapist == who.name))]
        return column.in_(mine)

    def scoped(self, query: sa.Select[Any], column: Any) -> sa.Select[Any]:
        """``query`` narrowed to the couples this identity may see (see :meth:`scope`)."""
        clause = self.scope(column)
        return query if clause is None else query.where(clause)

    def may_see(self, couple_id: str) -> bool:
        """Does ``couple_id`` exist, and may this identity see it?"""
        c = couples_table
        query = self.scoped(
            sa.select(c.c.couple_id).where(c.c.couple_id == couple_id), c.c.couple_id
        )
        return bool(self.read(query))

    def owner_for_new_couples(self) -> str | None:
        """The therapist a couple this identity creates belongs to (a therapist's own)."""
        return self.identity.name if self.identity.role == roles.THERAPIST else None

    def require_supervisor(self, what: str) -> None:
        if not self.identity.sees_all:
            raise AccessDenied(f"only a supervisor can {what} (you are {self.identity.name})")

    def assign(self, couple_id: str, therapist: str) -> str:
        """Give the couple to ``therapist`` (supervisors only); returns the therapist's name.

        Raises
        ------
        AccessDenied
            When a therapist asks, or ``therapist`` is not a user of the practice.
        UnknownCouple
            When there is no such couple.
        """
        self.require_supervisor("assign couples")
        couple_id = parse_couple_id(couple_id)
        name = roles.parse_name(therapist, "therapist")
        users = roles.read_users(self.data_dir)
        if users is not None and name not in users:
            raise AccessDenied(
                f"{name} is not a user of this practice ({roles.users_path(self.data_dir)})"
            )
        c = couples_table
        with self.atomic() as conn:
            if not self.may_see(couple_id):
                raise no_such_couple(couple_id)
            conn.execute(c.update().where(c.c.couple_id == couple_id).values(therapist=name))
            self.record_access("assign", couple_id, f"to {name}")
        return name

    def therapists(self) -> dict[str, str | None]:
        """couple_id -> its therapist (None: nobody's yet), of the couples this identity sees."""
        c = couples_table
        query = self.scoped(sa.select(c.c.couple_id, c.c.therapist), c.c.couple_id)
        return {r[0]: r[1] for r in self.read(query.order_by(c.c.couple_id))}

    # -- the audit trail -----------------------------------------------------------------

    def record_access(self, action: str, couple_id: str | None = None, detail: Any = "") -> None:
        """Append one audit entry: this identity did ``action`` to ``couple_id`` now.

        Inside a write transaction it is part of it (an import that is rolled back leaves
        no entry saying it happened); otherwise it is a transaction of its own.
        """
        text = " ".join(str(detail).split())[:DETAIL_LIMIT]
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self.atomic() as conn:
            conn.execute(
                audit_table.insert().values(
                    at=stamp,
                    who=self.identity.name,
                    role=self.identity.role,
                    couple_id=couple_id,
                    action=action,
                    detail=text,
                )  # fmt: skip
            )

    def audit_log(self, couple_id: str | None = None) -> list[dict[str, Any]]:
        """Audit entries, oldest first: of ``couple_id``, else of every couple this identity sees.

        A supervisor sees every entry. A therapist sees the entries of their own couples,
        whoever made them, and their own entries that name no couple.

        Raises
        ------
        UnknownCouple
            For a therapist naming a couple that is not theirs (or does not exist).
        """
        t = audit_table
        query = sa.select(*[t.c[name] for name in AUDIT_COLUMNS])
        if couple_id is not None:
            couple_id = parse_couple_id(couple_id)
            if not self.identity.sees_all and not self.may_see(couple_id):
                raise no_such_couple(couple_id)
            query = query.where(t.c.couple_id == couple_id)
        clause = self.scope(t.c.couple_id)
        if clause is not None:
            own = t.c.couple_id.is_(None) & (t.c.who == self.identity.name)
            query = query.where(sa.or_(clause, own))
        return [dict(r._mapping) for r in self.read(query.order_by(t.c.entry_id))]
