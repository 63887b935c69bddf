"""Time, skew and replay rules (CR0401-CR0405): shapes the fixtures do not show, and the
traps that must stay quiet."""

from __future__ import annotations

from textwrap import dedent

import pytest

from .conftest import run


def lines(source: str, code: str) -> list[int]:
    return [f.line for f in run(dedent(source), code)]


# -- CR0401 timestamp-window-without-replay-store ---------------------------------------

FLASK_WEBHOOK = """
    import hashlib, hmac, time
    from flask import Flask, abort, request

    app = Flask(__name__)

    @app.route("/hooks", methods=["POST"])
    def hooks():
        timestamp = request.headers.get("X-Timestamp")
        signature = request.headers.get("X-Signature")
        if abs(time.time() - int(timestamp)) > 300:
            abort(400)
        body = request.get_data(as_text=True)
        expected = hmac.new(b"k", f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            abort(401)
        {record}
        return "", 204
"""


def test_cr0401_flask_route_without_record() -> None:
    assert lines(FLASK_WEBHOOK.replace("{record}", "pass"), "CR0401") == [11]


@pytest.mark.parametrize(
    "record",
    [
        'redis_client.set(f"sig:{signature}", 1, nx=True, ex=600)',
        'cache.add(f"hook:{signature}", True, timeout=600)',
        'db.execute("INSERT INTO webhook_nonces (sig) VALUES (?)", (signature,))',
        'guard.check("hooks", request.headers["X-Id"], timestamp)',
        "mark_processed(request.headers['X-Id'])",
    ],
)
def test_cr0401_any_record_of_the_message_is_enough(record: str) -> None:
    assert lines(FLASK_WEBHOOK.replace("{record}", record), "CR0401") == []


def test_cr0401_datetime_window_in_fastapi_handler() -> None:
    source = """
        import hmac
        from datetime import datetime, timedelta, timezone
        from fastapi import Header, Request

        async def receive(request: Request, x_signature: str = Header(), x_sent: str = Header()):
            sent = datetime.fromtimestamp(int(x_sent), tz=timezone.utc)
            if datetime.now(timezone.utc) - sent > timedelta(minutes=5):
                return 400
            body = await request.body()
            if not hmac.compare_digest(sign(body), x_signature):
                return 401
            return 204

        def sign(body):
            return hmac.new(b"k", body, "sha256").hexdigest()
    """
    assert lines(source, "CR0401") == [8]


def test_cr0401_token_max_age_is_not_a_message_window() -> None:
    # A password-reset token's own age (Django's check_token): replay is prevented by
    # the token's state hash, and no request is at hand.
    source = """
        import hmac, time

        def check_token(user, token, secret):
            ts, mac = token.split("-")
            if time.time() - int(ts) > 3600:
                return False
            return hmac.compare_digest(mac, hmac.new(secret, ts.encode(), "sha256").hexdigest())
    """
    assert lines(source, "CR0401") == []


def test_cr0401_window_without_any_signature_is_not_reported() -> None:
    source = """
        import time

        def on_event(event):
            if abs(time.time() - event["ts"]) > 300:
                return None
            return event
    """
    assert lines(source, "CR0401") == []


