"""The device store: SQLite through SQLAlchemy Core, migrated by Alembic."""
