"""Conformance of the AEAD primitive layer with published vectors, and sealing properties.

- XAES-256-GCM: the explicit and accumulated vectors of the C2SP specification
  (c2sp.org/XAES-256-GCM, "Test vectors"), through `cryptorails.hazmat`.
- AES-256-GCM and AES-256-GCM-SIV: Wycheproof, through `primitive_for(...).open`.
- `seal`: output opens again, is standard (XAES-256-GCM opens with the hazmat function),
  and the XAES subkey batching never repeats a nonce, also across batches and `fork()`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESGCMSIV

from cryptorails.aead import _xaes
from cryptorails.aead._algorithms import primitive_for
from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.hazmat import xaes256gcm_decrypt, xaes256gcm_encrypt

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- XAES-256-GCM: C2SP specification vectors ------------------------------------------

XAES = _load(VECTORS / "xaes" / "vectors.json")


def test_xaes_spec_lists_two_explicit_vectors() -> None:
    assert len(XAES["vectors"]) == 2


@pytest.mark.parametrize("vector", XAES["vectors"], ids=["without-aad", "with-aad"])
def test_xaes_explicit_vector(vector: dict[str, str]) -> None:
    key = bytes.fromhex(vector["key_hex"])
    nonce = vector["nonce_ascii"].encode("ascii")
    plaintext = vector["plaintext_ascii"].encode("ascii")
    aad = vector["aad_ascii"].encode("ascii")
    expected = bytes.fromhex(vector["ciphertext_hex"])

    assert xaes256gcm_encrypt(key, nonce, plaintext, aad) == expected
    assert xaes256gcm_decrypt(key, nonce, expected, aad) == plaintext
    # The primitive layer reads the same bytes as nonce || ciphertext || tag.
    assert primitive_for(Algorithm.XAES_256_GCM, key, b"").open(nonce + expected, aad) == (
        plaintext
    )

    tampered = expected[:-1] + bytes((expected[-1] ^ 0x01,))
    with pytest.raises(InvalidTag):
        xaes256gcm_decrypt(key, nonce, tampered, aad)


def _shake128_stream() -> hashes.XOFHash:
    # hashlib's shake_128 only gives a one-shot digest of a chosen length; the accumulated
    # test needs one stream read piece by piece, which pyca's XOFHash squeezes (>= 45).
    return hashes.XOFHash(hashes.SHAKE128(digest_size=sys.maxsize))


def _accumulated(iterations: int) -> bytes:
    """The spec's accumulated test: inputs from one SHAKE-128 stream, outputs into another.

    Per iteration the input stream gives key[32], nonce[24], then plaintext and aad each as
    one length byte followed by that many bytes (RFC 8446 §3 vector notation).
    """
    source = _shake128_stream()
    sink = hashlib.shake_128()
    for _ in range(iterations):
        key = source.squeeze(32)
        nonce = source.squeeze(24)
        plaintext = source.squeeze(source.squeeze(1)[0])
        aad = source.squeeze(source.squeeze(1)[0])
        ciphertext = xaes256gcm_encrypt(key, nonce, plaintext, aad)
        assert xaes256gcm_decrypt(key, nonce, ciphertext, aad) == plaintext
        sink.update(ciphertext)
    return sink.digest(32)


def test_xaes_accumulated_input_stream() -> None:
    expected = bytes.fromhex(XAES["accumulated"]["rng_stream_starts_with_hex"])
    assert hashlib.shake_128(b"").digest(len(expected)) == expected
    # Squeezing in pieces continues the one stream (what `_accumulated` relies on).
    source = _shake128_stream()
    assert source.squeeze(5) + source.squeeze(len(expected) - 5) == expected


def test_xaes_accumulated_10_000() -> None:
    expected = bytes.fromhex(XAES["accumulated"]["iterations_10000_shake128_hex"])
    assert _accumulated(10_000) == expected


@pytest.mark.slow
def test_xaes_accumulated_1_000_000() -> None:
    expected = bytes.fromhex(XAES["accumulated"]["iterations_1000000_shake128_hex"])
    assert _accumulated(1_000_000) == expected


# --- AES-256-GCM and AES-256-GCM-SIV: Wycheproof ---------------------------------------
#
# The primitive layer has no IV or tag length field: a blob is always
# nonce (12 bytes) || ciphertext || tag (16 bytes). Each keySize-256 vector is therefore
#
# - "applicable" when its group has ivSize 96 and tagSize 128: iv || ct || tag is exactly a
#   blob, and `open` must return msg for a valid vector and raise InvalidTag for an invalid
#   one (such a blob is at least 28 bytes, so "too short" is never the right answer);
# - "reframed" otherwise: `open` splits iv || ct || tag at other positions (nonce = the
#   first 12 bytes, tag = the last 16), so the vector's own verdict, which is about GCM
#   with that IV and tag length, does not apply. Opening those bytes must still fail:
#   ValueError when shorter than 28 bytes, otherwise InvalidTag (accepting would be a
#   forgery under a nonce/ciphertext pair nobody encrypted). No vector is dropped.
#
# Groups with 128- or 192-bit keys test other algorithms and are only counted.

WYCHEPROOF = VECTORS / "wycheproof"
_ALGORITHMS: dict[str, tuple[Algorithm, type[AESGCM] | type[AESGCMSIV]]] = {
    "aes_gcm_test.json": (Algorithm.AES_256_GCM, AESGCM),
    "aes_gcm_siv_test.json": (Algorithm.AES_256_GCM_SIV, AESGCMSIV),
}
# Exact tallies per file, so a truncated or missing file cannot pass vacuously.
EXPECTED_COUNTS = {
    "aes_gcm_test.json": {
        "applicable valid": 39,
        "applicable invalid": 27,
        "reframed valid": 37,  # IVs of 8..2056 bits other than 96
        "reframed invalid": 2,  # zero-length IVs
        "other key size": 211,
    },
    "aes_gcm_siv_test.json": {
        "applicable valid": 69,
        "applicable invalid": 34,
        "other key size": 99,
    },
}
_NONCE = 12
_TAG = 16


class WycheproofCase(NamedTuple):
    file: str
    tc_id: int
    applicable: bool
    result: str
    key: bytes
    iv: bytes
    aad: bytes
    msg: bytes
    ct: bytes
    tag: bytes


def _wycheproof(file: str) -> tuple[list[WycheproofCase], Counter[str], int]:
    """The keySize-256 cases of `file`, the tally of every test in it, its numberOfTests."""
    data = _load(WYCHEPROOF / file)
    cases = []
    tally: Counter[str] = Counter()
    for group in data["testGroups"]:
        if group["keySize"] != 256:
            tally["other key size"] += len(group["tests"])
            continue
        applicable = group["ivSize"] == 8 * _NONCE and group["tagSize"] == 8 * _TAG
        for test in group["tests"]:
            kind = "applicable" if applicable else "reframed"
            tally[f"{kind} {test['result']}"] += 1
            fields = (bytes.fromhex(test[k]) for k in ("key", "iv", "aad", "msg", "ct", "tag"))
            cases.append(WycheproofCase(file, test["tcId"], applicable, test["result"], *fields))
    return cases, tally, data["numberOfTests"]


_LOADED = {file: _wycheproof(file) for file in _ALGORITHMS}
CASES = [case for cases, _, _ in _LOADED.values() for case in cases]


@pytest.mark.parametrize("file", list(_ALGORITHMS))
def test_wycheproof_counts(file: str) -> None:
    _, tally, number_of_tests = _LOADED[file]
    assert dict(tally) == EXPECTED_COUNTS[file]
    assert sum(tally.values()) == number_of_tests


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.file.removesuffix('_test.json')}-tc{c.tc_id}" for c in CASES]
)
def test_wycheproof(case: WycheproofCase) -> None:
    algorithm, reference_cls = _ALGORITHMS[case.file]
    reference = reference_cls(case.key)
    blob = case.iv + case.ct + case.tag
    primitive = primitive_for(algorithm, case.key, b"")

    if not case.applicable:
        if case.result == "valid" and len(case.tag) == _TAG and 8 <= len(case.iv) <= 128:
            # Where pyca accepts the IV length, confirm the vector was read correctly:
            # these are genuine encryptions that only the fixed framing rejects.
            assert reference.encrypt(case.iv, case.msg, case.aad) == case.ct + case.tag
        expected_error = ValueError if len(blob) < _NONCE + _TAG else InvalidTag
        with pytest.raises(expected_error):
            primitive.open(blob, case.aad)
    elif case.result == "valid":
        assert reference.encrypt(case.iv, case.msg, case.aad) == case.ct + case.tag
        assert primitive.open(blob, case.aad) == case.msg
    elif case.result == "invalid":
        with pytest.raises(InvalidTag):
            reference.decrypt(case.iv, case.ct + case.tag, case.aad)
        with pytest.raises(InvalidTag):
            primitive.open(blob, case.aad)
    else:
        pytest.fail(f"unexpected Wycheproof result {case.result!r}")


# --- seal: round trip, standard output, nonce uniqueness --------------------------------

HEADER = b"\x01\x02\x00\x00\x00\x07"  # opaque to the primitive: it only skips these bytes
_NONCE_SIZES = {
    Algorithm.XAES_256_GCM: 24,
    Algorithm.AES_256_GCM_SIV: 12,
    Algorithm.AES_256_GCM: 12,
}


def _reference_open(algorithm: Algorithm, key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Open a sealed blob with an independent standard implementation."""
    nonce_end = len(HEADER) + _NONCE_SIZES[algorithm]
    nonce, ciphertext = blob[len(HEADER) : nonce_end], blob[nonce_end:]
    if algorithm is Algorithm.XAES_256_GCM:
        return xaes256gcm_decrypt(key, nonce, ciphertext, aad)
    reference = AESGCMSIV(key) if algorithm is Algorithm.AES_256_GCM_SIV else AESGCM(key)
    return reference.decrypt(nonce, ciphertext, aad)


