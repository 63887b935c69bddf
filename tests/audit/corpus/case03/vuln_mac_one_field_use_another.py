# expect: 3
"""Return URL from the hosted checkout page."""

import hashlib
import hmac
import os

from flask import Flask, abort, redirect, request

from .orders import Order

app = Flask(__name__)
CHECKOUT_KEY = os.environ["CHECKOUT_RETURN_KEY"].encode()


@app.get("/checkout/return")
def checkout_return():
    order_ref = request.args["order"]
    mac = hmac.new(CHECKOUT_KEY, order_ref.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, request.args.get("mac", "")):
        abort(400)
    order = Order.get(order_ref)
    order.mark_paid(amount=request.args["paid_amount"], currency=request.args["currency"])
    return redirect(f"/orders/{order_ref}/thanks")
