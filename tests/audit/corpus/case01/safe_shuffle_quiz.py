# expect: none
"""Quiz builder for the onboarding course."""

import random


class QuizBuilder:
    def __init__(self, questions: list[dict], seed: int | None = None) -> None:
        self._questions = questions
        self._rng = random.Random(seed)

    def build(self, count: int) -> list[dict]:
        chosen = self._rng.sample(self._questions, min(count, len(self._questions)))
        for question in chosen:
            answers = list(question["answers"])
            self._rng.shuffle(answers)
            question = {**question, "answers": answers}
        self._rng.shuffle(chosen)
        return chosen


def demo_quiz(questions: list[dict]) -> list[dict]:
    # A fixed seed keeps the demo identical between screenshots.
    return QuizBuilder(questions, seed=1234).build(5)