@pytest.mark.parametrize(
    "algorithm", [a for a in Algorithm if a.kind is KeyKind.AEAD], ids=lambda a: a.value
)
# 5,000 bytes: blobs of 4,096 bytes and more are opened through a memoryview.
@pytest.mark.parametrize("size", [0, 1, 5_000])
def test_seal_opens(algorithm: Algorithm, size: int) -> None:
    key = os.urandom(32)
    primitive = primitive_for(algorithm, key, HEADER)
    plaintext = os.urandom(size)
    aad = b"associated data"

    blob = primitive.seal(plaintext, aad)

    assert blob[: len(HEADER)] == HEADER
    assert len(blob) == len(HEADER) + _NONCE_SIZES[algorithm] + size + _TAG
    assert primitive.open(blob, aad) == plaintext
    assert primitive_for(algorithm, key, HEADER).open(blob, aad) == plaintext
    assert _reference_open(algorithm, key, blob, aad) == plaintext
    with pytest.raises(InvalidTag):
        primitive.open(blob, aad + b"!")
    for position in (len(HEADER), len(HEADER) + _NONCE_SIZES[algorithm], len(blob) - 1):
        tampered = bytearray(blob)
        tampered[position] ^= 0x80
        with pytest.raises(InvalidTag):
            primitive.open(bytes(tampered), aad)
    with pytest.raises(ValueError, match="too short"):
        primitive.open(blob[: len(HEADER) + _NONCE_SIZES[algorithm] + _TAG - 1], aad)


