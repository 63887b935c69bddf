"""CR0701-CR0703: TLS verification off, weak TLS versions and ciphers, and security
checks switched by plain configuration."""

from __future__ import annotations

import pytest

from cryptorails.audit import all_rules, check_source
from cryptorails.audit.rules._tls import is_false, is_true, keyword_polarity
from cryptorails.audit.rules.cr0702_weak_tls_protocol import weak_cipher_families

from .conftest import run


def where(source: str, code: str) -> list[tuple[int, int]]:
    return [(f.line, f.column) for f in run(source, code)]


# -- CR0701 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import requests as r\nr.get(u, verify=False)\n",
        "from requests import post\npost(u, verify=False)\n",
        "import httpx\nhttpx.AsyncClient(verify=False)\n",
        "import httpx\nhttpx.HTTPTransport(verify=False)\n",
        "import requests\ns = requests.Session()\ns.request('GET', u, verify=False)\n",
        "import boto3\nboto3.resource('s3', verify=False)\n",
        "import aiohttp\naiohttp.TCPConnector(verify_ssl=False)\n",
        "import aiohttp\nasync def f(s):\n    await s.get(u, ssl=False)\n",
        "import urllib3\nurllib3.PoolManager(cert_reqs='CERT_NONE')\n",
        "import ssl, urllib3\nurllib3.HTTPSConnectionPool(h, cert_reqs=ssl.CERT_NONE)\n",
        "import ssl\nssl.wrap_socket(sock, cert_reqs=ssl.CERT_NONE)\n",
        "import redis\nredis.Redis(ssl=True, ssl_cert_reqs=None)\n",
        "import pymongo\npymongo.MongoClient(u, tlsAllowInvalidCertificates=True)\n",
        "import httplib2\nhttplib2.Http(disable_ssl_certificate_validation=True)\n",
        "import ssl, ldap3\nldap3.Tls(validate=ssl.CERT_NONE)\n",
        "import ssl\nctx = ssl._create_stdlib_context()\n",
        "import os\nos.environ['CURL_CA_BUNDLE'] = ''\n",
        "import paramiko\nc = paramiko.SSHClient()\n"
        "c.set_missing_host_key_policy(paramiko.WarningPolicy)\n",
        "from kubernetes import client\ncfg = client.Configuration()\ncfg.verify_ssl = False\n",
    ],
)
def test_cr0701_reports_each_client_shape_once(source: str) -> None:
    found = run(source, "CR0701")
    assert len(found) == 1
    assert found[0].line == source.count("\n")


def test_cr0701_aliased_cert_none_and_one_finding_per_context() -> None:
    source = (
        "import ssl\n"
        "from ssl import CERT_NONE as OFF\n"
        "ctx = ssl.create_default_context()\n"
        "ctx.check_hostname = False\n"
        "ctx.verify_mode = OFF\n"
    )
    found = run(source, "CR0701")
    assert [(f.line, f.column) for f in found] == [(5, 1)]
    assert (
        found[0].message == ".verify_mode = ssl.CERT_NONE: the server's certificate is not verified"
    )


def test_cr0701_check_hostname_alone_is_reported() -> None:
    source = "import ssl\nctx = ssl.create_default_context()\nctx.check_hostname = False\n"
    assert where(source, "CR0701") == [(3, 1)]


def test_cr0701_follows_constants_through_helpers_and_defaults() -> None:
    source = (
        "import requests\n"
        "def insecure():\n"
        "    return False\n"
        "def get(url, verify=insecure()):\n"
        "    return requests.get(url, verify=verify)\n"
    )
    found = run(source, "CR0701")
    assert [(f.line, f.column) for f in found] == [(5, 37)]
    assert "(from line 3)" in found[0].message


def test_cr0701_helper_option_is_reported_only_when_a_caller_turns_it_off() -> None:
    helper = (
        "import ssl\n"
        "def make(verify=True):\n"
        "    ctx = ssl.create_default_context()\n"
        "    if not verify:\n"
        "        ctx.check_hostname = False\n"
        "        ctx.verify_mode = ssl.CERT_NONE\n"
        "    return ctx\n"
    )
    assert run(helper, "CR0701") == []
    assert where(helper + "make(verify=False)\n", "CR0701") == [(6, 9)]


def test_cr0701_local_helper_call_site_is_not_reported_twice() -> None:
    source = (
        "import requests\n"
        "def fetch(url, verify=True):\n"
        "    return requests.get(url, verify=verify)\n"
        "fetch('https://x', verify=False)\n"
    )
    assert where(source, "CR0701") == [(3, 37)]


