"""Word lists for the ``requires=`` prefilters of CR01-CR07.

A rule's ``requires`` must be a *necessary* condition: a file without the words can never
give a finding, so it is not parsed at all. The lists here spell the vocabulary a check
needs in the shapes it takes in code, so that the same letters in other words or in prose
do not count: the word *sig* (``sig``, ``sig_header``, ``x_sig``), not ``signal`` or
``design``; a ``verify`` call or keyword (``.verify(``, ``verify=``, ``verify_ssl``), not
"Verify that..." in a comment; ``session_key`` and ``api-key``, not every dictionary
``key``. A camelCase identifier is matched through its lower-cased run (``apiKey`` is
``apikey``), except where a vocabulary word is followed by another capitalised word that
the list cannot foresee (``sigHeader``): such spellings are rare in Python.

Groups are tried in order and a failing group stops the test, so each rule puts a short,
coarse gate (``sig``, ``key``, ``time``) before the long precise list: the coarse words
are implied by the precise ones, so the gate loses nothing and spares most files the long
list. Rules share these lists where their vocabulary is the same, so the engine's
prefilter, which checks each distinct word at most once per file, pays for a list once.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AUTH",
    "CERT",
    "CIPHER",
    "CLOCK",
    "CLOCK_GATE",
    "EXPIRY",
    "HOST_PEER",
    "MAC",
    "PERM",
    "SECRET_GATE",
    "SECRET_NAMES",
    "SECURITY",
    "SIG",
    "SIGN",
    "TLS_SWITCH",
    "TLS_SWITCH_GATE",
    "VERIFY",
    "group",
    "starting",
]

# Characters next to an identifier in code (and in the string keys rules look at).
_EDGES = "_.( \t\n,=[{:'\"-"
_AFTER = "_s,)=:.]' \"\n-"


def group(*parts: str | Iterable[str]) -> tuple[str, ...]:
    """One ``requires`` group: the words of `parts`, lower-cased, without duplicates and
    without words that contain another word of the group (which already matches)."""
    words: list[str] = []
    for part in parts:
        for word in [part] if isinstance(part, str) else part:
            if word.lower() not in words:
                words.append(word.lower())
    return tuple(w for w in words if not any(o != w and o in w for o in words))


def starting(word: str) -> tuple[str, ...]:
    """`word` at the start of an identifier's word or a string key (``_iat``, ``"sent``),
    not inside a longer word (``appropriate``, ``present``)."""
    return tuple(edge + word for edge in _EDGES)


# -- clocks (CR04xx) -----------------------------------------------------------------
# `WALL_CLOCKS` are called as ``x.now()``, ``time.time()``, ``now()`` after an import, or
# through an alias (``from time import time as wall``, ``clock = time.time``).
CLOCK_GATE = group("time", "now")
CLOCK = group(
    "now(", ".now", "now as", "utcnow", "today(", ".today", "today as", ".time()",
    "time_ns", "from time import", "time as",
    # ``clock = time.time`` (not ``datetime.time``)
    *(edge + "time.time" for edge in " =(,[_:{\t\n"),
)  # fmt: skip

# -- signatures and MACs --------------------------------------------------------------
# The words `sig`/`sigs`/`signature` of an identifier; `sign...` words are not signatures.
SIG = group("signatur", *("sig" + after for after in _AFTER))
# The word `mac` (and `hmac`), not `machine` or `macro`.
MAC = group("hmac", *("mac" + after for after in (*_AFTER, "(")), "mackey")
# A function or method named with the word `sign` (``sign(``, ``_sign_request``).
SIGN = group("sign(", "sign_")
# A call, attribute or keyword named ``verify`` (or a `verif...` callee), not prose.
VERIFY = group(
    ".verif", "_verif", "verify(", "verify_", "verify=", "verify:", "verify)", "verify,",
    '"verify', "'verify", 'verify"', "verify'", "verified(", "verified_", "verifies(",
    "verifier(", "verifier_", "verification(", "verification_", "unverified", "httpsverify",
)  # fmt: skip

# -- TLS (CR0701, CR0703) -------------------------------------------------------------
# The words cert/certs/certificate in a keyword or setting, not ``certain``.
CERT = group("cert_", "_cert", "certs", "certi", "checkcert", "validatecert")
# A keyword or key pairing `check`/`validate` with `host`/`peer` (``validate_peer=``,
# ``"host_check"``): the switches that name none of ssl, tls, cert, hostname or verify.
HOST_PEER = group(
    f"{name}{end}"
    for name in (
        *(f"{verb}_{target}" for verb in ("check", "validate") for target in ("host", "peer")),
        *(f"{target}_{noun}" for target in ("host", "peer") for noun in ("check", "validation")),
    )
    for end in ("=", '"', "'", "_")
)

# What names a verification switch of `_tls` (`call_switches`, `dict_switches`,
# `assign_switches`, the unverified context factories) or a host-key policy.
TLS_SWITCH = group(VERIFY, "hostname", CERT, "ssl", "tls", "policy", "ca_bundle", HOST_PEER)
TLS_SWITCH_GATE = group("verif", "host", "cert", "ssl", "tls", "policy", "ca_bundle", "peer")

# The words auth/authenticate(d)/authorize(d)/authorization, not ``author``; perm/perms/
# permission(s), not ``permitted`` or ``permanent``.
AUTH = group(*("auth" + after for after in _AFTER), "authe", "authoriz", "authoris")
PERM = group(*("perm" + after for after in (*_AFTER, "(")), "permission")

# -- time (CR04xx) --------------------------------------------------------------------
# `_time.security_context`: `SECURITY_WORDS`, `SECURITY_PHRASES` and the rate-limit words,
# spelled so that `author`, `urban`, `signing` and "magic method" do not count.
_WORDS_AS_IS = (
    "lockout", "login", "session", "token", "otp", "mfa", "2fa", "twofa", "verification",
    "reset", "penalty", "password", "credential", "nonce", "replay", "challenge",
    "captcha", "passcode", "brute",
)  # fmt: skip
SECURITY = group(
    _WORDS_AS_IS, AUTH,
    *(word + after for word in ("ban", "signin", "magic") for after in _AFTER), "banned",
    *(f"{lock}{sep}{end}" for lock in ("locked", "lock", "blocked") for sep in ("_", "")
      for end in ("out", "until")),
    "limiter", "throttle", "cooldown", "rate_limit", "ratelimit", "rate-limit",
)  # fmt: skip
# `cr0404._expiry`'s words: exp, expires... (`_EXPIRY_WORDS`) and `_EXPIRY_PHRASES`.
EXPIRY = group(
    "expir", "nbf", *("exp" + after for after in _AFTER),
    *(f"{a}{sep}{b}" for a, b in (("not", "after"), ("not", "before"), ("valid", "after"),
                                   ("valid", "before"), ("valid", "to"), ("valid", "from"))
      for sep in ("_", "")),
)  # fmt: skip

# -- ciphers (CR01xx) -----------------------------------------------------------------
# `_random.nonce_sink`: the nonce-taking APIs of `_vocab.NONCE_ARGUMENT` and any callee
# named like a cipher (PyCryptodome's factories are imported from ``Crypto.Cipher``).
CIPHER = group("modes", "aes", "cipher", "aead", "chacha", "encrypt", "salsa", "seal")

# -- secret names (`_leak.name_category`) ---------------------------------------------
_PASSWORD = ("passw", "pw", "passphrase", "passcode")
_TOKEN = ("tok", "jwt", "bearer", "apikey", "csrf", "xsrf", "otp")
_SECRET = ("secret", "credential", "creds")
_AUTHORIZATION = ("authorization", "auth_header", "authheader", "auth-header")
# `code` is a token only next to one of these qualifiers (`reset_code`, `mfaCode`).
_CODE_QUALIFIERS = (
    "reset", "verification", "mfa", "2fa", "recovery", "backup", "sms", "login", "magic",
    "auth", "invite", "activation",
)  # fmt: skip
# `key` is key material only next to one of these qualifiers (`session_key`, `apiKey`,
# `X-Api-Key`); `_leak._KEY_QUALIFIERS`, with `encryption`/`decryption` as `cryption`.
_KEY_QUALIFIERS = (
    "api", "private", "priv", "signing", "sign", "mac", "enc", "cryption", "master",
    "session", "wrapping", "symmetric", "shared", "webhook", "auth", "access", "client",
    "derived", "raw", "cipher", "crypto",
)  # fmt: skip
_ONE_TIME = ("one_time", "onetime", "one-time")
SECRET_NAMES = group(
    "tok", "passw", "csrf", "secret", "pw", "credential", "otp", "authorization", "aes",
    _PASSWORD, _TOKEN, _SECRET, _AUTHORIZATION, _ONE_TIME,
    (q + sep + "code" for q in _CODE_QUALIFIERS for sep in ("_", "")),
    (q + sep + "key" for q in _KEY_QUALIFIERS for sep in ("_", "")),
    (q + "-key" for q in ("api", "private", "session", "access", "auth", "client")),
    ("dek", "kek", "hmac", "jwt", "fernet"),
)  # fmt: skip
# Implied by `SECRET_NAMES`: the cheap test that spares most files the long list.
SECRET_GATE = group(
    "key", "code", "tok", "passw", "csrf", "secret", "pw", "credential", "otp",
    "authorization", "aes", _PASSWORD, _TOKEN, _SECRET, _AUTHORIZATION, _ONE_TIME,
    ("dek", "kek", "hmac", "jwt", "fernet"),
)  # fmt: skip
