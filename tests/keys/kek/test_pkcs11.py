"""`Pkcs11Kek` and `Pkcs11TenantKeks` against a real SoftHSM2 token (see conftest.py)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cryptorails import (
    ConfigurationError,
    Context,
    DecryptionError,
    Keyring,
    LocalKek,
    Reason,
    Sealer,
    Secret,
)
from cryptorails.keys.kek import Kek
from cryptorails.keys.kek._pkcs11 import Pkcs11Kek, Pkcs11TenantKeks

from .conftest import check_tenant_keks

if TYPE_CHECKING:
    from conftest import SoftHsm  # this folder's conftest.py

AAD = b"cryptorails/v1/keyset" + b"context bytes"


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def kek(softhsm: SoftHsm) -> Iterator[Pkcs11Kek]:
    """A freshly generated HSM key of its own."""
    with Pkcs11Kek.generate(
        softhsm.module, token_label=softhsm.token, key_label=unique("kek"), pin=softhsm.pin()
    ) as kek:
        yield kek


@pytest.fixture
def tenant_keks(softhsm: SoftHsm) -> Iterator[Pkcs11TenantKeks]:
    """A tenant KEK provider under a label prefix no other test uses."""
    with Pkcs11TenantKeks(
        softhsm.module,
        token_label=softhsm.token,
        pin=softhsm.pin(),
        label_prefix=unique("tenant") + "-",
    ) as keks:
        yield keks


def raw(kek: Pkcs11Kek, op: Any) -> Any:
    """Run `op(pkcs11 module, session)` on the KEK's logged-in session (test inspection)."""
    import pkcs11

    return kek._shared.run(lambda session: op(pkcs11, session))


# -- wrapping ----------------------------------------------------------------------------


def test_round_trip_and_protocol(kek: Pkcs11Kek) -> None:
    assert isinstance(kek, Kek)
    for plaintext in (b"", b"keyset json", os.urandom(70_000)):
        blob = kek.wrap(plaintext, AAD)
        assert blob[0] == 0x11
        assert len(blob) == 1 + 12 + len(plaintext) + 16
        assert kek.unwrap(blob, AAD) == plaintext
    assert kek.wrap(b"same", AAD) != kek.wrap(b"same", AAD)  # a fresh IV every time


def test_every_bad_blob_is_one_decryption_error(kek: Pkcs11Kek) -> None:
    blob = kek.wrap(b"keyset json", AAD)
    cases = {
        "aad": (blob, AAD + b"x", Reason.AUTHENTICATION_FAILED),
        "empty aad": (blob, b"", Reason.AUTHENTICATION_FAILED),
        "iv": (blob[:5] + bytes([blob[5] ^ 1]) + blob[6:], AAD, Reason.AUTHENTICATION_FAILED),
        "body": (blob[:14] + bytes([blob[14] ^ 1]) + blob[15:], AAD, Reason.AUTHENTICATION_FAILED),
        "tag": (blob[:-1] + bytes([blob[-1] ^ 0x80]), AAD, Reason.AUTHENTICATION_FAILED),
        "appended": (blob + b"\x00", AAD, Reason.AUTHENTICATION_FAILED),
        "cut tag": (blob[:-1], AAD, Reason.AUTHENTICATION_FAILED),
        "no body": (blob[: 1 + 12 + 16], AAD, Reason.AUTHENTICATION_FAILED),
        "too short": (blob[: 1 + 12 + 15], AAD, Reason.MALFORMED),
        "version only": (blob[:1], AAD, Reason.MALFORMED),
        "empty": (b"", AAD, Reason.MALFORMED),
        "version": (b"\x12" + blob[1:], AAD, Reason.UNSUPPORTED_VERSION),
        "garbage": (os.urandom(64), AAD, None),
        "local kek blob": (LocalKek(Secret(os.urandom(32))).wrap(b"x", AAD), AAD, None),
    }
    for name, (bad, aad, reason) in cases.items():
        with pytest.raises(DecryptionError) as info:
            kek.unwrap(bad, aad)
        if reason is not None:
            assert info.value.reason is reason, name
        assert str(info.value) == "decryption failed"
    with pytest.raises(DecryptionError) as info:
        kek.unwrap("text", AAD)  # type: ignore[arg-type]
    assert info.value.reason is Reason.WRONG_TYPE
    with pytest.raises(TypeError):
        kek.wrap("text", AAD)  # type: ignore[arg-type]


