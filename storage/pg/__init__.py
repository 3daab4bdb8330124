"""PostgreSQL as the archive's shared store (`DATABASE_URL=postgresql://…`): the same storage layer,
reached through a connection that speaks SQLite's API and dialect (connection.py, dialect.py), with
PostgreSQL's own schema, full-text search and writer lock (schema.py, search_index.py)."""
