"""Sending a webhook: where it may go, how it is signed, and one HTTP request.

Receivers are allowed only when every address their host resolves to is globally routable
(checked when a subscription is saved, for a literal address, and again at delivery, for
every address a name resolves to); the connection goes to the address that was checked,
never to a second resolution of the name. `WEBHOOKS_ALLOW_PRIVATE_ADDRESSES` lifts the
check (tests, an intranet).
"""

import hashlib
import hmac
import ipaddress
import socket
import ssl
from http import client as http_client
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import DomainError

SIGNATURE_HEADER = "X-Smarketing-Signature"
TIMESTAMP_HEADER = "X-Smarketing-Timestamp"
EVENT_HEADER = "X-Smarketing-Event"
TEST_EVENT = "webhook.test"
RESPONSE_EXCERPT = 500


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# IPv6 ranges that carry or reach another address than their own: 6to4 (an IPv4 address
# inside), NAT64 (an IPv4 address behind a translator), and the deprecated site-local.
_TUNNELS = tuple(
    ipaddress.ip_network(network) for network in ("2002::/16", "64:ff9b::/96", "64:ff9b:1::/48")
)


def address_refusal(address: str) -> str | None:
    """Why webhooks may not go to `address`, or None when it is globally routable.

    Allowed: unicast addresses `ipaddress` calls global. Refused: private, loopback,
    link-local, carrier-grade NAT (100.64.0.0/10), reserved, documentation, multicast,
    site-local IPv6, and IPv6 forms that embed another address (IPv4-mapped ones are
    judged by the IPv4 address inside; 6to4 and NAT64 are refused).
    """
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in network for network in _TUNNELS) or ip.is_site_local:
            return f"{address} is an address that tunnels to another one"
    if not ip.is_global or ip.is_multicast:
        return f"{address} is not a public address (private, loopback, shared or reserved)"
    return None


def webhook_url_check(url: str) -> None:
    """Refuse URLs that are not http(s) with a host, and literal private addresses (unless
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES). Names are resolved at delivery time."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError("Give an http:// or https:// address with a host name.", field="url")
    if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        return
    try:
        refusal = address_refusal(parts.hostname)
    except ValueError:
        refusal = None  # a name: checked when it is resolved
    if refusal or parts.hostname.lower() in ("localhost", "localhost.localdomain"):
        raise DomainError(
            f"Webhooks are not sent to private or loopback addresses ({parts.hostname}).",
            field="url",
        )


def resolve_public(host: str, port: int) -> str:
    """The address to connect to; refuses a host that resolves to a private address."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from exc
    addresses = [info[4][0] for info in infos]
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            refusal = address_refusal(address)
            if refusal:
                raise PermissionError(f"refused: {host} resolves to {refusal}")
    return addresses[0]


class _PinnedHTTPConnection(http_client.HTTPConnection):
    """Connects to the address that was checked, not to a second resolution of the name."""

    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http_client.HTTPSConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict) -> tuple[int, str]:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    address = resolve_public(parts.hostname, port)
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = connection_class(
        parts.hostname, port, address, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS
    )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(RESPONSE_EXCERPT * 4).decode("utf-8", "replace")
        return response.status, text[:RESPONSE_EXCERPT]
    finally:
        connection.close()
