"""Anchors of the audit log's head: a signed line outside the store for every commit that adds audit rows.

The hash chain shows a changed or removed row in the middle, but not a cut tail or a chain rewritten
from some row on with recomputed hashes. So after each commit that added audit rows, the store's
head — its row count, last id and last row hash — is appended to `<home>/audit-anchors.jsonl`
(mode 0600), fsynced, and sent to the local syslog (ident `vigil-audit`, so journald or rsyslog can
ship it off the box). Each line is signed with the box's audit-anchor Ed25519 key,
`<home>/keys/audit-anchor.key` (PKCS#8 PEM, mode 0600, created on first use, like the bundle
signing key of `vigil keys init` but needing no admin step). Verification compares the store with
every anchor (`appliance/registry/audit.py`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.core.durable import fsync_directory
from appliance.clock import utc_now
from appliance.errors import StoreError, StoreFull
from appliance.signing import create_key, key_id, load_key, raw_public, verify

if TYPE_CHECKING:
    from appliance.store.connection import Store

ANCHOR_FILE = "audit-anchors.jsonl"
ANCHOR_KEY = Path("keys") / "audit-anchor.key"
SYSLOG_IDENT = "vigil-audit"
_FIELDS = ("rows", "last_id", "head", "at", "key_id")
_HEAD = "SELECT count(*), max(id), arg_max(row_hash, id) FROM audit_log"


@dataclass(frozen=True, slots=True)
class Anchor:
    """One line of the anchor file: the head at `rows` rows, and whether its signature holds."""

    line: int
    rows: int
    last_id: int | None
    head: str
    at: str
    key_id: str
    signed: bool


def _message(fields: dict[str, Any]) -> bytes:
    return json.dumps({k: fields[k] for k in _FIELDS}, sort_keys=True, separators=(",", ":")).encode()


def head(store: "Store") -> tuple[int, int | None, str]:
    """(row count, last id, last row hash) of the audit log as committed."""
    rows, last_id, row_hash = store.execute(_HEAD)[0]
    return int(rows), None if last_id is None else int(last_id), row_hash or ""


class AuditAnchors:
    """The anchor file and key of one home; one per store, shared by its cursors."""

    def __init__(self, home_root: Path) -> None:
        self.path = home_root / ANCHOR_FILE
        self.key_path = home_root / ANCHOR_KEY
        self.lock = threading.RLock()  # held from a commit that added audit rows until its anchor is written
        self._private: Any = None

    def record(self, store: "Store") -> str:
        """Append (and fsync) a signed line for the committed head; call holding `lock`, after COMMIT."""
        line = self.sign_line(*head(store))
        self._append(line)
        _to_syslog(line)
        return line

    def start(self, store: "Store") -> bool:
        """Anchor the head of a log that was never anchored (a home from before anchoring, just migrated):
        trust on first use. A home that has anchored before (its key exists) is left to `verify`."""
        if self.key_path.exists() or self.path.exists() or not store.scalar(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'audit_log' "
                "AND column_name = 'row_hash'"):
            return False
        with self.lock:
            rows, last_id, row_hash = head(store)
            if not rows:
                return False
            line = self.sign_line(rows, last_id, row_hash)
            self._append(line)
            _to_syslog(line)
        return True

    def _append(self, line: str) -> None:
        created = not self.path.exists()
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(descriptor, (line + "\n").encode())
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            if created:
                fsync_directory(self.path.parent)
        except OSError as e:
            kind = StoreFull if e.errno in (errno.ENOSPC, errno.EDQUOT) else StoreError
            raise kind(f"the change was committed, but its audit anchor could not be written to "
                       f"{self.path} ({e.strerror or e}); the next audited change anchors it") from e

    def _key(self) -> Any:
        if self._private is None:
            self._private = _load_or_create(self.key_path)
        return self._private

    def public_key(self) -> bytes | None:
        """The raw public key that signs this home's anchors (None before the first anchor)."""
        if not self.key_path.exists():
            return None
        return raw_public(self._key())

    def read(self) -> list[Anchor]:
        """Every anchor line with its signature checked; a line that does not parse is unsigned."""
        if not self.path.exists():
            return []
        public = self.public_key()
        found = []
        for number, text in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if text.strip():
                found.append(_parse(number, text, public))
        return found

    def lines_up_to(self, rows: int) -> list[str]:
        """The anchor file's lines that anchor at most `rows` rows, verbatim (for a backup of that head)."""
        if not self.path.exists():
            return []
        kept = []
        for text in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if int(json.loads(text)["rows"]) <= rows:
                    kept.append(text)
            except (ValueError, KeyError, TypeError):
                continue
        return kept

    def sign_line(self, rows: int, last_id: int | None, row_hash: str) -> str:
        """A signed anchor line for a given head (a backup's head when no line anchors it yet)."""
        fields: dict[str, Any] = {"rows": rows, "last_id": last_id, "head": row_hash,
                                  "at": utc_now().isoformat(timespec="microseconds"),
                                  "key_id": key_id(raw_public(self._key()))}
        fields["signature"] = base64.b64encode(self._key().sign(_message(fields))).decode()
        return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def write_lines(target: Path, lines: list[str]) -> None:
    """Write anchor lines verbatim to `target` (a backup's copy), mode 0600, fsynced."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, "".join(line + "\n" for line in lines).encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _parse(number: int, text: str, public: bytes | None) -> Anchor:
    try:
        fields = json.loads(text)
        anchor = Anchor(number, int(fields["rows"]), fields["last_id"], str(fields["head"]), str(fields["at"]),
                        str(fields["key_id"]), False)
        signature = base64.b64decode(fields["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return Anchor(number, -1, None, "", "", "", False)
    signed = public is not None and fields["key_id"] == key_id(public) and verify(public, _message(fields), signature)
    return Anchor(anchor.line, anchor.rows, anchor.last_id, anchor.head, anchor.at, anchor.key_id, signed)


def _load_or_create(path: Path) -> Any:
    """The anchor key at `path`, created on first use (or the one another process just created)."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            create_key(path)
    try:
        return load_key(path)
    except (OSError, ValueError) as e:
        raise StoreError(f"cannot read the audit-anchor key {path}: {e}") from e


def _to_syslog(line: str) -> None:
    """Send the anchor line to the local syslog (journald), so a shipper can copy it off the box."""
    try:
        import syslog
    except ImportError:  # not on this platform
        return
    syslog.openlog(SYSLOG_IDENT, syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    syslog.syslog(syslog.LOG_NOTICE, line)
