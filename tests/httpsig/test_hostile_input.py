"""Hostile messages give the one `VerificationError`; components are computed exactly.

Covers the review findings: a bad port in the authority, `@query-param` (repeated
names, bytes that are not UTF-8), one field-value function for the base and the
checks, linear-time duplicate detection in the structured-field parser, and
`TypeError` for wrong argument types when signing.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cryptorails.clock import Window
from cryptorails.errors import Reason, VerificationError
from cryptorails.httpsig import (
    HttpMessage,
    Policy,
    SignatureKey,
    Verifier,
    content_digest,
    parse_component,
    parse_request,
    sign,
    signature_base,
)
from cryptorails.httpsig._components import ComponentError, component_values
from cryptorails.httpsig._sf import (
    InnerList,
    Item,
    SFError,
    parse_dictionary,
    parse_item,
    serialize_dictionary,
)
from cryptorails.replay import ReplayGuard
from cryptorails.secret import Secret
from cryptorails.testing import FixedClock, MemoryStore

from .helpers import CREATED

HMAC = SignatureKey("hmac-sha256", Secret(bytes(range(32))))
KEYS = {"k1": HMAC}
NOW = int(CREATED.timestamp())


def _fails(reason: Reason, fn: Any, *args: Any) -> None:
    with pytest.raises(VerificationError) as info:
        fn(*args)
    assert str(info.value) == "verification failed"
    assert info.value.reason is reason


def _request(uri: str, *headers: tuple[str, str]) -> HttpMessage:
    return HttpMessage(method="GET", target_uri=uri, headers=headers)


def _unsigned(message: HttpMessage, components: str) -> HttpMessage:
    """`message` with a Signature-Input naming a trusted key and a dummy signature, so that
    verification gets as far as computing the signature base."""
    return message.with_headers(
        [
            ("Signature-Input", f'sig1=({components});created={NOW};keyid="k1"'),
            ("Signature", "sig1=:" + "A" * 43 + "=:"),
        ]
    )


# --- @authority with a bad port --------------------------------------------------------


@pytest.mark.parametrize("authority", ["a:xyz", "a:-1", "[::1]:99999", "a:65536", "a:1_0"])
def test_bad_port_is_malformed_not_valueerror(authority: str) -> None:
    message = _request(f"https://{authority}/p")
    with pytest.raises(ComponentError) as info:
        component_values(message, parse_component("@authority"))
    assert info.value.reason is Reason.MALFORMED
    _fails(Reason.MALFORMED, Verifier(KEYS).verify, _unsigned(message, '"@authority"'))
    with pytest.raises(ValueError, match="cannot sign: the authority has an invalid port"):
        sign(message, HMAC, "k1", ["@authority"])


def test_bad_port_in_the_host_header_of_a_raw_request() -> None:
    message = parse_request(b"GET /p HTTP/1.1\r\nHost: example.com:xyz\r\n\r\n")
    _fails(Reason.MALFORMED, Verifier(KEYS).verify, _unsigned(message, '"@authority"'))


def test_good_ports_still_work() -> None:
    for uri, authority in [
        ("https://[::1]:8443/", "[::1]:8443"),
        ("https://a:443/", "a"),
        ("http://a:65535/", "a:65535"),
        ("http://a:/", "a"),
    ]:
        assert component_values(_request(uri), parse_component("@authority")) == [authority]


# --- @query-param (RFC 9421 §2.2.8) ----------------------------------------------------


def _query_param(uri: str, name: str) -> list[str]:
    return component_values(_request(uri), Item("@query-param", (("name", name),)))


def test_query_param_rfc_examples() -> None:
    # RFC 9421 §2.2.8, both examples.
    first = "https://www.example.com/path?param=value&foo=bar&baz=batman&qux="
    assert _query_param(first, "baz") == ["batman"]
    assert _query_param(first, "qux") == [""]
    assert _query_param(first, "param") == ["value"]
    second = (
        "https://www.example.com/parameters?var=this%20is%20a%20big%0Amultiline%20value"
        "&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something"
    )
    assert _query_param(second, "var") == ["this%20is%20a%20big%0Amultiline%20value"]
    assert _query_param(second, "bar") == ["with%20plus%20whitespace"]
    assert _query_param(second, "fa%C3%A7ade%22%3A%20") == ["something"]


@pytest.mark.parametrize(
    "query",
    [
        "param=1&param=2",
        "param=value&param=value",  # the same value twice is still two occurrences
        "param=1&%70aram=2",  # the same name once decoded
        "param&param=",
    ],
)
def test_repeated_query_param_is_not_signed_or_verified(query: str) -> None:
    # RFC 9421 §2.2.8: a parameter name that occurs more than once MUST NOT be included.
    message = _request(f"https://example.com/p?{query}")
    with pytest.raises(ComponentError) as info:
        _query_param(message.target_uri or "", "param")
    assert info.value.reason is Reason.MALFORMED
    with pytest.raises(ValueError, match="repeated"):
        sign(message, HMAC, "k1", ['"@query-param";name="param"'])
    verify = Verifier(KEYS).verify
    _fails(Reason.MALFORMED, verify, _unsigned(message, '"@query-param";name="param"'))


def test_query_param_bytes_that_are_not_utf8_stay_distinct() -> None:
    # Decoding with replacement would turn both into U+FFFD (%EF%BF%BD), so a signature
    # over one value would verify for the other.
    fe = _query_param("https://example.com/?a=%FE&%FF=b", "a")
    ff = _query_param("https://example.com/?a=%FF", "a")
    assert (fe, ff) == (["%FE"], ["%FF"])
    assert _query_param("https://example.com/?a=%FE&%FF=b", "%FF") == ["b"]
    assert _query_param("https://example.com/?a=%EF%BF%BD", "a") == ["%EF%BF%BD"]
    key_id, components = "k1", ['"@method"', '"@query-param";name="a"']
    signed = sign(_request("https://example.com/?a=%FE"), HMAC, key_id, components)
    moved = _request("https://example.com/?a=%FF").with_headers(signed)
    policy = Policy(required=(), require_content_digest=False)
    _fails(Reason.SIGNATURE_INVALID, Verifier(KEYS, policy=policy).verify, moved)


def test_query_param_form_decoding_details() -> None:
    uri = "https://example.com/?a=1+2%2B3&&b=%zz&c=%41&d=caf%C3%A9&e=x=y"
    assert _query_param(uri, "a") == ["1%202%2B3"]
    assert _query_param(uri, "b") == ["%25zz"]  # a '%' not followed by two hex digits
    assert _query_param(uri, "c") == ["A"]
    assert _query_param(uri, "d") == ["caf%C3%A9"]
    assert _query_param(uri, "e") == ["x%3Dy"]  # the name ends at the first '='
    with pytest.raises(ComponentError) as info:
        _query_param(uri, "")  # '&&' is an empty sequence, skipped, not an empty name
    assert info.value.reason is Reason.MISSING_HEADER


# --- one field value for the signature base and for the checks ------------------------


def test_folded_content_digest_is_checked_as_it_was_signed() -> None:
    # The signature base unfolds obs-fold (§2.1); the digest check reads the same value.
    body = b'{"a":1}'
    sha256, sha512 = content_digest(body, ["sha-256", "sha-512"]).split(", ")
    message = HttpMessage(
        method="POST",
        target_uri="https://example.com/pay",
        headers=(("Content-Digest", f"{sha256},\r\n {sha512}"),),
        body=body,
    )
    signed = message.with_headers(
        sign(message, HMAC, "k1", ["@method", "@target-uri", "content-digest"], created=CREATED)
    )
    clock = FixedClock(CREATED)
    assert Verifier(KEYS, clock=clock).verify(signed).components[-1] == "content-digest"
    wrong = f"{sha256},\r\n {content_digest(b'other', ['sha-512'])}"
    tampered = signed.without_headers("content-digest").with_headers([("Content-Digest", wrong)])
    _fails(Reason.SIGNATURE_INVALID, Verifier(KEYS, clock=clock).verify, tampered)


# --- structured fields: duplicate keys among many --------------------------------------


def test_duplicate_detection_among_many_parameters() -> None:
    # The size an 8 KiB Signature-Input can hold. (Detection uses a set: linear time.)
    names = [f"p{i}" for i in range(2200)]
    text = "sig1=()" + "".join(f";{n}" for n in names)
    ((label, inner),) = parse_dictionary(text)
    assert label == "sig1"
    assert isinstance(inner, InnerList)
    assert [n for n, _ in inner.params] == names
    for duplicate in ("p0", "p1099", "p2199"):
        with pytest.raises(SFError, match=f"duplicate parameter '{duplicate}'"):
            parse_dictionary(f"{text};{duplicate}=1")
    with pytest.raises(SFError, match="duplicate parameter 'p7'"):
        parse_item("a" + "".join(f";{n}" for n in names[:8]) + ";p7")


def test_duplicate_detection_among_many_dictionary_keys() -> None:
    keys = [f"k{i}" for i in range(2200)]
    text = ", ".join(f"{k}=1" for k in keys)
    assert [k for k, _ in parse_dictionary(text)] == keys
    for duplicate in ("k0", "k2199"):
        with pytest.raises(SFError, match=f"duplicate dictionary key '{duplicate}'"):
            parse_dictionary(f"{text}, {duplicate}")


# --- wrong argument types when signing ------------------------------------------------


def test_sign_wrong_types_are_type_errors() -> None:
    message = _request("https://example.com/")
    naive = datetime(2030, 1, 1)
    with pytest.raises(TypeError, match="created must be timezone-aware"):
        sign(message, HMAC, "k1", ["@method"], created=naive)
    with pytest.raises(TypeError, match="expires must be timezone-aware"):
        sign(message, HMAC, "k1", ["@method"], expires=naive)
    with pytest.raises(TypeError, match="created is a datetime or Unix seconds, not str"):
        sign(message, HMAC, "k1", ["@method"], created="1618884473")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not bool"):
        sign(message, HMAC, "k1", ["@method"], expires=True)
    with pytest.raises(TypeError, match="key_id is a str, not int"):
        sign(message, HMAC, 1, ["@method"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="nonce is a str"):
        sign(message, HMAC, "k1", ["@method"], nonce=b"n")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key is a SignatureKey"):
        sign(message, Secret(bytes(32)), "k1", ["@method"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="message is an HttpMessage"):
        sign("GET / HTTP/1.1", HMAC, "k1", ["@method"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not one str"):
        sign(message, HMAC, "k1", "@method")
    aware = datetime(2030, 1, 1, tzinfo=UTC)
    headers = sign(message, HMAC, "k1", ["@method"], created=aware, expires=NOW)
    assert f";created={int(aware.timestamp())};expires={NOW};" in headers["Signature-Input"]


# --- property: nothing but VerificationError from Verifier.verify -----------------------

_URI_CHARS = string.ascii_letters[:6] + string.digits[:4] + ":/?#[]@%&=+;.-_~ \x7f\u00e9"
hosts = st.sampled_from(["a", "Example.COM", "[::1]", "[v1.x]", "1.2.3.4", "u@h", "", "[::1"])
ports = st.one_of(
    st.sampled_from(["", ":", ":80", ":443", ":xyz", ":-1", ":99999", ":1_0", ": 1", ":+1"]),
    st.text(string.digits + "-+_x: ", max_size=7).map(":".__add__),
)
authorities = st.builds(str.__add__, hosts, ports) | st.text(_URI_CHARS, max_size=16)
built_uris = st.builds(
    "{}://{}{}".format,
    st.sampled_from(["https", "http", "HTTPS", "ftp", "a+b"]),
    authorities,
    st.text(_URI_CHARS, max_size=24),
)
target_uris = st.one_of(built_uris, built_uris, built_uris, st.text())
_SF_CHARS = 'abk19*-_.;=,() "\\:?/+\t@%\r\n\x00\x7f\u00e9'
field_values = st.one_of(
    st.sampled_from([content_digest(b'{"a":1}'), content_digest(b"")]),
    st.text(max_size=30),
    st.text(_SF_CHARS, max_size=40),
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
)
_NAMES = ["host", "content-digest", "x-a", "Content-Digest", "host", "x-a", "signature"]
field_lines = st.lists(st.tuples(st.sampled_from(_NAMES), field_values), max_size=6)
component_ids = st.sampled_from(
    [
        '"@method"',
        '"@target-uri"',
        '"@authority"',
        '"@scheme"',
        '"@request-target"',
        '"@path"',
        '"@query"',
        '"@status"',
        '"@query-param";name="a"',
        '"@query-param";name=""',
        '"@query-param"',
        '"@query-param";name=1',
        '"@signature-params"',
        '"@unknown"',
        '"host"',
        '"x-a"',
        '"content-digest"',
        '"x-a";sf',
        '"Host"',
        "host",
        "1",
        ":AA==:",
    ]
)
# Often lead with what the default policy requires, so later checks are reached too.
covered = st.tuples(st.booleans(), st.lists(component_ids, max_size=5)).map(
    lambda t: ['"@method"', '"@target-uri"', *t[1]] if t[0] else t[1]
)
signature_params = st.lists(
    st.sampled_from(
        [
            ";created={now}",
            ";created={now}",
            ';nonce="n"',
            ";created=-999999999999999",
            ";created=999999999999999",
            ";created=0",
            ";expires={now}",
            ";expires=1",
            ';nonce="n"',
            ';nonce=""',
            ';tag="t"',
            ';alg="hmac-sha256"',
            ';alg="ed25519"',
            ";created=?1",
            ";nonce=tok",
        ]
    ),
    max_size=4,
)


def _signature_input(components: list[str], params: list[str]) -> str:
    return f"sig1=({' '.join(components)})" + "".join(params).format(now=NOW) + ';keyid="k1"'


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(
    uri=target_uris,
    method=st.sampled_from(["GET", "POST"]),
    lines=field_lines,
    body=st.sampled_from([b"", b'{"a":1}']),
    components=covered,
    params=signature_params,
    mode=st.sampled_from(["sign", "dummy", "raw"]),
    raw_input=field_values,
    use_guard=st.booleans(),
)
def test_verify_raises_only_verification_error(
    uri: str,
    method: str,
    lines: list[tuple[str, str]],
    body: bytes,
    components: list[str],
    params: list[str],
    mode: str,
    raw_input: str,
    use_guard: bool,
) -> None:
    try:
        message = HttpMessage(method=method, target_uri=uri, headers=tuple(lines), body=body)
    except ValueError:
        event("refused by HttpMessage")
        return  # never reaches a verifier
    signature_input = raw_input if mode == "raw" else _signature_input(components, params)
    signature = "sig1=:" + "A" * 43 + "=:"
    if mode == "sign":
        # A genuine signature over whatever this base is, so that the checks after the
        # signature (policy, digest, time, nonce) see hostile values too.
        try:
            members = parse_dictionary(signature_input)
            inner = members[0][1]
            assert isinstance(inner, InnerList)
            base = signature_base(message, inner)
            signature = serialize_dictionary([("sig1", Item(HMAC.sign(base)))])
        except (SFError, ComponentError):
            pass
    clock = FixedClock(CREATED)
    guard = ReplayGuard(MemoryStore(), Window(timedelta(minutes=5)), clock=clock)
    verifier = Verifier(KEYS, clock=clock, guard=guard if use_guard else None)
    hostile = message.with_headers([("Signature-Input", signature_input), ("Signature", signature)])
    try:
        verifier.verify(hostile)
    except VerificationError as e:
        event(f"refused: {e.reason.value}")  # --hypothesis-show-statistics: depth reached
    else:
        event("verified")
