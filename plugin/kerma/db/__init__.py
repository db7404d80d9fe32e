"""The dose database: one record model for every source (SQLAlchemy 2, Alembic migrations)."""
