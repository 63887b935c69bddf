"""`NonceScanner`: repeated (key, nonce) pairs, chance, structure warnings, layouts."""

from __future__ import annotations

import math
import os
import re

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESGCMSIV

from cryptorails.aead import Sealer, _format
from cryptorails.aead._xaes import BATCH, XaesKey
from cryptorails.algorithms import Algorithm
from cryptorails.context import Context
from cryptorails.keys import Keyring
from cryptorails.triage._nonce_layout import Layout
from cryptorails.triage._nonce_stats import chance_of_reuse
from cryptorails.triage._nonces import NonceScanner

CTX = Context("tenant-a", "user-email")


def gcm_record(key: AESGCM, nonce: bytes, text: bytes) -> bytes:
    """Raw layout nonce:12,ct: nonce || ciphertext || tag."""
    return nonce + key.encrypt(nonce, text, None)


def sealed(algorithm: Algorithm, kid: int, nonce: bytes, body: bytes) -> bytes:
    """A blob in the cryptorails wire format with a chosen nonce (hazmat-style)."""
    return _format.header(algorithm, kid) + nonce + body


# -- chance ----------------------------------------------------------------------------


def test_chance_of_reuse_is_exact_for_tiny_values_and_right_for_large_ones() -> None:
    assert chance_of_reuse(0, 96) == 0.0
    assert chance_of_reuse(1, 96) == 0.0
    # 1 - exp(-2^-96) rounds to 0.0 in floating point; the expm1 form does not.
    assert 1 - math.exp(-(2.0**-96)) == 0.0
    assert chance_of_reuse(2, 96) == pytest.approx(2.0**-96, rel=1e-12)
    # n(n-1)/2^65 = (1 - 2^-32) / 2 for n = 2^32, b = 64.
    assert chance_of_reuse(2**32, 64) == pytest.approx(1 - math.exp(-0.5), rel=1e-6)
    assert chance_of_reuse(10**6, 8) == 1.0


# -- layouts ---------------------------------------------------------------------------


