# expect: 4
"""Step-up authentication for the desktop admin console (one long-running process)."""

import time
from dataclasses import dataclass

SUDO_WINDOW_SECONDS = 5 * 60


@dataclass
class ConsoleSession:
    operator: str
    elevated_at: float | None = None

    def elevate(self, otp_ok: bool) -> None:
        if not otp_ok:
            raise PermissionError("second factor required")
        self.elevated_at = time.time()

    def is_elevated(self) -> bool:
        if self.elevated_at is None:
            return False
        return time.time() - self.elevated_at < SUDO_WINDOW_SECONDS

    def require_elevation(self) -> None:
        if not self.is_elevated():
            raise PermissionError("re-authenticate to continue")
