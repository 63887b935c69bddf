# expect: none
"""Monte Carlo estimate of checkout latency under load."""

import numpy as np


def simulate_latency(n_requests: int, seed: int = 7) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    network = rng.lognormal(mean=3.0, sigma=0.4, size=n_requests)
    database = rng.exponential(scale=12.0, size=n_requests)
    total = network + database
    return {
        "p50": float(np.percentile(total, 50)),
        "p99": float(np.percentile(total, 99)),
    }


def bootstrap_mean(samples: np.ndarray, rounds: int = 1000) -> tuple[float, float]:
    rng = np.random.default_rng()
    means = [rng.choice(samples, size=samples.size).mean() for _ in range(rounds)]
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def noisy_series(length: int) -> np.ndarray:
    return np.random.normal(0.0, 1.0, size=length).cumsum()
