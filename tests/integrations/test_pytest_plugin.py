"""The pytest plugin: tests whose captured output leaks a secret fail, and say where.

Each test runs an inner pytest session with `pytester` (in-process; the plugin is loaded
there from its entry point like in any project). Inner tests write the secret they leak
to ``leaked.txt``, so the outer test can check the inner output never shows it.
"""

from __future__ import annotations

import base64
import re

import pytest

from cryptorails import secret as secret_module

pytest_plugins = ["pytester"]

HEADER = """
import base64, logging, pathlib
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from datetime import timedelta
from cryptorails import Context, TokenIssuer
from cryptorails.testing import keyring

def aead_key():
    return keyring().keyset(Context("acme", "data")).primary.material.reveal()

def signing_key():
    return keyring().keyset(Context("acme", "tokens"), algorithm=__import__(
        "cryptorails").Algorithm.ED25519).primary.material.reveal()

def jwt():
    return TokenIssuer(keyring(), Context("acme", "tokens"), issuer="me").issue(
        {"sub": "u"}, timedelta(minutes=5))

def leak(text):
    pathlib.Path("leaked.txt").write_text(text)
    return text
"""


# Hypothesis's plugin re-imports (and assertion-rewrites) much of hypothesis in every
# inner session; these inner sessions do not need it.
INNER_ARGS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")


def run(
    pytester: pytest.Pytester, body: str, *args: str, subprocess: bool = False
) -> pytest.RunResult:
    pytester.makepyfile(test_inner=HEADER + body)
    if subprocess:
        # For logging: in-process, the inner session's records also reach this session's
        # log capture (one `logging` module), which would then rightly fail this test.
        return pytester.runpytest_subprocess(*INNER_ARGS, *args)
    return pytester.runpytest_inprocess(*INNER_ARGS, *args)


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


def leaked(pytester: pytest.Pytester) -> str:
    text = (pytester.path / "leaked.txt").read_text()
    assert len(text) >= 16
    return text


def base64_cores(material: bytes) -> list[str]:
    """The base64 characters that encode only `material`, at each alignment mod 3."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + material).decode()
        cores.append(encoded[4 if shift else 0 : (shift + len(material)) // 3 * 4])
    return cores


@pytest.fixture(autouse=True)
def _not_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    # On CI (CI or BUILD_NUMBER set) pytest repeats full failure texts in its short
    # summary; the inner runs here must print the same whatever machine runs them.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)


def failure_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("  Captured ")]


# -- leaks fail, and the output does not repeat them -------------------------------------


def test_printed_jwt_fails(pytester: pytest.Pytester) -> None:
    result = run(pytester, "def test_it():\n    print('token:', leak(jwt()))\n")
    result.assert_outcomes(failed=1)
    text = output(result)
    assert leaked(pytester) not in text
    assert "cryptorails: secret material in captured output" in text
    assert re.search(r"Captured stdout call: \S+ at line 1, column 8 \(characters 7-\d+\)", text)
    assert "token: [REDACTED:" in text  # the captured section is shown, scrubbed


ENCODINGS = {
    "hex": "m.hex()",
    "HEX": "m.hex().upper()",
    "base64": "base64.b64encode(m).decode()",
    "base64url": "base64.urlsafe_b64encode(m).decode().rstrip('=')",
}


@pytest.mark.parametrize("encode", ENCODINGS.values(), ids=ENCODINGS.keys())
def test_printed_keyring_key_fails_in_every_encoding(
    pytester: pytest.Pytester, encode: str
) -> None:
    body = f"def test_it():\n    m = aead_key()\n    print('k =', leak({encode}))\n"
    result = run(pytester, body)
    result.assert_outcomes(failed=1)
    assert leaked(pytester) not in output(result)
    assert failure_lines(result) == [
        f"  Captured stdout call: known-key at line 1, column 5 (characters 4-"
        f"{4 + len(leaked(pytester))})"
    ]


@pytest.mark.parametrize("algorithm", ["ED25519", "ES256"])
def test_printed_private_key_pem_and_der_fail(pytester: pytest.Pytester, algorithm: str) -> None:
    # The inner test rebuilds the keyring key as a pyca key and prints its PKCS#8 forms:
    # the PEM, and the DER in base64 (which no pattern detector knows).
    body = f"""
from cryptography.hazmat.primitives.asymmetric import ec
from cryptorails import Algorithm

