# expect: none
"""Writes the effective configuration and the trained ranking model to disk."""

import json
import pickle
from pathlib import Path

MODEL_DIR = Path("models")


def dump_effective_config(config: dict, path: Path) -> None:
    with path.open("w") as fh:
        json.dump(config, fh, indent=2, sort_keys=True)


def save_model(model, version: str) -> Path:
    MODEL_DIR.mkdir(exist_ok=True)
    target = MODEL_DIR / f"ranker-{version}.pkl"
    with target.open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return target
