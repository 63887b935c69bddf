"""Key and algorithm confusion rules (CR0201-CR0205): shapes the fixtures do not show, and
the traps that must stay quiet."""

from __future__ import annotations

from textwrap import dedent

import pytest

from .conftest import run


def lines(source: str, code: str) -> list[int]:
    return [f.line for f in run(dedent(source), code)]


# -- CR0201 key-fallback-loop -----------------------------------------------------------

FALLBACKS = """
    import hmac, hashlib
    import jwt
    from cryptography.fernet import Fernet, InvalidToken

    def tenant_for(token, tenants):
        for tenant in tenants:
            try:
                claims = jwt.decode(token, tenant.secret, algorithms=["HS256"])
                break
            except jwt.InvalidTokenError:
                continue
        else:
            return None
        return tenant, claims

    def check(body, sig, settings):
        if verify_sig(body, sig, settings.SECRET):
            return True
        elif verify_sig(body, sig, settings.PREVIOUS_SECRET):
            return True
        return False

    def matches(body, sig, secrets):
        for s in secrets:
            if hmac.new(s, body, hashlib.sha256).hexdigest() == sig:
                return True
        return False

    def verify_sig(body, sig, secret):
        return hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).hexdigest(), sig)
"""


def test_fallbacks_are_found() -> None:
    assert lines(FALLBACKS, "CR0201") == [7, 20, 25]


SAFE_LOOPS = """
    import jwt
    from cryptography.fernet import Fernet, MultiFernet

    def decrypt_rotating(token, settings):
        return MultiFernet([Fernet(k) for k in settings.FERNET_KEYS]).decrypt(token)

    def decrypt_all(tokens, fernet):
        return [fernet.decrypt(t) for t in tokens]

    def verify_many(tokens, key):
        out = []
        for token in tokens:
            try:
                out.append(jwt.decode(token, key, algorithms=["RS256"]))
            except jwt.InvalidTokenError:
                continue
        return out

    def by_kid(keyset, kid, blob):
        for key in keyset.keys_for_kid(kid):
            try:
                return key.decrypt(blob)
            except ValueError:
                continue
        raise ValueError("unknown key")

    def retry_kms(client, blob):
        for attempt in range(3):
            try:
                return client.decrypt(CiphertextBlob=blob)
            except TimeoutError:
                continue
"""


def test_safe_loops_stay_quiet() -> None:
    assert lines(SAFE_LOOPS, "CR0201") == []


# -- CR0202 unverified-header-selects-key -----------------------------------------------

ACROSS_TENANTS = """
    import jwt

    def verify(token, tenants):
        kid = jwt.get_unverified_header(token)["kid"]
        for tenant in tenants:
            for jwk in tenant.jwks["keys"]:
                if jwk["kid"] == kid:
                    return jwt.decode(token, jwk["pem"], algorithms=["RS256"])
        raise LookupError(kid)
"""

X5U = """
    import jwt
    from urllib.request import urlopen

    def verify(token):
        header = jwt.get_unverified_header(token)
        pem = urlopen(header["x5u"]).read()
        return jwt.decode(token, pem, algorithms=["RS256"])
"""

JWCRYPTO = """
    from jwcrypto import jws

    KEYS = {}

    def verify(token):
        obj = jws.JWS()
        obj.deserialize(token)
        key = KEYS[obj.jose_header["kid"]]
        obj.verify(key)
        return obj.payload
"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [(ACROSS_TENANTS, [8]), (X5U, [7]), (JWCRYPTO, [9])],
    ids=["kid-searched-across-tenants", "x5u-fetched", "jwcrypto-jose-header"],
)
def test_header_selection_is_found(source: str, expected: list[int]) -> None:
    assert lines(source, "CR0202") == expected


def test_alg_choosing_the_key_in_a_conditional_expression() -> None:
    source = """
        import jwt

        SECRET = "s" * 32
        PUBLIC = open("pub.pem").read()

        def verify(token):
            alg = jwt.get_unverified_header(token)["alg"]
            key = SECRET if alg == "HS256" else PUBLIC
            return jwt.decode(token, key, algorithms=["HS256", "RS256"])
    """
    assert lines(source, "CR0202") == [9]


def test_header_selection_message() -> None:
    [finding] = run(dedent(ACROSS_TENANTS), "CR0202")
    assert finding.message == (
        "`kid` from the unverified JWT header is searched for across every tenant's keys"
    )


def test_alg_ignored_when_verification_is_off() -> None:
    source = """
        import jwt

        def expiry(token):
            return jwt.decode(
                token,
                options={"verify_signature": False},
                algorithms=[jwt.get_unverified_header(token)["alg"]],
            )["exp"]
    """
    assert lines(source, "CR0202") == []
    assert lines(source, "CR0203") == []
    assert lines(source, "CR0204") == [5]


# -- CR0203 / CR0204 / CR0205 -----------------------------------------------------------


def test_decode_complete_without_algorithms() -> None:
    source = """
        from jwt import api_jwt

        def claims(token, key):
            return api_jwt.decode_complete(token, key)["payload"]
    """
    assert lines(source, "CR0203") == [5]


def test_options_built_with_dict_call_and_followed_through_a_constant() -> None:
    source = """
        import jwt

        OPTIONS = dict(verify_signature=False)

        def claims(token):
            return jwt.decode(token, options=OPTIONS)
    """
    [finding] = run(dedent(source), "CR0204")
    assert finding.line == 7
    assert finding.message == (
        'JWT claims read without checking the signature (options={"verify_signature": False})'
    )


def test_peek_without_later_verification_is_reported_with_other_token() -> None:
    source = """
        import jwt

        def claims(token, other, key):
            peek = jwt.decode(token, options={"verify_signature": False})
            jwt.decode(other, key, algorithms=["RS256"])
            return peek
    """
    assert lines(source, "CR0204") == [5]


def test_mixed_families_through_a_variable_and_jwcrypto() -> None:
    source = """
        import jwt
        from jwcrypto import jwt as jwcrypto_jwt

        def verify(token, key):
            accepted = ["HS256", "ES256"]
            return jwt.decode(token, key, algorithms=accepted)

        def verify2(token, key):
            return jwcrypto_jwt.JWT(jwt=token, key=key, algs=["RS256", "HS512"])
    """
    assert lines(source, "CR0205") == [7, 10]


def test_rules_ignore_encode_and_other_libraries() -> None:
    source = """
        import jwt
        from authlib.jose import jwt as authlib_jwt

        def issue(claims, key):
            return jwt.encode(claims, key, algorithm="HS256")

        def authlib_decode(token, key):
            return authlib_jwt.decode(token, key)
    """
    for code in ("CR0202", "CR0203", "CR0204", "CR0205"):
        assert lines(source, code) == [], code
