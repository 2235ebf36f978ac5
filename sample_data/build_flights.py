"""Derive sample_data/flights.parquet from the NYC flights 2013 data (CC0).

    python sample_data/build_flights.py [PATH/TO/nycflights13]

Joins each flight with the hourly weather at its origin, keeps only what is known before departure
plus the outcome (`arr_delay`, `delayed` = arrival more than 15 minutes late), drops cancelled flights
(no arrival delay), keeps a deterministic quarter of the flights (by a hash of carrier, flight and
date, so every month and route stays represented), and orders the rows by scheduled hour so that
replaying them shows the real drift of the year: seasonal weather, holiday traffic, and a delayed
share that moves between about 13% and 33% by month.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "datasets" / "nycflights13"

QUERY = """
SELECT
    f.time_hour::TIMESTAMP AS time_hour,              -- scheduled departure hour, UTC
    f.month::INTEGER AS month,
    f.day::INTEGER AS day,
    dayofweek(make_date(f.year, f.month, f.day))::INTEGER AS day_of_week,
    f.hour::INTEGER AS sched_hour,
    f.sched_dep_time::INTEGER AS sched_dep_time,
    f.sched_arr_time::INTEGER AS sched_arr_time,
    f.carrier, f.flight::INTEGER AS flight, f.origin, f.dest,
    f.distance::DOUBLE AS distance,
    w.temp, w.dewp, w.humid, w.wind_dir, w.wind_speed, w.wind_gust, w.precip, w.pressure, w.visib,
    f.arr_delay::DOUBLE AS arr_delay,
    f.arr_delay > 15 AS delayed
FROM read_csv(?, nullstr = 'NA') f
LEFT JOIN read_csv(?, nullstr = 'NA') w ON w.origin = f.origin AND w.time_hour = f.time_hour
WHERE f.arr_delay IS NOT NULL
  AND hash(f.carrier || f.flight || f.year || f.month || f.day) % 4 = 0
ORDER BY f.time_hour, f.carrier, f.flight
"""


def build(source: Path, out: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(source / "flights.csv.zip") as archive:
            archive.extractall(tmp)
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                     "threads": 1})
        relation = con.execute(f"CREATE TABLE sample AS {QUERY}",
                               [str(Path(tmp) / "flights.csv"), str(source / "weather.csv")])
        del relation
        con.execute(f"COPY sample TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
        return int(con.execute("SELECT count(*) FROM sample").fetchone()[0])


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    rows = build(src, HERE / "flights.parquet")
    print(f"wrote {HERE / 'flights.parquet'} with {rows} rows")
