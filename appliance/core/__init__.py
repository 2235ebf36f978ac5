"""The foundation every package shares: time windows (`windows`), a request's model input (`inputs`),
content-addressed blobs (`blobs`), the records passed between packages (`records`), who runs this
process (`identity`), the facts recorded with every version (`lineage`), prediction threads
(`threads`), the set-up of a spawned child process (`child_setup`, `idle_priority`), fsync
(`durable`), monitored periods on the event or arrival clock (`periods`), and the times data carries:
a request's event time (`request_event_time`), a file column of them (`event_times`), and a data
file's time column written as a date, a year or a year-month (`time_columns`).

It imports only the standard library, NumPy/polars, the foundation's leaf modules (`errors`, `clock`)
and the feature list of `contracts`; tests/unit/test_layering.py holds every package above it.
"""
