"""``cryptorails runtime facts|diff|check|cbom``: what a host's crypto runtime is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cryptorails.cli._common import cli, fail, format_option, open_keyring
from cryptorails.runtime import Policy, cbom_json, check, collect, diff, format_diff
from cryptorails.runtime._facts import RuntimeFacts, fingerprint
from cryptorails.runtime._policy import violations_json


@cli.group("runtime")
def runtime() -> None:
    """Runtime facts, drift between hosts, deployment policy, CBOM."""


def _keystore_option(f: Any) -> Any:
    f = click.option("--kek", type=click.Path(path_type=Path), help="KEK file of the keystore.")(f)
    f = click.option("--environment", help="Environment the keystore was created for.")(f)
    return click.option(
        "--keystore",
        type=click.Path(path_type=Path, exists=True, file_okay=False),
        help="Record this keystore's environment (and, for cbom, its keys).",
    )(f)


def _facts(keystore: Path | None, environment: str | None, kek: Path | None) -> Any:
    if keystore is not None:
        keyring = open_keyring(keystore, environment, kek)
        return collect(keyring=keyring), keyring
    return collect(environment=environment), None


def _read_facts(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        fail(f"error: cannot read {path}: {e.strerror or e}")
    except ValueError:
        fail(f"error: {path} is not JSON")
    if not isinstance(data, dict) or "fingerprint" not in data:
        fail(f"error: {path} is not a `cryptorails runtime facts --format json` record")
    return data


@runtime.command("facts")
@format_option
@_keystore_option
def facts_command(
    fmt: str, keystore: Path | None, environment: str | None, kek: Path | None
) -> None:
    """Print this host's crypto runtime facts (JSON for `runtime diff`)."""
    facts, _ = _facts(keystore, environment, kek)
    data = facts.to_json()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    crypto, ssl_module = data["cryptography"], data["ssl_module"]
    broken = [name for name, works in data["algorithms"].items() if not works]
    lines = [
        f"fingerprint      {data['fingerprint']}",
        f"environment      {data['environment'] or '(none: pass --keystore)'}",
        f"python           {data['python']['version']} ({data['python']['implementation']}, "
        f"{data['platform']['system']} {data['platform']['machine']}, {data['platform']['libc']})",
        f"cryptography     {crypto['version']} with {crypto['openssl']}",
        f"  fips           {crypto['fips']}",
        f"  legacy         {crypto['legacy_provider']}",
        f"ssl module       {ssl_module['openssl']} (hashlib fips: {ssl_module['hashlib_fips']})",
        f"openssl differs  {data['openssl_differs']}",
        f"algorithms       {sum(data['algorithms'].values())} of {len(data['algorithms'])} work"
        + (f"; not: {', '.join(broken)}" if broken else ""),
        f"CA bundles       certifi {data['ca']['certifi']} ({data['ca']['certifi_bundle']}), "
        f"system ({data['ca']['system_store']})",
        "packages         " + ", ".join(f"{k} {v}" for k, v in data["packages"].items()),
        f"overrides        {', '.join(data['overrides']) or 'none'}",
    ]
    click.echo("\n".join(lines))


@runtime.command("diff")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@format_option
def diff_command(a: Path, b: Path, fmt: str) -> None:
    """Compare two fact records. Exits 1 when they differ in security-relevant ways."""
    left, right = _read_facts(a), _read_facts(b)
    differences = diff(left, right)
    if fmt == "json":
        rows = [{"fact": d.path, "a": d.a, "b": d.b, "security": d.security} for d in differences]
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(format_diff(differences, str(a), str(b)))
    if any(d.security for d in differences):
        raise click.exceptions.Exit(1)


@runtime.command("check")
@click.option("--policy", "policy_file", type=click.Path(path_type=Path), required=True)
@click.option("--env", "env", required=True, help="The environment whose policy applies.")
@click.option(
    "--facts",
    "facts_file",
    type=click.Path(path_type=Path),
    help="Check a recorded fact file instead of this host.",
)
@format_option
def check_command(policy_file: Path, env: str, facts_file: Path | None, fmt: str) -> None:
    """Check the runtime against a policy. Exits 1 on any violation."""
    policy = Policy.load(policy_file, env)
    if facts_file is not None:
        data = _read_facts(facts_file)
        if data["fingerprint"] != fingerprint(data):
            fail(f"error: {facts_file} was edited after it was recorded (fingerprint differs)")
        facts = RuntimeFacts(data)
    else:
        facts = collect(environment=env)
    violations = check(policy, facts)
    if fmt == "json":
        click.echo(json.dumps(violations_json(violations), indent=2))
    elif violations:
        click.echo("\n".join(f"violation: {v}" for v in violations))
    else:
        click.echo(f"the runtime meets the {env} policy ({facts.fingerprint})")
    if violations:
        raise click.exceptions.Exit(1)


@runtime.command("cbom")
@_keystore_option
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the CBOM here.")
def cbom_command(
    keystore: Path | None, environment: str | None, kek: Path | None, output: Path | None
) -> None:
    """A CycloneDX 1.6 CBOM: algorithms, keys and their states, libraries."""
    facts, keyring = _facts(keystore, environment, kek)
    text = cbom_json(facts, keyring)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