def test_it():
    keyset = keyring().keyset(Context("acme", "t"), algorithm=Algorithm.{algorithm})
    m = keyset.primary.material.reveal()
    if "{algorithm}" == "ES256":
        key = ec.derive_private_key(int.from_bytes(m, "big"), ec.SECP256R1())
    else:
        key = ed25519.Ed25519PrivateKey.from_private_bytes(m)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    leak("\\n".join([m.hex(), *pem.splitlines()[1:-1]]))
    print("key material:")
    print(pem)
    print("der:", base64.b64encode(der).decode())
"""
    result = run(pytester, body)
    result.assert_outcomes(failed=1)
    text = output(result)
    material, *pem_lines = leaked(pytester).splitlines()
    assert pem_lines[0] not in text
    pem_kind = "known-key" if algorithm == "ED25519" else "private-key"
    assert f"key material:\n[REDACTED:{pem_kind}]\n" in text  # the whole block
    for core in base64_cores(bytes.fromhex(material)):
        assert core not in text
    assert re.search(r"^der: [A-Za-z0-9+/]*\[REDACTED:known-key\]", text, re.MULTILINE)
    kinds = [line.split(": ")[1].split(" at ")[0] for line in failure_lines(result)]
    assert kinds == [pem_kind, "known-key"]


def test_logged_key_fails(pytester: pytest.Pytester) -> None:
    body = """
def test_it():
    logging.getLogger("app").warning("loaded key %s", leak(aead_key().hex()))
"""
    result = run(pytester, body, subprocess=True)
    result.assert_outcomes(failed=1)
    assert leaked(pytester) not in output(result)
    assert [line.split(": ")[0] for line in failure_lines(result)] == ["  Captured log call"]
    assert "loaded key [REDACTED:known-key]" in output(result)


def test_key_in_a_log_record_extra_field_fails(pytester: pytest.Pytester) -> None:
    body = """
