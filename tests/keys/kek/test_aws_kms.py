"""`AwsKmsKek` and `AwsKmsTenantKeks` against moto's KMS emulator in server mode.

moto emulates the KMS API; it is not AWS. Where it differs from AWS in a way that matters
here, the test says so: moto still decrypts under a disabled key or one pending deletion
(AWS answers DisabledException / KMSInvalidStateException), and answers a Decrypt under
the wrong KeyId with AccessDeniedException (AWS: IncorrectKeyException). How those AWS
answers map to reasons is checked with botocore's Stubber, a named fake that replays
canned KMS responses.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cryptorails import ConfigurationError, Context, DecryptionError, Keyring, Reason, Sealer
from cryptorails.keys.kek import Kek
from cryptorails.keys.kek._aws import AwsKmsKek
from cryptorails.keys.kek._aws_tenants import AwsKmsTenantKeks, _alias_part, _tenant_of

from .conftest import check_tenant_keks

if TYPE_CHECKING:
    from conftest import Kms  # this folder's conftest.py

AAD = b"cryptorails/v1/keyset" + b"context bytes"


@pytest.fixture
def key_arn(kms: Kms) -> str:
    return kms.new_key()


@pytest.fixture
def kek(kms: Kms, key_arn: str) -> AwsKmsKek:
    return AwsKmsKek(key_arn, region=kms.region, endpoint_url=kms.endpoint)


@pytest.fixture
def tenant_keks(kms: Kms) -> AwsKmsTenantKeks:
    prefix = kms.unique("cryptorails-test") + "-"
    return AwsKmsTenantKeks(region=kms.region, endpoint_url=kms.endpoint, alias_prefix=prefix)


# -- wrapping ----------------------------------------------------------------------------


def test_round_trip_beyond_the_kms_encrypt_limit(kek: AwsKmsKek, key_arn: str) -> None:
    assert isinstance(kek, Kek)
    assert kek.kek_id == "aws-kms:" + key_arn
    for plaintext in (b"", b"keyset json", os.urandom(64 * 1024)):  # KMS Encrypt: 4 KiB max
        blob = kek.wrap(plaintext, AAD)
        assert blob[0] == 0x21
        assert kek.unwrap(blob, AAD) == plaintext
    one, two = kek.wrap(b"same", AAD), kek.wrap(b"same", AAD)
    assert one != two
    size = int.from_bytes(one[1:3], "big")
    assert one[3 : 3 + size] != two[3 : 3 + size]  # a fresh data key per wrap


def test_every_bad_blob_is_one_decryption_error(kek: AwsKmsKek) -> None:
    blob = kek.wrap(b"keyset json", AAD)
    size = int.from_bytes(blob[1:3], "big")
    local = 3 + size  # the nonce and the locally sealed part start here

    def flip(i: int) -> bytes:
        return blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1 :]

    cases = {
        "aad": (blob, AAD + b"x", Reason.AUTHENTICATION_FAILED),
        "empty aad": (blob, b"", Reason.AUTHENTICATION_FAILED),
        "kms blob": (flip(3 + size // 2), AAD, Reason.AUTHENTICATION_FAILED),
        "nonce": (flip(local), AAD, Reason.AUTHENTICATION_FAILED),
        "body": (flip(local + 12), AAD, Reason.AUTHENTICATION_FAILED),
        "tag": (flip(len(blob) - 1), AAD, Reason.AUTHENTICATION_FAILED),
        "cut": (blob[:-1], AAD, Reason.AUTHENTICATION_FAILED),
        "no room": (blob[: local + 12 + 15], AAD, Reason.MALFORMED),
        "length zero": (blob[:1] + b"\x00\x00" + blob[3:], AAD, Reason.MALFORMED),
        "length huge": (blob[:1] + b"\xff\xff" + blob[3:], AAD, Reason.MALFORMED),
        "header only": (blob[:3], AAD, Reason.MALFORMED),
        "version only": (blob[:1], AAD, Reason.MALFORMED),
        "empty": (b"", AAD, Reason.MALFORMED),
        "version": (b"\x11" + blob[1:], AAD, Reason.UNSUPPORTED_VERSION),
        "garbage": (b"\x21" + os.urandom(200), AAD, None),
    }
    for name, (bad, aad, reason) in cases.items():
        with pytest.raises(DecryptionError) as info:
            kek.unwrap(bad, aad)
        if reason is not None:
            assert info.value.reason is reason, name
        assert str(info.value) == "decryption failed"
    with pytest.raises(DecryptionError) as info:
        kek.unwrap(bytearray(blob), "aad")  # type: ignore[arg-type]
    assert info.value.reason is Reason.WRONG_TYPE
    with pytest.raises(TypeError):
        kek.wrap(None, AAD)  # type: ignore[arg-type]


def test_another_kms_key_cannot_unwrap(kek: AwsKmsKek, kms: Kms) -> None:
    blob = kek.wrap(b"keyset json", AAD)
    other = AwsKmsKek(kms.new_key(), region=kms.region, endpoint_url=kms.endpoint)
    assert other.kek_id != kek.kek_id
    with pytest.raises(DecryptionError) as info:
        other.unwrap(blob, AAD)
    # Decrypt is pinned to this KEK's key (KeyId=): moto answers AccessDeniedException
    # where AWS answers IncorrectKeyException; both mean the blob is another key's.
    assert info.value.reason is Reason.UNKNOWN_KEY


def test_alias_and_key_id_resolve_to_the_arn(kms: Kms) -> None:
    alias = kms.unique("kek")
    arn = kms.new_key(alias)
    key_id = arn.rsplit("/", 1)[1]
    ids = {
        AwsKmsKek(name, region=kms.region, endpoint_url=kms.endpoint).kek_id
        for name in (arn, alias, key_id)
    }
    assert ids == {"aws-kms:" + arn}
    by_alias = AwsKmsKek(alias, client=kms.client())
    assert repr(by_alias) == f"AwsKmsKek({arn})"
    # Pointing the alias at another key later gives another kek_id: a keystore refuses it.
    second = kms.client().create_key()["KeyMetadata"]
    kms.client().update_alias(AliasName=alias, TargetKeyId=second["KeyId"])
    assert AwsKmsKek(alias, client=kms.client()).kek_id == "aws-kms:" + second["Arn"]
    blob = by_alias.wrap(b"pinned", AAD)  # still the first key: resolved at construction
    assert AwsKmsKek(arn, client=kms.client()).unwrap(blob, AAD) == b"pinned"


# -- opening: precise configuration errors -------------------------------------------------


def test_open_errors(kms: Kms, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match=r"no KMS key 'alias/absent-key'"):
        AwsKmsKek("alias/absent-key", region=kms.region, endpoint_url=kms.endpoint)
    arn = kms.new_key()
    kms.client().disable_key(KeyId=arn.rsplit("/", 1)[1])
    with pytest.raises(ConfigurationError, match=r"is Disabled, not Enabled"):
        AwsKmsKek(arn, region=kms.region, endpoint_url=kms.endpoint)
    signing = kms.client().create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")
    with pytest.raises(ConfigurationError, match=r"a KEK must be a SYMMETRIC_DEFAULT key"):
        AwsKmsKek(signing["KeyMetadata"]["Arn"], client=kms.client())
    with pytest.raises(ConfigurationError, match="not both"):
        AwsKmsKek(arn, client=kms.client(), region=kms.region)
    with pytest.raises(ConfigurationError, match="plain http to another host"):
        AwsKmsKek(arn, region=kms.region, endpoint_url="http://kms.example.com")
    password = "hunter" + "2"  # assembled: no credential-shaped URL in this file
    with pytest.raises(ConfigurationError, match="must not carry credentials") as info:
        AwsKmsKek(
            arn, region=kms.region, endpoint_url="https://user:" + password + "@kms.example.com"
        )
    assert password not in str(info.value)
    with pytest.raises(ConfigurationError, match="not an http"):
        AwsKmsKek(arn, region=kms.region, endpoint_url="ftp://127.0.0.1")
    with pytest.raises(TypeError):
        AwsKmsKek("", region=kms.region, endpoint_url=kms.endpoint)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigurationError, match="no AWS region"):
        AwsKmsKek(arn, endpoint_url=kms.endpoint)


def test_unreachable_endpoint_names_the_endpoint_not_the_credentials(
    kms: Kms, monkeypatch: pytest.MonkeyPatch, dead_endpoint: str
) -> None:
    canary = "Z" * 40
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", canary)
    reach = r"cannot reach KMS at http://127\.0\.0\.1:\d+ \(EndpointConnectionError\)"
    with pytest.raises(ConfigurationError, match=reach) as info:
        AwsKmsKek("alias/anything", region=kms.region, endpoint_url=dead_endpoint)
    assert canary not in str(info.value)
    assert "testing" not in str(info.value)  # nor the access key id


def test_unwrap_while_kms_is_unreachable(kek: AwsKmsKek, kms: Kms, dead_endpoint: str) -> None:
    blob = kek.wrap(b"x", AAD)
    cut_off = AwsKmsKek._from_metadata(
        _client_for(dead_endpoint, kms.region),
        {"Arn": kek.kek_id.removeprefix("aws-kms:"), "KeyState": "Enabled"},
        "cut off",
    )
    with pytest.raises(DecryptionError) as info:
        cut_off.unwrap(blob, AAD)
    assert info.value.reason is Reason.KEK_UNAVAILABLE
    with pytest.raises(ConfigurationError, match="cannot reach KMS"):
        cut_off.wrap(b"x", AAD)


def _client_for(endpoint: str, region: str) -> Any:
    from cryptorails.keys.kek._aws import _Client

    return _Client(None, region, endpoint)


def test_aws_refusals_map_to_reasons(kek: AwsKmsKek) -> None:
    """A fake: botocore's Stubber replays KMS error answers that moto does not give."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.session.Session().client("kms", region_name="us-east-1")
    arn = kek.kek_id.removeprefix("aws-kms:")
    stubbed = AwsKmsKek._from_metadata(
        _given(client), {"Arn": arn, "KeyState": "Enabled"}, "stubbed"
    )
    blob = kek.wrap(b"x", AAD)
    expected = {
        "DisabledException": Reason.KEY_DISABLED,
        "KMSInvalidStateException": Reason.KEY_DISABLED,
        "IncorrectKeyException": Reason.UNKNOWN_KEY,
        "NotFoundException": Reason.KEY_DESTROYED,
        "InvalidCiphertextException": Reason.AUTHENTICATION_FAILED,
        "ThrottlingException": Reason.KEK_UNAVAILABLE,
    }
    with Stubber(client) as stub:
        for code in expected:
            stub.add_client_error("decrypt", service_error_code=code, http_status_code=400)
        stub.add_response(
            "decrypt", {"KeyId": arn.replace("key/", "key/0"), "Plaintext": os.urandom(32)}
        )
        seen = {}
        for code in expected:
            with pytest.raises(DecryptionError) as info:
                stubbed.unwrap(blob, AAD)
            seen[code] = info.value.reason
        with pytest.raises(DecryptionError) as info:
            stubbed.unwrap(blob, AAD)  # KMS says another key decrypted it
        assert info.value.reason is Reason.UNKNOWN_KEY
    assert seen == expected


