"""Standard-library logging: a filter that redacts records before any handler formats them."""

from __future__ import annotations

import logging
import weakref
from typing import Any

from cryptorails.errors import ConfigurationError
from cryptorails.redact._policy import REDACTION_FAILED, RedactionPolicy

__all__ = ["RedactingFilter", "install"]

# Attributes every LogRecord has; anything else on a record came from `extra=` (or from
# another filter) and is redacted under its attribute name.
_STANDARD = frozenset(
    {
        *logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__,
        "message",
        "asctime",
        "taskName",
    }
)
_EXCEPTIONS = logging.Formatter()


class RedactingFilter(logging.Filter):
    """A `logging.Filter` that masks secrets in a record, in place, and always keeps it.

    What it rewrites:

    * the message: with arguments, the filter renders ``msg % args`` itself (arguments
      redacted first, so mapping arguments get the name rule), redacts the whole text,
      stores it in ``record.msg`` and empties ``record.args``. Rendering first catches
      secrets that straddle the template and an argument (``"Bearer %s"``) and those in
      an argument's own ``__str__``. A message whose arguments do not fit the template
      keeps its redacted template and a note instead of the stdlib's error report,
      which would print the raw arguments;
    * `extra` fields: every attribute that is not a standard LogRecord attribute is
      redacted under its name. Objects other than str, bytes, numbers and containers are
      left as they are (handlers may need them, as Django's handlers need
      ``record.request``);
    * the exception: ``exc_info`` is formatted once (standard format), the text is
      redacted and cached in ``record.exc_text``, and ``exc_info`` is set to None so that
      no handler formats the raw exception again; ``stack_info`` is redacted too.

    The filter never drops a record and never raises: if redaction fails, the message
    becomes ``[REDACTION FAILED]`` and the arguments, extras and exception are removed,
    rather than letting the raw record through. A record is redacted once even when it
    passes several handlers that share this filter.

    Args:
        policy: the `RedactionPolicy` to apply (a default policy if None).
    """

    def __init__(self, policy: RedactionPolicy | None = None) -> None:
        super().__init__()
        if policy is not None and not isinstance(policy, RedactionPolicy):
            raise TypeError("policy must be a RedactionPolicy")
        self.policy = policy if policy is not None else RedactionPolicy()
        self._done: weakref.WeakSet[logging.LogRecord] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact `record` in place. Returns True: records are never dropped."""
        try:
            if record in self._done:
                return True
            self._redact(record)
            self._done.add(record)
        except Exception:
            _fail(record)
        return True

    def _redact(self, record: logging.LogRecord) -> None:
        policy = self.policy
        record.msg = self._message(record)
        record.args = ()
        for name in [k for k in vars(record) if k not in _STANDARD]:
            setattr(record, name, policy._redact_keep_objects(getattr(record, name), name))
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXCEPTIONS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = policy.redact_text(record.exc_text)
        # The text is cached (and redacted); without exc_info no formatter renders the
        # raw exception again.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = policy.redact_text(record.stack_info)

    def _message(self, record: logging.LogRecord) -> str:
        policy = self.policy
        msg, args = record.msg, record.args
        if isinstance(msg, str) and not args:
            return policy.redact_text(msg)
        # Strings are scanned once, in the rendered text; here only the name rule, marked
        # types and bytes apply.
        if not isinstance(msg, str):
            msg = policy._redact_keep_objects(msg, scan_text=False)
        template = str(msg)
        if not args:
            return policy.redact_text(template)
        safe_args: Any = policy._redact_keep_objects(args, scan_text=False)  # tuple or mapping
        try:
            text = template % safe_args
        except Exception:  # what LogRecord.getMessage would raise; the args stay out
            return policy.redact_text(template) + " [arguments do not match the message]"
        return policy.redact_text(text)


def _fail(record: logging.LogRecord) -> None:
    """Replace everything that might hold the raw secret. Must not raise."""
    try:
        record.msg = REDACTION_FAILED
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        for name in [k for k in vars(record) if k not in _STANDARD]:
            delattr(record, name)
    except Exception:  # noqa: S110 -- nothing safer is left to do, and logging must go on
        pass


def install(
    policy: RedactionPolicy | None = None, logger: logging.Logger | str | None = None
) -> RedactingFilter:
    """Attach one `RedactingFilter` to every handler of `logger` (the root logger by default).

    The filter goes on handlers, not on the logger: a logger's filters see only records
    logged through that very logger, not those that propagate up from its children
    (``logging.getLogger("app.db")`` records reach the root's handlers without passing
    the root logger's filters). Handlers see every record they emit.

    Installing again is idempotent: a handler never gets a second `RedactingFilter`. With
    no `policy` (or the same policy) the existing filter is kept and returned; with
    another policy, the new filter replaces the old one on every handler. Handlers added
    to the logger later are not covered; call `install` again after adding them.

    Raises:
        ConfigurationError: the logger has no handlers (records would go to
            `logging.lastResort`, which has no filters), so configure logging first.
        TypeError: `policy` is not a RedactionPolicy.
    """
    if logger is None or isinstance(logger, str):
        target = logging.getLogger(logger)
    elif isinstance(logger, logging.Logger):
        target = logger
    else:
        raise TypeError("logger must be a logging.Logger, a logger name or None")
    handlers = list(target.handlers)
    if not handlers:
        raise ConfigurationError(
            f"logger {target.name!r} has no handlers; configure logging before install()"
        )
    existing = [f for h in handlers for f in h.filters if isinstance(f, RedactingFilter)]
    chosen = next((f for f in existing if policy is None or f.policy is policy), None)
    if chosen is None:
        chosen = RedactingFilter(policy)
    for handler in handlers:
        for f in list(handler.filters):
            if isinstance(f, RedactingFilter) and f is not chosen:
                handler.removeFilter(f)
        handler.addFilter(chosen)  # a no-op when already there
    return chosen
