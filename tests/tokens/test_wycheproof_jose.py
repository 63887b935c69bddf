"""Wycheproof JOSE vectors through the JWS compact layer and `Jwks` (Apache-2.0 data).

`json_web_signature_test.json` (401 cases): 360 run. Skipped:

- 35 cases whose key uses an algorithm this library does not verify (RS384, RS512,
  PS384, PS512, ES512 on P-521): groups rs384 (4), rs512 (4), ps384 (5), ps512 (20) and
  the two rfc7520 P-521 groups (1 + 1).
- 6 cases whose expected result contradicts a deliberate rule; our behaviour is still
  asserted (`DEVIATIONS`):
  * 346, 350 (RFC 7520 Figure 20): the key's JWK says `alg: PS256`, the token's header
    says PS384. The key decides the algorithm, so we refuse (ALGORITHM_MISMATCH).
  * 372, 373: a `?` inside the base64url header or payload. Wycheproof marks them valid
    (the MAC covers the literal text); strict base64url (RFC 7515 §2) refuses them.
  * 367, 370 ("invalidBase64Padding"): byte-identical to the valid case 357 in this copy
    of the file, so no verifier can both accept 357 and reject them; we accept.

`json_web_key_test.json` (26 cases): 20 run. Skipped: the 6 HS384/HS512 cases (11, 12,
14, 15, 17, 18), algorithms we do not support; that their keys are refused is asserted.

A group's keys are loaded with `Jwks.from_json` (the public set when the vector has one,
else the symmetric private set with `allow_symmetric=True`); a refused key set counts as
rejecting the token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cryptorails.errors import ConfigurationError, Reason, VerificationError
from cryptorails.tokens import Jwks
from cryptorails.tokens._jws import StaticSource, verify_compact

WYCHEPROOF = Path(__file__).resolve().parent.parent / "vectors" / "wycheproof"
# Per file: key algorithms outside this library's set (the JWK file's ES521 and ES224
# keys are on P-256, mislabelled on purpose, and are run: they must be refused).
UNSUPPORTED = {
    "json_web_signature_test.json": {"RS384", "RS512", "PS384", "PS512", "ES521"},
    "json_web_key_test.json": {"HS384", "HS512"},
}
DEVIATIONS = {
    346: Reason.ALGORITHM_MISMATCH,
    350: Reason.ALGORITHM_MISMATCH,
    372: Reason.MALFORMED,
    373: Reason.MALFORMED,
    367: None,  # accepted: identical to tcId 357
    370: None,
}


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WYCHEPROOF / name).read_text(encoding="utf-8"))
    return data


def _key_set(group: dict[str, Any]) -> dict[str, Any]:
    keys = group.get("public") or group["private"]
    return keys if "keys" in keys else {"keys": [keys]}


def _algorithms(key_set: dict[str, Any]) -> set[str]:
    return {k.get("alg", "") for k in key_set["keys"]}


def _split(name: str) -> tuple[list[Any], list[Any], list[Any]]:
    data = _load(name)
    run, unsupported, deviating = [], [], []
    for group in data["testGroups"]:
        for case in group["tests"]:
            if _algorithms(_key_set(group)) & UNSUPPORTED[name]:
                unsupported.append((group, case))
            elif name.startswith("json_web_signature") and case["tcId"] in DEVIATIONS:
                deviating.append((group, case))
            else:
                run.append((group, case))
    assert len(run) + len(unsupported) + len(deviating) == data["numberOfTests"]
    return run, unsupported, deviating


JWS_RUN, JWS_UNSUPPORTED, JWS_DEVIATING = _split("json_web_signature_test.json")
JWK_RUN, JWK_UNSUPPORTED, JWK_DEVIATING = _split("json_web_key_test.json")


def _verify(group: dict[str, Any], token: str) -> Reason | None:
    """None when accepted, else why it was refused (CONFIGURATION for the key set)."""
    key_set = _key_set(group)
    symmetric = any(k.get("kty") == "oct" for k in key_set["keys"])
    try:
        jwks = Jwks.from_json(key_set, allow_symmetric=symmetric)
    except ConfigurationError:
        return Reason.UNKNOWN_KEY  # the key set itself was refused
    try:
        verify_compact(token, StaticSource(jwks._table), max_bytes=1 << 16)
    except VerificationError as e:
        return e.reason
    return None


def _id(value: Any) -> str:
    return str(value["tcId"]) if isinstance(value, dict) and "tcId" in value else ""


def test_counts_are_pinned() -> None:
    assert (len(JWS_RUN), len(JWS_UNSUPPORTED), len(JWS_DEVIATING)) == (360, 35, 6)
    assert (len(JWK_RUN), len(JWK_UNSUPPORTED), len(JWK_DEVIATING)) == (20, 6, 0)
    assert sum(c["result"] == "valid" for _, c in JWS_RUN) == 24
    assert sum(c["result"] == "valid" for _, c in JWK_RUN) == 3


@pytest.mark.parametrize(("group", "case"), JWS_RUN, ids=_id)
def test_json_web_signature(group: dict[str, Any], case: dict[str, Any]) -> None:
    refused = _verify(group, case["jws"])
    if case["result"] == "valid":
        assert refused is None, case["comment"]
    else:
        assert refused is not None, case["comment"]


@pytest.mark.parametrize(("group", "case"), JWS_DEVIATING, ids=_id)
def test_json_web_signature_deliberate_deviations(
    group: dict[str, Any], case: dict[str, Any]
) -> None:
    assert _verify(group, case["jws"]) is DEVIATIONS[case["tcId"]]


@pytest.mark.parametrize(("group", "case"), JWK_RUN, ids=_id)
def test_json_web_key(group: dict[str, Any], case: dict[str, Any]) -> None:
    refused = _verify(group, case["jws"])
    if case["result"] == "valid":
        assert refused is None, case["comment"]
    else:
        assert refused is not None, case["comment"]


def test_unsupported_algorithms_are_refused_at_import() -> None:
    for group, _ in JWS_UNSUPPORTED + JWK_UNSUPPORTED:
        key_set = _key_set(group)
        with pytest.raises(ConfigurationError):
            Jwks.from_json(key_set, allow_symmetric=True)


def test_psychic_and_confusion_cases_fail_for_the_right_reason() -> None:
    cases = {c["tcId"]: (g, c) for g, c in JWS_RUN}
    assert _verify(*_token(cases, 386)) is Reason.SIGNATURE_INVALID  # r = s = 0
    assert _verify(*_token(cases, 31)) is Reason.ALGORITHM_MISMATCH  # HS256 with EC key
    assert _verify(*_token(cases, 32)) is Reason.FORBIDDEN_HEADER  # embedded jwk
    assert _verify(*_token(cases, 16)) is Reason.ALG_NONE
    assert _verify(*_token(cases, 374)) is Reason.MALFORMED  # non-zero unused bits


def _token(cases: dict[int, Any], tc_id: int) -> tuple[dict[str, Any], str]:
    group, case = cases[tc_id]
    return group, case["jws"]
