"""Side-channel rules (CR0501, CR0502): shapes the fixtures do not show, and the traps that
must stay quiet."""

from __future__ import annotations

from textwrap import dedent

import pytest

from cryptorails.audit import all_rules, check_source

from .conftest import run


def lines(source: str, code: str) -> list[int]:
    return [f.line for f in run(dedent(source), code)]


# -- CR0501 non-constant-time-compare ---------------------------------------------------


@pytest.mark.parametrize(
    "comparison",
    [
        'request.headers.get("X-API-Key") != settings.API_KEY',
        "token != expected_token",
        "user.api_key == provided_key",
        "stored_password == password",
        "otp == user.otp_code",
        'secret == os.environ["WEBHOOK_SECRET"]',
        "signature == computed_signature",
        'auth_header == "Bearer " + TOKEN',
        "session_token in active_tokens",
        'request.headers["X-Hub-Signature-256"].endswith(digest)',
    ],
)
def test_cr0501_reports_secret_compares(comparison: str) -> None:
    source = f"""
        import os

        def check(request, settings, user, token, expected_token, provided_key, password,
                  stored_password, otp, secret, signature, computed_signature, auth_header,
                  TOKEN, session_token, active_tokens, digest):
            return {comparison}
    """
    assert lines(source, "CR0501") == [7]


def test_cr0501_follows_a_mac_through_base64_and_a_helper() -> None:
    source = """
        import base64, hashlib, hmac

        def expected_for(body, key):
            return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()

        def verify(body, key, received):
            expected = expected_for(body, key)
            if received != expected:
                raise PermissionError("invalid")
    """
    assert lines(source, "CR0501") == [9]


def test_cr0501_bcrypt_hash_compared_with_eq() -> None:
    source = """
        import bcrypt

        def check(pw, stored):
            return bcrypt.hashpw(pw, stored) == stored
    """
    assert lines(source, "CR0501") == [5]


@pytest.mark.parametrize(
    "comparison",
    [
        'token_type != "Bearer"',
        "len(token) != 32",
        "token is None",
        'request.method == "POST"',
        "resp.status_code == 401",
        'key == "alg"',
        "header['alg'] == expected_alg",
        "user.id == token_user_id",
        "kid == key.kid",
        'scheme.lower() == "bearer"',
        "digest == expected_checksum",
        "token == ''",
        'signature[:7] == "sha256="',
        "password1 == password2",
        "hmac.compare_digest(token, expected_token)",
        "token in revoked_tokens",
        'api_key in ("", None)',
        "TOKEN_URL == url",
        "key_id != kid",
    ],
)
def test_cr0501_traps(comparison: str) -> None:
    source = f"""
        import hmac

        def check(request, resp, token, token_type, key, header, expected_alg, user,
                  token_user_id, kid, scheme, digest, expected_checksum, signature,
                  password1, password2, expected_token, revoked_tokens, api_key, url,
                  key_id, TOKEN_URL):
            return {comparison}
    """
    assert lines(source, "CR0501") == []


def test_cr0501_parser_tokens_are_not_credentials() -> None:
    source = """
        def do_tag(parser, token):
            bits = token.split_contents()
            if bits[0] == token.contents:
                return None
            tag_token = bits[1]
            return tag_token == bits[2]
    """
    assert lines(source, "CR0501") == []


def test_cr0501_object_equality_is_not_an_authentication() -> None:
    source = """
        class BasicAuth:
            def __eq__(self, other):
                return self.password == getattr(other, "password", None)
    """
    assert lines(source, "CR0501") == []


# -- CR0502 verification-error-oracle ---------------------------------------------------


def test_cr0502_django_views_with_distinct_json_errors() -> None:
    source = """
        import hmac, time
        from django.http import JsonResponse

        def webhook(request, secret):
            sig = request.headers.get("X-Signature", "")
            if not hmac.compare_digest(sig, hmac.new(secret, request.body, "sha256").hexdigest()):
                return JsonResponse({"error": "invalid signature"}, status=401)
            if abs(time.time() - int(request.headers["X-Timestamp"])) > 300:
                return JsonResponse({"error": "timestamp too old"}, status=401)
            return JsonResponse({"ok": True})
    """
    assert lines(source, "CR0502") == [10]


def test_cr0502_padding_and_mac_errors() -> None:
    source = """
        import hmac
        from cryptography.hazmat.primitives import padding

        class DecryptError(Exception):
            pass

        def decrypt(key, iv, data, tag, expected):
            if not hmac.compare_digest(tag, expected):
                raise DecryptError("bad mac")
            unpadder = padding.PKCS7(128).unpadder()
            try:
                return unpadder.update(data) + unpadder.finalize()
            except ValueError:
                raise DecryptError("bad padding")
    """
    assert lines(source, "CR0502") == [15]


