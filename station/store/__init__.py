"""Persistence: SQLAlchemy models, engine and migrations, repository functions, content-addressed files."""
