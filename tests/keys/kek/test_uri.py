"""`open_kek` / `open_tenant_keks`: parsing KEK specs, and one real open of each kind."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cryptorails import ConfigurationError, LocalKek, Secret
from cryptorails.keys.kek._aws import AwsKmsKek
from cryptorails.keys.kek._aws_tenants import AwsKmsTenantKeks
from cryptorails.keys.kek._pkcs11 import Pkcs11Kek, Pkcs11TenantKeks
from cryptorails.keys.kek._uri import _aws, _pkcs11, open_kek, open_tenant_keks

if TYPE_CHECKING:
    from conftest import Kms, SoftHsm  # this folder's conftest.py

AAD = b"cryptorails/v1/keyset" + b"context bytes"
FORMS = "Accepted: a KEK file path; pkcs11:token=<token label>;object=<key label>?module-path="
MODULE = "?module-path=/usr/lib/softhsm/libsofthsm2.so"
SPACED = "main%20hsm"  # a token label with a percent-encoded space


def parse(spec: str) -> tuple[str, str, str, Secret]:
    return _pkcs11(spec, "the key label", "<forms>")


@pytest.fixture
def pin_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRYPTORAILS_TEST_HSM_PIN", "1234-pin")
    return "pin-source=env:CRYPTORAILS_TEST_HSM_PIN"


def pin_file(tmp_path: Path, content: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / f"pin-{uuid.uuid4().hex[:8]}"
    path.write_bytes(content)
    path.chmod(mode)
    return path


# -- plain paths and schemes ---------------------------------------------------------------


def test_a_path_opens_a_local_kek(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kek = LocalKek.generate(tmp_path / "kek")
    opened = open_kek(str(tmp_path / "kek"))
    assert isinstance(opened, LocalKek)
    assert opened.kek_id == kek.kek_id
    colon = LocalKek.generate(tmp_path / "kek:2")  # an existing file wins over a "scheme"
    assert open_kek(str(tmp_path / "kek:2")).kek_id == colon.kek_id
    monkeypatch.chdir(tmp_path)
    assert open_kek("kek:2").kek_id == colon.kek_id
    with pytest.raises(ConfigurationError, match="cannot read KEK file"):
        open_kek(str(tmp_path / "absent"))


def test_unknown_and_empty_specs_list_the_accepted_forms() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown KEK scheme 'vault:'") as info:
        open_kek("vault:secret/kek")
    assert FORMS in str(info.value)
    assert "aws-kms:<key id, ARN or alias/name>" in str(info.value)
    with pytest.raises(ConfigurationError, match=r"empty KEK spec\. Accepted: a KEK file path"):
        open_kek("")
    with pytest.raises(TypeError):
        open_kek(b"pkcs11:token=x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        open_tenant_keks(None)  # type: ignore[arg-type]


# -- pkcs11: RFC 7512 ----------------------------------------------------------------------


def test_pkcs11_uri_parsing(pin_env: str) -> None:
    module, token, label, pin = parse(
        f"pkcs11:token={SPACED};object=kek%2Fprod;type=secret-key"
        f"?module-path=/opt/hsm/lib%20x.so&{pin_env}"
    )
    assert (module, token, label) == ("/opt/hsm/lib x.so", "main hsm", "kek/prod")
    assert pin == Secret(b"1234-pin")
    # Scheme case-insensitive (RFC 3986), attributes in any order, UTF-8 percent-encoded.
    module, token, label, _ = parse(f"PKCS11:object=k%C3%BC;token=t?{pin_env}&module-path=/m.so")
    assert (module, token, label) == ("/m.so", "t", "kü")
    _, _, label, _ = parse(f"pkcs11:token=t;object=a:b@c(d)!$'*+,=e{MODULE}&{pin_env}")
    assert label == "a:b@c(d)!$'*+,=e"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("pkcs11:object=k" + MODULE + "&{pin}", r"token= is required \(the key label\)"),
        ("pkcs11:token=t" + MODULE + "&{pin}", r"object= is required"),
        ("pkcs11:token=t;object=k?{pin}", r"module-path= is required"),
        ("pkcs11:token=t;object=" + MODULE + "&{pin}", r"object= is required"),
        ("pkcs11:token=t;object=k" + MODULE, r"needs pin-source=env:<VARIABLE>"),
        ("pkcs11:token=t;token=u;object=k" + MODULE + "&{pin}", r"'token' appears more than once"),
        ("pkcs11:token=t;object=k" + MODULE + "&{pin}&{pin}", r"'pin-source' appears more than"),
        ("pkcs11:token=t;object=k;serial=42" + MODULE + "&{pin}", r"'serial' is not supported"),
        ("pkcs11:token=t;object=k;x-vendor=1" + MODULE + "&{pin}", r"'x-vendor' is not supported"),
        ("pkcs11:token=t;object=k;type=cert" + MODULE + "&{pin}", r"a KEK is a secret-key"),
        ("pkcs11:token=t;object=k?module-name=softhsm2&{pin}", r"module-name is not resolved"),
        ("pkcs11:token=t;object=k" + MODULE + "&{pin}&slot=1", r"'slot' is not supported"),
        ("pkcs11:token=a%zz;object=k" + MODULE + "&{pin}", r"must be percent-encoded, or a '%'"),
        ("pkcs11:token=a%2;object=k" + MODULE + "&{pin}", r"must be percent-encoded"),
        ("pkcs11:token=a b;object=k" + MODULE + "&{pin}", r"must be percent-encoded"),
        ("pkcs11:token=t;object=a/b" + MODULE + "&{pin}", r"must be percent-encoded"),
        ("pkcs11:token=t;object=a&b" + MODULE + "&{pin}", r"must be percent-encoded"),
        ("pkcs11:token=%ff;object=k" + MODULE + "&{pin}", r"not UTF-8"),
        ("pkcs11:token;object=k" + MODULE + "&{pin}", r"item 1 of ';'-separated list"),
        ("pkcs11:token=t;;object=k" + MODULE + "&{pin}", r"item 2 of ';'-separated list"),
        ("pkcs11:token=t;object=k" + MODULE + "&", r"item 2 of '&'-separated list"),
    ],
)
def test_pkcs11_uri_refusals(spec: str, message: str, pin_env: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_kek(spec.format(pin=pin_env))


def test_pin_value_is_refused_and_not_repeated() -> None:
    with pytest.raises(ConfigurationError, match="pin-value is refused") as info:
        open_kek(f"pkcs11:token=t;object=k{MODULE}&pin-value=s3cr3t-pin")
    text = str(info.value)
    assert "shell history" in text
    assert "s3cr3t-pin" not in text
    assert "pin-source=env:<VARIABLE>" in text
    with pytest.raises(ConfigurationError) as info:
        open_kek(f"pkcs11:token=t;object=k{MODULE}&pin-values3cr3t-pin")  # mistyped
    assert "s3cr3t-pin" not in str(info.value)


def test_pin_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = f"pkcs11:token=t;object=k{MODULE}&pin-source="
    path = pin_file(tmp_path, b"file-pin\n")
    assert parse(base + f"file:{path}")[3] == Secret(b"file-pin")
    assert parse(base + f"file://{path}")[3] == Secret(b"file-pin")
    assert parse(base + f"file://localhost{path}")[3] == Secret(b"file-pin")
    crlf = pin_file(tmp_path, b"pin-2\r\n")
    assert parse(base + f"file:{crlf}")[3] == Secret(b"pin-2")
    too_open = pin_file(tmp_path, b"pin", 0o640)
    empty = pin_file(tmp_path, b"\n")
    huge = pin_file(tmp_path, b"x" * 5000)
    monkeypatch.delenv("CRYPTORAILS_TEST_NO_PIN", raising=False)
    monkeypatch.setenv("CRYPTORAILS_TEST_EMPTY_PIN", "")
    refusals = {
        "env:CRYPTORAILS_TEST_NO_PIN": "environment variable CRYPTORAILS_TEST_NO_PIN is not set",
        "env:CRYPTORAILS_TEST_EMPTY_PIN": "CRYPTORAILS_TEST_EMPTY_PIN is not set",
        "env:1BAD": "is not an environment variable name",
        "file:relative/pin": "must name an absolute path",
        f"file://otherhost{path}": "file URI of another host 'otherhost'",
        f"file:{tmp_path}/absent": "cannot read PIN file",
        f"file:{tmp_path}": "cannot read PIN file|is not a regular file",
        f"file:{too_open}": r"accessible by group or others \(mode 0640",
        f"file:{empty}": "is empty",
        f"file:{huge}": "larger than 4096 bytes",
        "|/usr/bin/get-pin": "use env:<VARIABLE> or file:<absolute path>",
    }
    for source, message in refusals.items():
        with pytest.raises(ConfigurationError, match=message):
            parse(base + source)
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(ConfigurationError, match="cannot read PIN file"):
        parse(base + f"file:{link}")


# -- aws-kms -------------------------------------------------------------------------------


def test_aws_spec_parsing() -> None:
    arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert _aws(f"aws-kms:{arn}", "") == (arn, None, None)
    assert _aws("aws-kms:alias/prod-kek?region=eu-west-1", "") == (
        "alias/prod-kek",
        "eu-west-1",
        None,
    )
    assert _aws("AWS-KMS:alias/a?endpoint=http://127.0.0.1:4566&region=us-gov-west-1", "") == (
        "alias/a",
        "us-gov-west-1",
        "http://127.0.0.1:4566",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("aws-kms:", r"'' is not a KMS key id, ARN or alias"),
        ("aws-kms://alias/x", r"is not a KMS key id"),
        ("aws-kms:alias/with space", r"is not a KMS key id"),
        ("aws-kms:alias/x?region=EU_WEST", r"'EU_WEST' is not an AWS region name"),
        ("aws-kms:alias/x?profile=prod", r"parameter 'profile' is not supported"),
        ("aws-kms:alias/x?region=eu-west-1&region=us-east-1", r"'region' appears more than once"),
        ("aws-kms:alias/x?endpoint=http://kms.example.com", r"plain http to another host"),
    ],
)
def test_aws_spec_refusals(spec: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        open_kek(spec)
    if "KMS key id" in message:
        assert "aws-kms:<key id, ARN or alias/name>" in str(info.value)


def test_tenant_spec_refusals(tmp_path: Path) -> None:
    LocalKek.generate(tmp_path / "kek")
    with pytest.raises(ConfigurationError, match=r"not in a file\. Accepted: pkcs11:") as info:
        open_tenant_keks(str(tmp_path / "kek"))
    assert "aws-kms:alias/<alias prefix>" in str(info.value)
    with pytest.raises(ConfigurationError, match=r"need an alias prefix \(aws-kms:alias/<prefix>"):
        open_tenant_keks("aws-kms:1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-west-1")
    with pytest.raises(ConfigurationError, match=r"object= is required \(the key label prefix\)"):
        open_tenant_keks(f"pkcs11:token=t{MODULE}&pin-source=env:X")


def test_importing_needs_neither_extra() -> None:
    code = (
        "import sys\n"
        "for name in ('pkcs11', 'boto3', 'botocore'): sys.modules[name] = None\n"
        "import cryptorails\n"
        "from cryptorails.errors import ConfigurationError\n"
        "from cryptorails.keys.kek._aws import AwsKmsKek\n"
        "from cryptorails.keys.kek._uri import open_kek\n"
        "for spec in ('aws-kms:alias/x?region=us-east-1', "
        "'pkcs11:token=t;object=k?module-path=" + sys.executable + "&pin-source=env:PATH'):\n"
        "    try:\n"
        "        open_kek(spec)\n"
        "    except ConfigurationError as e:\n"
        "        print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "boto3 is not installed; install the AWS KMS support: pip install 'cryptorails[aws]'",
        "python-pkcs11 is not installed; install the PKCS#11 support: "
        "pip install 'cryptorails[hsm]'",
    ]


# -- real opens ----------------------------------------------------------------------------


def test_open_pkcs11_kek_and_tenant_keks(
    softhsm: SoftHsm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    label = f"uri-{uuid.uuid4().hex[:8]}"
    with Pkcs11Kek.generate(
        softhsm.module, token_label=softhsm.token, key_label=label, pin=softhsm.pin()
    ) as direct:
        blob = direct.wrap(b"via uri", AAD)
        monkeypatch.setenv("CRYPTORAILS_HSM_PIN", softhsm.pin().reveal().decode())
        by_env = open_kek(
            f"pkcs11:token={softhsm.token};object={label}"
            f"?module-path={softhsm.module}&pin-source=env:CRYPTORAILS_HSM_PIN"
        )
        path = pin_file(tmp_path, softhsm.pin().reveal() + b"\n")
        by_file = open_kek(
            f"pkcs11:token={softhsm.token};object={label}"
            f"?module-path={softhsm.module}&pin-source=file:{path}"
        )
        for kek in (by_env, by_file):
            assert isinstance(kek, Pkcs11Kek)
            assert kek.kek_id == direct.kek_id
            assert kek.unwrap(blob, AAD) == b"via uri"
            kek.close()
    prefix = f"uri-tenant-{uuid.uuid4().hex[:8]}-"
    keks = open_tenant_keks(
        f"pkcs11:token={softhsm.token};object={prefix}"
        f"?module-path={softhsm.module}&pin-source=env:CRYPTORAILS_HSM_PIN"
    )
    assert isinstance(keks, Pkcs11TenantKeks)
    assert keks.provider_id == f"pkcs11:token={softhsm.token};prefix={prefix}"
    acme = keks.kek("acme", create=True)
    assert acme is not None
    assert acme.unwrap(acme.wrap(b"t", AAD), AAD) == b"t"
    assert keks.tenants() == ["acme"]
    keks.close()


def test_open_aws_kms_kek_and_tenant_keks(kms: Kms) -> None:
    alias = kms.unique("uri")
    arn = kms.new_key(alias)
    kek = open_kek(f"aws-kms:{alias}?region={kms.region}&endpoint={kms.endpoint}")
    assert isinstance(kek, AwsKmsKek)
    assert kek.kek_id == "aws-kms:" + arn
    assert kek.unwrap(kek.wrap(b"k", AAD), AAD) == b"k"
    by_arn = open_kek(f"aws-kms:{arn}?endpoint={kms.endpoint}")  # region from the environment
    assert by_arn.kek_id == kek.kek_id
    prefix = kms.unique("uri-tenant") + "-"
    keks = open_tenant_keks(f"aws-kms:{prefix}?region={kms.region}&endpoint={kms.endpoint}")
    assert isinstance(keks, AwsKmsTenantKeks)
    assert keks.provider_id == f"aws-kms:region={kms.region};prefix={prefix}"
    acme = keks.kek("acme", create=True)
    assert acme is not None
    assert acme.unwrap(acme.wrap(b"t", AAD), AAD) == b"t"
    assert keks.tenants() == ["acme"]
