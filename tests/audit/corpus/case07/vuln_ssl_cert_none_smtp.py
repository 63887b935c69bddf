# expect: 7
"""Sends transactional e-mail through the company relay."""

import smtplib
import ssl
from email.message import EmailMessage

RELAY_HOST = "smtp-relay.internal.example.test"


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def send(to: str, subject: str, body: str, sender: str = "noreply@example.test") -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    with smtplib.SMTP(RELAY_HOST, 587, timeout=20) as smtp:
        smtp.starttls(context=_tls_context())
        smtp.send_message(message)