def test_layout_parse_accepts_raw_field_lists() -> None:
    layout = Layout.parse(" skip:2, key:4 ,nonce:12,ct ")
    assert layout.spec == "skip:2,key:4,nonce:12,ct"
    assert layout.fields == (("skip", 2), ("key", 4), ("nonce", 12), ("ct", 0))
    assert layout.head_size == 18
    assert layout.has_key
    assert not layout.cryptorails
    assert Layout.parse("cryptorails").cryptorails
    assert not Layout.parse("nonce:24").has_key


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("key:4,ct", "layout has no 'nonce:N' field"),
        ("nonce:0,ct", "nonce:0 is out of range (at most 65536 bytes)"),
        ("ct,nonce:12", "'ct' (the rest of the record) must be the last field"),
        ("nonce:12,nonce:12", "layout has more than one 'nonce' field"),
        ("key:4,key:4,nonce:12", "layout has more than one 'key' field"),
        ("nonce:12,tag:16", "layout field 2 is 'tag:16'; expected skip:N, key:N, nonce:N or ct"),
        ("", "layout field 1 is ''; expected skip:N, key:N, nonce:N or ct"),
        ("nonce:-1", "layout field 1 is 'nonce:-1'; expected skip:N, key:N, nonce:N or ct"),
    ],
)
def test_layout_parse_refuses_wrong_layouts_precisely(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Layout.parse(spec)


# -- cryptorails blobs -----------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [Algorithm.XAES_256_GCM, Algorithm.AES_256_GCM])
def test_blobs_from_a_real_sealer_show_no_reuse_and_no_warning(algorithm: Algorithm) -> None:
    keyring = Keyring.in_memory(algorithm=algorithm)
    sealer = Sealer(keyring)
    scanner = NonceScanner(Layout.parse("cryptorails"), unit="line")
    for i in range(300):
        scanner.add(sealer.seal(b"record %d" % i, CTX), i + 1)
    report = scanner.report()
    kid = keyring.keyset(CTX).primary.kid
    assert report.clean
    assert report.records == 300
    (key,) = report.keys
    assert key.key == f"{algorithm.value} kid {kid} (0x{kid:08x})"
    assert key.messages == 300
    assert key.reused_nonces == 0
    assert key.severity is None
    assert key.warnings == ()
    assert key.nonce_bits == (192 if algorithm is Algorithm.XAES_256_GCM else 96)
    assert 0 < key.chance < 1e-20


def test_planted_xaes_reuse_is_critical_and_counted_per_batch_prefix() -> None:
    xaes = XaesKey(os.urandom(32))
    nonce = os.urandom(24)
    scanner = NonceScanner(Layout.parse("cryptorails"), unit="line")
    for i in range(3):
        scanner.add(
            sealed(Algorithm.XAES_256_GCM, 7, nonce, xaes.encrypt(nonce, b"m%d" % i, b"")), i
        )
    report = scanner.report()
    (reuse,) = report.reuses
    assert (reuse.key, reuse.nonce, reuse.count, reuse.ciphertexts) == (
        "XAES-256-GCM kid 7 (0x00000007)",
        nonce,
        3,
        3,
    )
    (key,) = report.keys
    assert key.severity == "critical"
    assert key.impact.startswith("XAES-256-GCM: the same 24-byte nonce")
    # Three messages share one batch prefix: the chance counts 96-bit suffixes.
    assert key.chance == pytest.approx(3 * 2 / 2.0**97, rel=1e-9)


def test_a_prefix_used_for_more_than_a_sealer_batch_is_flagged() -> None:
    xaes = XaesKey(os.urandom(32))
    prefix = os.urandom(12)
    scanner = NonceScanner(Layout.parse("cryptorails"))
    for i in range(BATCH + 1):
        nonce = prefix + os.urandom(12)
        scanner.add(sealed(Algorithm.XAES_256_GCM, 9, nonce, xaes.encrypt(nonce, b"", b"")), i)
    (key,) = scanner.report().keys
    assert key.warnings == (
        f"one 12-byte nonce prefix serves {BATCH + 1} messages; the cryptorails sealer uses "
        f"a prefix for at most {BATCH}: these blobs were sealed by other code",
    )


def test_gcm_siv_reuse_is_low_severity() -> None:
    siv = AESGCMSIV(AESGCMSIV.generate_key(256))
    nonce = os.urandom(12)
    scanner = NonceScanner(Layout.parse("cryptorails"))
    scanner.add(sealed(Algorithm.AES_256_GCM_SIV, 1, nonce, siv.encrypt(nonce, b"a", None)), 1)
    scanner.add(sealed(Algorithm.AES_256_GCM_SIV, 1, nonce, siv.encrypt(nonce, b"b", None)), 2)
    report = scanner.report()
    assert not report.clean
    (key,) = report.keys
    assert (key.algorithm, key.severity, key.reused_nonces) == ("AES-GCM-SIV", "low", 1)


def test_malformed_blobs_are_counted_with_their_location_and_reason() -> None:
    scanner = NonceScanner(Layout.parse("cryptorails"), unit="line")
    good = sealed(Algorithm.AES_256_GCM, 1, bytes(12), bytes(16))
    scanner.add(b"\x01\x03", 1)
    scanner.add(b"\x02" + good[1:], 2)
    scanner.add(b"\x01\x09" + good[2:], 3)
    scanner.add(good[:-1], 4)
    scanner.add(good, 5)
    report = scanner.report()
    assert report.malformed == 4
    assert report.malformed_at == (
        "line 1: shorter than a header",
        "line 2: unknown version 2",
        "line 3: unknown algorithm id 9",
        "line 4: 33 bytes: too short for a AES-256-GCM blob",
    )
    assert report.records == 5
    assert report.clean


# -- raw layouts -----------------------------------------------------------------------


def test_planted_gcm_reuse_in_a_raw_layout() -> None:
    gcm = AESGCM(AESGCM.generate_key(256))
    fixed = os.urandom(12)
    scanner = NonceScanner(Layout.parse("nonce:12,ct"), unit="line", algorithm="AES-GCM")
    line = 0
    for i in range(100):
        line += 1
        scanner.add(gcm_record(gcm, os.urandom(12), b"fresh %d" % i), line)
    copy = gcm_record(gcm, fixed, b"first")
    for record in (copy, gcm_record(gcm, fixed, b"second"), copy, gcm_record(gcm, fixed, b"3")):
        line += 1
        scanner.add(record, line)
    report = scanner.report()
    assert not report.clean
    (reuse,) = report.reuses
    assert (reuse.key, reuse.nonce, reuse.count, reuse.ciphertexts) == (
        "all records",
        fixed,
        4,
        3,
    )
    assert (reuse.first, reuse.last) == ("line 101", "line 104")
    assert report.duplicates == 1
    (key,) = report.keys
    assert (key.records, key.messages, key.reused_nonces, key.extra_uses) == (104, 103, 1, 2)
    assert key.severity == "critical"
    assert key.chance == pytest.approx(chance_of_reuse(103, 96))
    assert key.chance < 1e-24


def test_a_copied_record_alone_is_not_reuse() -> None:
    gcm = AESGCM(AESGCM.generate_key(256))
    record = gcm_record(gcm, os.urandom(12), b"x")
    scanner = NonceScanner(Layout.parse("nonce:12,ct"))
    scanner.add(record, "a")
    scanner.add(record, "b")
    report = scanner.report()
    assert report.clean
    assert report.duplicates == 1
    assert report.reuses == ()


def test_key_field_separates_keys_and_unknown_algorithm_is_assumed_critical() -> None:
    nonce = os.urandom(12)
    layout = Layout.parse("key:4,nonce:12,ct")
    scanner = NonceScanner(layout)
    scanner.add(b"AAAA" + nonce + b"ct-1", 1)
    scanner.add(b"BBBB" + nonce + b"ct-2", 2)
    assert scanner.report().clean
    scanner.add(b"AAAA" + nonce + b"ct-3", 3)
    report = scanner.report()
    (reuse,) = report.reuses
    assert reuse.key == "key 41414141"
    assert (reuse.first, reuse.last) == ("record 1", "record 3")
    severities = {k.key: k.severity for k in report.keys}
    assert severities == {"key 41414141": "critical", "key 42424242": None}
    assert report.keys[0].impact.startswith("algorithm not given: assumed")


def test_raw_layout_without_ct_needs_the_exact_length() -> None:
    scanner = NonceScanner(Layout.parse("skip:1,nonce:4"), key_label="nonce log")
    scanner.add(b"\x00abcd", 1)
    scanner.add(b"\x00abcde", 2)
    scanner.add(b"\x00ab", 3)
    report = scanner.report()
    assert report.malformed_at == (
        "record 2: 6 bytes where the layout describes exactly 5",
        "record 3: 3 bytes where the layout describes exactly 5",
    )
    assert [k.key for k in report.keys] == ["nonce log"]


def test_unknown_algorithm_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown algorithm 'AES-CBC'"):
        NonceScanner(Layout.parse("nonce:16"), algorithm="AES-CBC")


# -- structure warnings ----------------------------------------------------------------


def _nonce_warnings(nonces: list[bytes]) -> tuple[str, ...]:
    scanner = NonceScanner(Layout.parse("nonce:12,ct"))
    for i, nonce in enumerate(nonces):
        scanner.add(nonce + b"ciphertext", i)
    (key,) = scanner.report().keys
    return key.warnings


def test_counter_nonces_are_flagged_big_and_little_endian() -> None:
    big = _nonce_warnings([i.to_bytes(12, "big") for i in range(1, 65)])
    assert big == (
        "all 64 distinct nonces fall within 2^6 of 2^96 values (read big-endian): a "
        "counter, a timestamp or a fixed prefix, not random",
        "63 of 63 consecutive nonces increase (read big-endian): a counter or a clock, "
        "which repeats after a restart, a fork or a restored snapshot",
    )
    little = _nonce_warnings([i.to_bytes(12, "little") for i in range(1000, 1040)])
    assert [w.split("(read ")[1][:6] for w in little] == ["little", "little"]


def test_timestamp_prefixed_nonces_are_flagged_by_their_span() -> None:
    start = 1_700_000_000_000
    nonces = [(start + 37 * i).to_bytes(8, "big") + os.urandom(4) for i in range(10)]
    # Shuffled order: only the span check can see it.
    nonces = nonces[5:] + nonces[:5]
    (warning,) = _nonce_warnings(nonces)
    assert warning.startswith("all 10 distinct nonces fall within 2^")


@pytest.mark.parametrize("n", [4, 32, 2000])
def test_random_nonces_trip_no_warning(n: int) -> None:
    assert _nonce_warnings([os.urandom(12) for _ in range(n)]) == ()


def test_add_chunks_matches_add() -> None:
    gcm = AESGCM(AESGCM.generate_key(256))
    nonce = os.urandom(12)
    one, two = gcm_record(gcm, nonce, b"a" * 100), gcm_record(gcm, nonce, b"b" * 100)
    scanner = NonceScanner(Layout.parse("nonce:12,ct"))
    scanner.add_chunks([one[:5], one[5:9], one[9:]], "/data/one")
    scanner.add(one, "/data/copy")
    scanner.add_chunks([two], "/data/two")
    report = scanner.report()
    assert report.duplicates == 1
    (reuse,) = report.reuses
    assert (reuse.count, reuse.ciphertexts, reuse.first, reuse.last) == (
        3,
        2,
        "/data/one",
        "/data/two",
    )


def test_to_json_lists_reuses_with_hex_nonces() -> None:
    scanner = NonceScanner(Layout.parse("nonce:4,ct"), algorithm="ChaCha20-Poly1305")
    scanner.add(b"\x00\x00\x00\x01one", 1)
    scanner.add(b"\x00\x00\x00\x01two", 2)
    scanner.add_undecodable(3, "not base64 or hex")
    data = scanner.report().to_json()
    assert data["clean"] is False
    assert data["reuses"] == [
        {
            "key": "all records",
            "nonce": "00000001",
            "count": 2,
            "ciphertexts": 2,
            "first": "record 1",
            "last": "record 2",
        }
    ]
    assert data["undecodable"] == {"count": 1, "first": ["record 3: not base64 or hex"]}
    assert data["keys"][0]["severity"] == "critical"
    assert data["keys"][0]["impact"].startswith("ChaCha20-Poly1305: a repeated nonce")
