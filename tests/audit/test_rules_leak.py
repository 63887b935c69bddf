"""Leakage rules (CR0601, CR0602): shapes the fixtures do not show, and the traps that must
stay quiet."""

from __future__ import annotations

from textwrap import dedent

import pytest

from .conftest import run


def lines(source: str, code: str) -> list[int]:
    return [f.line for f in run(dedent(source), code)]


# -- CR0601 secret-in-log ---------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        'logger.info(f"user {user.email} logged in with token {token}")',
        'logging.debug("request headers: %s", request.headers)',
        'logger.debug("decrypted payload: %s", plaintext)',
        'logger.info("API key: " + api_key)',
        'logger.exception("failed to verify token %s", token)',
        'log.info("login", password=password)',
        'logger.info("creds: %r", creds)',
        'logger.info("auth header %s", request.headers.get("Authorization"))',
        'logger.info("cookies %s", request.cookies)',
        'raise ValueError(f"invalid API key: {api_key}")',
        'logger.info("%s", str(token).upper())',
        'logger.warning("got %s", {"secret": secret})',
        'print("session", session_key)',
    ],
)
def test_cr0601_reports_leaks(statement: str) -> None:
    source = f"""
        import logging
        logger = logging.getLogger(__name__)
        log = logger

        def handler(request, user, token, plaintext, api_key, password, creds, secret,
                    session_key):
            {statement}
    """
    assert lines(source, "CR0601") == [8]


def test_cr0601_expected_signature_is_a_secret_but_the_received_one_is_not() -> None:
    source = """
        import hmac, logging
        logger = logging.getLogger(__name__)

        def verify(request, key):
            signature = request.headers.get("X-Signature")
            expected = hmac.new(key, request.body, "sha256").hexdigest()
            logger.warning("bad signature %s", signature)
            logger.warning("expected %s", expected)
    """
    assert lines(source, "CR0601") == [9]


def test_cr0601_through_a_logging_helper() -> None:
    source = """
        import logging
        logger = logging.getLogger(__name__)

        def debug_value(label, value):
            logger.debug("%s=%s", label, value)

        def connect(password):
            debug_value("password", password)
    """
    assert lines(source, "CR0601") == [6]


def test_cr0601_decryptor_output_and_sealer_open() -> None:
    source = """
        import logging
        from cryptorails import Sealer
        logger = logging.getLogger(__name__)

        def read(cipher, sealer: Sealer, blob, ctx, ct):
            d = cipher.decryptor()
            data = d.update(ct) + d.finalize()
            logger.info("data %s", data)
            clear = sealer.open(blob, ctx)
            logger.info("clear %s", clear)
    """
    assert lines(source, "CR0601") == [9, 11]


def test_cr0601_module_level_print_but_not_main_block() -> None:
    source = """
        from cryptography.fernet import Fernet
        key = Fernet.generate_key()
        print(f"generated {key}")
        if __name__ == "__main__":
            print(Fernet.generate_key())
    """
    assert lines(source, "CR0601") == [4]


@pytest.mark.parametrize(
    "statement",
    [
        'logger.info("token expires in %s", expires_in)',
        'logger.info("kid=%s", kid)',
        'logger.debug("token=%s...", token[:6])',
        'logger.debug("token=...%s", token[-4:])',
        'logger.info("secret rotated for %s", tenant)',
        'logger.info("password reset requested for %s", email)',
        'logger.info("using key %s", key_id)',
        'log.info("auth ok", user_id=user_id)',
        'logger.warning("invalid password for user %s", username)',
        'logger.info("token length %d", len(token))',
        'logger.info("api key hash %s", hashlib.sha256(api_key.encode()).hexdigest())',
        'logger.info("request id %s", request.headers["X-Request-Id"])',
        'logger.info("has token: %s", token is not None)',
        'logger.info("cache key %s", cache_key)',
        "raise KeyError(kid)",
        'raise ValueError(f"key must be 32 bytes, got {len(key)}")',
        'logger.info("type %s", token_type)',
    ],
)
def test_cr0601_traps(statement: str) -> None:
    source = f"""
        import hashlib, logging
        logger = logging.getLogger(__name__)
        log = logger

        def handler(request, expires_in, kid, token, tenant, email, key_id, user_id, username,
                    api_key, cache_key, key, token_type):
            {statement}
    """
    assert lines(source, "CR0601") == []


def test_cr0601_template_parser_tokens_are_not_credentials() -> None:
    source = """
        class TemplateSyntaxError(Exception):
            pass

        def do_block(parser, token):
            bits = token.split_contents()
            raise TemplateSyntaxError("%r takes one argument" % token.contents)

        class Lexer:
            def create_token(self, token_string):
                raise TemplateSyntaxError(f"bad token {token_string}")
    """
    assert lines(source, "CR0601") == []


def test_cr0601_print_in_a_click_command_is_output_for_the_operator() -> None:
    source = """
        import secrets
        import click

        @click.command()
        def new_key():
            print(secrets.token_urlsafe(32))
    """
    assert lines(source, "CR0601") == []


