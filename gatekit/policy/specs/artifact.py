"""The ``artifact:`` section: integrity and provenance of the model file.

:class:`SignatureSpec` (a detached Ed25519 signature), :class:`MetadataSpec` (the model card's
required fields and version) and :class:`ArtifactSpec`, which adds the file's expected sha256.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.results import OnFail
from gatekit.policy.specs.common import OnFailField, PathField, Spec


class SignatureSpec(Spec):
    """A detached Ed25519 signature over the model file's bytes (paths relative to the policy).

    Parameters
    ----------
    file : str
        The signature: 64 raw bytes, or their base64 / hex text.
    public_key : str
        The signer's public key: a PEM ``PUBLIC KEY`` file, or the raw 32-byte key as base64 / hex text.
    required : bool
        A missing or invalid signature fails the check (default true); false reports it only.
    """

    file: PathField
    public_key: PathField
    required: bool = True


class MetadataSpec(Spec):
    """The model card / metadata file the artifact must come with (YAML or JSON, relative to the policy).

    Parameters
    ----------
    file : str
        The candidate's metadata file.
    required_fields : list of str
        Fields that must be present and non-empty; dotted names reach into mappings (``training.data_sha256``).
    version_field : str
        Field holding the model's version (default ``version``).
    greater_than_production : bool
        The version must be greater than the production model's (PEP 440 ordering, which orders plain
        ``X.Y.Z`` semantic versions as SemVer does).
    production_file : str, optional
        The production model's metadata file (its ``version_field``).
    production_version : str, optional
        The production version, given directly.
    """

    file: PathField
    required_fields: list[str] = Field(default_factory=list)
    version_field: str = "version"
    greater_than_production: bool = False
    production_file: PathField | None = None
    production_version: str | None = None

    @model_validator(mode="after")
    def _production_given(self) -> MetadataSpec:
        if self.greater_than_production and not (self.production_file or self.production_version):
            raise PydanticCustomError("metadata", "greater_than_production needs production_file or "
                                      "production_version", {})
        return self


class ArtifactSpec(Spec):
    """Integrity and provenance of the model artifact (``inputs.model``).

    Parameters
    ----------
    on_fail : {"block", "warn"}
        Severity of every check here (default block).
    sha256 : str, optional
        Expected sha256 of the model file (64 hex digits).
    signature : SignatureSpec, optional
        A detached Ed25519 signature that must verify with the given public key. A verified signature
        also allows a pickle / joblib model to be loaded.
    metadata : MetadataSpec, optional
        The model card's required fields and version.
    """

    on_fail: OnFailField = OnFail.BLOCK
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    signature: SignatureSpec | None = None
    metadata: MetadataSpec | None = None

    def rule_count(self) -> int:
        """Return the number of rules given."""
        return (self.sha256 is not None) + (self.signature is not None) + (self.metadata is not None)
