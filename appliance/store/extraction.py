"""Read a training source (Parquet/CSV file or DuckDB query) and write it as one Parquet file.

Runs in a throwaway in-memory DuckDB whose file search path is the spec's folder, with one thread
so that the same input always gives the same bytes (the snapshot is addressed by its sha256).
"""

from __future__ import annotations

from pathlib import Path

from appliance.errors import SpecError, StoreError
from appliance.store.connection import Store


def extract_to_parquet(*, path: str | None, query: str | None, base_dir: Path, dest: Path,
                       read_roots: list[Path] | None = None) -> int:
    """Write the source's rows to `dest`; return the row count. With `read_roots` (a caller's query run by
    the daemon), the query reads files only under those folders: DuckDB's own sandbox, external access
    off but for them and `dest`'s folder. (A file source is checked by the caller, `input_path`.)"""
    with Store.memory() as scratch:
        scratch.set_option("threads", "1")
        scratch.set_option("file_search_path", str(base_dir))
        if read_roots is not None and query is not None:
            folders = [f"{folder}/" for folder in (*read_roots, dest.parent.resolve())]
            scratch.execute_script("SET allowed_directories = [" + ", ".join(f"'{_quote(f)}'" for f in folders) + "]")
            scratch.set_option("enable_external_access", "false")
        select = _select(scratch, path, query, base_dir)
        try:
            scratch.execute_script(f"COPY ({select}) TO '{_quote(str(dest))}' (FORMAT parquet)")
            return int(scratch.scalar(f"SELECT count(*) FROM read_parquet('{_quote(str(dest))}')"))
        except StoreError as e:
            if read_roots is not None and query is not None and "Permission Error" in str(e):
                where = " or ".join(f"{root}/" for root in read_roots)
                raise SpecError(f"cannot read the source: through the daemon a source query reads files only under "
                                f"{where}, named by absolute path ({_short(e)})") from e
            raise SpecError(f"cannot read the training source: {_short(e)}") from e


def _select(scratch: Store, path: str | None, query: str | None, base_dir: Path) -> str:
    if path is not None:
        resolved = Path(path) if Path(path).is_absolute() else base_dir / path
        if not resolved.is_file():
            raise SpecError(f"source file {resolved} does not exist; fix 'source.path' in the spec")
        reader = "read_parquet" if resolved.suffix.lower() in (".parquet", ".pq") else "read_csv"
        return f"SELECT * FROM {reader}('{_quote(str(resolved))}')"
    assert query is not None
    try:
        types = scratch.statement_types(query)
    except StoreError as e:
        raise SpecError(f"source.query: {_short(e)}; fix the spec") from e
    if types != ["SELECT"]:
        raise SpecError(f"source.query must be one SELECT statement, got {types or 'nothing'}; fix the spec")
    return query.strip().rstrip(";")


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _short(error: Exception) -> str:
    return str(error).replace("store script failed: ", "").replace("store statement failed: ", "").splitlines()[0]


def concat_parquet(pattern: str, dest: Path) -> None:
    """Concatenate the Parquet files matching `pattern` into `dest`, streaming, in file-name order then
    row order (DuckDB reads a glob's files sorted by name and keeps insertion order): name the files
    so that this is the order wanted. No sort, and one thread (in order without buffering), so memory
    stays bounded whatever the size."""
    with Store.memory() as scratch:
        scratch.set_option("threads", "1")
        scratch.set_option("memory_limit", "256MB")
        scratch.set_option("preserve_insertion_order", "true")
        scratch.execute_script(f"COPY (SELECT * FROM read_parquet('{_quote(pattern)}')) "
                               f"TO '{_quote(str(dest))}' (FORMAT parquet)")