def _given(client: Any) -> Any:
    from cryptorails.keys.kek._aws import _Client

    return _Client(client, None, None)


def test_a_forked_child_gets_its_own_client(kek: AwsKmsKek) -> None:
    blob = kek.wrap(b"from the parent", AAD)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    parent_client = kek._kms.get()

    def child() -> None:
        try:
            own = kek._kms.get() is not parent_client
            send.send(("ok", kek.unwrap(blob, AAD), kek.wrap(b"from the child", AAD), own))
        except BaseException as e:
            send.send(("error", repr(e), b"", False))

    process = ctx.Process(target=child)
    process.start()
    try:
        result = receive.recv() if receive.poll(60) else ("no answer", b"", b"", False)
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
    status, opened, child_blob, own_client = result
    assert (status, opened, own_client) == ("ok", b"from the parent", True)
    assert kek.unwrap(child_blob, AAD) == b"from the child"
    assert kek._kms.get() is parent_client


# -- the keystore, end to end --------------------------------------------------------------


def test_keyring_with_a_kms_kek(kek: AwsKmsKek, kms: Kms, key_arn: str, tmp_path: Path) -> None:
    ctx = Context("acme", "email")
    ring = Keyring.open(tmp_path / "ks", kek=kek, environment="prod", create=True)
    blob = Sealer(ring).seal(b"secret data", ctx)
    same = AwsKmsKek(key_arn, client=kms.client())
    assert Sealer(Keyring.open(tmp_path / "ks", kek=same, environment="prod")).open(blob, ctx) == (
        b"secret data"
    )
    other = AwsKmsKek(kms.new_key(), client=kms.client())
    with pytest.raises(ConfigurationError, match="different KEK"):
        Keyring.open(tmp_path / "ks", kek=other, environment="prod")


