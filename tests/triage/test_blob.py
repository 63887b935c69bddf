"""`diagnose_blob`: why a sealed blob does not open, over the whole keystore."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cryptorails.aead import Sealer, _format
from cryptorails.algorithms import Algorithm
from cryptorails.context import Context
from cryptorails.errors import Reason
from cryptorails.keys import Keyring, KeyState, Ledger, LocalKek
from cryptorails.triage._blob import BlobVerdict, diagnose_blob

A = Context("tenant-a", "user-email")
A_NOTES = Context("tenant-a", "notes")
B = Context("tenant-b", "user-email")
SECRET = b"alice@example.com"


@pytest.fixture
def keyring() -> Keyring:
    keyring = Keyring.in_memory(environment="prod")
    for ctx in (A, A_NOTES, B):
        keyring.keyset(ctx)
    return keyring


def kid_of(keyring: Keyring, ctx: Context) -> int:
    return keyring.keyset(ctx).primary.kid


def test_opens_under_its_own_context_and_reports_only_the_length(keyring: Keyring) -> None:
    blob = Sealer(keyring).seal(SECRET, A, b"row-1")
    found = diagnose_blob(keyring, blob, A, b"row-1")
    assert found.verdict is BlobVerdict.OPENS
    assert found.opens
    assert found.plaintext_length == len(SECRET)
    assert (found.version, found.algorithm, found.kid, found.nonce_length) == (
        1,
        Algorithm.XAES_256_GCM,
        kid_of(keyring, A),
        24,
    )
    (owner,) = found.owners
    assert (owner.context, owner.state, owner.opens, owner.reason) == (
        A,
        KeyState.PRIMARY,
        True,
        None,
    )
    assert SECRET.decode() not in repr(found)
    assert SECRET.decode() not in str(found.to_json())


def test_without_a_context_the_single_owner_that_opens_decides(keyring: Keyring) -> None:
    blob = Sealer(keyring).seal(SECRET, B)
    found = diagnose_blob(keyring, blob)
    assert found.verdict is BlobVerdict.OPENS
    kid = kid_of(keyring, B)
    assert found.explanation == (
        f"opens under key {kid} (0x{kid:08x}) of tenant-b/user-email (plaintext 17 bytes); "
        "it belongs to tenant-b/user-email"
    )


def test_another_tenants_blob_is_wrong_tenant_and_opening_there_confirms_it(
    keyring: Keyring,
) -> None:
    blob = Sealer(keyring).seal(SECRET, A)
    found = diagnose_blob(keyring, blob, B)
    kid = kid_of(keyring, A)
    assert found.verdict is BlobVerdict.WRONG_TENANT
    assert not found.opens
    assert found.explanation == (
        f"wrong tenant: kid {kid} (0x{kid:08x}) belongs to tenant-a/user-email, not to "
        "tenant-b/user-email; it opens under tenant-a/user-email (plaintext 17 bytes), which "
        "confirms whose data it is. A request for tenant-b was given another tenant's "
        "record: check how the record is looked up (a tenant id from the request, a query "
        "without a tenant filter)"
    )


def test_same_tenant_other_purpose_is_wrong_purpose(keyring: Keyring) -> None:
    blob = Sealer(keyring).seal(SECRET, A)
    found = diagnose_blob(keyring, blob, A_NOTES)
    assert found.verdict is BlobVerdict.WRONG_PURPOSE
    assert found.explanation.startswith("wrong purpose: kid ")


def test_rotated_and_disabled_key(keyring: Keyring) -> None:
    blob = Sealer(keyring).seal(SECRET, A)
    old = kid_of(keyring, A)
    keyring.rotate(A)
    assert diagnose_blob(keyring, blob, A).verdict is BlobVerdict.OPENS  # active: still opens
    keyring.set_state(A, old, KeyState.DISABLED)
    found = diagnose_blob(keyring, blob, A)
    assert found.verdict is BlobVerdict.KEY_DISABLED
    (owner,) = found.owners
    assert (owner.state, owner.opens, owner.reason) == (
        KeyState.DISABLED,
        None,
        Reason.KEY_DISABLED,
    )
    assert found.explanation.startswith(f"rotated away: key {old} (0x{old:08x}) of tenant-a/")
    keyring.set_state(A, old, KeyState.DESTROYED)
    found = diagnose_blob(keyring, blob, A)
    assert found.verdict is BlobVerdict.KEY_DESTROYED
    assert "material is erased and the blob is unrecoverable" in found.explanation
    # Checked as another tenant, the state of the owner's key is reported.
    other = diagnose_blob(keyring, blob, B)
    assert other.verdict is BlobVerdict.WRONG_TENANT
    assert "it does not open there either (tenant-a/user-email: key_destroyed)" in (
        other.explanation
    )


def test_compromised_and_pre_activation_keys(keyring: Keyring) -> None:
    blob = Sealer(keyring).seal(SECRET, A)
    kid = kid_of(keyring, A)
    keyring.set_state(A, kid, KeyState.COMPROMISED)
    found = diagnose_blob(keyring, blob, A)
    assert found.verdict is BlobVerdict.KEY_COMPROMISED
    assert found.owners[0].reason is Reason.KEY_COMPROMISED
    pending = keyring.add_key(B)
    fake = _format.header(Algorithm.XAES_256_GCM, pending) + os.urandom(24 + 16 + 5)
    found = diagnose_blob(keyring, fake, B)
    assert found.verdict is BlobVerdict.KEY_NOT_ACTIVE
    assert found.owners[0].state is KeyState.PRE_ACTIVATION


def test_tampered_blob_and_wrong_aad_are_tag_mismatches(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(SECRET, A, b"order-1")
    tampered = bytearray(blob)
    tampered[-20] ^= 1
    found = diagnose_blob(keyring, bytes(tampered), A, b"order-1")
    assert found.verdict is BlobVerdict.TAG_MISMATCH
    assert found.owners[0].reason is Reason.AUTHENTICATION_FAILED
    assert "the aad differs from the one it was sealed with, or the blob was modified" in (
        found.explanation
    )
    wrong = diagnose_blob(keyring, blob, A, b"order-2")
    assert wrong.verdict is BlobVerdict.TAG_MISMATCH
    assert not wrong.owners[0].opens_with_empty_aad
    without = sealer.seal(SECRET, A)
    found = diagnose_blob(keyring, without, A, b"order-1")
    assert found.verdict is BlobVerdict.TAG_MISMATCH
    assert found.owners[0].opens_with_empty_aad
    assert found.explanation.endswith("it opens with an empty aad, so it was sealed without aad")


def test_header_naming_another_algorithm(keyring: Keyring) -> None:
    blob = bytearray(Sealer(keyring).seal(SECRET, A))
    blob[1] = Algorithm.AES_256_GCM.wire_id
    found = diagnose_blob(keyring, bytes(blob), A)
    assert found.verdict is BlobVerdict.ALGORITHM_MISMATCH
    assert "the header says AES-256-GCM but key" in found.explanation


def test_unknown_kid_everywhere(keyring: Keyring) -> None:
    elsewhere = Sealer(Keyring.in_memory(environment="staging")).seal(SECRET, A)
    found = diagnose_blob(keyring, elsewhere, A)
    assert found.verdict is BlobVerdict.UNKNOWN_KID
    assert found.owners == ()
    assert "is in no keyset of this keystore (environment prod): " in found.explanation
    missing = diagnose_blob(keyring, elsewhere, Context("tenant-z", "user-email"))
    assert "(and there is no keyset for tenant-z/user-email at all)" in missing.explanation


@pytest.mark.parametrize(
    ("blob", "explanation"),
    [
        (b"\x01\x01\x00", "3 bytes: shorter than a header"),
        (b"\x02\x01" + bytes(60), "version byte 2; cryptorails blobs are version 1"),
        (b"\x01\x07" + bytes(60), "algorithm id 7 names no cryptorails AEAD"),
        (b"\x01\x01" + bytes(30), "32 bytes; a XAES-256-GCM blob has at least 46"),
    ],
    ids=["short", "version", "algorithm", "truncated"],
)
def test_malformed_blobs(keyring: Keyring, blob: bytes, explanation: str) -> None:
    found = diagnose_blob(keyring, blob, A)
    assert found.verdict is BlobVerdict.MALFORMED
    assert found.explanation.startswith(explanation)


def test_truncated_blob_still_names_its_owner(keyring: Keyring) -> None:
    blob = Sealer(keyring).seal(SECRET, A)
    found = diagnose_blob(keyring, blob[:40], A)
    assert found.verdict is BlobVerdict.MALFORMED
    assert [o.context for o in found.owners] == [A]


def test_wrong_type_is_a_type_error(keyring: Keyring) -> None:
    with pytest.raises(TypeError, match="blob must be bytes"):
        diagnose_blob(keyring, "text", A)  # type: ignore[arg-type]


# -- shredded tenants ------------------------------------------------------------------


def test_shredded_tenant_with_and_without_a_ledger_on_the_keyring(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite://{tmp_path / 'ledger.db'}")
    kek = LocalKek.generate(tmp_path / "kek")
    ks = tmp_path / "keystore"
    keyring = Keyring.open(ks, kek=kek, environment="prod", create=True, ledger=ledger)
    sealer = Sealer(keyring)
    blob = sealer.seal(SECRET, A)
    sealer.seal(b"bob", B)
    kid = kid_of(keyring, A)
    shutil.copytree(ks, tmp_path / "copy")
    keyring.shred("tenant-a")

    found = diagnose_blob(keyring, blob, A)
    assert found.verdict is BlobVerdict.TENANT_SHREDDED
    assert found.explanation.startswith("tenant shredded: tenant tenant-a was shredded at ")
    assert "(the tombstone lists this kid)" in found.explanation
    as_b = diagnose_blob(keyring, blob, B)
    assert as_b.verdict is BlobVerdict.TENANT_SHREDDED
    assert as_b.explanation.startswith(
        f"tenant shredded: kid {kid} (0x{kid:08x}) belonged to tenant tenant-a, which was "
        "shredded at "
    )
    assert diagnose_blob(keyring, blob).verdict is BlobVerdict.TENANT_SHREDDED

    # An old keystore copy brings the keys back as files; a keyring opened on it without
    # the ledger would open them, but the diagnosis does not even try.
    shutil.rmtree(ks)
    shutil.copytree(tmp_path / "copy", ks)
    restored = Keyring.open(ks, kek=kek, environment="prod")
    assert Sealer(restored).open(blob, A) == SECRET  # what the tombstone guards against
    found = diagnose_blob(restored, blob, A, ledger=ledger)
    assert found.verdict is BlobVerdict.TENANT_SHREDDED
    (owner,) = found.owners
    assert owner.shredded
    assert owner.opens is None
    found = diagnose_blob(restored, blob, ledger=ledger)
    assert found.verdict is BlobVerdict.TENANT_SHREDDED
    assert found.explanation.endswith("its data stays unrecoverable by design")


def test_an_unreadable_keyset_is_a_note_not_a_failure(tmp_path: Path) -> None:
    kek = LocalKek.generate(tmp_path / "kek")
    ks = tmp_path / "keystore"
    keyring = Keyring.open(ks, kek=kek, environment="prod", create=True)
    sealer = Sealer(keyring)
    blob = sealer.seal(SECRET, A)
    sealer.seal(b"bob", B)
    for path in (ks / "keysets").glob("*.keyset"):
        if '"tenant-b"' in path.read_text():
            text = path.read_text()
            path.write_text(text.replace('"wrapped": "', '"wrapped": "AAAA'))
    reopened = Keyring.open(ks, kek=kek, environment="prod")
    found = diagnose_blob(reopened, blob, A)
    assert found.verdict is BlobVerdict.OPENS
    (note,) = found.notes
    assert note.startswith("keyset tenant-b/user-email could not be read: keyset file ")
    assert note.endswith(
        "does not authenticate under this KEK, environment and context "
        "(tampered, copied from elsewhere, or a different KEK)"
    )
