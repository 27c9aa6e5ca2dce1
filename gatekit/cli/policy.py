"""The commands about policies themselves: ``policy diff``, ``schema`` and ``metrics``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gatekit.cli.common import fail, internal

policy_app = typer.Typer(help="Work with policy files.", no_args_is_help=True)
"""The ``gatekit policy`` group; :mod:`gatekit.cli` adds it to the app."""


@policy_app.command("diff")
def policy_diff(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="The policy as it was.")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The policy as it is now.")],
    format: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
) -> None:
    """Print a changelog from OLD to NEW: added, removed, tightened, loosened rules and severity changes."""
    import json

    from gatekit.core.errors import PolicyError
    from gatekit.policy import load_policy
    from gatekit.policy.diff import diff

    if format not in ("markdown", "json"):
        fail(ValueError(f"--format must be markdown or json, not {format!r}"), "invalid usage")
    try:
        d = diff(load_policy(old), load_policy(new))
    except PolicyError as exc:
        fail(exc, "invalid policy")
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    typer.echo(d.to_markdown() if format == "markdown" else json.dumps(d.to_dict(), indent=2))



def schema() -> None:
    """Print the policy file's JSON Schema (for editor completion and validation in other tools)."""
    import json

    from gatekit.policy.specs import Policy

    doc = Policy.model_json_schema()
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", **doc}
    typer.echo(json.dumps(doc, indent=2, sort_keys=False))



def list_metrics(
    policy: Annotated[Path | None, typer.Option(
        "--policy", help="Also list the custom metrics this policy loads (its custom_metrics: block), with their "
                         "parameters and where they come from.")] = None,
) -> None:
    """List the metric names a policy may use, with units and definitions (and installed custom metric plug-ins)."""
    from gatekit.core.errors import PolicyError
    from gatekit.metrics import default_registry
    from gatekit.metrics.custom import ENTRY_POINT_GROUP, declaration, installed_entry_points

    reg = default_registry()
    if policy is not None:
        from gatekit.policy import load_policy

        try:
            reg = load_policy(policy).registry or reg
        except PolicyError as exc:
            fail(exc, "invalid policy")
        except Exception as exc:  # noqa: BLE001
            internal(exc)
    for spec in reg.specs():
        name = spec.name.replace("_at_T", "_at_<T>  (e.g. " + spec.name.replace("_at_T", "_at_0_5") + ")")
        if spec.name.endswith("[class]"):
            base = spec.name.split("[")[0]
            name = f"{base}[class=<label>]  (e.g. {base}[class=fraud])"
        aliases = f"  aliases: {', '.join(spec.aliases)}" if spec.aliases else ""
        params = f"  params: {', '.join(spec.params)}" if spec.params else ""
        decl = declaration(spec)
        if spec.source is not None and decl is not None:
            params = f"  params: {', '.join(p.text() for p in decl.params)}" if decl.params else ""
            name += f"  (custom: {spec.source}; inputs {', '.join(decl.inputs)}; tasks {', '.join(decl.tasks)})"
        typer.echo(f"{name}  [{spec.section}, {spec.unit}]  {spec.description}{aliases}{params}")
    installed = installed_entry_points()
    if installed:
        typer.echo(f"\nInstalled custom metric entry points (group {ENTRY_POINT_GROUP}; not loaded: a policy loads "
                   "them by name under custom_metrics.entry_points):")
        for ep in installed:
            dist = f"  ({ep['distribution']} {ep['version']})" if ep["distribution"] else ""
            typer.echo(f"{ep['name']} = {ep['value']}{dist}")