@pytest.mark.parametrize(
    "source",
    [
        "import requests\nrequests.get(u, verify=True)\n",
        "import requests\nrequests.get(u, verify='/etc/ssl/ca.pem')\n",
        "import requests\nrequests.get(u, verify=certifi.where())\n",
        "import urllib3\nurllib3.disable_warnings()\n",
        "import jwt\njwt.decode(t, verify=False)\n",
        "import ssl\nctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
        "ctx.verify_mode = ssl.CERT_NONE\n",
        "import ssl\nctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)\n"
        "ctx.verify_mode = ssl.CERT_NONE\n",
        "import ssl\nserver_ctx = make()\nserver_ctx.verify_mode = ssl.CERT_NONE\n",
        "import ssl\nclass Shim:\n    def __init__(self):\n        self.check_hostname = False\n",
        "import ssl, uvicorn\nuvicorn.run(app, ssl_cert_reqs=ssl.CERT_NONE)\n",
        "import ssl\nctx.verify_mode = ssl.CERT_REQUIRED\n",
        "import requests\nrequests.get(u, verify=not args.insecure)\n",
        "import requests\ndef f(**kw):\n    return requests.get(u, **kw)\n",
        "verify = False\nprint(verify)\n",
    ],
)
def test_cr0701_safe_shapes(source: str) -> None:
    assert run(source, "CR0701") == []


def test_cr0701_leaves_config_switches_to_cr0703() -> None:
    source = (
        "import os, requests\n"
        "if os.getenv('DEV'):\n"
        "    r = requests.get(u, verify=False)\n"
        "v = False if os.environ.get('INSECURE') else True\n"
        "requests.get(u, verify=v)\n"
    )
    assert run(source, "CR0701") == []
    assert where(source, "CR0703") == [(3, 32), (5, 24)]


def test_cr0701_override_guarded_switch_is_not_reported() -> None:
    source = (
        "import requests\n"
        "def get(url, overrides):\n"
        "    if overrides.active('legacy-tls'):\n"
        "        return requests.get(url, verify=False)\n"
        "    return requests.get(url)\n"
    )
    assert run(source, "CR0701") == []
    assert run(source, "CR0703") == []


def test_cr0701_always_true_callback_defined_as_function() -> None:
    source = (
        "from OpenSSL import SSL\n"
        "def accept(conn, cert, errno, depth, ok):\n"
        "    return True\n"
        "ctx = SSL.Context(SSL.TLS_METHOD)\n"
        "ctx.set_verify(SSL.VERIFY_PEER, accept)\n"
    )
    assert where(source, "CR0701") == [(5, 33)]
    checking = source.replace("return True", "return ok")
    assert run(checking, "CR0701") == []


# -- CR0702 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "families"),
    [
        ("HIGH:!aNULL:!MD5", []),
        ("ECDH+AESGCM:DH+AESGCM:ECDH+AES256:!aNULL:!MD5:!DSS", []),
        ("DEFAULT", []),
        ("DEFAULT:@SECLEVEL=1", []),
        ("DEFAULT:@SECLEVEL=0", ["@SECLEVEL=0"]),
        ("RC4-SHA", ["RC4"]),
        ("DES-CBC3-SHA", ["3DES"]),
        ("EDH-RSA-DES-CBC-SHA", ["DES"]),
        ("EXP-RC4-MD5", ["EXPORT", "MD5", "RC4"]),
        ("NULL-SHA256", ["NULL"]),
        ("aNULL", ["aNULL"]),
        ("ALL:!aNULL:!eNULL:!EXPORT:!DES:!3DES:!RC4:!MD5:!RC2", []),
        ("ALL:!aNULL", ["3DES", "DES", "EXPORT", "MD5", "RC2", "RC4"]),
        ("HIGH:+RC4", ["RC4"]),
        ("", []),
    ],
)
def test_cipher_string_families(spec: str, families: list[str]) -> None:
    assert weak_cipher_families(spec) == families


@pytest.mark.parametrize(
    "source",
    [
        "import ssl\nctx = ssl.create_default_context()\n"
        "ctx.minimum_version = ssl.TLSVersion.TLSv1_2\n",
        "import ssl\nctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n",
        "import ssl\nctx = ssl.SSLContext(ssl.PROTOCOL_TLS)\n",
        "import ssl\nctx.options |= ssl.OP_NO_TLSv1_3\n",
        "import ssl\nctx.options |= ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1 | ssl.OP_NO_TLSv1_2\n",
        "import ssl\nok = ctx.maximum_version == ssl.TLSVersion.TLSv1\n",
        "import ssl\nNAMES = {ssl.PROTOCOL_TLSv1: 'TLSv1'}\n",
        "import ssl\nctx.set_ciphers('ECDHE+AESGCM:!aNULL')\n",
        "from OpenSSL import SSL\nc = SSL.Context(SSL.SSLv23_METHOD)\n"
        "c.set_min_proto_version(SSL.TLS1_2_VERSION)\n",
        "import decimal\ndecimal.Context(prec=28)\n",
    ],
)
def test_cr0702_safe_shapes(source: str) -> None:
    assert run(source, "CR0702") == []


