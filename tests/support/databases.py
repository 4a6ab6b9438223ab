"""Database fixtures (SQLite file per test, PostgreSQL database per session)."""
