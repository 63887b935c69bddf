# expect: 8
"""Encrypts national ID numbers of each customer's employees (payroll SaaS)."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

_cipher = Fernet(settings.PAYROLL_FIELD_KEY)


def save_employee_ssn(customer_id: int, employee_number: str, ssn: str) -> None:
    token = _cipher.encrypt(ssn.encode()).decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE employees SET ssn_enc = %s WHERE customer_id = %s AND number = %s",
            [token, customer_id, employee_number],
        )


def employee_ssn(customer_id: int, employee_number: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ssn_enc FROM employees WHERE customer_id = %s AND number = %s",
            [customer_id, employee_number],
        )
        (token,) = cursor.fetchone()
    return _cipher.decrypt(token.encode()).decode()
