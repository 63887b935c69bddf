"""Backup rules (CR0901, CR0902): shapes the fixtures do not show, and the traps that
must stay quiet."""

from __future__ import annotations

import ast
from textwrap import dedent

import pytest

from cryptorails.audit import all_rules
from cryptorails.audit._context import FileContext
from cryptorails.audit.rules._backup import _commands, _text, is_key_path, path_text

from .conftest import run


def lines(source: str, code: str) -> list[int]:
    return [f.line for f in run(dedent(source), code)]


# -- paths as text ------------------------------------------------------------------------


def _text_of_last(source: str) -> str | None:
    tree = ast.parse(dedent(source))
    ctx = FileContext("p.py", dedent(source).encode(), tree)
    last = tree.body[-1]
    assert isinstance(last, ast.Expr)
    return path_text(ctx, last.value)


@pytest.mark.parametrize(
    ("source", "text"),
    [
        (
            'from pathlib import Path\nBASE = Path("/srv")\nBASE / "keys" / "a.pem"',
            "/srv/keys/a.pem",
        ),
        ('import os\nBASE = "/srv/"\nos.path.join(BASE, "keys")', "/srv/keys"),
        ('import os\nBASE = os.environ.get("HOME")\nf"{BASE}/.ssh"', "{os.environ.HOME}/.ssh"),
        (
            "from django.conf import settings\nsettings.BASE_DIR / '.env'",
            "{django.conf.settings.BASE_DIR}/.env",
        ),
        ('from pathlib import Path\nPath("/srv/data").parent', "/srv"),
        ('x = "a"\nx = "b"\nx', None),
    ],
)
def test_path_text(source: str, text: str | None) -> None:
    assert _text_of_last(source) == text


def test_path_text_gives_up_on_a_self_referencing_name() -> None:
    source = "p = '/srv'\nfor _ in range(3):\n    p = p + '/x'\np"
    assert _text_of_last(source) is None


@pytest.mark.parametrize(
    "text",
    [
        "/etc/app/server.key",
        "keys/master",
        "/run/secrets",
        "~/.ssh/id_rsa",
        ".env",
        "/etc/ssl/private/site.pem",
        "certs/client.p12",
        "/data/keystore/x",
        "*.pem",
        "/etc/letsencrypt",
        "config/secrets.yml",
        "kek.bin",
    ],
)
def test_key_paths(text: str) -> None:
    assert is_key_path(text)


@pytest.mark.parametrize(
    "text",
    [
        "/etc/app/server.crt",
        "/etc/ssl/certs/ca.pem",
        "fullchain.pem",
        ".env.example",
        "/srv/monkeys",
        "keys.py",
        "/srv/data",
        "",
        None,
        "/srv/private/uploads",
        "jwks.json",
    ],
)
def test_not_key_paths(text: str | None) -> None:
    assert not is_key_path(text)


# -- CR0901 plaintext-backup --------------------------------------------------------------

SHELL_STRING_GZIP = """
    import subprocess

    def backup(db):
        subprocess.run(f"pg_dumpall -U postgres | gzip > /backups/all-{db}.sql.gz", shell=True)
"""

FABRIC_REMOTE = """
    def backup(c):
        c.run("mysqldump --all-databases > /var/backups/all.sql")
"""

CAPTURED_THEN_WRITTEN = """
    import subprocess
    from pathlib import Path

    def backup(url, dest: Path):
        out = subprocess.check_output(["pg_dump", url])
        dest.write_bytes(out)
"""

ITERDUMP = """
    import sqlite3

    def export_sql(path):
        conn = sqlite3.connect("app.db")
        with open(path, "w") as fh:
            for line in conn.iterdump():
                fh.write(line + "\\n")
"""

EXEC_STYLE = """
    import asyncio

    async def backup():
        proc = await asyncio.create_subprocess_exec("mongodump", "--out", "/backups/mongo")
        await proc.wait()
"""

DJANGO_DUMPDATA = """
    from django.core.management import call_command

    def nightly_backup():
        with open("/backups/db.json", "w") as fh:
            call_command("dumpdata", "--natural-foreign", stdout=fh)
"""

REDIS_RDB_COPY = """
    import shutil

    def backup_redis():
        shutil.copy("/var/lib/redis/dump.rdb", "/mnt/backups/redis.rdb")
"""

MODULE_LEVEL_SCRIPT = """
    import os
    os.system("pg_dump -Fc appdb -f /backups/appdb.dump")
"""


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (SHELL_STRING_GZIP, 5),
        (FABRIC_REMOTE, 3),
        (CAPTURED_THEN_WRITTEN, 6),
        (ITERDUMP, 7),
        (EXEC_STYLE, 5),
        (MODULE_LEVEL_SCRIPT, 3),
        (DJANGO_DUMPDATA, 6),
        (REDIS_RDB_COPY, 5),
    ],
)
def test_cr0901_flags(source: str, line: int) -> None:
    assert lines(source, "CR0901") == [line]


