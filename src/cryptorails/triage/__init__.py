"""Diagnosis over captured inputs: tokens, blobs, requests, clocks, logs and nonces.

Operator tooling only: these functions may explain exactly why something failed, so they
are never called on the serving path.
"""

from cryptorails.triage._blob import BlobDiagnosis, BlobOwner, BlobVerdict, diagnose_blob
from cryptorails.triage._capture import load_request
from cryptorails.triage._clocks import ClockReport, ServerClock, check_clocks, probe_clock
from cryptorails.triage._logs import FailureEvent, LogsReport, parse_event, triage_logs
from cryptorails.triage._nonce_layout import Layout
from cryptorails.triage._nonces import NonceReport, NonceReuse, NonceScanner
from cryptorails.triage._request import triage_request
from cryptorails.triage._token import triage_token

__all__ = [
    "BlobDiagnosis",
    "BlobOwner",
    "BlobVerdict",
    "ClockReport",
    "FailureEvent",
    "Layout",
    "LogsReport",
    "NonceReport",
    "NonceReuse",
    "NonceScanner",
    "ServerClock",
    "check_clocks",
    "diagnose_blob",
    "load_request",
    "parse_event",
    "probe_clock",
    "triage_logs",
    "triage_request",
    "triage_token",
]