def test_keystore_reports_a_kms_outage_as_unavailable_not_tampered(
    kek: AwsKmsKek, kms: Kms, dead_endpoint: str, tmp_path: Path
) -> None:
    from cryptorails.errors import StoreUnavailable

    ctx = Context("acme", "email")
    blob = Sealer(Keyring.open(tmp_path / "ks", kek=kek, environment="prod", create=True)).seal(
        b"x", ctx
    )
    cut_off = AwsKmsKek._from_metadata(
        _client_for(dead_endpoint, kms.region),
        {"Arn": kek.kek_id.removeprefix("aws-kms:"), "KeyState": "Enabled"},
        "cut off",
    )
    ring = Keyring.open(tmp_path / "ks", kek=cut_off, environment="prod")
    with pytest.raises(StoreUnavailable, match="cannot be reached now"):
        Sealer(ring).open(blob, ctx)


# -- tenant KEKs ---------------------------------------------------------------------------


def test_tenant_keks_create_list_destroy(tenant_keks: AwsKmsTenantKeks, kms: Kms) -> None:
    assert tenant_keks.provider_id == f"aws-kms:region=us-east-1;prefix={tenant_keks._prefix}"
    run = check_tenant_keks(tenant_keks, AAD)
    acme, globex, blob = run.acme, run.globex, run.blob
    meta = kms.client().describe_key(KeyId=acme.kek_id.removeprefix("aws-kms:"))["KeyMetadata"]
    assert (meta["KeyState"], meta["Enabled"]) == ("PendingDeletion", False)
    aliases = [a["AliasName"] for a in kms.client().list_aliases()["Aliases"]]
    assert tenant_keks._prefix + "acme" not in aliases
    # A new key for the same tenant, or another tenant's key, cannot open the old wrap.
    # (The handed-out `acme` object itself: AWS refuses Decrypt under a disabled key,
    # moto does not; see test_aws_refusals_map_to_reasons for the mapping.)
    fresh = tenant_keks.kek("acme", create=True)
    assert fresh is not None
    assert fresh.kek_id != acme.kek_id
    for candidate in (fresh, globex):
        with pytest.raises(DecryptionError) as info:
            candidate.unwrap(blob, AAD)
        assert info.value.reason is Reason.UNKNOWN_KEY
    assert globex.unwrap(globex.wrap(b"g", AAD), AAD) == b"g"