# -- CR0602 hardcoded-key ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (
            """
            from Crypto.Cipher import AES
            key = b"Sixteen byte key"
            def enc(data):
                return AES.new(key, AES.MODE_GCM).encrypt_and_digest(data)
            """,
            3,
        ),
        (
            """
            import jwt
            def decode(token):
                return jwt.decode(token, "secret", algorithms=["HS256"])
            """,
            4,
        ),
        (
            """
            import hashlib, hmac
            def sign(data, key=b"default-signing-key"):
                return hmac.new(key, data, hashlib.sha256).hexdigest()
            """,
            3,
        ),
        (
            """
            class Config:
                SECRET_KEY = "dev"
            """,
            3,
        ),
        (
            """
            from flask import Flask
            def create_app():
                app = Flask(__name__)
                app.config.from_mapping(SECRET_KEY="dev", DATABASE="db.sqlite")
                return app
            """,
            5,
        ),
        (
            """
            PRIVATE_KEY = '''-----BEGIN PRIVATE KEY-----
            not-a-real-key
            -----END PRIVATE KEY-----'''
            """,
            2,
        ),
        (
            """
            import hashlib
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            def cipher():
                return AESGCM(hashlib.sha256(b"my passphrase").digest())
            """,
            5,
        ),
    ],
)
def test_cr0602_shapes(source: str, line: int) -> None:
    assert lines(source, "CR0602") == [line]


@pytest.mark.parametrize(
    "source",
    [
        'TOKEN_URL = "https://auth.example.com/oauth/token"',
        "KEY_SIZE = 32",
        'SECRET_HEADER = "X-Webhook-Secret"',
        'INTERNAL_RESET_TOKEN = "_password_reset_token"',
        'API_KEY_ENV_VAR = "PAYMENTS_API_KEY"',
        'SECRET_KEY = os.environ["SECRET_KEY"]',
        'SECRET_KEY = ""',
        'api_key = os.environ.get("API_KEY", "")',
        'password = input("password: ")',
        'AES_KEY_PATH = "/etc/app/aes.key"',
        'placeholder_token = "<your-token-here>"',
        'jwt_algorithm = "HS256"',
        "key = os.urandom(32)",
        'pad = base64.b64decode(body + "=" * (-len(body) % 4))',
        'secret = Secret(raw.encode("utf-8"))',
    ],
)
def test_cr0602_traps(source: str) -> None:
    full = f"import base64, os\nfrom cryptorails import Secret\n{source}\n"
    assert lines(full, "CR0602") == []


def test_cr0602_skips_files_named_like_tests() -> None:
    source = 'import hmac\nhmac.new(b"test-key", b"m", "sha256")\n'
    assert [f.line for f in run(source, "CR0602", path="tests/test_signing.py")] == []
    assert [f.line for f in run(source, "CR0602", path="app/signing.py")] == [2]


def test_cr0601_fields_of_mappings_and_names_of_variables() -> None:
    source = """
        import logging
        logger = logging.getLogger(__name__)

        class EnvProvider:
            ACCESS_KEY = "AWS_ACCESS_KEY_ID"

            def load(self, environ, mapping, response, credentials, secrets):
                logger.debug("reading %s", self.ACCESS_KEY)
                logger.debug("reading %s", mapping["access_key"])
                logger.debug("key id %s", response["KeyId"])
                logger.debug("expires %s", credentials["expiry_time"])
                logger.debug("stripe %s", secrets["stripe"])
                logger.debug("plaintext %s", response["Plaintext"])
    """
    assert lines(source, "CR0601") == [13, 14]


def test_cr0601_jwt_decode_arguments_do_not_taint_the_claims() -> None:
    source = """
        import logging, jwt
        logger = logging.getLogger(__name__)

        def user(token, key):
            payload = jwt.decode(token, key, algorithms=["HS256"])
            logger.info("claims %s", payload)
    """
    assert lines(source, "CR0601") == []


def test_cr0602_settings_classes_and_their_traps() -> None:
    source = """
        from pydantic_settings import BaseSettings

        class Settings(BaseSettings):
            secret_key: str = "change-me-in-production"

        class EnvProvider:
            SECRET_KEY = "AWS_SECRET_ACCESS_KEY"

        class FileProvider:
            SECRET_KEY = "AWSSecretKey"

        PATTERN_SECRET = r'(?=[^\\v\\'\\"]*)(?=\\w+)[^\\v\\'\\"]*'
    """
    assert lines(source, "CR0602") == [5]


def test_leak_rules_survive_odd_code() -> None:
    source = """
        import logging
        log = logging.getLogger()
        token = token = token
        def f(*password, key=b"", **secret):
            log.info(*password, **secret)
            raise ValueError(*password)
        log.info(f"{token!r:>{len(token)}}")
        KEY = b"" * 0 + bytes()
    """
    assert run(dedent(source), "CR0602") == []
    assert [f.line for f in run(dedent(source), "CR0601")] == [6, 7, 8]
