# expect: 3
"""Chat-ops bot: slash commands arrive signed by the chat platform."""

import hashlib
import hmac
import json
import os

from aiohttp import web

SIGNING_SECRET = os.environ["CHATOPS_SIGNING_SECRET"].encode()


async def slash_command(request: web.Request) -> web.Response:
    command = await request.json()
    basestring = f"v0:{request.headers['X-Timestamp']}:{json.dumps(command)}"
    digest = "v0=" + hmac.new(SIGNING_SECRET, basestring.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest, request.headers.get("X-Signature", "")):
        raise web.HTTPUnauthorized()
    result = await request.app["runner"].run(command["text"], user=command["user"])
    return web.json_response({"text": result})


def make_app(runner) -> web.Application:
    app = web.Application()
    app["runner"] = runner
    app.router.add_post("/slash", slash_command)
    return app