def test_it(caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("app").info("issued", extra={"token": leak(jwt())})
"""
    result = run(pytester, body, subprocess=True)
    result.assert_outcomes(failed=1)
    assert leaked(pytester) not in output(result)
    assert "  log record 'app' extra field 'token' (call): jwt at characters 0-" in output(result)


def test_stderr_and_setup_output_are_checked(pytester: pytest.Pytester) -> None:
    body = """
import sys

@pytest.fixture
def noisy():
    print(leak(aead_key().hex()), file=sys.stderr)

def test_it(noisy):
    pass
"""
    result = run(pytester, body)
    result.assert_outcomes(errors=1)  # the leak happened in setup
    assert leaked(pytester) not in output(result)
    assert failure_lines(result)[0].startswith("  Captured stderr setup: known-key at line 1")


def test_clean_test_passes(pytester: pytest.Pytester) -> None:
    body = """
def test_it():
    m = aead_key()
    print("sealed", len(m), "bytes with", jwt().count("."), "dots")
    logging.getLogger("app").warning("rotated key 1234")
"""
    run(pytester, body, "-rP").assert_outcomes(passed=1)


def test_failing_test_is_scrubbed_and_keeps_its_outcome(pytester: pytest.Pytester) -> None:
    body = """
def test_it():
    m = leak(aead_key().hex())
    print("key", m)
    assert m == "something else"
"""
    result = run(pytester, body)
    result.assert_outcomes(failed=1)
    text = output(result)
    assert leaked(pytester) not in text  # neither in the section nor in the assertion text
    assert "AssertionError" in text
    assert "secret material in captured output" in text  # the note, as a report section
    assert "key [REDACTED:known-key]" in text


def test_key_made_by_a_session_fixture_is_watched_in_later_tests(
    pytester: pytest.Pytester,
) -> None:
    body = """
@pytest.fixture(scope="session")
def shared_key():
    return aead_key()

def test_first(shared_key):
    pass

def test_second(shared_key):
    print(leak(shared_key.hex()))
"""
    result = run(pytester, body)
    result.assert_outcomes(passed=1, failed=1)
    assert leaked(pytester) not in output(result)


def test_registered_material_is_watched(pytester: pytest.Pytester) -> None:
    body = """
from cryptorails import Secret

def test_str(cryptorails_secrets):
    cryptorails_secrets.register("correct horse battery")
    print("chosen:", leak("correct horse battery"))

def test_secret_object(cryptorails_secrets):
    s = Secret(bytes(32))  # too regular to be watched automatically ...
    print(s.reveal().hex())  # (output is checked after the phase: this line counts too)
    cryptorails_secrets.register(s)  # ... but registering makes it watched
    print(leak(bytes(32).hex()))

def test_wrong_type(cryptorails_secrets):
    with pytest.raises(TypeError, match="register takes bytes, str or Secret"):
        cryptorails_secrets.register(12)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        cryptorails_secrets.register("fifteen chars!!")
"""
    result = run(pytester, body)
    result.assert_outcomes(passed=1, failed=2)
    assert "correct horse battery" not in output(result)
    assert [line.split(" (")[0] for line in failure_lines(result)] == [
        "  Captured stdout call: known-key at line 1, column 9",
        "  Captured stdout call: known-key at line 1, column 1",
        "  Captured stdout call: known-key at line 2, column 1",
    ]
    assert bytes(32).hex() not in output(result)


def test_xpass_that_leaks_fails(pytester: pytest.Pytester) -> None:
    body = """
@pytest.mark.xfail(reason="flaky")
def test_it():
    print(leak(aead_key().hex()))
"""
    result = run(pytester, body)
    result.assert_outcomes(failed=1)
    assert leaked(pytester) not in output(result)


# -- opting out ---------------------------------------------------------------------------


def test_marker_with_reason_allows_printing(pytester: pytest.Pytester) -> None:
    body = """
@pytest.mark.allow_secrets(reason="prints a generated key on purpose")
def test_keyword(): print(aead_key().hex())

@pytest.mark.allow_secrets("positional reason")
def test_positional(): print(jwt())
"""
    run(pytester, body).assert_outcomes(passed=2)


def test_marker_without_reason_is_a_usage_error(pytester: pytest.Pytester) -> None:
    body = """
@pytest.mark.allow_secrets
def test_bare(): pass

@pytest.mark.allow_secrets(reason="  ")
def test_blank(): print(leak(aead_key().hex()))
"""
    result = run(pytester, body)
    result.assert_outcomes(errors=2)
    text = output(result)
    assert text.count("@pytest.mark.allow_secrets needs a reason: @pytest.mark.allow_secrets(") == 2
    assert not (pytester.path / "leaked.txt").exists()  # the test did not run


@pytest.mark.allow_secrets(reason="the inner run has the check off and prints the key")
@pytest.mark.parametrize("how", ["ini", "-o", "-p"], ids=["ini file", "ini override", "plugin off"])
def test_the_check_can_be_switched_off(pytester: pytest.Pytester, how: str) -> None:
    args: list[str] = ["-rP"]
    if how == "ini":
        pytester.makeini("[pytest]\ncryptorails_leak_check = false\n")
    elif how == "-o":
        args += ["-o", "cryptorails_leak_check=false"]
    else:
        args += ["-p", "no:cryptorails"]
    result = run(pytester, "def test_it():\n    print(leak(aead_key().hex()))\n", *args)
    result.assert_outcomes(passed=1)
    assert leaked(pytester) in output(result)  # really printed, really not checked


def test_ini_default_is_on(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncryptorails_leak_check = true\n")
    run(pytester, "def test_it():\n    print(leak(jwt()))\n").assert_outcomes(failed=1)


# -- the observer hook is left as found -------------------------------------------------


def test_inner_sessions_unsubscribe(pytester: pytest.Pytester) -> None:
    before = list(secret_module._observers)
    run(pytester, "def test_it():\n    aead_key()\n").assert_outcomes(passed=1)
    assert secret_module._observers == before
    assert len(before) == 1  # this test's own session is watching


def test_keys_of_inner_sessions_are_watched_by_the_outer_one(
    pytester: pytest.Pytester, request: pytest.FixtureRequest
) -> None:
    # Keys made while this test runs (here: in the inner session) are this session's
    # material too, so printing them here would fail this test as well.
    run(pytester, "def test_it():\n    leak(aead_key().hex())\n").assert_outcomes(passed=1)
    check = request.config.pluginmanager.get_plugin("cryptorails-leak-check")
    assert check is not None
    assert bytes.fromhex(leaked(pytester)) in check._seen
    # ... but values too regular to be keys are not watched automatically
    assert bytes(32) not in check._seen
