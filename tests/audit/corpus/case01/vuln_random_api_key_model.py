# expect: 1
"""API keys for the developer portal."""

import random
import string

from django.db import models

KEY_ALPHABET = string.ascii_lowercase + string.digits


class ApiCredential(models.Model):
    label = models.CharField(max_length=80)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=128)
    created = models.DateTimeField(auto_now_add=True)

    @classmethod
    def issue(cls, label: str, hasher) -> tuple["ApiCredential", str]:
        secret = "".join(random.choices(KEY_ALPHABET, k=40))
        plain = f"pk_{secret}"
        cred = cls.objects.create(label=label, prefix=secret[:8], key_hash=hasher(plain))
        return cred, plain
