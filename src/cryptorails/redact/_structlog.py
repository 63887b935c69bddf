"""structlog: a processor that masks secrets in the event dict.

No import of structlog here: a processor is any callable of
``(logger, method_name, event_dict)``, so this module works without the extra installed.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any

from cryptorails.redact._policy import REDACTION_FAILED, RedactionPolicy

__all__ = ["RedactProcessor"]

# structlog's own bookkeeping for the stdlib bridge (`ProcessorFormatter`): later
# processors need the LogRecord object itself, and the renderer drops these keys.
_META = frozenset({"_record", "_from_structlog"})

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class RedactProcessor:
    """A structlog processor that returns a redacted copy of the event dict.

    Place it after the processors that add or format data (``TimeStamper``,
    ``format_exc_info`` / ``dict_tracebacks``, ``StackInfoRenderer``) and right before
    the renderer::

        structlog.configure(processors=[
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            RedactProcessor(policy),
            structlog.processors.JSONRenderer(),
        ])

    The caller's event dict and everything nested in it are left untouched: the result
    is built from new dicts, lists and tuples (see `RedactionPolicy.redact`). If it
    still finds an ``exc_info`` (placed before the exception formatter), it formats the
    exception itself into ``exception``, redacted, so that a raw traceback never reaches
    the renderer.

    Args:
        policy: the `RedactionPolicy` to apply (a default policy if None).
    """

    __slots__ = ("_policy",)

    def __init__(self, policy: RedactionPolicy | None = None) -> None:
        if policy is not None and not isinstance(policy, RedactionPolicy):
            raise TypeError("policy must be a RedactionPolicy")
        self._policy = policy if policy is not None else RedactionPolicy()

    @property
    def policy(self) -> RedactionPolicy:
        """The policy this processor applies."""
        return self._policy

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> dict[str, Any]:
        """Return a redacted copy of `event_dict`; ``[REDACTION FAILED]`` if that fails."""
        meta = {k: event_dict[k] for k in _META if k in event_dict}
        try:
            rest = {k: v for k, v in event_dict.items() if k not in _META}
            if "exc_info" in rest:
                exc_info = _exc_info(rest.pop("exc_info"))
                if exc_info is not None and "exception" not in rest:
                    text = "".join(traceback.format_exception(*exc_info))
                    rest["exception"] = text.rstrip("\n")
            out = self._policy.redact(rest)
        except Exception:
            out = None
        if not isinstance(out, dict):  # a failure inside: show nothing of the event
            out = {"event": REDACTION_FAILED}
        out.update(meta)
        return out


def _exc_info(value: object) -> _ExcInfo | None:
    """The exception an ``exc_info`` value designates, as structlog understands it."""
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[1], BaseException)
        and isinstance(value[0], type)
        and (value[2] is None or isinstance(value[2], TracebackType))
    ):
        return (value[0], value[1], value[2])
    if value:
        current = sys.exc_info()
        if current[1] is not None:
            return (type(current[1]), current[1], current[2])
    return None
