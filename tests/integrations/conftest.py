"""Fixtures of the integrations tests: API keys, a webhook receiver on 127.0.0.1, isolation."""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient

from integrations.services import api_key_create
from integrations.signing import SignatureVerificationError, verify_signature
from leadflow.celery import app as celery_app


@pytest.fixture(autouse=True)
def private_webhook_targets(settings):
    """Let webhooks reach the test receivers on 127.0.0.1; the refusal has tests of its own."""
    settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """Give each test its own in-memory cache, so throttle counters never leak between tests."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"integrations-test-{uuid.uuid4()}",
        }
    }


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hash test passwords with MD5: PBKDF2's deliberate slowness only makes the suite slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Run tasks in-process even when a broker is configured, except in worker tests."""
    if "celery_worker" in request.keywords:
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def make_api_key(db):
    """Create an API key through the service; returns (ApiKey, full key text)."""

    def make(user, scopes, **kwargs):
        created = api_key_create(
            name=kwargs.pop("name", "Test key"), user=user, scopes=scopes, **kwargs
        )
        return created.api_key, created.key

    return make


@pytest.fixture
def key_client():
    """Build an APIClient that sends the given key as a Bearer token."""

    def make(key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_error: str | None

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that verifies signatures as a subscriber would."""

    url: str
    secret: str | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)
    responses: deque = field(default_factory=deque)

    def respond_with(self, *responses):
        """Queue (status, body[, headers]) responses; once they are used up the receiver returns 200."""
        for response in responses:
            status, body, headers = (*response, {}) if len(response) == 2 else response
            self.responses.append((status, body, headers))


def _handler_for(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signature_error = None
            if receiver.secret is not None:
                try:
                    verify_signature(
                        receiver.secret, self.headers.get("Leadflow-Signature"), body, 300
                    )
                except SignatureVerificationError as error:
                    signature_error = str(error)
            receiver.requests.append(
                ReceivedRequest(self.path, dict(self.headers.items()), body, signature_error)
            )

            if signature_error is not None:
                status, payload, headers = 400, b"bad signature", {}
            elif receiver.responses:
                status, payload, headers = receiver.responses.popleft()
            else:
                status, payload, headers = 200, b"ok", {}
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def receiver():
    """Serve a webhook receiver on an ephemeral port of 127.0.0.1 for the test's duration."""
    holder = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(holder))
    holder.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield holder
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
