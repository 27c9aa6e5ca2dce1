"""Policy spec models, YAML loading with file:line errors, and ``require:`` expressions."""

from gatekit.policy.loader import LoadedPolicy, load_policy
from gatekit.policy.specs import Policy

__all__ = ["LoadedPolicy", "Policy", "load_policy"]
