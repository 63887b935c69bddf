"""Creating RFC 9421 signatures (§3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptorails.clock import Clock, SystemClock, require_aware
from cryptorails.httpsig._components import ComponentError, signature_base
from cryptorails.httpsig._keys import SignatureKey
from cryptorails.httpsig._message import HttpMessage
from cryptorails.httpsig._sf import (
    BareItem,
    InnerList,
    Item,
    SFError,
    parse_item,
    serialize_dictionary,
)

__all__ = ["parse_component", "sign"]


def parse_component(text: str) -> Item:
    """A component identifier from its name (``"@method"``, ``"content-digest"``) or its
    serialized form with parameters (``'"@query-param";name="Pet"'``).

    Raises:
        ValueError: not a lowercase name or a well-formed identifier.
    """
    if not isinstance(text, str):
        raise TypeError("a component is a str")
    if text.startswith('"'):
        try:
            item = parse_item(text)
        except SFError:
            raise ValueError(f"not a component identifier: {text!r}") from None
        if not isinstance(item.value, str):
            raise ValueError(f"not a component identifier: {text!r}")
        return item
    if not text or text != text.lower():
        raise ValueError(f"component names are lowercase: {text!r}")
    return Item(text)


def _unix(name: str, value: datetime | int) -> int:
    if isinstance(value, datetime):
        return int(require_aware(name, value).timestamp())  # a naive one is a TypeError
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} is a datetime or Unix seconds, not {type(value).__name__}")
    return value


def sign(
    message: HttpMessage,
    key: SignatureKey,
    key_id: str,
    covered_components: Sequence[str],
    *,
    created: datetime | int | None = None,
    expires: datetime | int | None = None,
    nonce: str | None = None,
    tag: str | None = None,
    label: str = "sig1",
    include_created: bool = True,
    include_alg: bool = False,
    clock: Clock | None = None,
) -> dict[str, str]:
    """Sign `message` and return the ``Signature-Input`` and ``Signature`` fields to add
    (`HttpMessage.with_headers` adds them).

    Args:
        key: a private key or HMAC secret, with its algorithm.
        key_id: the ``keyid`` the verifier looks the key up by.
        covered_components: component names in order (see `parse_component`).
        created: the creation time; the clock's now when not given.
        include_created: False omits ``created`` altogether (not recommended).
        include_alg: add the ``alg`` parameter (the verifier's key decides anyway).

    Raises:
        TypeError: an argument of the wrong type, or a naive datetime.
        ValueError: a component the message lacks or this module does not support, a
            public key, or a parameter that cannot be serialized.
    """
    if not isinstance(message, HttpMessage):
        raise TypeError(f"message is an HttpMessage, not {type(message).__name__}")
    if not isinstance(key, SignatureKey):
        raise TypeError(f"key is a SignatureKey, not {type(key).__name__}")
    for name, value in (("key_id", key_id), ("nonce", nonce), ("tag", tag), ("label", label)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} is a str, not {type(value).__name__}")
    if isinstance(covered_components, str):
        raise TypeError("covered_components is a sequence of component names, not one str")
    if not key.can_sign:
        raise ValueError("signing needs a private key or an HMAC secret")
    items = tuple(parse_component(c) for c in covered_components)
    params: list[tuple[str, BareItem]] = []
    if include_created:
        now = created if created is not None else (clock or SystemClock()).now()
        params.append(("created", _unix("created", now)))
    if expires is not None:
        params.append(("expires", _unix("expires", expires)))
    params.append(("keyid", key_id))
    if nonce is not None:
        params.append(("nonce", nonce))
    if include_alg:
        params.append(("alg", key.algorithm.value))
    if tag is not None:
        params.append(("tag", tag))
    inner = InnerList(items, tuple(params))
    try:
        base = signature_base(message, inner)
        signature_input = serialize_dictionary([(label, inner)])
        signature = serialize_dictionary([(label, Item(key.sign(base)))])
    except ComponentError as e:
        raise ValueError(f"cannot sign: {e}") from None
    except SFError as e:
        raise ValueError(f"cannot serialize: {e}") from None
    return {"Signature-Input": signature_input, "Signature": signature}
