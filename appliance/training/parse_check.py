"""Reading an untrusted model file once in a child process before this process reads it.

XGBoost, LightGBM and CatBoost parse their model files in native code. No Python code from the file
runs there, but a crafted file could crash the parser, and the process reading it may be the daemon.
So an import reads such a file (a boosting library's own format, or a skops file holding the
libraries' types) first in a short-lived child (`conversion.run_isolated`), which parses it, checks its
trees' structure and checks it against the spec: only when the child read it cleanly does the caller
read it itself.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from appliance.errors import VigilError


def check_in_child(data: bytes, file_name: str, spec_text: str) -> None:
    """Raise ArtifactError (or the child's refusal) unless a child process reads the file cleanly."""
    from appliance.registry.conversion import run_isolated

    suffix = Path(file_name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="vigil-parse-") as scratch:
        folder = Path(scratch)
        (folder / f"model{suffix}").write_bytes(data)
        (folder / "spec.toml").write_text(spec_text, encoding="utf-8")
        run_isolated("appliance.training.parse_check", [f"model{suffix}", "spec.toml", file_name], folder,
                     file_name, timeout_s=120.0)


def main(argv: list[str]) -> int:
    """`python -m appliance.training.parse_check MODEL SPEC NAME PARENT_PID`: 0 when the model reads
    cleanly and agrees with the spec; else 2 and one line on stderr."""
    from appliance.core.child_setup import prepare

    prepare(int(argv[3]))
    model_file, spec_file, name = Path(argv[0]), Path(argv[1]), argv[2]
    try:
        from appliance.contracts.contract import infer_contract  # noqa: F401 - imported here, in the child
        from appliance.training.importing import read_safe
        from appliance.training.spec import parse_spec

        spec = parse_spec(spec_file.read_text(encoding="utf-8"), "the spec").spec
        read_safe(Path(name).with_suffix(model_file.suffix), model_file.read_bytes(), spec, isolated=True)
    except VigilError as e:
        print(str(e).removeprefix(f"{name}: "), file=sys.stderr)
        return 2
    except Exception as e:  # the file decides what the parser raises
        print(f"it could not be read ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
