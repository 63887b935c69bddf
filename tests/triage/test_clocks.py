"""Clock skew from HTTP Date headers, against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cryptorails.triage._clocks import (
    DATE_LAG,
    check_clocks,
    estimate_offset,
    parse_http_date,
    probe_clock,
)

Serve = Callable[..., str]


@pytest.fixture
def clock_server() -> Iterator[Serve]:
    """Start HTTP servers whose Date header is shifted, missing or replaced."""
    servers: list[ThreadingHTTPServer] = []

    def serve(
        offset: float = 0.0,
        *,
        date: str | Callable[[], str] | None = None,
        send_date: bool = True,
        head: bool = True,
        tls: tuple[Path, Path] | None = None,
    ) -> str:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                if callable(date):
                    return date()
                return date if date is not None else formatdate(time.time() + offset, usegmt=True)

            def send_response(self, code: int, message: str | None = None) -> None:
                if send_date:
                    super().send_response(code, message)
                else:
                    self.send_response_only(code, message)
                    self.send_header("Server", "no-clock")

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        if head:
            Handler.do_HEAD = Handler.do_GET  # type: ignore[attr-defined]
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"{scheme}://127.0.0.1:{server.server_address[1]}/health"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# -- HTTP-date parsing (RFC 9110 §5.6.7) -------------------------------------------------

SUN = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example


def test_parse_http_date_accepts_the_three_rfc_forms() -> None:
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == (SUN, False)
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now=SUN) == (SUN, True)
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == (SUN, True)
    assert parse_http_date("Wed, 31 Dec 2016 23:59:60 GMT") is None  # 2016-12-31 was a Sat
    assert parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT") == (1483228800, False)


def test_two_digit_years_more_than_50_years_ahead_are_the_last_century() -> None:
    now = 1_790_000_000.0  # 2026
    assert parse_http_date("Tuesday, 01-Jan-80 00:00:00 GMT", now=now) == (315532800, True)
    assert parse_http_date("Wednesday, 01-Jan-70 00:00:00 GMT", now=now) == (3155760000, True)


@pytest.mark.parametrize(
    "text",
    [
        "Mon, 06 Nov 1994 08:49:37 GMT",  # wrong weekday
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Thu, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "1994-11-06T08:49:37Z",
        "garbage",
        "",
    ],
)
def test_parse_http_date_refuses_anything_else(text: str) -> None:
    assert parse_http_date(text) is None


# -- the estimator ---------------------------------------------------------------------


def test_one_reading_gives_the_window_centre_and_half_width() -> None:
    offset, uncertainty, gap = estimate_offset([(1000, 999.0, 0.2)])
    # Offset in (1000 - 999.2, 1001 - 999) = (0.8, 2.0).
    assert offset == pytest.approx(1.4)
    assert uncertainty == pytest.approx(0.6)
    assert gap == 0.0


def test_readings_at_other_fractions_of_a_second_narrow_the_window() -> None:
    readings = [(1000, 999.0, 0.01), (1000, 999.5, 0.01), (1001, 1000.25, 0.01)]
    # Windows (0.99, 2.0), (0.49, 1.5), (0.74, 1.75): intersection (0.99, 1.5).
    offset, uncertainty, gap = estimate_offset(readings)
    assert offset == pytest.approx(1.245)
    assert uncertainty == pytest.approx(0.255)
    assert gap == 0.0


def test_contradicting_readings_report_their_gap_and_the_hull() -> None:
    readings = [(1000, 1000.0, 0.1), (1010, 1000.5, 0.1)]
    # Windows (-0.1, 1.0) and (9.4, 10.5): they miss by 8.4 s.
    offset, uncertainty, gap = estimate_offset(readings)
    assert gap == pytest.approx(8.4)
    assert (offset, uncertainty) == (pytest.approx(5.2), pytest.approx(5.3))
    small = [(1000, 1000.0, 0.1), (1002, 1000.5, 0.1)]  # windows (-0.1, 1.0), (1.4, 2.5)
    offset, uncertainty, gap = estimate_offset(small)
    assert gap == pytest.approx(0.4)
    assert gap <= DATE_LAG
    assert (offset, uncertainty) == (pytest.approx(1.2), pytest.approx(0.2))


# -- real servers ----------------------------------------------------------------------


def test_shifted_servers_are_measured_within_their_uncertainty(clock_server: Serve) -> None:
    ahead, behind = clock_server(120.0), clock_server(-3.0)
    report = check_clocks([ahead, behind], max_skew=30, samples=2)
    fast, slow = report.servers
    for server, truth in ((fast, 120.0), (slow, -3.0)):
        assert server.error is None
        assert server.offset is not None
        assert server.uncertainty is not None
        assert server.round_trip is not None
        # The true offset lies in the estimate's interval, by construction.
        assert abs(server.offset - truth) <= server.uncertainty
        assert server.uncertainty <= 0.5 + server.round_trip / 2 + 1e-9
        assert (server.samples, server.method, server.notes) == (2, "HEAD", ())
        assert server.date is not None
        assert server.date.endswith(" GMT")
    assert fast.exceeds(30)
    assert not slow.exceeds(30)
    spread = report.spread
    assert spread is not None
    assert (spread[0], spread[1]) == (fast, slow)
    assert abs(spread[2] - 123.0) <= spread[3]
    assert report.problems == [
        f"{ahead}: {fast.offset:+.1f} s from this host, beyond the allowed 30 s even at the "
        f"edge of ±{fast.uncertainty:.1f} s",
        f"{ahead} is {spread[2]:.1f} s ± {spread[3]:.1f} s ahead of {slow.url}, beyond the "
        "allowed 30 s: a timestamp made on one can be refused by the other",
    ]
    assert not report.clean


def test_two_servers_each_within_the_leeway_but_too_far_apart_fail(
    clock_server: Serve,
) -> None:
    plus, minus = clock_server(25.0), clock_server(-25.0)
    report = check_clocks([plus, minus], max_skew=30, samples=1)
    assert all(not s.exceeds(30) for s in report.servers)
    assert len(report.problems) == 1
    assert f"{plus} is " in report.problems[0]
    assert f"ahead of {minus}" in report.problems[0]
    assert not report.clean


def test_within_the_leeway_is_clean(clock_server: Serve) -> None:
    report = check_clocks([clock_server(-3.0)], max_skew=30, samples=1)
    assert report.clean
    assert report.spread is None
    assert report.to_json()["servers"][0]["skewed"] is False


def test_head_refused_falls_back_to_get(clock_server: Serve) -> None:
    server = probe_clock(clock_server(5.0, head=False), samples=2, spacing=0.0)
    assert server.method == "GET"
    assert server.notes == ("HEAD refused (501); used GET",)
    assert server.offset is not None
    assert server.uncertainty is not None
    assert abs(server.offset - 5.0) <= server.uncertainty


def test_missing_garbage_and_obsolete_dates(clock_server: Serve) -> None:
    missing = probe_clock(clock_server(send_date=False), samples=3, spacing=0.0)
    assert (missing.error, missing.offset, missing.samples) == ("no Date header", None, 1)
    garbage = probe_clock(clock_server(date="yesterday-ish"), samples=3, spacing=0.0)
    assert garbage.error == "invalid Date header 'yesterday-ish'"
    assert garbage.date == "yesterday-ish"
    asctime = time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime())
    old = probe_clock(clock_server(date=asctime), samples=1)
    assert old.error is None
    assert old.notes == ("Date uses an obsolete format; RFC 9110 §5.6.7 asks for IMF-fixdate",)


def test_unreachable_server_and_the_report(clock_server: Serve) -> None:
    down, fine = closed_port(), clock_server(0.0)
    missing = clock_server(send_date=False)
    report = check_clocks([down, fine, missing], max_skew=30, samples=1, timeout=2)
    assert [s.error for s in report.servers] == [
        "unreachable: Connection refused",
        None,
        "no Date header",
    ]
    assert report.problems == [
        f"{down}: unreachable: Connection refused",
        f"{missing}: no Date header",
    ]
    data = report.to_json()
    assert data["clean"] is False
    assert data["spread"] is None


def test_contradicting_dates_are_a_finding(clock_server: Serve) -> None:
    # Two backends behind one URL, one an hour ahead: requests alternate between them.
    count = iter(range(1000))

    def alternating() -> str:
        return formatdate(time.time() + 3600 * (next(count) % 2), usegmt=True)

    server = probe_clock(clock_server(date=alternating), samples=2, spacing=0.0)
    assert server.error is not None
    assert server.error.startswith(
        "the Date headers of 2 samples contradict each other (their windows miss by "
    )
    assert server.error.endswith(" s): several backends with different clocks, or a clock step")
    assert server.offset is not None
    assert server.uncertainty is not None
    assert server.uncertainty > 1799  # the hull of both windows


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/", "'ftp://host/' is not an http:// or https:// URL with a host"),
        ("http:///path", "'http:///path' is not an http:// or https:// URL with a host"),
        ("http://host:99999/", "'http://host:99999/' is not a valid URL"),
        (
            "https://ops:hunter2@host/",
            "drop the user:password@ part of the URL: even a 401 response has a Date",
        ),
    ],
)
def test_bad_urls_are_value_errors(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$".replace("?", r"\?")):
        probe_clock(url)
    with pytest.raises(ValueError, match="samples must be at least 1"):
        probe_clock("http://127.0.0.1/", samples=0)


# -- https -----------------------------------------------------------------------------


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_is_verified_and_a_ca_file_makes_it_work(clock_server: Serve, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    url = clock_server(-40.0, tls=(cert, key))
    refused = probe_clock(url, samples=1, timeout=5)
    assert refused.error is not None
    assert refused.error.startswith("unreachable: TLS: ")
    assert "CERTIFICATE_VERIFY_FAILED" in refused.error
    trusted = probe_clock(url, samples=1, context=ssl.create_default_context(cafile=str(cert)))
    assert trusted.error is None
    assert trusted.offset is not None
    assert trusted.uncertainty is not None
    assert abs(trusted.offset + 40.0) <= trusted.uncertainty
