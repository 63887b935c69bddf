# expect: 5
"""Health and metrics endpoints for the load balancer and Prometheus."""

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    metrics_token: str


settings = Settings()
app = FastAPI()


def require_metrics_token(authorization: str = Header(default="")) -> None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or token != settings.metrics_token:
        raise HTTPException(status_code=401, detail="unauthorized")


@app.get("/metrics", dependencies=[Depends(require_metrics_token)])
def metrics() -> str:
    return "requests_total 1234\n"
