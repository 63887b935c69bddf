"""A labelled corpus for the secret detectors, generated from a seed.

Nothing secret-looking is committed: every token, key and password below is drawn from a
seeded `random.Random` when the corpus is built, so the repository holds templates only
and the corpus is the same on every run.

`corpus()` returns `Sample`s: a text (usually one log line; a PEM block spans lines),
the kind a detector should report (None for a clean line), and whether the line is a
*trap*: something that looks like a secret but is not (UUIDs, digests, trace ids, public
keys, documentation examples, masks, templates, placeholders, low-entropy values,
names that only contain a keyword).

Used by tests/secrets_scan/test_corpus.py and by bench/secrets.py.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Gen", "Sample", "corpus"]

ALNUM = string.ascii_letters + string.digits
B32 = string.ascii_uppercase + "234567"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Sample:
    text: str
    kind: str | None
    trap: bool = False


class Gen:
    """Random parts drawn from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def s(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def b(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def b64(self, n: int) -> str:
        return base64.b64encode(self.b(n)).decode()

    def b64u(self, data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def password(self) -> str:
        # Mixed classes, 10..20 characters: what a password manager makes.
        return self.s(self.rng.randint(10, 20), ALNUM + "!#%*+-.=?@^_~")

    def uuid(self) -> str:
        h = self.s(32, HEX)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def jwt(self) -> str:
        header = self.b64u(
            json.dumps({"alg": self.rng.choice(["HS256", "RS256", "ES256"])}).encode()
        )
        claims = {
            "sub": f"user-{self.rng.randint(1, 99999)}",
            "exp": 1700000000 + self.rng.randint(0, 10**6),
        }
        return f"{header}.{self.b64u(json.dumps(claims).encode())}.{self.b64u(self.b(32))}"

    def pem(self, label: str, escaped: bool = False) -> str:
        body = base64.b64encode(self.b(self.rng.choice([121, 138, 387]))).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        nl = "\\n" if escaped else "\n"
        return nl.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + nl

    def ts(self) -> str:
        r = self.rng
        day = f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        time = f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"
        return f"{day}T{time}.{r.randint(0, 999):03d}Z"


def _positives(g: Gen) -> list[tuple[str, Callable[[], str]]]:
    r = g.rng
    digits = string.digits

    def gh() -> str:
        return r.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + g.s(36)

    def pat() -> str:
        return f"github_pat_{g.s(22)}_{g.s(59)}"

    def aws_id() -> str:
        return r.choice(["AKIA", "ASIA"]) + g.s(16, B32)

    def slack() -> str:
        return f"xox{r.choice('bpa')}-{g.s(12, digits)}-{g.s(12, digits)}-{g.s(24)}"

    def stripe() -> str:
        return f"{r.choice(['sk', 'rk'])}_{r.choice(['live', 'test'])}_{g.s(24)}"

    return [
        ("github-token", lambda: f"{g.ts()} INFO git push using GITHUB_TOKEN={gh()}"),
        ("github-token", lambda: json.dumps({"level": "debug", "msg": "api call", "token": gh()})),
        ("github-token", lambda: f"Authorization: token {gh()}"),
        ("github-token", lambda: f"clone https://x-access-token:{gh()}@github.com/acme/app.git"),
        ("github-token", lambda: f"export GH_TOKEN='{pat()}'"),
        ("gitlab-token", lambda: f"{g.ts()} runner registered with glpat-{g.s(20, ALNUM + '_-')}"),
        ("gitlab-token", lambda: json.dumps({"private_token": f"glpat-{g.s(20)}"})),
        ("slack-token", lambda: f"SLACK_BOT_TOKEN={slack()}"),
        ("slack-token", lambda: json.dumps({"msg": "posting to slack", "auth": slack()})),
        (
            "slack-webhook",
            lambda: (
                f"POST https://hooks.slack.com/services/T{g.s(8, B32)}/B{g.s(10, B32)}/{g.s(24)}"
            ),
        ),
        ("stripe-key", lambda: f'stripe.api_key = "{stripe()}"'),
        ("stripe-key", lambda: f"{g.ts()} charge created with key {stripe()}"),
        (
            "google-api-key",
            lambda: (
                "GET https://maps.googleapis.com/maps/api/geocode/json"
                f"?key=AIza{g.s(35, ALNUM + '_-')}"
            ),
        ),
        ("google-api-key", lambda: json.dumps({"firebase": {"apiKey": "AIza" + g.s(35)}})),
        ("aws-access-key", lambda: f"aws_access_key_id = {aws_id()}"),
        ("aws-access-key", lambda: json.dumps({"Credentials": {"AccessKeyId": aws_id()}})),
        ("aws-secret-key", lambda: f"aws_secret_access_key = {g.s(40, B64)}"),
        (
            "aws-secret-key",
            lambda: json.dumps({"SecretAccessKey": g.s(40, B64), "Expiration": g.ts()}),
        ),
        (
            "azure-storage-key",
            lambda: (
                f"DefaultEndpointsProtocol=https;AccountName=acme{g.s(4, string.ascii_lowercase)}"
                f";AccountKey={g.b64(64)};EndpointSuffix=core.windows.net"
            ),
        ),
        (
            "azure-storage-key",
            lambda: (
                f"Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={g.b64(32)}"
            ),
        ),
        ("jwt", lambda: f"{g.ts()} INFO request authorization=Bearer {g.jwt()}"),
        ("jwt", lambda: json.dumps({"name": "Authorization", "value": f"Bearer {g.jwt()}"})),
        ("jwt", lambda: f"id_token={g.jwt()}"),
        (
            "private-key",
            lambda: g.pem(
                r.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"])
            ),
        ),
        ("private-key", lambda: g.pem(r.choice(["ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"]))),
        ("private-key", lambda: json.dumps({"msg": "loaded key", "key": g.pem("PRIVATE KEY")})),
        (
            "gcp-service-account",
            lambda: json.dumps(
                {
                    "type": "service_account",
                    "project_id": "acme",
                    "private_key_id": g.s(40, HEX),
                    "private_key": g.pem("PRIVATE KEY"),
                }
            ),
        ),
        (
            "basic-auth-url",
            lambda: (
                f"connecting to postgres://app:{g.password().replace('@', '_')}@db.internal/orders"
            ),
        ),
        (
            "basic-auth-url",
            lambda: f"{g.ts()} fetch https://deploy:{g.s(16)}@registry.example.com/v2/",
        ),
        (
            "bearer-credential",
            lambda: (
                f"curl -H 'Authorization: Bearer {g.s(40, ALNUM + '-._~')}' https://api.example.com"
            ),
        ),
        (
            "bearer-credential",
            lambda: (
                f"Authorization: Basic {base64.b64encode(f'svc:{g.password()}'.encode()).decode()}"
            ),
        ),
        (
            "bearer-credential",
            lambda: json.dumps({"headers": {"authorization": f"Bearer {g.s(48)}"}}),
        ),
        (
            "session-cookie",
            lambda: (
                f"Cookie: theme=dark; sessionid={g.s(32, string.ascii_lowercase + digits)}; lang=en"
            ),
        ),
        (
            "session-cookie",
            lambda: f"Set-Cookie: JSESSIONID={g.s(32, HEX.upper())}; Path=/; Secure; HttpOnly",
        ),
        (
            "session-cookie",
            lambda: json.dumps({"name": "Cookie", "value": f"connect.sid=s%3A{g.s(32)}.{g.s(43)}"}),
        ),
        ("webhook-secret", lambda: f"WEBHOOK_SECRET=whsec_{g.b64(24)}"),
        ("webhook-secret", lambda: json.dumps({"signing_secret": "whsec_" + g.b64(32)})),
        ("generic-credential", lambda: f"{g.ts()} db connect user=app password={g.password()}"),
        ("generic-credential", lambda: json.dumps({"service": "billing", "api_key": g.s(32)})),
        ("generic-credential", lambda: f'DB_PASSWORD="{g.password()}"'),
        ("generic-credential", lambda: f"  client_secret: {g.s(40, ALNUM + '-_')}"),
        (
            "generic-credential",
            lambda: f"GET /oauth/callback?code=abc&access_token={g.s(30)}&state=xyz HTTP/1.1",
        ),
        ("generic-credential", lambda: f"X-Api-Key: {g.s(32, HEX)}"),
        (
            "generic-credential",
            lambda: json.dumps({"key": "db.password", "value": {"stringValue": g.password()}}),
        ),
        ("generic-credential", lambda: json.dumps({"config": json.dumps({"apiKey": g.s(24)})})),
        ("generic-credential", lambda: f"{{'user': 'svc', 'passwd': '{g.password()}'}}"),
    ]


def _negatives(g: Gen) -> list[Callable[[], str]]:
    r = g.rng

    def ip() -> str:
        return ".".join(str(r.randint(1, 254)) for _ in range(4))

    return [
        lambda: (
            f"{g.ts()} INFO GET /api/v1/orders/{r.randint(1, 99999)} 200 {r.random() * 100:.2f}ms"
        ),
        lambda: json.dumps(
            {
                "ts": g.ts(),
                "level": "info",
                "msg": "order shipped",
                "order": r.randint(1, 10**6),
                "carrier": "dhl",
            }
        ),
        lambda: f"{g.ts()} WARN retrying upstream gateway attempt={r.randint(1, 5)} backoff=200ms",
        lambda: f"user alice@example.com logged in from {ip()}",
        lambda: (
            f"{g.ts()} ERROR connection reset by peer host=db-{r.randint(1, 9)}.internal port=5432"
        ),
        lambda: json.dumps(
            {"event": "cache", "hit": r.random() > 0.5, "key": f"user:{r.randint(1, 9999)}:profile"}
        ),
        lambda: f"GET https://cdn.example.com/assets/app.{g.s(8, HEX)}.js 304",
        lambda: f"{g.ts()} DEBUG rendering template checkout.html in {r.randint(1, 40)}ms",
        lambda: f"password reset email sent to user {r.randint(1, 99999)}",
        lambda: f"{g.ts()} INFO token refreshed for session of user {r.randint(1, 9999)}",
        lambda: f"{g.ts()} INFO secret rotation scheduled for {g.ts()}",
    ]


def _traps(g: Gen) -> list[Callable[[], str]]:
    r = g.rng
    return [
        lambda: f"request_id={g.uuid()} status=200",
        lambda: json.dumps({"correlation_token": g.uuid(), "msg": "ok"}),
        lambda: f"deployed commit={g.s(40, HEX)} to prod",
        lambda: json.dumps({"image": "acme/api", "digest": "sha256:" + g.s(64, HEX)}),
        lambda: f"trace_id={g.s(32, HEX)} span_id={g.s(16, HEX)} msg=done",
        lambda: f"traceparent: 00-{g.s(32, HEX)}-{g.s(16, HEX)}-01",
        lambda: f'etag: "{g.s(32, HEX)}"',
        lambda: g.pem("PUBLIC KEY"),
        lambda: g.pem("CERTIFICATE"),
        lambda: f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{g.s(43, B64)} deploy@ci",
        lambda: "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        lambda: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        lambda: f"password={'*' * r.randint(4, 12)}",
        lambda: f"token: {'x' * r.randint(8, 32)}",
        lambda: "secret=<redacted>",
        lambda: json.dumps({"api_key": "[REDACTED]"}),
        lambda: "Authorization: Bearer [REDACTED:jwt:1a2b3c4d]",
        lambda: "DB_PASSWORD=${DB_PASSWORD}",
        lambda: "api_token: {{ vault_api_token }}",
        lambda: "password=%(password)s",
        lambda: "password: changeme",
        lambda: 'password = "password"',
        lambda: f"password={r.choice('ab') * 10}",
        lambda: f"token_count={r.randint(1, 9999)} max_tokens=4096",
        lambda: "secret_name: db-credentials",
        lambda: "password_reset_required=true",
        lambda: "tokenizer=cl100k_base",
        lambda: json.dumps({"next_page_token": g.s(40)}),
        lambda: json.dumps({"token_type": "Bearer", "expires_in": 3600}),
        lambda: 'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
        lambda: f"GET https://example.com:{r.randint(1024, 65535)}/health 200",
        lambda: "git fetch ssh://git@github.com/acme/app.git",
        lambda: f"stripe publishable key pk_live_{g.s(24)}",
        lambda: f"Cookie: theme=dark; lang=en-US; csrftoken={g.s(32)}",
        lambda: (
            f"payload={g.b64u(json.dumps({'n': r.randint(1, 9)}).encode())}.{g.s(20)}.{g.s(20)}"
        ),
        lambda: f"user=bob password= {g.ts()}",
        lambda: f"secret: {r.randint(10**7, 10**9)}",
    ]


def corpus(seed: int = 20240501, repeat: int = 8) -> list[Sample]:
    """`repeat` samples of every template, in a seeded random order."""
    g = Gen(seed)
    samples = [Sample(make(), kind) for kind, make in _positives(g) for _ in range(repeat)]
    samples += [Sample(make(), None) for make in _negatives(g) for _ in range(repeat)]
    samples += [Sample(make(), None, trap=True) for make in _traps(g) for _ in range(repeat)]
    g.rng.shuffle(samples)
    return samples
