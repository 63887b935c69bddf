"""Several processes share one file keystore: budgets hold and no update is lost."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections import Counter
from pathlib import Path

from cryptorails import Algorithm, Context, Keyring, LocalKek, Sealer

CTX = Context("tenant-a", "email")
BUDGET = 40
WORKERS = 4
SEALS = 75  # 300 seals in all: the keyset must rotate at least 7 times

# Each worker is a separate interpreter, as in a real fleet of service processes.
SEAL_WORKER = f"""
import base64, sys
from cryptorails import Algorithm, Context, Keyring, LocalKek, Sealer
kr = Keyring.open(sys.argv[1], kek=LocalKek.from_file(sys.argv[2]), environment="prod",
                  algorithm=Algorithm.AES_256_GCM, usage_budget={BUDGET}, lease_size=3,
                  refresh_interval=0)
sealer = Sealer(kr)
ctx = Context("tenant-a", "email")
for _ in range({SEALS}):
    print(base64.b64encode(sealer.seal(b"m", ctx)).decode())
"""

ROTATE_WORKER = """
import sys
from cryptorails import Context, Keyring, LocalKek
kr = Keyring.open(sys.argv[1], kek=LocalKek.from_file(sys.argv[2]), environment="prod")
for _ in range(10):
    print(kr.rotate(Context("tenant-a", "email")))
"""


def _run(script: str, store: Path, kek: Path) -> list[str]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(store), str(kek)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    lines = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        lines += out.split()
    return lines


def _keystore(tmp_path: Path) -> tuple[Path, Path, LocalKek]:
    kek_path = tmp_path / "kek"
    kek = LocalKek.generate(kek_path)
    store = tmp_path / "keystore"
    kr = Keyring.open(
        store,
        kek=kek,
        environment="prod",
        create=True,
        algorithm=Algorithm.AES_256_GCM,
        usage_budget=BUDGET,
    )
    kr.keyset(CTX)
    return store, kek_path, kek


def test_processes_never_exceed_the_gcm_budget(tmp_path: Path) -> None:
    store, kek_path, kek = _keystore(tmp_path)
    blobs = [base64.b64decode(line) for line in _run(SEAL_WORKER, store, kek_path)]
    assert len(blobs) == WORKERS * SEALS
    per_kid = Counter(int.from_bytes(b[2:6], "big") for b in blobs)
    assert max(per_kid.values()) <= BUDGET
    assert len(per_kid) >= -(-WORKERS * SEALS // BUDGET)

    kr = Keyring.open(store, kek=kek, environment="prod")
    keyset = kr.keyset(CTX)
    for kid, used in per_kid.items():
        key = keyset.get(kid)
        assert key is not None  # no rotation was lost
        assert used <= key.uses <= BUDGET  # leased slots cover every use
    sealer = Sealer(kr)
    assert all(sealer.open(b, CTX) == b"m" for b in blobs)
    assert len({b[6:18] for b in blobs}) == len(blobs)


def test_concurrent_rotations_are_all_kept(tmp_path: Path) -> None:
    store, kek_path, kek = _keystore(tmp_path)
    first = Keyring.open(store, kek=kek, environment="prod").keyset(CTX).primary.kid
    kids = [int(line) for line in _run(ROTATE_WORKER, store, kek_path)]
    keyset = Keyring.open(store, kek=kek, environment="prod").keyset(CTX)
    assert sorted(k.kid for k in keyset) == sorted([first, *kids])
    assert len(keyset) == 1 + WORKERS * 10
    assert keyset.revision == 1 + WORKERS * 10


def test_forked_children_do_not_reuse_the_parents_lease(tmp_path: Path) -> None:
    # The parent leases the whole budget in one block and seals once; children forked
    # afterwards must lease for themselves (and find nothing left), not spend the
    # parent's remaining slots again.
    import os

    from cryptorails import PolicyError

    kek = LocalKek.generate(tmp_path / "kek")
    kr = Keyring.open(
        tmp_path / "ks",
        kek=kek,
        environment="prod",
        create=True,
        algorithm=Algorithm.AES_256_GCM,
        usage_budget=50,
        lease_size=50,
        auto_rotate=False,
    )
    sealer = Sealer(kr)
    sealer.seal(b"m", CTX)
    counts = []
    for _ in range(3):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: seal until refused, report how many went out
            os.close(read)
            sealed = 0
            try:
                while sealed < 1000:
                    sealer.seal(b"m", CTX)
                    sealed += 1
            except PolicyError:
                pass
            os.write(write, str(sealed).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            counts.append(int(pipe.read()))
        os.waitpid(pid, 0)
    assert counts == [0, 0, 0]
    assert kr.refresh(CTX).primary.uses == 50  # type: ignore[union-attr]
