"""Refusal of webhook targets on loopback, private and link-local networks.

A webhook URL is chosen by an admin but fetched by the server, so without this
check it could reach services that only the server can see, such as a cloud
metadata endpoint or a database admin page on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings

LOCAL_HOST_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def private_targets_allowed() -> bool:
    return bool(settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS)


def literal_host_problem(host: str) -> str | None:
    """Name why a host written in the URL is not a public target, without a DNS lookup."""
    host = host.strip("[]").lower()
    if host in LOCAL_HOST_NAMES or host.endswith(".localhost"):
        return f"{host} is this server itself"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def resolved_host_problem(host: str, port: int) -> str | None:
    """Name why a host's resolved addresses are not all public, or why it does not resolve."""
    problem = literal_host_problem(host)
    if problem:
        return problem
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except OSError as error:
        return f"{host} does not resolve ({error})"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return f"{host} resolves to {address}, which is not a public address"
    return None
