"""Alembic migrations of the store's schema (driven by :mod:`mutuality_helpers.migrate`)."""