def test_cr0702_follows_version_through_variable_and_alias() -> None:
    source = (
        "from ssl import SSLContext as Ctx, PROTOCOL_TLSv1_1 as P\n"
        "protocol = P\n"
        "ctx = Ctx(protocol)\n"
    )
    found = run(source, "CR0702")
    assert [(f.line, f.column) for f in found] == [(3, 11)]
    assert (
        found[0].message
        == "ssl.PROTOCOL_TLSv1_1 (TLS 1.1) is an obsolete protocol version (RFC 8996)"
    )


def test_cr0702_sslv23_without_restriction_is_reported() -> None:
    source = "from OpenSSL import SSL\nc = SSL.Context(SSL.SSLv23_METHOD)\n"
    assert where(source, "CR0702") == [(2, 17)]
    restricted = source + "c.set_options(SSL.OP_NO_SSLv2 | SSL.OP_NO_SSLv3)\n"
    assert run(restricted, "CR0702") == []


# -- CR0703 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import os, requests\n"
        "requests.get(u, verify=os.getenv('SSL_VERIFY', 'true').lower() == 'true')\n",
        "import requests\nfrom django.conf import settings\n"
        "requests.get(u, verify=settings.VERIFY_SSL)\n",
        "import requests\nrequests.get(u, verify=config['http']['verify'])\n",
        "import requests\nfrom decouple import config\n"
        "requests.get(u, verify=config('VERIFY', cast=bool))\n",
        "import ssl, os\nctx = ssl.create_default_context()\n"
        "ctx.check_hostname = os.environ['CHECK_HOST'] == '1'\n",
        "import requests\nclass C:\n    def go(self):\n"
        "        return requests.get(u, verify=self.config.verify_tls)\n",
        "import jwt\nfrom django.conf import settings\n"
        "jwt.decode(t, k, algorithms=['RS256'], options={'verify_exp': not settings.DEBUG})\n",
        "import jwt, os\njwt.decode(t, k, verify=os.getenv('JWT_VERIFY') == '1')\n",
    ],
)
def test_cr0703_reports_config_driven_switches(source: str) -> None:
    found = run(source, "CR0703")
    assert len(found) == 1
    assert found[0].line == source.count("\n")


def test_cr0703_bypass_in_verification_function() -> None:
    source = (
        "import os\n"
        "def verify_request(req):\n"
        "    if os.environ.get('SKIP_AUTH') == 'true':\n"
        "        return\n"
        "    check_signature(req)\n"
    )
    found = run(source, "CR0703")
    assert [(f.line, f.column) for f in found] == [(3, 8)]
    assert found[0].message == (
        "plain config (os.environ.get) decides whether verify_request() says yes without "
        "checking: no approval, no expiry"
    )


def test_cr0703_early_return_skipping_later_verification() -> None:
    source = (
        "from django.conf import settings\n"
        "def handle(request):\n"
        "    if settings.DEBUG:\n"
        "        return process(request)\n"
        "    verify_signature(request)\n"
        "    return process(request)\n"
    )
    assert where(source, "CR0703") == [(3, 8)]


@pytest.mark.parametrize(
    "source",
    [
        # A Django authentication backend returning None denies.
        "from django.conf import settings\ndef authenticate(request, token=None):\n"
        "    if not settings.DEBUG:\n        return None\n    return lookup(token)\n",
        # Choosing between two verifications is not skipping one.
        "from django.conf import settings\ndef check(req):\n    if settings.USE_HTTPSIG:\n"
        "        verify_httpsig(req)\n    else:\n        verify_hmac(req)\n",
        # Verifying a value that happens to come from the environment.
        "import os\ntoken = os.environ.get('TOKEN')\nif token is not None:\n"
        "    validate_token(token)\n",
        # A setting that is not named as a switch (storage location of a CSRF secret).
        "from django.conf import settings\ndef get_secret(req):\n"
        "    if settings.CSRF_USE_SESSIONS:\n"
        "        return req.session.get('k')\n    check_token_format(req.COOKIES['c'])\n",
        "import requests\nfrom django.conf import settings\n"
        "requests.get(u, verify=settings.CA_BUNDLE_PATH)\n",
        "import requests\nrequests.get(u, verify=proxy_config.verify)\n",
        "import requests\ndef get(u, verify=True):\n    return requests.get(u, verify=verify)\n",
        "import requests\nrequests.get(u, timeout=settings.TIMEOUT)\n",
        "import requests\nrequests.get(u, verify=not overrides.active('tls'))\n",
        "import requests, cryptorails\nv = cryptorails.overrides.Overrides.load(t)\n"
        "requests.get(u, verify=os.getenv('V') and v)\n",
    ],
)
def test_cr0703_safe_shapes(source: str) -> None:
    assert run(source, "CR0703") == []


