"""Converting a trusted model file (joblib, pickle, skops with any types) to safe skops, in a child process.

Loading a pickle runs whatever code its author put in it. So the caller never loads one: it copies
the file into a private scratch folder and runs `python -m appliance.registry.conversion` there, a
short-lived process of its own (same OS user, no Vigil secrets in its environment, lowest CPU
priority, killed with its process group when done or after `TIMEOUT_S`). The child loads the file,
writes the model back as skops and exits; the caller reads only those bytes and loads them with
Vigil's type allow-list, so nothing the file holds ever runs in the caller (the daemon or the CLI).

A model is accepted when it scores (`predict`) and is built only from the types of Vigil's allow-list
(`artifacts/model_files.py`: scikit-learn, NumPy, SciPy, the boosting libraries' estimators), the same rule every
stored artifact follows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from appliance.core.child_setup import child_environment
from appliance.errors import ArtifactError

TIMEOUT_S = 300.0
ACCEPTED = (".skops", ".joblib", ".pkl", ".pickle")
ACCEPTS = ("a scikit-learn estimator or pipeline built only from scikit-learn, NumPy and SciPy types and "
           "XGBoost, LightGBM or CatBoost estimators (saved with joblib, pickle or skops)")
_CONVERTED = "converted.skops"
_ERRORS = "errors.txt"


def convert_trusted(data: bytes, file_name: str, timeout_s: float = TIMEOUT_S) -> bytes:
    """Skops bytes of the model in `data` (a file's content), loaded and converted by a child process."""
    suffix = check_format(file_name)
    with tempfile.TemporaryDirectory(prefix="vigil-convert-") as scratch:
        folder = Path(scratch)
        source = folder / f"model{suffix}"
        source.write_bytes(data)
        _run_child(folder, source, file_name, timeout_s)
        converted = folder / _CONVERTED
        if not converted.is_file():
            raise ArtifactError(f"{file_name}: the loading process wrote no model; a trusted import accepts {ACCEPTS}")
        return converted.read_bytes()


def check_format(file_name: str) -> str:
    """The file's suffix, if a trusted import accepts it."""
    suffix = Path(file_name).suffix.lower()
    if suffix not in ACCEPTED:
        raise ArtifactError(f"{file_name}: unknown model format '{suffix}'; a trusted import accepts "
                            f"{', '.join(ACCEPTED)} files holding {ACCEPTS}")
    return suffix


def _run_child(folder: Path, source: Path, file_name: str, timeout_s: float) -> None:
    """Run the converter in `folder`, in a new process group that is killed afterwards, whatever happened."""
    run_isolated("appliance.registry.conversion", [str(source), str(folder / _CONVERTED)], folder, file_name,
                 timeout_s)


def run_isolated(module: str, args: list[str], folder: Path, file_name: str, timeout_s: float = TIMEOUT_S) -> None:
    """Run `python -m MODULE ARGS PARENT_PID` in `folder` as a short-lived child (no Vigil variables, one
    thread, its own process group, killed afterwards whatever happened); an ArtifactError with the
    child's last line of stderr unless it exits 0."""
    command = [sys.executable, "-m", module, *args, str(os.getpid())]
    with (folder / _ERRORS).open("wb") as errors:
        child = subprocess.Popen(command, cwd=folder, env=child_environment(), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        try:
            code = child.wait(timeout_s)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    if code is None:
        raise ArtifactError(f"{file_name}: loading it took longer than {timeout_s:g} s; the loading process was "
                            "stopped")
    if code != 0:
        raise ArtifactError(f"{file_name}: {_last_line(folder / _ERRORS) or f'the loading process exited {code}'}")


def _last_line(path: Path, limit: int = 4096) -> str:
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - limit))
        tail = handle.read().decode("utf-8", errors="replace")
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


# The child's side: everything below runs only in the converting process.

def _load_any(source: Path) -> Any:
    """Load a model file of any accepted format, trusting everything in it (this is the child)."""
    suffix = source.suffix.lower()
    if suffix == ".joblib":
        import joblib

        return joblib.load(source)
    if suffix == ".skops":
        from appliance.artifacts.model_files import deserialize

        return deserialize(source.read_bytes(), source.name, trust_all=True)
    import pickle

    with source.open("rb") as handle:
        return pickle.load(handle)  # noqa: S301 - the converting child exists to do exactly this


def _to_skops(model: Any) -> bytes:
    """The model as skops bytes, refused unless it scores and every type in it is on the allow-list."""
    from appliance.artifacts.model_files import serialize, unsafe_types

    if not hasattr(model, "predict"):
        raise ArtifactError(f"it holds a {type(model).__name__}, not a model that predicts; a trusted import "
                            f"accepts {ACCEPTS}")
    data = serialize(model)
    unsafe = unsafe_types(data)
    if unsafe:
        raise ArtifactError(f"it uses types outside Vigil's allow-list ({', '.join(unsafe)}), so it "
                            f"cannot be stored safely; a trusted import accepts {ACCEPTS}")
    return data


def main(argv: list[str]) -> int:
    """`python -m appliance.registry.conversion SOURCE OUT PARENT_PID`: 0 with OUT written, else 2 and one
    line on stderr. The process dies with its parent (a daemon killed mid-import leaves no loader behind)."""
    from appliance.core.child_setup import prepare

    prepare(int(argv[2]))
    source, out = Path(argv[0]), Path(argv[1])
    try:
        data = _to_skops(_load_any(source))
    except ArtifactError as e:
        print(str(e), file=sys.stderr)
        return 2
    except Exception as e:  # the file's own code may raise anything
        print(f"it could not be loaded ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    out.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
