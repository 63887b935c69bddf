# expect: 3
"""Payment notification endpoint (Django)."""

import hashlib
import hmac

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt

from .models import Invoice


@csrf_exempt
def payment_notification(request):
    signature = request.headers.get("X-Pay-Signature", "")
    digest = hmac.new(settings.PAY_NOTIFY_SECRET, request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest, signature):
        return HttpResponseForbidden()
    # the amount and invoice come in the query string for historical reasons
    invoice = Invoice.objects.get(number=request.GET["invoice"])
    invoice.record_payment(amount_cents=int(request.GET["amount"]))
    return HttpResponse(status=204)
