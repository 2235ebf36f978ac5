"""Arguments of the registry's operations: models, versions, promotion, contracts, holds, bundles."""

from __future__ import annotations

from appliance.operation_args.types import Args, FilePath, Id, Name, Percent, Reason, Sha256, Text, Version


class Model(Args):
    """One model, by name."""

    name: Name


class ModelVersion(Args):
    """One version of a model."""

    name: Name
    version: Version


class Promote(Args):
    """Ask for an alias to point at a version (the alias name is checked by the registry)."""

    name: Name
    version: Version
    alias: Name
    percent: Percent | None = None
    reason: Text = ""


class Request(Args):
    """One promotion request."""

    id: Id


class Reject(Args):
    """Reject a pending promotion request."""

    id: Id
    reason: Text = ""


class Listing(Args):
    """A list: the current entries, or with `all` also the decided, resolved or released ones."""

    all: bool = False


class Train(Args):
    """Train a version from a spec file on the daemon's machine."""

    spec: FilePath
    reason: Text = ""


class ImportTrusted(Args):
    """Register a model file trained elsewhere, in a format that runs code when loaded (admin only)."""

    name: Name
    file: FilePath
    spec: FilePath
    reason: Text = ""


class Import(ImportTrusted):
    """Register a model file trained elsewhere, in a safe format (`trust` is refused: see ImportTrusted)."""

    trust: bool = False


class ContractApply(Args):
    """Store an edited contract (TOML text) as the version's new revision."""

    name: Name
    version: Version
    toml: Text
    source: Text = "contract"
    reason: Text


class ContractCheck(Args):
    """Validate a data file against a version's contract."""

    name: Name
    version: Version
    file: FilePath


class Rollback(Args):
    """Point champion back (at `to`, else the version it replaced)."""

    name: Name
    to: Version | None = None
    reason: Text = ""


class RollbackPlan(Args):
    """Which versions a rollback would swap and why that one, with the target's pre-flight run now and
    the traffic it answered in its earlier times as champion; changes nothing."""

    name: Name
    to: Version | None = None


class HoldAdd(Args):
    """Hold a version (or, without `version`, every version of the model) from retention."""

    name: Name
    version: Version | None = None
    reason: Text = ""


class HoldRelease(Args):
    """Release an audit hold."""

    id: Id
    reason: Text = ""


class Datasheet(Args):
    """A snapshot's datasheet: a snapshot id, or a model name with a version."""

    ref: Name
    version: Version | None = None


class DatasheetEdit(Datasheet):
    """Record how the data was collected and its known limitations."""

    collection: Text | None = None
    limitations: Text | None = None


class DatasheetRegenerate(Args):
    """Profile one snapshot again, or every snapshot."""

    ref: Name | None = None


class BundleExport(Args):
    """Write a version as one signed file."""

    name: Name
    version: Version
    file: FilePath


class PlanExport(Args):
    """Write a version's scoring plan, contract and lineage as a signed package directory."""

    name: Name
    version: Version
    directory: FilePath


class BundleImport(Args):
    """Verify a signed bundle and register its version."""

    file: FilePath
    reason: Text | None = None


class KeyTrust(Args):
    """Accept bundles signed by this public key (base64)."""

    name: Name
    public_key: Name


class KeyDistrust(Args):
    """Stop accepting bundles signed by a key."""

    name: Name


class CodeTrust(Args):
    """Trust the code a spec ships (`[code] paths`), exactly as it is now (admin only)."""

    spec: FilePath
    reason: Reason


class CodeRevoke(Args):
    """Stop trusting a code archive: models that ship it no longer load."""

    sha256: Sha256
    reason: Reason
