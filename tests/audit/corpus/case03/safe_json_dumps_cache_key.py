# expect: none
"""Caches search results keyed by a digest of the normalised query."""

import hashlib
import json
import logging

log = logging.getLogger(__name__)


def cache_key(query: dict) -> str:
    normalised = json.dumps(query, sort_keys=True, separators=(",", ":"))
    return "search:" + hashlib.sha256(normalised.encode()).hexdigest()[:32]


def cached_search(cache, backend, query: dict) -> list[dict]:
    key = cache_key(query)
    hit = cache.get(key)
    if hit is not None:
        return json.loads(hit)
    results = backend.search(**query)
    cache.set(key, json.dumps(results), ex=300)
    log.debug("search cache miss %s: %s", key, json.dumps(query))
    return results
