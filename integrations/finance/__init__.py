"""Finance adapters: the set-based matching engine (DuckDB) and the statement readers."""
