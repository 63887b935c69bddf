# expect: 5
"""Webhook receiver for the CRM integration."""

import hashlib
import hmac

from django.http import HttpResponse

from .models import Integration


def crm_webhook(request, integration_slug: str):
    integration = Integration.objects.filter(slug=integration_slug, active=True).first()
    if integration is None:
        return HttpResponse("no such integration", status=404)
    signature = request.headers.get("X-CRM-Signature")
    if signature is None:
        return HttpResponse("signature header missing", status=400)
    expected = hmac.new(integration.secret.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return HttpResponse("signature does not match", status=403)
    integration.enqueue(request.body)
    return HttpResponse(status=202)
