# expect: 6
"""SFTP uploader for the nightly partner exports."""

import logging
from dataclasses import dataclass

import paramiko

log = logging.getLogger(__name__)


@dataclass
class SftpCredentials:
    host: str
    username: str
    password: str
    port: int = 22


def upload(creds: SftpCredentials, local: str, remote: str) -> None:
    log.info("connecting with %r", creds)
    transport = paramiko.Transport((creds.host, creds.port))
    try:
        transport.connect(username=creds.username, password=creds.password)
        sftp = paramiko.SFTPClient.from_transport(transport)
        sftp.put(local, remote)
    finally:
        transport.close()
