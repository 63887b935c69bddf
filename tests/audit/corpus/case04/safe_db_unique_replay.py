# expect: none
"""Webhook ids are recorded in the database; a unique constraint rejects replays."""

import time

from django.db import IntegrityError, transaction
from django.http import HttpResponse

from .models import ProcessedWebhook
from .signing import signature_valid

TOLERANCE = 300


def incoming_webhook(request):
    msg_id = request.headers.get("Webhook-Id", "")
    sent = int(request.headers.get("Webhook-Timestamp", "0"))
    if abs(time.time() - sent) > TOLERANCE:
        return HttpResponse(status=400)
    if not signature_valid(msg_id, sent, request.body, request.headers.get("Webhook-Signature")):
        return HttpResponse(status=400)
    try:
        with transaction.atomic():
            ProcessedWebhook.objects.create(msg_id=msg_id, received_at=sent)
    except IntegrityError:
        return HttpResponse(status=200)  # already processed: acknowledge, do nothing
    return HttpResponse(status=204)