def test_a_half_finished_destroy_is_completed(tenant_keks: AwsKmsTenantKeks, kms: Kms) -> None:
    acme = tenant_keks.kek("acme", create=True)
    assert acme is not None
    key_id = acme.kek_id.rsplit("/", 1)[1]
    kms.client().disable_key(KeyId=key_id)  # as if destroy had stopped after DisableKey
    assert tenant_keks.destroy("acme") is True
    meta = kms.client().describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert tenant_keks.kek("acme", create=False) is None


def test_an_alias_to_a_key_pending_deletion_counts_as_destroyed(
    tenant_keks: AwsKmsTenantKeks, kms: Kms
) -> None:
    acme = tenant_keks.kek("acme", create=True)
    assert acme is not None
    key_id = acme.kek_id.rsplit("/", 1)[1]
    kms.client().disable_key(KeyId=key_id)
    kms.client().schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert tenant_keks.kek("acme", create=False) is None
    fresh = tenant_keks.kek("acme", create=True)  # the stale alias is replaced
    assert fresh is not None
    assert fresh.kek_id != acme.kek_id


def test_losing_the_alias_race_retires_the_unused_key(
    tenant_keks: AwsKmsTenantKeks, kms: Kms
) -> None:
    winner = tenant_keks.kek("acme", create=True)
    assert winner is not None
    before = {k["KeyId"] for k in kms.client().list_keys()["Keys"]}
    meta = tenant_keks._create(tenant_keks._prefix + "acme")  # the alias exists already
    assert meta["Arn"] == winner.kek_id.removeprefix("aws-kms:")
    (loser,) = {k["KeyId"] for k in kms.client().list_keys()["Keys"]} - before
    assert kms.client().describe_key(KeyId=loser)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_tenant_alias_encoding() -> None:
    for tenant in ("acme", "Acme-01", "a_b", "globex corp/ü", "x" * 40, "日本"):
        part = _alias_part(tenant)
        assert all(c.isascii() and (c.isalnum() or c in "_-") for c in part)
        assert _tenant_of(part) == tenant
    assert _alias_part("a_b c") == "a_5fb_20c"
    for foreign in ("a_5F", "a_", "a_zz", "a_5", "_0a", "", "a_5fb_2"):
        assert _tenant_of(foreign) is None, foreign


def test_tenant_keks_refusals(tenant_keks: AwsKmsTenantKeks, kms: Kms) -> None:
    for prefix in ("cryptorails-", "alias/aws/x-", "alias/with space", "alias/ü"):
        with pytest.raises(ConfigurationError, match="must start with 'alias/'"):
            AwsKmsTenantKeks(client=kms.client(), alias_prefix=prefix)
    with pytest.raises(ConfigurationError, match="too long for a KMS alias"):
        tenant_keks.kek("ü" * 60, create=True)
    with pytest.raises(ValueError, match="tenant"):
        tenant_keks.kek("", create=True)
    # An alias under the prefix that is not an encoded tenant id is not listed.
    kms.new_key(tenant_keks._prefix + "not_valid")
    assert tenant_keks.tenants() == []
