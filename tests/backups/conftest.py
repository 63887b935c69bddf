"""Real keystores, KEKs and ledgers for the backup tests (no fakes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptorails.backups import BackupSealer
from cryptorails.keys import Keyring, Ledger, LocalKek
from cryptorails.testing import FixedClock

from .helpers import CHUNK, TENANT


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    # Outside both keystores, as `Ledger.open` asks.
    return Ledger.open(f"sqlite://{tmp_path / 'ledger.db'}")


@pytest.fixture
def backup_kek(tmp_path: Path) -> LocalKek:
    return LocalKek.generate(tmp_path / "backup-kek")


@pytest.fixture
def backup_keyring(tmp_path: Path, backup_kek: LocalKek, ledger: Ledger) -> Keyring:
    return Keyring.open(
        tmp_path / "backup-keys", kek=backup_kek, environment="prod", create=True, ledger=ledger
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def sealer(backup_keyring: Keyring, ledger: Ledger, clock: FixedClock) -> BackupSealer:
    return BackupSealer(backup_keyring, tenant=TENANT, ledger=ledger, chunk_size=CHUNK, clock=clock)
