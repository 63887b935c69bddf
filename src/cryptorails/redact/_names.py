"""Field-name rules: which names carry secrets (deny) and which look like it but do not (allow).

Names are compared after normalisation: split at anything that is not an ASCII letter or
digit and at camelCase boundaries, then lower-cased. ``X-Api-Key``, ``x_api_key`` and
``xApiKey`` all become the words ``x api key`` (normalised name ``x_api_key``).

A name is denied when its words contain a deny entry:

* a deny *word* equal to one of the name's words (``db_password``, ``authToken``); words
  are compared whole, so ``author`` or ``passenger`` do not match ``auth`` or ``pass``;
* a deny *phrase* of several words appearing in order (``api key`` in ``X-Api-Key``,
  ``private key`` in ``ssh_private_key_path``);
* a glued *stem* inside one word, for names written without separators
  (``accesstoken``, ``clientsecret``, ``csrftoken``): ``token``, ``secret`` and ``cookie``
  only at the end of the word (so ``tokenizer`` and ``secretary`` pass), the unambiguous
  ones anywhere (``passwordhash``, ``userapikey``).

The default deny list covers the defaults of Sentry's and Datadog's scrubbers (password,
secret, token, api key, auth, authorization, cookie, session, csrf/xsrf, private key,
credentials, signature, access key, ...) plus bearer, jwt, passphrase, pin, ssn, card and
one-time codes.

The allowlist is checked first and matches whole normalised names only: it exists for
names that contain a deny word but hold no secret (``token_type``, ``tokens_used``,
``password_changed_at``, ``session_count``). Names that contain no deny word
(``key_id``, ``kid``) need no entry. An allowlisted name is exempt from the name rule
only; its value still goes through the value detectors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "DEFAULT_ALLOW_NAMES",
    "DEFAULT_DENY_NAMES",
    "NameRules",
    "name_words",
    "normalize_name",
]

# Longer names are judged on their first characters only: a name is an identifier, and
# an attacker-sized one must not cost more than a short one.
_MAX_NAME = 256
_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")
# Acronym before a capitalised word (APIKey -> API, Key), capitalised or lower words,
# a trailing acronym, digit runs.
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

DEFAULT_DENY_NAMES: tuple[str, ...] = (
    # passwords and passphrases
    "password",
    "passwd",
    "pwd",
    "pass",
    "passcode",
    "passphrase",
    "mnemonic",
    # secrets, tokens, keys
    "secret",
    "secrets",
    "token",
    "tokens",
    "api key",
    "apikey",
    "app key",
    "private key",
    "privatekey",
    "access key",
    "accesskey",
    "secret key",
    "account key",
    "signing key",
    "encryption key",
    "master key",
    "consumer key",
    "client key",
    "connection string",
    "credential",
    "credentials",
    "creds",
    "jwt",
    "bearer",
    "signature",
    "sig",
    # authentication headers and sessions
    "auth",
    "authorization",
    "authentication",
    "cookie",
    "cookies",
    "session",
    "sessionid",
    "sessid",
    "phpsessid",
    "connect.sid",
    "csrf",
    "xsrf",
    # one-time codes and personal data
    "otp",
    "totp",
    "pin",
    "ssn",
    "cvv",
    "cvc",
    "cvv2",
    "credit card",
    "card number",
    "security code",
)

DEFAULT_ALLOW_NAMES: tuple[str, ...] = (
    # token bookkeeping that is not a token (OAuth responses, LLM usage counters)
    "token_type",
    "token_count",
    "token_usage",
    "tokens_used",
    "token_expires_at",
    "token_expires_in",
    "token_endpoint",
    "token_url",
    "max_tokens",
    "input_tokens",
    "output_tokens",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    # password and session metadata
    "password_changed_at",
    "password_updated_at",
    "password_expires_at",
    "password_reset_required",
    "session_count",
    "session_duration",
    "session_expires_at",
    # which mechanism, not the credential
    "auth_method",
    "auth_type",
    "auth_scheme",
    "auth_provider",
    "authentication_method",
    "signature_algorithm",
    "secret_name",
)

# Stems for names glued without separators. Ambiguous ones count only at a word's end.
_STEMS_ANYWHERE = (
    "password",
    "passwd",
    "passphrase",
    "apikey",
    "privatekey",
    "accesskey",
    "secretkey",
    "signingkey",
    "sessionid",
    "sessid",
    "credential",
    "authorization",
    "csrf",
    "xsrf",
    "jwt",
)
_STEMS_AT_END = ("token", "secret", "cookie", "bearer")

_CACHE_LIMIT = 4096


def name_words(name: str) -> tuple[str, ...]:
    """The lower-case words of `name` (split at separators and camelCase boundaries)."""
    words: list[str] = []
    for part in _SEPARATORS.split(name[:_MAX_NAME]):
        words.extend(w.lower() for w in _WORDS.findall(part))
    return tuple(words)


def normalize_name(name: str) -> str:
    """`name` as lower-case words joined by ``_`` (``X-Api-Key`` -> ``x_api_key``)."""
    return "_".join(name_words(name))


class NameRules:
    """Decides whether a field name is denied. Allowlist first, then the deny entries."""

    __slots__ = ("_allow", "_cache", "_phrases", "_words")

    def __init__(self, deny: Iterable[str], allow: Iterable[str]) -> None:
        words: set[str] = set()
        phrases: set[tuple[str, ...]] = set()
        for entry in deny:
            if not isinstance(entry, str):
                raise TypeError("deny names must be str")
            split = name_words(entry)
            if not split:
                raise ValueError(f"deny name {entry!r} has no letters or digits")
            if len(split) == 1:
                words.add(split[0])
            else:
                phrases.add(split)
        allowed: set[str] = set()
        for entry in allow:
            if not isinstance(entry, str):
                raise TypeError("allow names must be str")
            allowed.add(normalize_name(entry))
        self._words = frozenset(words)
        self._phrases = tuple(sorted(phrases))
        self._allow = frozenset(allowed)
        self._cache: dict[str, bool] = {}

    def denied(self, name: str) -> bool:
        """Whether a value under `name` is masked whatever it looks like."""
        verdict = self._cache.get(name)
        if verdict is None:
            verdict = self._judge(name_words(name))
            if len(self._cache) >= _CACHE_LIMIT:
                # Names may come from input (dict keys of a request body): bound the cache
                # rather than let it grow; clearing is cheaper than tracking recency.
                self._cache.clear()
            self._cache[name] = verdict
        return verdict

    def _judge(self, words: tuple[str, ...]) -> bool:
        if not words or "_".join(words) in self._allow:
            return False
        for word in words:
            if word in self._words:
                return True
            if any(stem in word for stem in _STEMS_ANYWHERE):
                return True
            if any(word.endswith(stem) for stem in _STEMS_AT_END):
                return True
        n = len(words)
        for phrase in self._phrases:
            size = len(phrase)
            for i in range(n - size + 1):
                if words[i : i + size] == phrase:
                    return True
        return False
