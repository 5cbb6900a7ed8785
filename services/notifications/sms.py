"""The SMS edge: one text out through an HTTP SMS gateway speaking Twilio's Programmable Messaging API.

    POST {PORTAL_SMS_URL}/2010-04-01/Accounts/{PORTAL_SMS_ACCOUNT}/Messages.json
    Authorization: Basic base64(account:token)
    Content-Type: application/x-www-form-urlencoded      To=+420601234567&From=<PORTAL_SMS_SENDER>&Body=…

201 with `{"sid": …, "status": "queued"}` means accepted. 429 and 5xx (or no answer) are worth another try later;
any other 4xx (`{"code": 21211, "message": "The 'To' number … is not a valid phone number."}`) will not get better
by trying again, so the delivery is given up at once. The same API is offered by other providers and by
self-hosted gateways, so the base URL is configurable.
"""

from __future__ import annotations

import httpx

from kit.config import Settings

TIMEOUT_SECONDS = 10.0


class SmsRefused(Exception):
    """The gateway refused the message for good (a bad number, a blocked recipient, bad credentials)."""


class SmsGateway:
    def __init__(self, settings: Settings) -> None:
        self.url = f"{settings.sms_url}/2010-04-01/Accounts/{settings.sms_account}/Messages.json"
        self.sender = settings.sms_sender
        self.client = httpx.AsyncClient(auth=(settings.sms_account, settings.sms_token), timeout=TIMEOUT_SECONDS)

    async def send(self, to: str, body: str) -> str:
        """Hands the text to the gateway; returns its message id. Raises SmsRefused for a permanent refusal and
        httpx.HTTPError when trying again later may help."""
        resp = await self.client.post(self.url, data={"To": to, "From": self.sender, "Body": body})
        if resp.status_code == 429 or resp.status_code >= 500:
            raise httpx.HTTPStatusError(f"SMS gateway answered {resp.status_code}", request=resp.request, response=resp)
        if resp.status_code >= 300:
            raise SmsRefused(_refusal(resp))
        return str(resp.json().get("sid", ""))

    async def close(self) -> None:
        await self.client.aclose()


def _refusal(resp: httpx.Response) -> str:
    try:
        problem = resp.json()
        return f"SMS gateway refused ({resp.status_code}, code {problem.get('code')}): {problem.get('message')}"
    except (ValueError, AttributeError):  # not Twilio's JSON problem
        return f"SMS gateway refused ({resp.status_code}): {resp.text[:200]}"
