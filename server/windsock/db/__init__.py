"""Metadata database: ORM models, engine and sessions, Alembic migrations."""
