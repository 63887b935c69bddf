# expect: none
"""Static bearer token for the metrics scraper, compared in constant time."""

import os
import secrets

from fastapi import Depends, FastAPI, HTTPException, Request

app = FastAPI()
_SCRAPER_TOKEN = os.environ["SCRAPER_TOKEN"]


def scraper(request: Request) -> None:
    if "authorization" not in request.headers:
        raise HTTPException(status_code=401, detail="unauthorized")
    scheme, _, token = request.headers["authorization"].partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token, _SCRAPER_TOKEN):
        raise HTTPException(status_code=401, detail="unauthorized")


@app.get("/metrics", dependencies=[Depends(scraper)])
def metrics() -> dict:
    return {"queue_depth": 3}
