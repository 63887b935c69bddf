"""A text test for rules that judge a name by its words (CR1003's `Rule.confirm`).

Such a rule reports a name only when its words hold a word that is enough alone, or
both halves of a pair (an "off" verb and a check noun: ``skip_auth``). The name is
written in the source as one identifier, or inside one string literal (a dict key:
``"skip-auth"``, ``"allow self signed"``). The words of a name are the words of the
identifier-like tokens in it (letters, digits and ``_``, camelCase split, as the
rules split names), so before parsing a file can be ruled out when no token is enough alone, and no
line with a quote holds both halves of a pair in its tokens.

Words are taken as written, like `Rule.requires`: a name spelled with escapes or split
over lines by implicit concatenation is not seen, as it is not by the words test
either. Tokens are classified once per process (a pure function of the token).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["NameWords"]

# bytes.translate table: identifier bytes stay, any other byte becomes a space.
_SEPARATE = bytes(
    c if c == 0x5F or 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A else 0x20
    for c in range(256)
)
_CAMEL = re.compile(rb"(?<=[a-z0-9])(?=[A-Z])")
_QUOTE = re.compile(rb"[\"']")
_ALONE = 0
_MEMO_LIMIT = 200_000


class NameWords:
    """The test for one rule's vocabularies: `alone` (a word enough by itself) and
    `pairs` (two vocabularies, a word of each being enough together)."""

    def __init__(
        self, alone: Iterable[str], pairs: Iterable[tuple[Iterable[str], Iterable[str]]]
    ) -> None:
        vocabularies = [frozenset(alone)]
        self._pairs: list[tuple[int, int]] = []
        for first, second in pairs:
            vocabularies += [frozenset(first), frozenset(second)]
            self._pairs.append((len(vocabularies) - 2, len(vocabularies) - 1))
        self._flags: dict[bytes, int] = {}  # vocabulary word -> the flags it sets
        for flag, vocabulary in enumerate(vocabularies):
            for word in vocabulary:
                key = word.encode()
                self._flags[key] = self._flags.get(key, 0) | 1 << flag
        self._vocabulary = frozenset(self._flags)
        self._seconds = [second for _, second in self._pairs]
        # The tokens seen, and for each flag those that set it: a file's tokens are
        # classified by set operations.
        self._seen: set[bytes] = set()
        self._with: list[set[bytes]] = [set() for _ in vocabularies]

    def may_name(self, source: bytes) -> bool:
        """Whether some name of `source` can hold the words (a necessary condition)."""
        tokens = set(source.translate(_SEPARATE).split())
        self._classify(tokens)
        if not tokens.isdisjoint(self._with[_ALONE]):
            return True
        if not self._has_pair(tokens):
            return False
        # Only lines with a quote can hold a string key: find the second halves there.
        quoted = b"\n".join(filter(_QUOTE.search, source.split(b"\n")))
        for second in self._seconds:
            for token in tokens & self._with[second]:
                at = quoted.find(token)
                while at >= 0:
                    start = quoted.rfind(b"\n", 0, at) + 1
                    end = quoted.find(b"\n", at)
                    end = len(quoted) if end < 0 else end
                    if self._has_pair(set(quoted[start:end].translate(_SEPARATE).split())):
                        return True
                    at = quoted.find(token, end)
        return False

    def _has_pair(self, tokens: set[bytes]) -> bool:
        with_ = self._with
        return any(
            not tokens.isdisjoint(with_[first]) and not tokens.isdisjoint(with_[second])
            for first, second in self._pairs
        )

    def _classify(self, tokens: set[bytes]) -> None:
        """Add the tokens not seen before to the flag sets."""
        new = tokens - self._seen
        if not new:
            return
        if len(self._seen) > _MEMO_LIMIT:
            self._seen.clear()
            for flagged in self._with:
                flagged.clear()
            new = tokens
        flags_of = self._flags.get
        for token in new:
            # The words of the token (`words`): tokens hold only letters, digits, "_".
            lowered = token if token.islower() else _CAMEL.sub(b"_", token).lower()
            words = lowered.split(b"_")
            if self._vocabulary.isdisjoint(words):
                continue
            flags = 0
            for word in words:
                flags |= flags_of(word, 0)
            if flags & 1 << _ALONE or any(
                flags & 1 << first and flags & 1 << second for first, second in self._pairs
            ):
                self._with[_ALONE].add(token)
            for flag in range(_ALONE + 1, len(self._with)):
                if flags & 1 << flag:
                    self._with[flag].add(token)
        self._seen |= new
