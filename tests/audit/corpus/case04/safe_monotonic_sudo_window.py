# expect: none
"""Step-up authentication for the desktop admin console."""

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
        # monotonic: an NTP step or a manual clock change cannot extend the window
        self.elevated_at = time.monotonic()

    def is_elevated(self) -> bool:
        if self.elevated_at is None:
            return False
        return time.monotonic() - self.elevated_at < SUDO_WINDOW_SECONDS
