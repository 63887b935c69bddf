"""Replay one captured webhook against a second instance of the service, and watch it fail.

Starts two instances of `app.py` with uvicorn on loopback ports, both on one replay
store; sends a signed Standard Webhooks request to instance A (accepted), then sends the
byte-identical request to instance B. B answers 401: the timestamp is fresh and the
signature valid, but the shared store has already seen the ``webhook-id``. A per-process
replay cache would have let B accept it.

Usage::

    python replay_demo.py                                  # SQLite in a temporary folder
    python replay_demo.py --store-url redis://127.0.0.1:6379/0

Exit status 0 when A accepted and B refused, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import httpx

from cryptorails.webhooks import WebhookSigner

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start(port: int, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "app:create_app",
        "--app-dir",
        str(HERE),
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    # A fixed argument list (no shell), the current interpreter, loopback only.
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603


def wait_ready(proc: subprocess.Popen[bytes], base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the instance at {base} exited with status {proc.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the instance at {base} was not ready after {timeout:.0f}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def run(store_url: str, timeout: float) -> bool:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    env = {**os.environ, "WEBHOOK_SECRET": secret, "CRYPTORAILS_STORE_URL": store_url}
    print(f"store: {store_url}")
    procs: list[subprocess.Popen[bytes]] = []
    with (
        tempfile.TemporaryDirectory() as logs,
        Path(logs, "a.log").open("w+b") as log_a,
        Path(logs, "b.log").open("w+b") as log_b,
    ):
        log_files = [log_a, log_b]
        try:
            bases = []
            for log in log_files:
                port = free_port()
                procs.append(start(port, env, log))
                bases.append(f"http://{HOST}:{port}")
            for proc, base in zip(procs, bases, strict=True):
                wait_ready(proc, base, timeout)

            # One signed request, captured once and sent twice, byte for byte.
            msg_id = "msg_" + secrets.token_hex(8)
            body = b'{"type":"invoice.paid","data":{"id":"in_42","amount":1999}}'
            headers = WebhookSigner(secret).sign(msg_id, datetime.now(UTC), body)
            headers["content-type"] = "application/json"
            print(f"request: POST /webhooks webhook-id={msg_id} ({len(body)} bytes)")

            first = httpx.post(f"{bases[0]}/webhooks", content=body, headers=headers, timeout=10)
            print(f"instance A {bases[0]}: {first.status_code} {first.text}")
            second = httpx.post(f"{bases[1]}/webhooks", content=body, headers=headers, timeout=10)
            print(f"instance B {bases[1]}: {second.status_code} {second.text}")
        finally:
            for proc in procs:
                stop(proc)
        for name, log in zip("AB", log_files, strict=True):
            log.seek(0)
            for line in log.read().decode("utf-8", "replace").splitlines():
                print(f"instance {name} log: {line}")
    ok = first.status_code == 200 and second.status_code == 401
    if ok:
        print("outcome: replay rejected — instance B refused the request instance A accepted")
    else:
        print("outcome: UNEXPECTED — the replay was not refused as it should have been")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--store-url", help="shared replay store (default: SQLite in a temp dir)")
    parser.add_argument("--timeout", type=float, default=20.0, help="startup wait, seconds")
    args = parser.parse_args(argv)
    if args.store_url:
        return 0 if run(args.store_url, args.timeout) else 1
    with tempfile.TemporaryDirectory() as tmp:
        return 0 if run(f"sqlite://{Path(tmp) / 'replay.db'}", args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main())
