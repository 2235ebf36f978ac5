"""The only package that talks to DuckDB: connections, migrations and named queries."""
