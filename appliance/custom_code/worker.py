"""The process that loads and runs a model shipping a team's code: never the daemon or the CLI.

`python -m appliance.custom_code.worker FOLDER PARENT_PID [HOME]` confines itself away from HOME
(`sandbox.py`), then reads `FOLDER/model.skops` and the code
under `FOLDER/code/` (put there by `isolated_model.py` after checking the archive's hash and the
admin's trust). It loads the model with Vigil's allow-list plus the types defined in the shipped
modules, says what it loaded, then answers predict calls on its protocol streams until its input
closes. It dies with its parent, runs with no Vigil variables and one thread, and the model's own
prints go to its log, not into the protocol.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

from appliance.custom_code import wire


def _streams() -> tuple[Any, Any]:
    """Protocol streams on private descriptors; fds 0 and 1 become /dev/null and the log."""
    protocol_in = os.fdopen(os.dup(0), "rb", buffering=0)
    protocol_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol_in, protocol_out


def _load(folder: Path, modules: list[str]) -> Any:
    import skops.io as sio

    from appliance.artifacts.model_files import listed_types, unsafe_types

    data = (folder / "model.skops").read_bytes()
    sys.path.insert(0, str(folder / "code"))
    listed = listed_types(data, "the model")
    outside = [t for t in unsafe_types(data) if t.split(".")[0] not in modules]
    if outside:
        raise ValueError(f"it holds types neither Vigil's allow-list nor the shipped code ({', '.join(modules)}) "
                         f"defines: {', '.join(outside)}")
    return sio.loads(data, trusted=listed)


def _describe(model: Any) -> dict[str, Any]:
    from appliance.core import lineage

    final = lineage.final_estimator(model)
    classes = getattr(model, "classes_", None)
    return {"estimator": lineage.estimator_name(model),
            "hyperparameters": lineage.hyperparameters(final) if hasattr(final, "get_params") else {},
            "classes": [str(c) for c in classes] if classes is not None else None,
            "methods": [m for m in ("predict", "predict_proba") if hasattr(model, m)]}


def serve(folder: Path, protocol_in: Any, protocol_out: Any) -> int:
    import polars as pl

    modules = sorted(p.stem if p.is_file() else p.name for p in (folder / "code").iterdir()
                     if p.suffix == ".py" or (p / "__init__.py").is_file())
    try:
        model = _load(folder, modules)
        wire.send(protocol_out, {"ok": True, "described": _describe(model)})
    except Exception as e:  # the team's code decides what loading raises
        wire.send(protocol_out, {"ok": False, "error": f"{type(e).__name__}: {e}"[:1000]})
        return 2
    read = wire.exact_reader(protocol_in)
    while True:
        try:
            header, payload = wire.receive(read)
        except EOFError:
            return 0
        method = header.get("method")
        if method not in ("predict", "predict_proba"):
            wire.send(protocol_out, {"ok": False, "error": f"unknown method {method!r}"})
            continue
        try:
            frame = pl.read_ipc(io.BytesIO(payload))
            answer = wire.array_bytes(getattr(model, method)(frame))
        except Exception as e:  # a failure of the team's code is an answer, not the end of the process
            wire.send(protocol_out, {"ok": False, "error": f"{type(e).__name__}: {e}"[:1000]})
            continue
        wire.send(protocol_out, {"ok": True}, answer)


def main(argv: list[str]) -> int:
    from appliance.core.child_setup import die_with_parent
    from appliance.custom_code.sandbox import confine

    die_with_parent(int(argv[1]))
    protocol_in, protocol_out = _streams()
    if len(argv) > 2:  # Vigil's home: what the team's code may not reach
        print(confine(Path(argv[2]), Path(argv[0])), file=sys.stderr, flush=True)
    return serve(Path(argv[0]), protocol_in, protocol_out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
