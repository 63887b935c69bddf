"""Deployment policy per environment, checked against the runtime facts at start-up.

A policy lives in a TOML file as ``[policy.<env>]`` or in ``pyproject.toml`` as
``[tool.cryptorails.policy.<env>]``::

    [tool.cryptorails.policy.prod]
    min_versions = { cryptography = "44", openssl = "3.0.9", python = "3.11" }
    require_fips = false
    forbid_legacy_provider = true
    require_algorithms = ["XAES-256-GCM", "AES-256-GCM-SIV"]
    allowed_overrides = []                 # prod: no security override, ever
    max_override_lifetime_hours = 24
    expected_fingerprints = ["4f1c..."]    # approved images (`runtime facts`)
    baseline = "approved-prod-facts.json"  # report drift against this record

The environment a policy is chosen by is the keystore's (`Keyring.environment`), never a
``DEBUG`` or ``ENV`` variable: whoever can set an environment variable should not be able
to pick the lenient policy. Insecure modes are never a boolean here either: a check is
switched off only by a signed, expiring approval (`cryptorails.overrides`), and only for
the names `allowed_overrides` lists.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptorails.context import validate_label
from cryptorails.errors import ConfigurationError, PolicyError
from cryptorails.overrides import OverridePolicy, Overrides
from cryptorails.runtime._diff import diff
from cryptorails.runtime._facts import RuntimeFacts, collect

__all__ = ["Policy", "Violation", "check", "enforce"]

if TYPE_CHECKING:
    from cryptorails.keys import Keyring

_log = logging.getLogger("cryptorails.runtime")
_KEYS = frozenset(
    {
        "min_versions",
        "require_fips",
        "forbid_legacy_provider",
        "require_algorithms",
        "allowed_overrides",
        "max_override_lifetime_hours",
        "expected_fingerprints",
        "baseline",
    }
)


@dataclass(frozen=True)
class Violation:
    """One way the runtime breaks the policy."""

    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass(frozen=True)
class Policy:
    """What one environment must run. See the module documentation for the file form."""

    environment: str
    min_versions: Mapping[str, str] = field(default_factory=dict)
    require_fips: bool = False
    forbid_legacy_provider: bool = False
    require_algorithms: tuple[str, ...] = ()
    allowed_overrides: tuple[str, ...] = ()
    max_override_lifetime: timedelta = timedelta(days=7)
    expected_fingerprints: tuple[str, ...] = ()
    baseline: Path | None = None

    @classmethod
    def load(cls, path: Path, environment: str) -> Policy:
        """Read the policy of `environment` from a policy file or a pyproject.toml.

        Raises:
            ConfigurationError: unreadable or invalid file, no policy for `environment`,
                unknown keys or values of the wrong type.
        """
        validate_label("environment", environment)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigurationError(f"cannot read policy {path}: {e.strerror or e}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigurationError(f"{path}: not valid TOML ({e})") from None
        tables = data.get("tool", {}).get("cryptorails", {}).get("policy") or data.get("policy")
        if not isinstance(tables, Mapping) or environment not in tables:
            raise ConfigurationError(f"{path}: no policy for environment {environment!r}")
        table = tables[environment]
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{path}: policy.{environment} must be a table")
        unknown = set(table) - _KEYS
        if unknown:
            raise ConfigurationError(f"{path}: unknown policy keys {sorted(unknown)}")
        where = f"{path}: policy.{environment}"
        versions = table.get("min_versions", {})
        if not isinstance(versions, Mapping) or not all(
            isinstance(v, str) and _numbers(v) for v in versions.values()
        ):
            raise ConfigurationError(f"{where}.min_versions must map names to versions")
        hours = table.get("max_override_lifetime_hours", 24 * 7)
        if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0 < hours <= 168:
            raise ConfigurationError(f"{where}.max_override_lifetime_hours must be in (0, 168]")
        baseline = table.get("baseline")
        if baseline is not None and not isinstance(baseline, str):
            raise ConfigurationError(f"{where}.baseline must be a path")
        return cls(
            environment=environment,
            min_versions=dict(versions),
            require_fips=_bool(table, "require_fips", where),
            forbid_legacy_provider=_bool(table, "forbid_legacy_provider", where),
            require_algorithms=_strings(table, "require_algorithms", where),
            allowed_overrides=_strings(table, "allowed_overrides", where),
            max_override_lifetime=timedelta(hours=hours),
            expected_fingerprints=_strings(table, "expected_fingerprints", where),
            baseline=path.parent / baseline if baseline else None,
        )

    def override_policy(self) -> OverridePolicy:
        """The `cryptorails.overrides.OverridePolicy` this policy implies."""
        allowed = {self.environment: frozenset(self.allowed_overrides)}
        return OverridePolicy(allowed, max_lifetime=self.max_override_lifetime)


def _bool(table: Mapping[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}.{key} must be true or false")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{where}.{key} must be a list of strings")
    return tuple(value)


def _numbers(version: str) -> tuple[int, ...]:
    """(3, 0, 19) from "3.0.19", "OpenSSL 3.0.19 27 Jan 2026" or "45.0.1rc1"."""
    match = re.search(r"\d+(?:\.\d+)*", version)
    return tuple(int(p) for p in match[0].split(".")) if match else ()


def _installed(facts: Mapping[str, Any], name: str) -> str | None:
    if name == "python":
        return str(facts["python"]["version"])
    if name == "openssl":  # the OpenSSL that `cryptography` uses (bundled in its wheel)
        return str(facts["cryptography"]["openssl"])
    if name == "ssl_openssl":  # the interpreter's ssl module's
        return str(facts["ssl_module"]["openssl"])
    value = facts["packages"].get(name)
    return str(value) if value is not None else None


def check(policy: Policy, facts: RuntimeFacts) -> list[Violation]:
    """Every way `facts` break `policy`."""
    data = facts.to_json()
    out: list[Violation] = []
    if data.get("environment") != policy.environment:
        out.append(
            Violation(
                "environment",
                f"the runtime is {data.get('environment')!r}, the policy is for "
                f"{policy.environment!r}",
            )
        )
    for name, minimum in sorted(policy.min_versions.items()):
        installed = _installed(data, name)
        if installed is None:
            out.append(Violation("min_versions", f"{name} is not installed (needs {minimum})"))
        elif _numbers(installed) < _numbers(minimum):
            out.append(Violation("min_versions", f"{name} {installed} is older than {minimum}"))
    fips = data["cryptography"]["fips"]
    if policy.require_fips and fips is not True:
        out.append(Violation("require_fips", "cryptography's OpenSSL is not in FIPS mode"))
    if policy.forbid_legacy_provider and data["cryptography"]["legacy_provider"] is not False:
        out.append(
            Violation(
                "forbid_legacy_provider",
                "OpenSSL's legacy provider is loaded (or unknown); set "
                "CRYPTOGRAPHY_OPENSSL_NO_LEGACY=1",
            )
        )
    for name in policy.require_algorithms:
        if not data["algorithms"].get(name):
            out.append(Violation("require_algorithms", f"{name} does not work here"))
    for name in data.get("overrides", []):
        if name not in policy.allowed_overrides:
            out.append(Violation("allowed_overrides", f"override {name!r} is not allowed"))
    if policy.expected_fingerprints and data["fingerprint"] not in policy.expected_fingerprints:
        out.append(
            Violation(
                "expected_fingerprints",
                f"fingerprint {data['fingerprint']} is not an approved one",
            )
        )
    return out


def enforce(
    policy: Policy,
    keyring: Keyring | None = None,
    *,
    overrides: Overrides | Iterable[str] = (),
    facts: RuntimeFacts | None = None,
    logger: logging.Logger | None = None,
) -> RuntimeFacts:
    """Check `policy` at service start-up; log the facts; raise on any violation.

    The environment is the `keyring`'s (from its keystore), so a service started with
    the prod keystore is held to the prod policy whatever its flags say; without a
    keyring (or recorded `facts`) the environment is unknown, which is a violation.

    Emits one ``crypto_runtime`` event (INFO) with the facts, and, when the policy names
    an approved baseline and security-relevant facts differ from it, one
    ``crypto_runtime_drift`` event (WARNING) with the differences.

    Raises:
        PolicyError: listing every violation.
        ConfigurationError: the baseline file cannot be read.
    """
    log = logger or _log
    facts = facts or collect(keyring=keyring, overrides=overrides)
    log.info("crypto_runtime", extra={"event": "crypto_runtime", "facts": facts.to_json()})
    if policy.baseline is not None:
        try:
            approved = json.loads(policy.baseline.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigurationError(f"cannot read baseline {policy.baseline}: {e}") from None
        drift = [d for d in diff(approved, facts.to_json()) if d.security]
        if drift:
            log.warning(
                "crypto_runtime_drift",
                extra={
                    "event": "crypto_runtime_drift",
                    "differences": [{"fact": d.path, "approved": d.a, "now": d.b} for d in drift],
                },
            )
    violations = check(policy, facts)
    if violations:
        raise PolicyError(
            f"runtime breaks the {policy.environment} policy: "
            + "; ".join(str(v) for v in violations)
        )
    return facts


def violations_json(violations: Sequence[Violation]) -> list[dict[str, str]]:
    return [{"check": v.check, "message": v.message} for v in violations]
