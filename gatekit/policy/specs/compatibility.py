"""The ``compatibility:`` section: feature signature and model format.

:class:`ModelFormatSpec` (allowed artifact formats), :class:`FeatureSignatureSpec` (strict or
backward-compatible signatures and where the expected one comes from) and
:class:`CompatibilitySpec`, which also accepts a bare mode name as the feature signature.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.results import OnFail
from gatekit.policy.specs.common import LogicalType, OnFailField, PathField, Spec


class ModelFormatSpec(Spec):
    """Allowed model artifact formats, detected from the file's content (never its extension).

    Parameters
    ----------
    allowed : list of str
        Any of ``onnx``, ``skops``, ``joblib``, ``pickle`` (any protocol) and ``pickle_v0`` ..
        ``pickle_v5`` (one pickle protocol), e.g. ``["onnx", "skops"]``.
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    """

    allowed: list[str] = Field(min_length=1)
    on_fail: OnFailField | None = None

    @field_validator("allowed")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        from gatekit.model.formats import KNOWN_FORMAT_NAMES

        for name in v:
            if name not in KNOWN_FORMAT_NAMES:
                close = difflib.get_close_matches(name, KNOWN_FORMAT_NAMES, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise PydanticCustomError("model_format", "unknown model format {name}{hint} Known: {known}",
                                          {"name": repr(name), "hint": hint or ".",
                                           "known": ", ".join(KNOWN_FORMAT_NAMES)})
        return v


class FeatureSignatureSpec(Spec):
    """Feature-signature compatibility between what the data producer sends and what the candidate expects.

    Parameters
    ----------
    mode : {"strict", "backward"}
        ``strict``: the candidate expects exactly the expected features (names and logical types).
        ``backward``: the candidate may drop nothing the expected signature has, may not change a type
        (integer -> float widening allowed), and every feature it adds needs a default.
    expected : dict of str to type, optional
        The producer's / production model's signature, e.g. ``{item_id: str, price: float}``.
    expected_file : str, optional
        A signature file (relative to the policy): a JSON / YAML mapping of name to type, or an MLflow
        ``MLmodel`` file.
    expected_model : str, optional
        The production model artifact (relative to the policy); its input signature is the expected one.
    candidate : dict of str to type, optional
        The candidate's declared input signature, when the artifact does not name its inputs (default:
        read from the candidate model: ONNX graph inputs, MLflow ``MLmodel``, scikit-learn
        ``feature_names_in_`` with types from the evaluation data).
    defaults : dict, optional
        Defaults for features the candidate adds (``{discount_rate: 0.0}``).
    validate_data : bool
        Also validate the evaluation data against the candidate's signature with pandera (default true).
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    """

    mode: Annotated[Literal["strict", "backward"],
                    BeforeValidator(lambda v: "backward" if v == "compatible" else v,
                                    json_schema_input_type=Literal["strict", "backward", "compatible"])] = "strict"
    expected: dict[str, LogicalType] | None = Field(default=None, min_length=1)
    expected_file: PathField | None = None
    expected_model: PathField | None = None
    candidate: dict[str, LogicalType] | None = Field(default=None, min_length=1)
    defaults: dict[str, Any] = Field(default_factory=dict)
    validate_data: bool = True
    on_fail: OnFailField | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FeatureSignatureSpec:
        """Refuse two expected signatures (one would be ignored silently) and defaults of None."""
        given = [k for k in ("expected", "expected_file", "expected_model") if getattr(self, k) is not None]
        if len(given) > 1:
            raise PydanticCustomError("signature_source", "give one expected signature, not {given}",
                                      {"given": " and ".join(given)})
        nulls = [k for k, v in self.defaults.items() if v is None]
        if nulls:
            raise PydanticCustomError("defaults", "defaults {names} are null; a default must be a value the model "
                                      "can take", {"names": ", ".join(map(repr, nulls))})
        return self


def _signature_shorthand(v: Any) -> Any:
    if v == "off":
        return None
    if v == "compatible":  # the seed's word for backward compatibility
        return {"mode": "backward"}
    if isinstance(v, str) and v in ("strict", "backward"):
        return {"mode": v}
    return v


class CompatibilitySpec(Spec):
    """Feature-signature and model-format compatibility (pandera + artifact inspection).

    Parameters
    ----------
    feature_signature : FeatureSignatureSpec or {"strict", "backward", "compatible", "off"}, optional
        A mode name alone means: expected = the evaluation data's columns and types.
    model_format : ModelFormatSpec, optional
    on_fail : {"block", "warn"}
        Default ``block``.
    """

    feature_signature: Annotated[
        FeatureSignatureSpec | None,
        BeforeValidator(_signature_shorthand, json_schema_input_type=FeatureSignatureSpec | Literal[
            "strict", "backward", "compatible", "off"] | None)] = None
    model_format: ModelFormatSpec | None = None
    on_fail: OnFailField = OnFail.BLOCK

    def rule_count(self) -> int:
        """Return the number of rules this section evaluates."""
        return (self.feature_signature is not None) + (self.model_format is not None)
