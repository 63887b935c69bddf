"""The PKCS #11 plumbing shared by `Pkcs11Kek` and `Pkcs11TenantKeks` in one process.

It holds the lazy import of python-pkcs11, the process-wide lock and table of open
tokens, the one logged-in session per (module, token) with its reconnect and login
handling, and the fork hooks that keep a child off its parent's sessions.

Sessions: login state belongs to the application (the process), not to a session. A
second C_Login fails with CKR_USER_ALREADY_LOGGED_IN and a C_Logout on any session logs
them all out. So a process keeps one logged-in read/write session per (module, token),
shared by every KEK on that token and used under one lock.

Fork: a child must not use its parent's sessions and must call C_Initialize again
(v2.40 base specification, "Applications and processes"). The lock is taken around
fork, so no call is half-done in the copy; a child's first use re-initialises the
library, opens its own session and logs in again.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from cryptorails.context import validate_label
from cryptorails.errors import ConfigurationError
from cryptorails.secret import Secret

T = TypeVar("T")

_INSTALL = "install the PKCS#11 support: pip install 'cryptorails[hsm]'"


def _p11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise ConfigurationError(f"python-pkcs11 is not installed; {_INSTALL}") from None
    return pkcs11


@contextlib.contextmanager
def _refused(token_label: str, what: str) -> Iterator[None]:
    """Turn a PKCS #11 error into a `ConfigurationError` naming the token and the step."""
    try:
        yield
    except _p11().PKCS11Error as e:
        raise ConfigurationError(
            f"PKCS#11 token {token_label!r} refused to {what}: {type(e).__name__}"
        ) from None


class _State:
    """Everything PKCS #11 in this process: one lock, open tokens, initialised libraries."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tokens: dict[tuple[str, str], _Shared] = {}
        self.initialised: dict[str, int] = {}  # module path -> pid that initialised it


_state = _State()


def _after_fork_in_child() -> None:
    # The copied lock is held by the forking thread's copy; the child starts afresh.
    _state.lock = threading.RLock()


os.register_at_fork(
    before=lambda: _state.lock.acquire(),
    after_in_parent=lambda: _state.lock.release(),
    after_in_child=_after_fork_in_child,
)


def _attribute_mapper(p11: Any) -> Any:
    # python-pkcs11 has no handler for the array attribute CKA_ALLOWED_MECHANISMS.
    from pkcs11.attributes import AttributeMapper

    mapper = AttributeMapper()
    mapper.register_handler(
        p11.Attribute.ALLOWED_MECHANISMS,
        lambda mechs: b"".join(struct.pack("L", int(m)) for m in mechs),
        lambda raw: [m for (m,) in struct.iter_unpack("L", raw)],
    )
    return mapper


class _Shared:
    """The process's logged-in session on one token, shared and reference counted."""

    def __init__(self, module: str, shown: str, label: str, pin: Secret) -> None:
        self.module = module
        self.shown = shown  # the path as the caller gave it, for messages
        self.label = label
        self.pin = pin
        self.users = 0
        self.closed = False
        self.pid = -1
        self.generation = 0  # bumped on every new session: cached object handles expire
        self.serial = ""
        self.session: Any = None
        self._connect()

    def _connect(self) -> None:
        p11 = _p11()
        pid = os.getpid()
        try:
            lib = p11.lib(self.module)
            if _state.initialised.get(self.module, pid) != pid:
                # A forked child: drop the inherited state, then C_Initialize afresh.
                with contextlib.suppress(p11.PKCS11Error):  # it may have noticed the fork
                    lib.finalize()
                lib.initialize()
            _state.initialised[self.module] = pid
        except p11.PKCS11Error as e:
            raise ConfigurationError(f"cannot load PKCS#11 module {self.shown}: {e}") from None
        try:
            device = lib.get_token(token_label=self.label)
        except p11.NoSuchToken:
            raise ConfigurationError(
                f"no PKCS#11 token labelled {self.label!r} in module {self.shown}"
            ) from None
        except p11.MultipleTokensReturned:
            raise ConfigurationError(
                f"more than one PKCS#11 token is labelled {self.label!r} in module {self.shown}"
            ) from None
        except p11.PKCS11Error as e:
            raise ConfigurationError(f"cannot list the tokens of {self.shown}: {e!r}") from None
        self.serial = bytes(device.serial).decode("ascii", "replace").strip()
        self.session = _login(p11, device, self.label, self.pin)
        self.pid = pid
        self.generation += 1

    def run(self, op: Callable[[Any], T]) -> T:
        """Run `op(session)` under the process lock, reconnecting once if the session died."""
        p11 = _p11()
        with _state.lock:
            self.check_open()
            if self.pid != os.getpid():
                self._connect()
            try:
                return op(self.session)
            except (
                p11.SessionHandleInvalid,
                p11.SessionClosed,
                p11.UserNotLoggedIn,
                p11.DeviceRemoved,
                p11.TokenNotPresent,
            ):
                self._connect()  # e.g. the HSM restarted; its old sessions are gone
                return op(self.session)

    def check_open(self) -> None:
        if self.closed:
            raise ConfigurationError(f"the PKCS#11 KEK on token {self.label!r} was closed")

    def release(self) -> None:
        with _state.lock:
            self.users -= 1
            if self.users > 0 or self.closed:
                return
            self.closed = True
            if _state.tokens.get((self.module, self.label)) is self:
                del _state.tokens[(self.module, self.label)]
            if self.pid == os.getpid():
                try:
                    self.session.close()  # C_Logout, C_CloseSession
                except _p11().PKCS11Error:
                    pass  # already gone with the token; nothing left to release


def _login(p11: Any, device: Any, label: str, pin: Secret) -> Any:
    try:
        pin_text = pin.reveal().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError("a PKCS#11 PIN must be UTF-8 text") from None
    mapper = _attribute_mapper(p11)
    try:
        return device.open(rw=True, user_pin=pin_text, attribute_mapper=mapper)
    except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange):
        raise ConfigurationError(f"wrong PIN for PKCS#11 token {label!r}") from None
    except p11.PinLocked:
        raise ConfigurationError(f"the user PIN of PKCS#11 token {label!r} is locked") from None
    except p11.UserPinNotInitialized:
        raise ConfigurationError(f"PKCS#11 token {label!r} has no user PIN set") from None
    except p11.UserAlreadyLoggedIn:
        # Something else in this process logged in to the token already (login state is
        # per process): the session works, though this PIN was not checked.
        return device.open(rw=True, attribute_mapper=mapper)
    except p11.PKCS11Error as e:
        raise ConfigurationError(f"cannot log in to PKCS#11 token {label!r}: {e!r}") from None


def _acquire(module: str | os.PathLike[str], token_label: str, pin: Secret) -> _Shared:
    if not isinstance(pin, Secret):
        raise TypeError("pin must be a Secret")
    validate_label("token_label", token_label)
    path = os.path.realpath(os.fspath(module))  # one library object per file, however named
    if not os.path.isfile(path):
        raise ConfigurationError(f"PKCS#11 module {os.fspath(module)} does not exist")
    with _state.lock:
        shared = _state.tokens.get((path, token_label))
        if shared is not None and shared.pin != pin:
            raise ConfigurationError(
                f"wrong PIN for PKCS#11 token {token_label!r}: this process is logged in "
                "to it with another PIN"
            )
        if shared is None:
            shared = _Shared(path, os.fspath(module), token_label, pin)
            _state.tokens[(path, token_label)] = shared
        shared.users += 1
        return shared
