# expect: none
"""Load test scenario (locust)."""

import random

from locust import HttpUser, between, task

PRODUCT_IDS = list(range(1, 500))
SEARCH_TERMS = ["lamp", "chair", "desk", "rug", "mirror"]


class Shopper(HttpUser):
    wait_time = between(0.5, 3)

    @task(5)
    def browse(self) -> None:
        self.client.get(f"/products/{random.choice(PRODUCT_IDS)}", name="/products/[id]")

    @task(2)
    def search(self) -> None:
        term = random.choice(SEARCH_TERMS)
        self.client.get("/search", params={"q": term, "page": random.randint(1, 4)})

    @task(1)
    def add_to_cart(self) -> None:
        quantity = random.randint(1, 3)
        self.client.post("/cart", json={"product": random.choice(PRODUCT_IDS), "qty": quantity})
