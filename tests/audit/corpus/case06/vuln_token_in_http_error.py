# expect: 6
"""Invitation acceptance endpoint."""

from fastapi import FastAPI, HTTPException

from .invites import InviteStore

app = FastAPI()
invites = InviteStore()


@app.post("/invites/{invite_token}/accept")
def accept_invite(invite_token: str) -> dict:
    invite = invites.lookup(invite_token)
    if invite is None:
        raise HTTPException(status_code=404, detail=f"invite token {invite_token} not found")
    if invite.accepted:
        raise HTTPException(status_code=404, detail=f"invite token {invite_token} not found")
    invites.mark_accepted(invite)
    return {"team": invite.team_name}
