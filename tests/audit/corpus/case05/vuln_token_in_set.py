# expect: 5
"""Static bearer tokens for the metrics scrapers."""

import os

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

app = FastAPI()
bearer = HTTPBearer()
SCRAPER_TOKENS = {t for t in os.environ.get("SCRAPER_TOKENS", "").split(",") if t}


def scraper(creds: HTTPAuthorizationCredentials = Depends(bearer)) -> None:
    if creds.credentials not in SCRAPER_TOKENS:
        raise HTTPException(status_code=401, detail="unauthorized")


@app.get("/metrics", dependencies=[Depends(scraper)])
def metrics() -> dict:
    return {"queue_depth": 3, "workers": 8}
