# expect: none
"""Logging configuration: request id, route and status only; no headers, no bodies."""

import logging.config

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.jsonlogger.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(route)s %(status)s",
        }
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": "INFO"},
    "loggers": {"uvicorn.access": {"level": "WARNING"}},
}


def configure() -> None:
    logging.config.dictConfig(LOGGING)
