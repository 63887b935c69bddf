# expect: none
"""Head-based sampling and survey selection."""

import random
from dataclasses import dataclass

TRACE_SAMPLE_RATE = 0.05
SURVEY_SIZE = 200


@dataclass
class Request:
    path: str
    debug: bool = False


def should_sample(request: Request) -> bool:
    if request.debug:
        return True
    return random.random() < TRACE_SAMPLE_RATE


def pick_survey_recipients(emails: list[str]) -> list[str]:
    if len(emails) <= SURVEY_SIZE:
        return list(emails)
    return random.sample(emails, SURVEY_SIZE)


def pick_variant(variants: list[str], weights: list[float]) -> str:
    return random.choices(variants, weights=weights, k=1)[0]
