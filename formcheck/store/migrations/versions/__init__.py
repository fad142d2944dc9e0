"""Alembic revisions of the formcheck results database, oldest first."""
