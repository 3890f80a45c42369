"""The revops page of recent webhook deliveries, with a replay button per delivery."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from integrations import selectors, services
from integrations.models import WebhookDelivery
from leadflow.errors import ApplicationError
from leadflow.roles import REVOPS, has_role

logger = logging.getLogger(__name__)

# Badge colour of each delivery status, as classes of leadflow.css.
STATUS_BADGES: dict[str, str] = {
    WebhookDelivery.Status.PENDING: "info",
    WebhookDelivery.Status.RETRYING: "warn",
    WebhookDelivery.Status.SUCCEEDED: "good",
    WebhookDelivery.Status.FAILED: "bad",
}


def _require_revops(request: HttpRequest) -> None:
    if not has_role(request.user, REVOPS):
        raise PermissionDenied("Webhook deliveries are only for the revops role.")


@login_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    _require_revops(request)
    status = request.GET.get("status", "")
    if status not in WebhookDelivery.Status.values:
        status = ""
    deliveries = selectors.webhook_deliveries_recent(status=status)
    context = {
        "rows": [(delivery, STATUS_BADGES[delivery.status]) for delivery in deliveries],
        "statuses": WebhookDelivery.Status.choices,
        "current_status": status,
        "limit": selectors.RECENT_DELIVERIES_LIMIT,
        "nav": "webhooks",
    }
    return render(request, "integrations/delivery_list.html", context)


@login_required
@require_POST
def delivery_replay(request: HttpRequest, delivery_id: int) -> HttpResponse:
    _require_revops(request)
    try:
        services.webhook_delivery_replay(delivery_id=delivery_id, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        _report_replay(request, delivery_id)
    return redirect(_list_url(request))


def _report_replay(request: HttpRequest, delivery_id: int) -> None:
    """Add the replay's result to the messages, or a note that it is queued for a worker."""
    delivery = selectors.webhook_delivery_get(delivery_id=delivery_id)
    if delivery is None or delivery.status == WebhookDelivery.Status.PENDING:
        # With a broker, a worker makes the attempt after this request. Without one, Celery
        # runs it right after the commit, so its outcome is already recorded here.
        messages.info(
            request,
            f"Delivery {delivery_id} is queued to be sent again; reload this page for its result.",
        )
        return

    response = f"HTTP {delivery.response_code}" if delivery.response_code else "no response"
    if delivery.status == WebhookDelivery.Status.SUCCEEDED:
        messages.success(request, f"Delivery {delivery_id} sent again: {response}, succeeded.")
    else:
        problem = delivery.error or response
        messages.error(request, f"Delivery {delivery_id} sent again and failed: {problem}")


def _list_url(request: HttpRequest) -> str:
    """Return the posted `next` page when it is a page of this site, else the delivery list."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("integrations:deliveries")