def test_cr0703_and_cr0701_never_report_the_same_switch() -> None:
    source = (
        "import os, ssl, requests\n"
        "def ctx():\n"
        "    c = ssl.create_default_context()\n"
        "    if os.getenv('LEGACY_TLS'):\n"
        "        c.check_hostname = False\n"
        "        c.verify_mode = ssl.CERT_NONE\n"
        "    return c\n"
        "requests.get(u, verify=False)\n"
    )
    assert where(source, "CR0701") == [(8, 24)]
    assert where(source, "CR0703") == [(5, 9), (6, 9)]


def test_odd_code_does_not_crash() -> None:
    source = (
        "import requests, ssl, os\n"
        "requests.get(*a, **k)\n"
        "ctx.verify_mode = ctx.verify_mode = (lambda: ssl.CERT_NONE)()\n"
        "x.options |= ~0\n"
        "ssl.SSLContext(*PROTOCOL_LIST)\n"
        "ctx.set_ciphers(cipher_list)\n"
        "requests.get(u, verify=(yield))\n"
        "os.environ[k] = '0'\n"
        "if os.getenv():\n    pass\n"
    )
    rules = all_rules()
    for code in ("CR0701", "CR0702", "CR0703"):
        result = check_source(f"def g():\n{_indent(source)}".encode(), "odd.py", [rules[code]])
        assert result.parsed
        assert result.warnings == []
        assert result.findings == []


def _indent(source: str) -> str:
    return "".join(f"    {line}\n" for line in source.splitlines())


def test_dict_switches_need_an_http_client_for_a_bare_verify_key() -> None:
    plain = "OPTIONS = {'verify': False, 'strict': True}\n"
    assert run(plain, "CR0701") == []
    with_client = "import httpx\n" + plain
    assert where(with_client, "CR0701") == [(2, 22)]
    sslopt = "import ssl\nws = connect(u, sslopt={'cert_reqs': ssl.CERT_NONE})\n"
    assert where(sslopt, "CR0701") == [(2, 38)]


def test_cr0703_decorator_and_middleware_pass_through() -> None:
    decorator = (
        "from django.conf import settings\n"
        "def login_required(view):\n"
        "    def wrapper(request):\n"
        "        if settings.DEBUG:\n"
        "            return view(request)\n"
        "        if not request.user.is_authenticated:\n"
        "            raise PermissionError\n"
        "        return view(request)\n"
        "    return wrapper\n"
    )
    assert where(decorator, "CR0703") == [(4, 12)]
    not_security = decorator.replace("login_required", "cache_page")
    assert run(not_security, "CR0703") == []


@pytest.mark.parametrize(
    ("keyword", "off_when"),
    [
        ("verify_ssl", False),
        ("ssl_verify_cert", False),
        ("validate_certs", False),
        ("check_hostname", False),
        ("connection_verify", False),
        ("verify_peer", False),
        ("skip_tls_verify", True),
        ("disable_ssl_verification", True),
        ("tlsAllowInvalidCertificates", True),
        ("verify", None),
        ("verify_signature", None),
        ("verify_exp", None),
        ("check", None),
        ("needs_verification", None),
        ("email_verified", None),
        ("validate", None),
    ],
)
def test_keyword_polarity(keyword: str, off_when: bool | None) -> None:
    polarity = keyword_polarity(keyword)
    if off_when is None:
        assert polarity is None
    else:
        assert polarity is (is_true if off_when else is_false)


def test_cr0701_method_option_reported_once_and_library_calls_are_not_helpers() -> None:
    source = (
        "import requests\n"
        "def get(url, verify=True):\n"
        "    return requests.get(url, verify=verify)\n"
        "def other(url):\n"
        "    s = requests.Session()\n"
        "    return s.get(url, verify=False)\n"
        "class Api:\n"
        "    def fetch(self, url, verify=True):\n"
        "        return requests.get(url, verify=verify)\n"
        "Api().fetch('https://x', verify=False)\n"
    )
    assert where(source, "CR0701") == [(6, 30), (9, 41)]
