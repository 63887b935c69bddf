# expect: none
"""Internal gRPC-over-TLS listener that requires client certificates."""

import ssl


def server_context(cert: str, key: str, client_ca: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, key)
    context.load_verify_locations(cafile=client_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def peer_name(tls_socket: ssl.SSLSocket) -> str:
    cert = tls_socket.getpeercert()
    for field in cert.get("subject", ()):
        for name, value in field:
            if name == "commonName":
                return value
    raise PermissionError("client certificate has no common name")
