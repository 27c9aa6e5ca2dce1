"""The ``security:`` section: personal data and licences.

:class:`PiiSpec` (what personal data to look for and where), :class:`LicenseSpec` (allowed and
denied licences of the runtime packages) and :class:`SecuritySpec`.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.results import OnFail
from gatekit.policy.specs.common import OnFailField, PathField, Spec

PiiKind = Literal["email", "phone", "card", "iban", "national_id"]
PiiPlace = Literal["data", "outputs", "metadata"]


class PiiSpec(Spec):
    """Personal data that must not be in the evaluation data, the model's outputs or its metadata.

    Parameters
    ----------
    kinds : list of {"email", "phone", "card", "iban", "national_id"}
        What to look for (default all; see :mod:`gatekit.validators.pii`).
    national_ids : list of str
        python-stdnum modules for ``national_id`` (default ``[us.ssn]``; e.g. ``de.idnr``, ``nl.bsn``).
    scan : list of {"data", "outputs", "metadata"}
        Where to look (default all three).
    columns : list of str, optional
        Data columns to scan; default every text and numeric column.
    metadata_files : list of str
        More metadata files (YAML / JSON) to scan; ``artifact.metadata.file`` and an ONNX file's
        metadata are scanned anyway.
    max_values : int
        Values with personal data tolerated per place (default 0).
    """

    kinds: list[PiiKind] = Field(default_factory=lambda: list(get_args(PiiKind)), min_length=1)
    national_ids: list[str] = Field(default_factory=lambda: ["us.ssn"])
    scan: list[PiiPlace] = Field(default_factory=lambda: list(get_args(PiiPlace)), min_length=1)
    columns: list[str] | None = Field(default=None, min_length=1)
    metadata_files: list[PathField] = Field(default_factory=list)
    max_values: int = Field(default=0, ge=0)

    @field_validator("national_ids")
    @classmethod
    def _modules(cls, v: list[str]) -> list[str]:
        from gatekit.validators.pii import stdnum_module

        for m in v:
            try:
                stdnum_module(m)
            except ValueError as exc:
                raise PydanticCustomError("stdnum", "{why}", {"why": str(exc)}) from None
        return v


class LicenseSpec(Spec):
    """Licences of the model's runtime packages (see :mod:`gatekit.validators.licenses`).

    Parameters
    ----------
    requirements : str, optional
        The model's requirements file (relative to the policy); default every package installed in
        the environment gatekit runs in.
    allow, deny : list of str
        SPDX identifiers or shell patterns (``BSD-*``); deny wins. With an empty allow list, anything
        not denied is allowed.
    allow_unknown : bool
        Let a package whose licence cannot be read pass (default false: fail closed).
    """

    requirements: PathField | None = None
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    allow_unknown: bool = False

    @model_validator(mode="after")
    def _lists(self) -> LicenseSpec:
        if not self.allow and not self.deny:
            raise PydanticCustomError("licenses", "give an allow list, a deny list, or both", {})
        return self


class SecuritySpec(Spec):
    """Security and compliance checks: personal data and licences.

    Parameters
    ----------
    on_fail : {"block", "warn"}
        Severity of every check here (default block).
    pii : PiiSpec, optional
    licenses : LicenseSpec, optional
    """

    on_fail: OnFailField = OnFail.BLOCK
    pii: PiiSpec | None = None
    licenses: LicenseSpec | None = None

    def rule_count(self) -> int:
        """Return the number of rules given."""
        return (len(self.pii.scan) if self.pii else 0) + (self.licenses is not None)