def test_another_hsm_key_cannot_unwrap(kek: Pkcs11Kek, softhsm: SoftHsm) -> None:
    blob = kek.wrap(b"keyset json", AAD)
    with Pkcs11Kek.generate(
        softhsm.module, token_label=softhsm.token, key_label=unique("other"), pin=softhsm.pin()
    ) as other:
        assert other.kek_id != kek.kek_id
        with pytest.raises(DecryptionError) as info:
            other.unwrap(blob, AAD)
    assert info.value.reason is Reason.AUTHENTICATION_FAILED


def test_the_key_never_leaves_the_token(kek: Pkcs11Kek) -> None:
    def inspect(p11: Any, session: Any) -> dict[str, Any]:
        key = session.get_key(label=kek._key_label)
        a = p11.Attribute
        facts = key.get_attributes(
            [a.TOKEN, a.SENSITIVE, a.EXTRACTABLE, a.NEVER_EXTRACTABLE, a.MODIFIABLE, a.VALUE_LEN]
        )
        with pytest.raises(p11.AttributeSensitive):
            key[a.VALUE]
        # Not even wrapped under another key of the same token.
        wrapping = session.generate_key(p11.KeyType.AES, 256, label=unique("wrapping"))
        with pytest.raises(p11.KeyUnextractable):
            wrapping.wrap_key(key, mechanism=p11.Mechanism.AES_KEY_WRAP)
        # Only AES-GCM: no ECB block oracle.
        with pytest.raises(p11.MechanismInvalid):
            key.encrypt(bytes(16), mechanism=p11.Mechanism.AES_ECB)
        return {a(k).name: v for k, v in facts.items()}

    facts = raw(kek, inspect)
    assert facts == {
        "TOKEN": True,
        "SENSITIVE": True,
        "EXTRACTABLE": False,
        "NEVER_EXTRACTABLE": True,
        "MODIFIABLE": False,
        "VALUE_LEN": 32,
    }


def test_identity_and_repr(kek: Pkcs11Kek, softhsm: SoftHsm) -> None:
    with Pkcs11Kek(
        softhsm.module, token_label=softhsm.token, key_label=kek._key_label, pin=softhsm.pin()
    ) as again:
        assert again.kek_id == kek.kek_id
        assert again.unwrap(kek.wrap(b"x", AAD), AAD) == b"x"
    assert kek.kek_id.startswith("pkcs11:")
    assert len(kek.kek_id) == len("pkcs11:") + 32
    text = repr(kek)
    assert kek._key_label in text
    assert softhsm.pin().reveal().decode() not in text


def test_a_key_made_again_under_the_same_label_is_another_kek(
    kek: Pkcs11Kek, softhsm: SoftHsm
) -> None:
    blob = kek.wrap(b"x", AAD)
    label = kek._key_label
    raw(kek, lambda p11, s: s.get_key(label=label).destroy())
    with pytest.raises(DecryptionError) as info:
        kek.unwrap(blob, AAD)
    assert info.value.reason is Reason.KEY_DESTROYED
    with pytest.raises(ConfigurationError, match="no longer on PKCS#11 token"):
        kek.wrap(b"x", AAD)
    with Pkcs11Kek.generate(
        softhsm.module, token_label=softhsm.token, key_label=label, pin=softhsm.pin()
    ) as again:
        assert again.kek_id != kek.kek_id  # a new CKA_ID
        with pytest.raises(DecryptionError):
            again.unwrap(blob, AAD)


# -- opening: precise configuration errors -------------------------------------------------


def test_open_errors(kek: Pkcs11Kek, softhsm: SoftHsm, tmp_path: Path) -> None:
    def open_(**kw: Any) -> Pkcs11Kek:
        args: dict[str, Any] = {
            "module": softhsm.module,
            "token_label": softhsm.token,
            "key_label": kek._key_label,
            "pin": softhsm.pin(),
        }
        args.update(kw)
        return Pkcs11Kek(args.pop("module"), **args)

    with pytest.raises(ConfigurationError, match=r"no secret key labelled 'absent' on PKCS#11"):
        open_(key_label="absent")
    with pytest.raises(ConfigurationError, match=r"no PKCS#11 token labelled 'no-such-token'"):
        open_(token_label="no-such-token")
    with pytest.raises(ConfigurationError, match=r"PKCS#11 module .*/absent.so does not exist"):
        open_(module=tmp_path / "absent.so")
    not_a_library = tmp_path / "garbage.so"
    not_a_library.write_bytes(os.urandom(4096))
    with pytest.raises(ConfigurationError, match=r"cannot load PKCS#11 module .*garbage.so"):
        open_(module=not_a_library)
    import pkcs11._pkcs11

    # A real shared library, but not a PKCS#11 module.
    with pytest.raises(ConfigurationError, match=r"undefined symbol: C_GetFunctionList"):
        open_(module=pkcs11._pkcs11.__file__)
    # The token is already logged in (by `kek`) with the right PIN: another PIN is refused.
    with pytest.raises(ConfigurationError, match=r"wrong PIN for PKCS#11 token 'cryptorails'"):
        open_(pin=Secret(b"not-the-pin"))
    with pytest.raises(ConfigurationError, match=r"already holds a key labelled"):
        Pkcs11Kek.generate(
            softhsm.module, token_label=softhsm.token, key_label=kek._key_label, pin=softhsm.pin()
        )
    with pytest.raises(TypeError):
        open_(pin=softhsm.pin().reveal().decode())
    with pytest.raises(ValueError, match="key_label"):
        open_(key_label="")