CR0901_QUIET = [
    # Cloning a database through a pipe writes no file.
    """
    import subprocess

    def clone(src, dst):
        dump = subprocess.Popen(["mysqldump", src], stdout=subprocess.PIPE)
        subprocess.run(["mysql", dst], stdin=dump.stdout, check=True)
    """,
    # Encrypted with openssl in the same function.
    """
    import subprocess

    def backup(url):
        subprocess.run(["pg_dump", "-f", "/tmp/db.sql", url], check=True)
        subprocess.run(
            ["openssl", "enc", "-aes-256-cbc", "-pbkdf2", "-in", "/tmp/db.sql",
             "-out", "/backups/db.sql.enc", "-pass", "env:BACKUP_PASS"],
            check=True,
        )
    """,
    # Encrypted with python-gnupg.
    """
    import subprocess
    import gnupg

    def backup(url):
        subprocess.run(["pg_dump", "-f", "/tmp/db.sql", url], check=True)
        with open("/tmp/db.sql", "rb") as fh:
            gnupg.GPG().encrypt_file(fh, recipients=["ops"], output="/backups/db.sql.gpg")
    """,
    # Schema only: structure, no rows.
    """
    import subprocess

    def dump_schema():
        subprocess.run(["pg_dump", "--schema-only", "-f", "schema.sql", "app"], check=True)
    """,
    # Not a dump: a restore.
    """
    import subprocess

    def restore(path):
        subprocess.run(["pg_restore", "-d", "app", path], check=True)
    """,
    # A logger message that mentions pg_dump runs nothing.
    """
    import logging
    log = logging.getLogger(__name__)

    def explain():
        log.info("run pg_dump -f out.sql to back up")
    """,
    # An archive opened for reading.
    """
    import zipfile

    def restore_backup(path):
        with zipfile.ZipFile(path) as zf:
            zf.extractall("/var/lib/app")
    """,
    # In-memory sqlite copy for tests.
    """
    import sqlite3

    def snapshot_for_test(conn):
        target = sqlite3.connect(":memory:")
        conn.backup(target)
        return target
    """,
    # Uploading a file that is already encrypted.
    """
    import boto3
    s3 = boto3.client("s3")

    def ship():
        s3.upload_file("/backups/db.sql.age", "bucket", "db.sql.age")
    """,
]


@pytest.mark.parametrize("source", CR0901_QUIET)
def test_cr0901_quiet(source: str) -> None:
    assert lines(source, "CR0901") == []


def test_cr0901_docstring_saying_unencrypted_does_not_count_as_encryption() -> None:
    source = '''
    import subprocess

    def backup():
        """Take an unencrypted dump; encryption happens never."""
        subprocess.run(["pg_dump", "-f", "/backups/x.sql"])
    '''
    assert lines(source, "CR0901") == [6]


# -- CR0902 archive-includes-key-files ----------------------------------------------------

WALK_WHOLE_TREE = """
    import os
    import zipfile

    ROOT = "/opt/service"
    KEY_FILE = os.path.join(ROOT, "keys", "signing.pem")

    def backup(dest):
        with zipfile.ZipFile(dest, "w") as zf:
            for folder, _dirs, files in os.walk(ROOT):
                for name in files:
                    zf.write(os.path.join(folder, name))
"""

SETTING_PLACEHOLDERS = """
    import shutil
    from django.conf import settings

    KEYRING_DIR = settings.DATA_DIR / "keyring"

    def backup():
        shutil.make_archive("/backups/data", "gztar", root_dir=settings.DATA_DIR)
"""

WRITESTR_ENV = """
    import zipfile

    def bundle(dest, env_text):
        with zipfile.ZipFile(dest, "w") as zf:
            zf.writestr(".env", env_text)
"""


LIVE_KEY_VIA_DUMP = """
    import os
    import subprocess
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    KEY = bytes.fromhex(os.environ["DATA_KEY"])

    def store(record_id, data):
        nonce = os.urandom(12)
        return nonce + AESGCM(KEY).encrypt(nonce, data, record_id.encode())

    def nightly():
        out = subprocess.check_output(["pg_dump", "app"])
        nonce = os.urandom(12)
        with open("/backups/app.enc", "wb") as fh:
            fh.write(nonce + AESGCM(KEY).encrypt(nonce, out, b"backup"))
"""


