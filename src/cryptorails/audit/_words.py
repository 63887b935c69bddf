"""The keyword prefilter: which rules can fire in a file, decided from its text alone.

Each rule needs some words (`Rule.requires`, a conjunction of alternatives); a file that
lacks them is never parsed, which is most files of a typical tree. Testing hundreds of
words one by one against every file costs more than parsing it, so `Prefilter` finds
them all in one pass of a single regular expression over a much shorter text:

1. The file is reduced to its distinct identifier-like tokens (runs of ``[a-z0-9_]``),
   joined by spaces, with a space at each end: usually a fifth of its size.
2. Every word made only of token characters occurs in the file exactly when it occurs in
   that string. Any other word (``verify(``, ``.now``, ``from time import``) is split into
   its runs; each run must occur in some token, anchored where the word has a separator
   next to it (``verify(`` needs a token that *ends* with ``verify``: the probe
   ``"verify "``). Those probes are looked up the same way, and only a word whose probes
   all occur is searched for in the whole text. This is exact: the probes are necessary
   for the word, and the final test is the word itself.
3. The words and probes are compiled into one trie-shaped pattern inside a lookahead, so
   `findall` reports, at every position of the token string, the longest word or probe
   that starts there; the shorter ones that start there are its prefixes, added from a
   table. A lookahead never consumes text, so overlapping occurrences are all seen.

The result is the same as `Rule.could_match` on every input (the tests compare them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptorails.audit._registry import Rule

__all__ = ["Prefilter", "prefilter_for"]

_WORD = re.compile(rb"[a-z0-9_]+")
# bytes.translate table: token characters stay, every other byte becomes a space. The
# text is lowered first, so A-Z never reaches it; non-ASCII bytes are separators, as
# they are for `_WORD`.
_SEPARATE = bytes(
    c if c == 0x5F or 0x30 <= c <= 0x39 or 0x61 <= c <= 0x7A else 0x20 for c in range(256)
)

# One requires= group: words found through the token string, and the other words with
# the probes that must all be present before the whole text is searched.
_Group = tuple[frozenset[bytes], tuple[tuple[bytes, frozenset[bytes]], ...]]


_Trie = dict[int, "_Trie"]
_END = -1  # the key that marks the end of a word in a trie node


def _trie_pattern(keys: Sequence[bytes]) -> bytes:
    """A regex matching any of `keys`, shaped as a trie (shared prefixes are factored
    out, so the engine tries few branches per position) and greedy, so that at each
    position it matches the longest key that starts there."""
    trie: _Trie = {}
    for key in keys:
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[_END] = {}

    def emit(node: _Trie) -> bytes:
        branches = [re.escape(bytes([b])) + emit(node[b]) for b in sorted(node) if b != _END]
        if not branches:
            return b""
        body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
        return b"(?:" + body + b")?" if _END in node else body

    return emit(trie)


def _probes(word: bytes) -> frozenset[bytes]:
    """What the token string must contain for `word` to occur: each token-character run
    of the word, with a space on each side where the word has a separator there."""
    out = set()
    for match in _WORD.finditer(word):
        start, end = match.span()
        before = b" " if start > 0 else b""
        after = b" " if end < len(word) else b""
        out.add(before + match[0] + after)
    return frozenset(out)


class Prefilter:
    """Which of `rules` can fire in a file, from its lower-cased text (see the module)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        words = {w for r in rules for group in r.requires for w in group}
        plain = {w for w in words if _WORD.fullmatch(w)}
        probes = {w: _probes(w) for w in words - plain}
        keys = sorted(plain.union(*probes.values()))
        self._pattern = re.compile(b"(?=(" + _trie_pattern(keys) + b"))") if keys else None
        # key -> the keys that are its prefixes (itself included): the keys that also
        # start where the pattern reported `key` as the longest.
        known = set(keys)
        self._prefixes = {
            k: frozenset(k[:i] for i in range(1, len(k) + 1) if k[:i] in known) for k in keys
        }
        self._rules: list[tuple[Rule, tuple[_Group, ...]]] = [
            (
                r,
                tuple(
                    (
                        frozenset(w for w in group if w in plain),
                        tuple((w, probes[w]) for w in group if w not in plain),
                    )
                    for group in r.requires
                ),
            )
            for r in rules
        ]

    def select(self, lowered: bytes) -> list[Rule]:
        """The rules whose every `requires` group has a word in `lowered`, in order."""
        tokens = b" " + b" ".join(set(lowered.translate(_SEPARATE).split())) + b" "
        present: set[bytes] = set()
        if self._pattern is not None:
            keys = set(self._pattern.findall(tokens))
            if keys:
                present = present.union(*map(self._prefixes.__getitem__, keys))
        searched: dict[bytes, bool] = {}
        out: list[Rule] = []
        for rule, cnf in self._rules:
            for plain, others in cnf:
                if not plain.isdisjoint(present):
                    continue
                for word, needs in others:
                    if needs <= present:
                        found = searched.get(word)
                        if found is None:
                            found = searched[word] = word in lowered
                        if found:
                            break
                else:
                    break  # no word of this group: the rule cannot fire
            else:
                out.append(rule)
        return out


# Keyed by the identity of the rule objects (two rules may share a code, as in tests
# that replace a rule's confirm), which the entry keeps alive so that no id is reused.
_PREFILTERS: dict[tuple[int, ...], tuple[tuple[Rule, ...], Prefilter]] = {}


def prefilter_for(rules: Sequence[Rule]) -> Prefilter:
    """The `Prefilter` of `rules`, built once per rule selection."""
    key = tuple(map(id, rules))
    found = _PREFILTERS.get(key)
    if found is None:
        if len(_PREFILTERS) >= 64:
            _PREFILTERS.clear()
        found = _PREFILTERS[key] = (tuple(rules), Prefilter(rules))
    return found[1]
