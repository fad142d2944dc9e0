"""Alembic migration environment of the formcheck results database (packaged)."""
