# expect: 7
"""TLS client context for the legacy card terminal gateway."""

import socket
import ssl

GATEWAY = ("terminals.gateway.example.test", 8443)


def gateway_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    # the gateway vendor still only speaks TLS 1.0
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def send_batch(batch: bytes) -> bytes:
    with socket.create_connection(GATEWAY, timeout=30) as raw:
        with gateway_context().wrap_socket(raw, server_hostname=GATEWAY[0]) as tls:
            tls.sendall(batch)
            return tls.recv(65536)
