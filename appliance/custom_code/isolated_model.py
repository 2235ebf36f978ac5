"""A model that ships a team's code, as Vigil holds it: a proxy whose every call runs in a worker process.

`IsolatedModel` keeps the model's skops bytes and the code archive, never the model itself. On first
use it unpacks both into a private scratch folder and starts `python -m appliance.custom_code.worker`
(no Vigil variables, one thread, dies with this process), then passes each `predict`/`predict_proba`
frame to it and reads back a NumPy array. Calls are one at a time per version; a call that takes longer
than `CALL_TIMEOUT_S`, or a worker that died, costs that call an error and the next call a new worker.
Training, import, gates, serving and explanations all call it like any fitted model; no code from the
team ever runs in the calling process.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from appliance.custom_code import wire
from appliance.custom_code.bundle import extract
from appliance.errors import ArtifactError, PredictorBroken

CALL_TIMEOUT_S = 30.0
START_TIMEOUT_S = 120.0
ANSWER_BYTES_PER_ROW = 64 * 1024  # an answer is a few numbers per row; more is refused unread


class TeamCodeError(RuntimeError):
    """The team's code failed to answer a call (a bug in the model, not in the caller's request)."""


class CodeProcessFailed(TeamCodeError, PredictorBroken):
    """The worker died, hung past CALL_TIMEOUT_S or garbled its stream: it is replaced on the next call."""


class IsolatedModel:
    """predict / predict_proba over polars frames, computed by a worker process."""

    def __init__(self, artifact: bytes, code_archive: bytes, code_sha256: str, label: str,
                 home: Path | None = None) -> None:
        self.stored_artifact = artifact
        self.code_archive = code_archive
        self.code_sha256 = code_sha256
        self.label = label
        self.home = home  # Vigil's home, which the worker's sandbox keeps the team's code away from
        self.described: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None
        self._finalizer: Any = None

    # -- what the rest of Vigil reads ------------------------------------------------------------
    @property
    def classes_(self) -> np.ndarray:
        self.start()
        classes = self.described.get("classes")
        if classes is None:
            raise AttributeError("the model has no classes_")
        return np.asarray(classes)

    @property
    def reported_estimator(self) -> str:
        self.start()
        return str(self.described.get("estimator", "unknown"))

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        self.start()
        return dict(self.described.get("hyperparameters") or {})

    def __getattr__(self, name: str) -> Any:
        if name in ("predict", "predict_proba"):
            self.start()
            if name not in self.described.get("methods", []):
                raise AttributeError(f"the model has no {name}")
            return lambda frame: self._call(name, frame)
        raise AttributeError(name)

    def __getstate__(self) -> dict[str, Any]:  # its size in memory is estimated by its pickled size
        return {"stored_artifact": self.stored_artifact, "code_archive": self.code_archive,
                "code_sha256": self.code_sha256, "label": self.label, "home": self.home}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["stored_artifact"], state["code_archive"], state["code_sha256"],  # type: ignore[misc]
                      state["label"], state.get("home"))

    # -- the worker -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker (once) and read what it loaded; ArtifactError if it cannot load the model."""
        with self._lock:
            self._ensure()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _ensure(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self._stop()
        from appliance.core.child_setup import child_environment

        folder = Path(tempfile.mkdtemp(prefix="vigil-code-"))
        try:  # a changed archive or a failed start leaves no scratch folder behind
            (folder / "model.skops").write_bytes(self.stored_artifact)
            extract(self.code_archive, self.code_sha256, folder / "code")
            with (folder / "worker.log").open("wb") as log:
                home = [str(self.home)] if self.home is not None else []
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "appliance.custom_code.worker", str(folder), str(os.getpid()), *home],
                    cwd=folder, env={**child_environment(), "TMPDIR": str(folder)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                    start_new_session=True)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._folder = folder
        self._finalizer = weakref.finalize(self, _kill, self._process, folder)
        try:
            header, _ = self._receive(START_TIMEOUT_S, 0)  # a description carries no payload
        except (OSError, EOFError, TimeoutError, ValueError) as e:  # ValueError: a header that is not JSON
            self._stop()
            raise ArtifactError(f"{self.label}: the model's code process did not start: {e}") from e
        if not isinstance(header, dict) or (header.get("ok") and not isinstance(header.get("described"), dict)):
            self._stop()
            raise ArtifactError(f"{self.label}: the model's code process described the model as "
                                f"{str(header)[:100]!r}, not as Vigil's worker does")
        if not header.get("ok"):
            self._stop()
            raise ArtifactError(f"{self.label}: the team's code could not load the model: {str(header.get('error'))[:1000]}")
        self.described = header["described"]

    def _call(self, method: str, frame: Any) -> np.ndarray:
        buffer = io.BytesIO()
        frame.write_ipc(buffer)
        with self._lock:
            self._ensure()
            assert self._process is not None and self._process.stdin is not None
            try:
                wire.send(self._process.stdin, {"method": method}, buffer.getvalue())
                header, payload = self._receive(CALL_TIMEOUT_S, 4096 + ANSWER_BYTES_PER_ROW * len(frame))
                answer = wire.array_from(payload) if header.get("ok") is True else None
            except (OSError, EOFError, TimeoutError, ValueError, AttributeError) as e:  # not JSON, not an object,
                self._stop()  # not .npy: whatever is on the stream now cannot be trusted to be the next answer
                raise CodeProcessFailed(f"{self.label}: the model's code process failed ({e}); it is restarted on "
                                        "the next call") from e
        if answer is None:
            raise TeamCodeError(f"{self.label}: the team's code raised {str(header.get('error'))[:1000]}")
        return _checked_answer(self.label, method, answer, len(frame))

    def _receive(self, timeout_s: float, max_payload: int = wire.MAX_PAYLOAD) -> tuple[dict[str, Any], bytes]:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        deadline = time.monotonic() + timeout_s

        def read(n: int) -> bytes:
            chunks, left = [], n
            while left:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no answer within {timeout_s:g} s")
                ready, _, _ = select.select([stream], [], [], remaining)
                if not ready:
                    continue
                chunk = os.read(stream.fileno(), left)
                if not chunk:
                    raise EOFError(f"it exited ({self._last_log_line() or 'no message'})")
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)

        return wire.receive(read, max_payload)

    def _last_log_line(self) -> str:
        if self._folder is None or not (self._folder / "worker.log").exists():
            return ""
        lines = [line.strip() for line in (self._folder / "worker.log").read_text("utf-8", "replace").splitlines()
                 if line.strip()]
        return lines[-1][:300] if lines else ""

    def _stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._process, self._folder, self._finalizer = None, None, None


def _checked_answer(label: str, method: str, answer: np.ndarray, rows: int) -> np.ndarray:
    """One answer per input row, of the shape and kind the method promises; else the call fails (an
    answer that dropped or added a row would put one client's answer on another's row)."""
    shape_ok = answer.ndim == (2 if method == "predict_proba" else 1) and answer.shape[0] == rows
    if not shape_ok:
        raise TeamCodeError(f"{label}: the team's code answered {method} with shape {answer.shape} for {rows} rows; "
                            f"it must give one {'row of probabilities' if method == 'predict_proba' else 'value'} "
                            "per input row")
    if method == "predict_proba" and (answer.dtype.kind not in "fiu" or not np.all(np.isfinite(answer))):
        raise TeamCodeError(f"{label}: the team's code answered predict_proba with values that are not finite "
                            "numbers")
    return answer


def _kill(process: subprocess.Popen[bytes], folder: Path) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.wait(5)
    for stream in (process.stdin, process.stdout):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.close()
    shutil.rmtree(folder, ignore_errors=True)
