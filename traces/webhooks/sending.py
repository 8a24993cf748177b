"""Sending one webhook delivery: safe address, signature, timeouts, no redirects.

The signature header is ``X-DecisionTrace-Signature: t=<unix>,v1=<hex>``
where ``<hex>`` is HMAC-SHA256 with the endpoint's secret of
``"<unix>.<body>"`` (``decision_trace.webhooks.verify_signature`` checks it).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone

from traces.webhooks.models import RESPONSE_EXCERPT_LENGTH, DeliveryStatus, WebhookDelivery

__all__ = [
    "RETRY_FOR",
    "SIGNATURE_HEADER",
    "UnsafeUrlError",
    "delivery_attempt",
    "sign",
    "url_check",
]

SIGNATURE_HEADER = "X-DecisionTrace-Signature"
RETRY_FOR = timedelta(hours=24)
_FIRST_RETRY = timedelta(seconds=30)
_LONGEST_WAIT = timedelta(hours=4)
_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class UnsafeUrlError(ValueError):
    """The URL is not http(s), or names (or resolves to) an address that is not allowed."""


def sign(*, secret: str, body: str, timestamp: int) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _allow_private() -> bool:
    return bool(getattr(settings, "TRACES_WEBHOOKS_ALLOW_PRIVATE", False))


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_check(url: str, *, resolve: bool) -> None:
    """Refuse a URL that is not http(s) or points at a private, loopback or link-local address.

    With ``resolve`` the host name is looked up and every address it has is
    checked (at send time). ``TRACES_WEBHOOKS_ALLOW_PRIVATE = True`` allows
    them all (for tests and internal receivers).

    Raises:
        UnsafeUrlError: what is wrong, in words.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrlError("Webhook URLs must be http:// or https:// with a host name.")
    if parts.username or parts.password:
        raise UnsafeUrlError("Webhook URLs must not carry a user name or password.")
    if _allow_private():
        return
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise UnsafeUrlError(
                f"{host} is a local name; webhooks go to public addresses."
            ) from None
        if not resolve:
            return
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrlError(f"{host} does not resolve: {exc}.") from None
        addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if not _address_allowed(address):
            raise UnsafeUrlError(
                f"{host} is (or resolves to) {address}, a private, loopback or link-local "
                "address; set TRACES_WEBHOOKS_ALLOW_PRIVATE to allow it."
            )


def _next_wait(attempts: int) -> timedelta:
    wait: timedelta = _FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 20))
    return min(wait, _LONGEST_WAIT)


@dataclass(frozen=True)
class AttemptResult:
    delivered: bool
    retry_at: datetime | None


def _excerpt(response: httpx.Response) -> str:
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= RESPONSE_EXCERPT_LENGTH:
            break
    return data[:RESPONSE_EXCERPT_LENGTH].decode("utf-8", "replace").replace("\x00", "")


def delivery_attempt(delivery: WebhookDelivery, *, now: datetime | None = None) -> AttemptResult:
    """Post ``delivery`` once and record the answer; schedule the next try or give up.

    Returns whether it was delivered and, if not and time is left, when to try again.
    """
    now = now or timezone.now()
    endpoint = delivery.endpoint
    status_code: int | None = None
    try:
        url_check(endpoint.url, resolve=True)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "DecisionTrace-Webhooks/1",
            SIGNATURE_HEADER: sign(secret=endpoint.secret, body=delivery.body, timestamp=timestamp),
        }
        with (
            httpx.Client(timeout=_TIMEOUT, follow_redirects=False) as client,
            client.stream(
                "POST", endpoint.url, content=delivery.body.encode(), headers=headers
            ) as response,
        ):
            status_code = response.status_code
            excerpt = _excerpt(response)
        delivered = 200 <= status_code < 300
    except UnsafeUrlError as exc:
        excerpt, delivered = str(exc), False
    except httpx.HTTPError as exc:
        excerpt, delivered = f"{type(exc).__name__}: {exc}"[:RESPONSE_EXCERPT_LENGTH], False
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.response_excerpt = excerpt
    retry_at = None
    if delivered:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    else:
        candidate = now + _next_wait(delivery.attempts)
        if candidate - delivery.created_at > RETRY_FOR:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = retry_at = candidate
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "response_excerpt",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return AttemptResult(delivered=delivered, retry_at=retry_at)
