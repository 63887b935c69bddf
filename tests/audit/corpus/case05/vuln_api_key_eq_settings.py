# expect: 5
"""Decorator protecting the internal reporting endpoints."""

from functools import wraps

from django.conf import settings
from django.http import JsonResponse


def internal_api_key_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        provided = request.headers.get("X-Internal-Key", "")
        if not provided or provided != settings.INTERNAL_REPORTING_KEY:
            return JsonResponse({"detail": "forbidden"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


@internal_api_key_required
def revenue_report(request):
    from .reports import revenue_by_month

    return JsonResponse({"months": revenue_by_month()})
