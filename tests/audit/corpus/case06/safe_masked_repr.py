# expect: none
"""SFTP uploader: the credentials object never prints its password."""

import logging
from dataclasses import dataclass, field

import paramiko

log = logging.getLogger(__name__)


@dataclass
class SftpCredentials:
    host: str
    username: str
    password: str = field(repr=False)
    port: int = 22


def upload(creds: SftpCredentials, local: str, remote: str) -> None:
    log.info("connecting with %r", creds)
    transport = paramiko.Transport((creds.host, creds.port))
    try:
        transport.connect(username=creds.username, password=creds.password)
        paramiko.SFTPClient.from_transport(transport).put(local, remote)
    finally:
        transport.close()
