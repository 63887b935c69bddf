# expect: 10
"""Datadog tracing configuration for the billing API."""

from ddtrace import config, patch

patch(flask=True, requests=True, psycopg=True)

config.flask["service_name"] = "billing-api"
config.trace_headers(["x-request-id", "authorization", "x-forwarded-for"])
config.flask.http.trace_query_string = False
