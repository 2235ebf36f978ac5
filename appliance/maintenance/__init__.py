"""Looking after a home: backups and restore (`backups`), the Parquet lake export (`lake/`), and
retention of logged inputs and archived artifacts (`retention`)."""