def test_xaes_seal_is_standard_across_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # `seal` reads _xaes.BATCH at call time; a small batch puts these 20 messages in 5
    # batches, each with its own subkey.
    monkeypatch.setattr(_xaes, "BATCH", 4)
    key = bytes.fromhex(XAES["vectors"][0]["key_hex"])
    primitive = primitive_for(Algorithm.XAES_256_GCM, key, HEADER)
    blobs = [primitive.seal(b"message %d" % i, b"aad %d" % i) for i in range(20)]

    assert len({blob[6:18] for blob in blobs}) == 5
    for i, blob in enumerate(blobs):
        assert xaes256gcm_decrypt(key, blob[6:30], blob[30:], b"aad %d" % i) == b"message %d" % i


def _batch_runs(blobs: list[bytes]) -> list[int]:
    """Lengths of the runs of consecutive blobs sharing a 12-byte nonce prefix."""
    nonces = [blob[len(HEADER) : len(HEADER) + 24] for blob in blobs]
    assert len(set(nonces)) == len(blobs), "a 24-byte nonce repeated"
    prefixes = [nonce[:12] for nonce in nonces]
    runs = [len(list(run)) for _, run in itertools.groupby(prefixes)]
    assert len(runs) == len(set(prefixes)), "a batch prefix came back after its batch ended"
    return runs


@pytest.mark.parametrize("batch", [4, _xaes.BATCH], ids=["batch-4", "batch-default"])
def test_xaes_seal_never_repeats_a_nonce(monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
    monkeypatch.setattr(_xaes, "BATCH", batch)
    primitive = primitive_for(Algorithm.XAES_256_GCM, os.urandom(32), HEADER)
    blobs = [primitive.seal(b"", b"") for _ in range(10_000)]

    # Single-threaded, every batch is used up before the next begins.
    full, rest = divmod(10_000, batch)
    assert _batch_runs(blobs) == [batch] * full + ([rest] if rest else [])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_xaes_forked_child_starts_a_new_batch() -> None:
    primitive = primitive_for(Algorithm.XAES_256_GCM, os.urandom(32), HEADER)
    parent_prefix = primitive.seal(b"before fork", b"")[6:18]

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        status = 1
        try:
            os.close(read_fd)
            blobs = [primitive.seal(b"child %d" % i, b"") for i in range(3)]
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(b"".join(len(b).to_bytes(4, "big") + b for b in blobs))
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)

    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        payload = pipe.read()
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0

    child_blobs = []
    while payload:
        size = int.from_bytes(payload[:4], "big")
        child_blobs.append(payload[4 : 4 + size])
        payload = payload[4 + size :]
    assert len(child_blobs) == 3

    child_prefix = child_blobs[0][6:18]
    assert child_prefix != parent_prefix
    assert [blob[6:18] for blob in child_blobs] == [child_prefix] * 3
    # The parent's batch is untouched by the fork and goes on.
    assert primitive.seal(b"after fork", b"")[6:18] == parent_prefix
    for i, blob in enumerate(child_blobs):
        assert primitive.open(blob, b"") == b"child %d" % i
