"""Find credentials and key material in artifacts: logs, HAR and OTLP exports, .env and
YAML files (including the base64 values of Kubernetes Secrets), binary dumps, gzip files.

`scan_paths` is the library entry point; ``cryptorails secrets PATH...`` the command.
"""

from cryptorails.secrets_scan._baseline import BASELINE_FORMAT, Baseline, BaselineError, fingerprint
from cryptorails.secrets_scan._engine import ScanConfig, mask, scan_file
from cryptorails.secrets_scan._model import Finding
from cryptorails.secrets_scan._report import render_json, render_sarif, render_text
from cryptorails.secrets_scan._scan import ScanReport, scan_paths

__all__ = [
    "BASELINE_FORMAT",
    "Baseline",
    "BaselineError",
    "Finding",
    "ScanConfig",
    "ScanReport",
    "fingerprint",
    "mask",
    "render_json",
    "render_sarif",
    "render_text",
    "scan_file",
    "scan_paths",
]