def test_wrong_pin_is_refused_by_the_token(softhsm: SoftHsm) -> None:
    # The spare token: nothing in this process is logged in to it, so the HSM itself
    # checks this PIN (C_Login answers CKR_PIN_INCORRECT).
    with pytest.raises(
        ConfigurationError, match=r"wrong PIN for PKCS#11 token 'cryptorails-spare'"
    ):
        Pkcs11Kek(
            softhsm.module,
            token_label=softhsm.spare_token,
            key_label="anything",
            pin=Secret(b"not-the-pin"),
        )


def test_ambiguous_and_unsafe_keys_are_refused(kek: Pkcs11Kek, softhsm: SoftHsm) -> None:
    label = unique("twice")
    for _ in range(2):
        raw(
            kek,
            lambda p11, s: s.generate_key(p11.KeyType.AES, 256, label=label, store=True),
        )
    with pytest.raises(ConfigurationError, match=r"2 secret keys are labelled 'twice-.*'"):
        Pkcs11Kek(softhsm.module, token_label=softhsm.token, key_label=label, pin=softhsm.pin())
    exportable = unique("exportable")
    raw(
        kek,
        lambda p11, s: s.generate_key(
            p11.KeyType.AES,
            256,
            label=exportable,
            store=True,
            template={p11.Attribute.SENSITIVE: False, p11.Attribute.EXTRACTABLE: True},
        ),
    )
    with pytest.raises(ConfigurationError, match=r"can be read out of the token"):
        Pkcs11Kek(
            softhsm.module, token_label=softhsm.token, key_label=exportable, pin=softhsm.pin()
        )
    short = unique("aes128")
    raw(kek, lambda p11, s: s.generate_key(p11.KeyType.AES, 128, label=short, store=True))
    with pytest.raises(ConfigurationError, match=r"is not an AES-256 key"):
        Pkcs11Kek(softhsm.module, token_label=softhsm.token, key_label=short, pin=softhsm.pin())


def test_closed_kek_is_refused(softhsm: SoftHsm) -> None:
    kek = Pkcs11Kek.generate(
        softhsm.module, token_label=softhsm.token, key_label=unique("closing"), pin=softhsm.pin()
    )
    blob = kek.wrap(b"x", AAD)
    kek.close()
    kek.close()  # idempotent
    with pytest.raises(ConfigurationError, match="was closed"):
        kek.wrap(b"x", AAD)
    with pytest.raises(ConfigurationError, match="was closed"):
        kek.unwrap(blob, AAD)


# -- sessions, threads, fork ---------------------------------------------------------------


def test_a_lost_session_is_reopened(kek: Pkcs11Kek) -> None:
    blob = kek.wrap(b"x", AAD)
    kek._shared.session.close()  # as if the HSM had restarted: the handle is gone
    assert kek.unwrap(blob, AAD) == b"x"
    assert kek.unwrap(kek.wrap(b"y", AAD), AAD) == b"y"