@pytest.mark.parametrize(
    ("source", "line"),
    [(WALK_WHOLE_TREE, 12), (SETTING_PLACEHOLDERS, 8), (WRITESTR_ENV, 6), (LIVE_KEY_VIA_DUMP, 16)],
)
def test_cr0902_flags(source: str, line: int) -> None:
    assert lines(source, "CR0902") == [line]


def test_live_key_backup_is_encrypted_so_cr0901_stays_quiet() -> None:
    assert lines(LIVE_KEY_VIA_DUMP, "CR0901") == []
    (finding,) = run(dedent(LIVE_KEY_VIA_DUMP), "CR0902")
    assert "live data key that store() uses" in finding.message


def test_cr0902_message_names_the_key_directory() -> None:
    (finding,) = run(dedent(SETTING_PLACEHOLDERS), "CR0902")
    assert finding.message.startswith("archives {django.conf.settings.DATA_DIR}, which holds")
    assert "{django.conf.settings.DATA_DIR}/keyring" in finding.message


CR0902_QUIET = [
    # Keys live elsewhere than the archived directory.
    """
    import tarfile
    KEYS = "/etc/app/keys"

    def backup():
        with tarfile.open("/backups/data.tgz", "w:gz") as tar:
            tar.add("/var/lib/app")
    """,
    # A `.key`-looking name in a non-archive `.add` (a set).
    """
    seen = set()

    def remember():
        seen.add("server.key")
    """,
    # Reading an archive that holds keys is not writing one.
    """
    import tarfile

    def restore_keys(path):
        with tarfile.open(path) as tar:
            tar.extract("keys/master.key", "/var/lib/app")
    """,
    # Provisioning a key (not a backup) with copy.
    """
    import shutil

    def install(src_dir):
        shutil.copytree(src_dir + "/keys", "/etc/app/keys")
    """,
]


@pytest.mark.parametrize("source", CR0902_QUIET)
def test_cr0902_quiet(source: str) -> None:
    assert lines(source, "CR0902") == []


# -- prefilters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        'subprocess.run(["tar", "czf", "/backups/a.tgz", "/etc/app/keys"], check=True)',
        'os.system("tar czf /backups/a.tgz /etc/app/server.key")',
        'subprocess.run("/usr/bin/gtar -czf /backups/a.tgz /root/.ssh", shell=True)',
        'subprocess.run(["zip", "-r", "/backups/a.zip", "/etc/ssl/private"])',
        'subprocess.run(["7z", "a", "/backups/a.7z", "/srv/app/secrets"])',
        'subprocess.run(["rsync", "-a", "/etc/app/keys/", "backup:/srv/"])',
        'subprocess.run("tar\\tczf /backups/a.tgz /srv/kek.bin", shell=True)',
        # The archiver under a name whose value the engine cannot see.
        'tar = find_tool()\nsubprocess.run([tar, "czf", "/backups/a.tgz", "/etc/app/keys"])',
    ],
)
def test_cr0902_archiver_commands_pass_the_prefilter(command: str) -> None:
    source = "import os, subprocess\nfrom tools import find_tool\n" + command + "\n"
    assert len(lines(source, "CR0902")) == 1


def test_cr0902_prefilter_covers_every_key_path_word() -> None:
    key_words = [w.decode() for w in all_rules()["CR0902"].requires[-1]]
    names = [
        *_text._KEY_DIRS,
        *(f"a{ext}" for ext in _text._KEY_EXTS),
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        ".env",
        ".env.local",
        ".netrc",
        ".pgpass",
        ".htpasswd",
        "secring.gpg",
        "credentials.json",
        "service-account-1.json",
        "secrets.yaml",
        "kek",
        "master.key",
        "private-key.bin",
        "ssl/private",
    ]
    assert all(is_key_path(n) for n in names)
    assert [n for n in names if not any(w in n.lower() for w in key_words)] == []


def test_cr0901_prefilter_names_every_dump_tool() -> None:
    groups = [[w.decode() for w in g] for g in all_rules()["CR0901"].requires]
    tools = [*_commands._DUMP_TOOLS, "redis-cli --rdb", "sqlite3 app.db .backup"]
    assert [t for t in tools if not all(any(w in t for w in g) for g in groups)] == []


def test_cr0901_runner_held_in_a_self_attribute() -> None:
    # The cheap name tests must not skip `self.x(...)`: the engine resolves it to what x
    # was assigned (here subprocess.run), not to "x".
    source = """
    import subprocess

    class Backups:
        def __init__(self):
            self.sh = subprocess.run

        def nightly(self):
            self.sh(["pg_dump", "-f", "/backups/db.dump", "app"], check=True)
    """
    assert lines(source, "CR0901") == [9]
