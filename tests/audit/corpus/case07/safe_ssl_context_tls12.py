# expect: none
"""TLS client context for the card terminal gateway (mutual TLS)."""

import socket
import ssl

GATEWAY = ("terminals.gateway.example.test", 8443)


def gateway_context(ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(cert_file, key_file)
    return context


def send_batch(context: ssl.SSLContext, batch: bytes) -> bytes:
    with socket.create_connection(GATEWAY, timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname=GATEWAY[0]) as tls:
            tls.sendall(batch)
            return tls.recv(65536)