def test_threads_share_one_kek(kek: Pkcs11Kek) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                data = f"{n}-{i}".encode()
                assert kek.unwrap(kek.wrap(data, AAD), AAD) == data
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def run_in_fork(kek: Pkcs11Kek, blob: bytes) -> tuple[Any, ...]:
    """In a forked child: unwrap `blob`, wrap anew, report whether it reconnected."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            opened = kek.unwrap(blob, AAD)
            fresh = kek.wrap(b"from the child", AAD)
            send.send(("ok", opened, fresh, kek._shared.pid == os.getpid(), kek._shared.generation))
        except BaseException as e:
            send.send(("error", repr(e), b"", False, 0))

    process = ctx.Process(target=child)
    process.start()
    try:
        result = receive.recv() if receive.poll(60) else ("no answer", b"", b"", False, 0)
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
    assert process.exitcode == 0
    return result


def test_a_forked_child_reinitialises_and_unwraps(kek: Pkcs11Kek) -> None:
    blob = kek.wrap(b"from the parent", AAD)
    generation = kek._shared.generation
    status, opened, child_blob, own_session, child_generation = run_in_fork(kek, blob)
    assert (status, opened) == ("ok", b"from the parent")
    assert own_session  # the child opened (and logged in to) a session of its own
    assert child_generation == generation + 1
    # The child's C_Finalize/C_Initialize did not disturb the parent's session.
    assert kek.unwrap(child_blob, AAD) == b"from the child"
    assert kek.unwrap(kek.wrap(b"still", AAD), AAD) == b"still"


def test_fork_while_other_threads_use_the_hsm(kek: Pkcs11Kek) -> None:
    # The PKCS#11 lock is taken around fork(): no child inherits a half-done call or a
    # lock held by a thread that does not exist in the child.
    blob = kek.wrap(b"busy", AAD)
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            kek.unwrap(kek.wrap(b"x", AAD), AAD)

    threads = [threading.Thread(target=busy) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        results = [run_in_fork(kek, blob)[:2] for _ in range(3)]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert results == [("ok", b"busy")] * 3


# -- the keystore, end to end --------------------------------------------------------------


def test_keyring_with_an_hsm_kek(kek: Pkcs11Kek, softhsm: SoftHsm, tmp_path: Path) -> None:
    ctx = Context("acme", "email")
    ring = Keyring.open(tmp_path / "ks", kek=kek, environment="prod", create=True)
    blob = Sealer(ring).seal(b"secret data", ctx)

    with Pkcs11Kek(
        softhsm.module, token_label=softhsm.token, key_label=kek._key_label, pin=softhsm.pin()
    ) as same:
        again = Keyring.open(tmp_path / "ks", kek=same, environment="prod")
        assert Sealer(again).open(blob, ctx) == b"secret data"
    with (
        Pkcs11Kek.generate(
            softhsm.module, token_label=softhsm.token, key_label=unique("other"), pin=softhsm.pin()
        ) as other,
        pytest.raises(ConfigurationError, match="different KEK"),
    ):
        Keyring.open(tmp_path / "ks", kek=other, environment="prod")


# -- tenant KEKs ---------------------------------------------------------------------------


def test_tenant_keks_create_list_destroy(tenant_keks: Pkcs11TenantKeks) -> None:
    assert tenant_keks.provider_id == f"pkcs11:token=cryptorails;prefix={tenant_keks._prefix}"
    run = check_tenant_keks(tenant_keks, AAD)
    acme, again, globex, blob = run.acme, run.again, run.globex, run.blob
    # The old wrap opens with nothing any more: not the handed-out KEK object, not a new
    # key for the same tenant, not another tenant's key.
    for candidate in (acme, again):
        with pytest.raises(DecryptionError) as info:
            candidate.unwrap(blob, AAD)
        assert info.value.reason is Reason.KEY_DESTROYED
    fresh = tenant_keks.kek("acme", create=True)
    assert fresh is not None
    assert fresh.kek_id != acme.kek_id
    for candidate in (fresh, globex):
        with pytest.raises(DecryptionError) as info:
            candidate.unwrap(blob, AAD)
        assert info.value.reason is Reason.AUTHENTICATION_FAILED
    assert globex.unwrap(globex.wrap(b"g", AAD), AAD) == b"g"


def test_tenant_keys_are_unextractable_and_prefix_scoped(
    tenant_keks: Pkcs11TenantKeks, softhsm: SoftHsm
) -> None:
    acme = tenant_keks.kek("acme", create=True)
    assert acme is not None
    assert acme._key_label == tenant_keks._prefix + "acme"
    with Pkcs11Kek(
        softhsm.module, token_label=softhsm.token, key_label=acme._key_label, pin=softhsm.pin()
    ) as direct:
        assert direct.kek_id == acme.kek_id  # opening checked sensitive + unextractable
    with Pkcs11TenantKeks(
        softhsm.module, token_label=softhsm.token, pin=softhsm.pin(), label_prefix=unique("x")
    ) as elsewhere:
        assert elsewhere.tenants() == []
        assert elsewhere.kek("acme", create=False) is None
    with pytest.raises(ValueError, match="tenant"):
        tenant_keks.kek("", create=True)
    with pytest.raises(ValueError, match="tenant"):
        tenant_keks.kek("bad\nname", create=True)


def test_tenant_keks_closed(softhsm: SoftHsm) -> None:
    keks = Pkcs11TenantKeks(
        softhsm.module, token_label=softhsm.token, pin=softhsm.pin(), label_prefix=unique("c")
    )
    acme = keks.kek("acme", create=True)
    assert acme is not None
    keks.close()
    with pytest.raises(ConfigurationError, match="was closed"):
        keks.tenants()
    with pytest.raises(ConfigurationError, match="was closed"):
        acme.wrap(b"x", AAD)
