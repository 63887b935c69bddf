# expect: none
"""Payment notification endpoint: everything we act on is inside the signed body."""

import hashlib
import hmac
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt

from .models import Invoice


@csrf_exempt
def payment_notification(request):
    raw = request.body
    signature = request.headers.get("X-Pay-Signature", "")
    digest = hmac.new(settings.PAY_NOTIFY_SECRET, raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest, signature):
        return HttpResponseForbidden()
    notice = json.loads(raw)
    invoice = Invoice.objects.get(number=notice["invoice"])
    invoice.record_payment(amount_cents=int(notice["amount_cents"]))
    return HttpResponse(status=204)