# -- CR0402 process-local-replay-cache --------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            """
            used_nonces: set[str] = set()

            def accept(nonce):
                if nonce in used_nonces:
                    raise PermissionError("replay")
                used_nonces.add(nonce)
            """,
            [2],
        ),
        (
            """
            processed_events = set()

            def webhook(payload):
                event_id = payload["id"]
                if event_id in processed_events:
                    return 200
                processed_events.add(event_id)
                return 202
            """,
            [2],
        ),
        (
            """
            _replay_cache = {}

            def is_replay(nonce, now):
                return nonce in _replay_cache

            def remember(nonce, now):
                _replay_cache[nonce] = now
            """,
            [2],
        ),
        (
            """
            class Verifier:
                _seen = set()

                def verify(self, sig):
                    if sig in self._seen:
                        return False
                    self._seen.add(sig)
                    return True
            """,
            [3],
        ),
    ],
)
def test_cr0402_shapes(source: str, expected: list[int]) -> None:
    assert lines(source, "CR0402") == expected


@pytest.mark.parametrize(
    "source",
    [
        # A visited set of a graph walk.
        """
        class Walker:
            def __init__(self):
                self._seen = set()

            def visit(self, node):
                if id(node) in self._seen:
                    return
                self._seen.add(id(node))
        """,
        # A cache of fetched keys by key id.
        """
        _jwks = {}

        def key_for(kid):
            if kid not in _jwks:
                _jwks[kid] = download(kid)
            return _jwks[kid]
        """,
        # A per-call set is not process state.
        """
        def dedupe(messages):
            seen = set()
            for m in messages:
                if m.message_id in seen:
                    continue
                seen.add(m.message_id)
        """,
        # Redis decides; the local set is only a fast path.
        """
        SEEN_NONCES = set()

        def accept(r, nonce):
            if nonce in SEEN_NONCES or not r.set(nonce, 1, nx=True, ex=300):
                return False
            SEEN_NONCES.add(nonce)
            return True
        """,
    ],
)
def test_cr0402_traps(source: str) -> None:
    assert lines(source, "CR0402") == []


# -- CR0403 wall-clock-duration ---------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            """
            import time

            OTP_TTL = 300
            otp_store = {}

            def send_otp(user, code):
                otp_store[user] = (code, time.time())

            def check_otp(user, code):
                expected, created = otp_store[user]
                return code == expected and time.time() - created <= OTP_TTL
            """,
            [12],
        ),
        (
            """
            import time
            from datetime import datetime, timedelta

            class Account:
                def fail(self):
                    self.lockout_until = datetime.now() + timedelta(minutes=15)

                def can_login(self):
                    return datetime.now() > self.lockout_until
            """,
            [10],
        ),
        (
            """
            import time

            class TokenBucket:
                def __init__(self):
                    self.window_start = time.time()
                    self.count = 0

                def allow_request(self):
                    now = time.time()
                    if now - self.window_start > 60:
                        self.window_start = now
                        self.count = 0
                    self.count += 1
                    return self.count <= 100
            """,
            [11],
        ),
    ],
)
def test_cr0403_shapes(source: str, expected: list[int]) -> None:
    assert lines(source, "CR0403") == expected


@pytest.mark.parametrize(
    "source",
    [
        """
        import time

        def login(check, user, password):
            start = time.time()
            ok = check(user, password)
            print("login took", time.time() - start)
            return ok
        """,
        """
        import time

        class Lockout:
            def __init__(self):
                self.since = time.monotonic()

            def active(self):
                return time.monotonic() - self.since < 900
        """,
        """
        import time

        def session_valid(claims):
            return time.time() < claims["exp"] and time.time() - claims["iat"] < 86400
        """,
        """
        import time

        def poll(job, timeout=30):
            started = time.time()
            while time.time() - started < timeout:
                if job.done():
                    return True
            return False
        """,
    ],
)
def test_cr0403_traps(source: str) -> None:
    assert lines(source, "CR0403") == []


# -- CR0404 naive-datetime-expiry -------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            """
            from datetime import datetime

            def valid(cert):
                return cert.not_valid_after > datetime.utcnow()
            """,
            [5],
        ),
        (
            """
            from datetime import datetime, timedelta

            def reset_link_ok(reset):
                return reset.created_at + timedelta(hours=24) > datetime.now()
            """,
            [5],
        ),
        (
            """
            import datetime

            def expired(session):
                expiry = datetime.datetime.utcnow()
                return session.expires_at <= expiry
            """,
            [6],
        ),
    ],
)
def test_cr0404_shapes(source: str, expected: list[int]) -> None:
    assert lines(source, "CR0404") == expected


@pytest.mark.parametrize(
    "source",
    [
        """
        from datetime import datetime, timezone
        import pytz

        def valid(token):
            return datetime.now(pytz.UTC) < token.expires_at
        """,
        """
        from datetime import datetime

        def aware(token):
            return datetime.now().astimezone() < token.expires_at
        """,
        """
        from datetime import datetime

        def banner():
            return datetime.now().strftime("%Y") > "2020"
        """,
    ],
)
def test_cr0404_traps(source: str) -> None:
    assert lines(source, "CR0404") == []


# -- CR0405 one-sided-time-window -------------------------------------------------------


def test_cr0405_iat_in_a_handmade_token_and_the_symmetric_fix() -> None:
    vulnerable = """
        import time

        def accept(claims):
            if int(time.time()) - int(claims["iat"]) > 60 * 5:
                raise PermissionError("invalid token")
    """
    fixed = """
        import time

        def accept(claims):
            age = int(time.time()) - int(claims["iat"])
            if age > 60 * 5 or age < -30:
                raise PermissionError("invalid token")
    """
    assert lines(vulnerable, "CR0405") == [5]
    assert lines(fixed, "CR0405") == []


def test_cr0405_future_check_in_a_second_statement_counts() -> None:
    source = """
        import time

        def fresh(headers):
            ts = int(headers["X-Timestamp"])
            if ts < time.time() - 300:
                return False
            if ts > time.time() + 30:
                return False
            return True
    """
    assert lines(source, "CR0405") == []


def test_cr0405_cache_age_is_not_a_signed_timestamp() -> None:
    source = """
        import time

        def stale(entry, ttl):
            return time.time() - entry.fetched_ts > ttl
    """
    assert lines(source, "CR0405") == []


def test_time_rules_survive_odd_code() -> None:
    source = """
        import time
        x = time.time() - - - time.time() > (lambda: 1)()
        def f(*a, **k):
            return a < k < time.time() - a
    """
    for code in ("CR0401", "CR0402", "CR0403", "CR0404", "CR0405"):
        assert run(dedent(source), code) == []


def test_cr0401_record_made_by_a_method_of_a_module_class() -> None:
    source = """
        import hmac, time

        class NonceTracker:
            def __init__(self):
                self.seen = {}

            def check(self, nonce):
                if nonce in self.seen:
                    raise PermissionError("replay")
                self.seen[nonce] = time.time()

        tracker = NonceTracker()

        def handler(request, key):
            if abs(time.time() - int(request.headers["X-Ts"])) > 300:
                raise PermissionError("invalid")
            if not hmac.compare_digest(request.headers["X-Sig"], key):
                raise PermissionError("invalid")
            tracker.check(request.headers["X-Nonce"])
    """
    assert lines(source, "CR0401") == []
    assert lines(source, "CR0402") == [6]