def test_cr0502_itsdangerous_links() -> None:
    source = """
        from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

        def confirm(s: URLSafeTimedSerializer, token):
            try:
                email = s.loads(token, max_age=3600)
            except SignatureExpired:
                return "link expired", 400
            except BadSignature:
                return "invalid link", 400
            return email
    """
    assert lines(source, "CR0502") == [10]


def test_cr0502_one_exit_with_a_reason_per_check() -> None:
    source = """
        import jwt
        from fastapi import HTTPException

        def user(token, key):
            reason = "invalid token"
            try:
                return jwt.decode(token, key, algorithms=["HS256"])
            except jwt.ExpiredSignatureError:
                reason = "token expired"
            except jwt.InvalidTokenError:
                pass
            raise HTTPException(401, detail=reason)
    """
    assert lines(source, "CR0502") == [13]


def test_cr0502_str_of_the_jwt_error() -> None:
    source = """
        import jwt

        def user(token, key):
            try:
                return jwt.decode(token, key, algorithms=["HS256"])
            except jwt.PyJWTError as e:
                raise PermissionError(f"token rejected: {e}")
    """
    assert lines(source, "CR0502") == [8]


@pytest.mark.parametrize(
    "source",
    [
        # Uniform answer, precise cause logged internally.
        """
        import hmac, logging
        log = logging.getLogger(__name__)

        def verify(sig, expected, ts, now):
            if not hmac.compare_digest(sig, expected):
                log.warning("signature mismatch")
                raise PermissionError("invalid request")
            if abs(now - ts) > 300:
                log.warning("stale timestamp")
                raise PermissionError("invalid request")
        """,
        # Missing input answered 400, every crypto failure 401.
        """
        import hmac
        from flask import abort

        def verify(headers, body, key):
            if "X-Signature" not in headers:
                abort(400)
            expected = hmac.new(key, body, "sha256").hexdigest()
            if not hmac.compare_digest(headers["X-Signature"], expected):
                abort(401)
        """,
        # 401 without a token, 403 without the permission: authorization, not a verifier.
        """
        from flask import abort

        def admin_only(user, token):
            if not token:
                abort(401)
            if not user.is_admin:
                abort(403)
        """,
        # cryptorails' own error never varies.
        """
        from cryptorails import VerificationError, Reason

        def check(verifier, token):
            try:
                return verifier.verify(token)
            except ValueError as e:
                raise VerificationError(e.reason) from None
        """,
    ],
)
def test_cr0502_traps(source: str) -> None:
    assert lines(source, "CR0502") == []


def test_cr0501_lock_owner_tokens_and_hashed_tokens_are_not_credentials() -> None:
    source = """
        class Lock:
            def owned(self, redis):
                stored_token = redis.get(self.name)
                return stored_token == self.local.token

        def lookup(token_hash, stored_hash):
            return token_hash == stored_hash
    """
    assert lines(source, "CR0501") == []


def test_cr0501_secret_read_from_the_environment_flows_into_the_compare() -> None:
    source = """
        import os

        def check(provided):
            expected = os.environ["API_KEY"]
            return provided == expected
    """
    assert lines(source, "CR0501") == [6]


def test_cr0501_field_names_looked_up_in_a_token_mapping() -> None:
    source = """
        REQUIRED = ("accessToken", "expiresAt")

        def missing(token):
            return [key for key in REQUIRED if key not in token]

        def has_env(environ, ACCESS_KEY="AWS_ACCESS_KEY_ID"):
            return ACCESS_KEY in environ
    """
    assert lines(source, "CR0501") == []


def test_cr0502_distinct_exception_classes_are_an_api_not_an_oracle() -> None:
    source = """
        import hmac

        class Expired(Exception): ...
        class BadSignature(Exception): ...

        def unsign(value, key, age, max_age):
            if not hmac.compare_digest(value, key):
                raise BadSignature("Signature does not match")
            if age > max_age:
                raise Expired(f"Signature age {age} > {max_age} seconds")
            if age < 0:
                raise Expired(f"Signature age {age} < 0 seconds")
    """
    assert lines(source, "CR0502") == []


def test_cr0502_configuration_checks_on_self_do_not_count() -> None:
    source = """
        class Unwrapper:
            def unwrap(self, blob):
                if self.key_type is KeyType.PUBLIC:
                    raise KeyError("public key cannot decrypt")
                try:
                    return self.key.decrypt(blob)
                except ValueError:
                    raise KeyError("cannot decrypt the wrapped key")
    """
    assert lines(source, "CR0502") == []


def test_side_channel_rules_survive_odd_code() -> None:
    source = """
        sig = lambda: 1
        assert sig == sig() == (yield_ := 2)
        def f(*token, **secret):
            if token in secret or token.startswith(*secret):
                raise
            return [t == s for t in token for s in secret]
        class C:
            def verify(self): raise Exception(*self.args) from None
    """
    rules = all_rules()
    result = check_source(dedent(source).encode(), "odd.py", [rules["CR0501"], rules["CR0502"]])
    assert result.warnings == []
    assert sorted({(f.line, f.rule) for f in result.findings}) == [(5, "CR0501")]
