"""The revops page of recent webhook deliveries, with a replay button per delivery."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations import selectors, services
from integrations.models import WebhookDelivery
from leadflow.errors import ApplicationError
from leadflow.roles import REVOPS, has_role

logger = logging.getLogger(__name__)


def _require_revops(request: HttpRequest) -> None:
    if not has_role(request.user, REVOPS):
        raise PermissionDenied("Webhook deliveries are only for the revops role.")


@login_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    _require_revops(request)
    status = request.GET.get("status", "")
    if status not in WebhookDelivery.Status.values:
        status = ""
    context = {
        "deliveries": selectors.webhook_deliveries_recent(status=status),
        "statuses": WebhookDelivery.Status.choices,
        "current_status": status,
        "limit": selectors.RECENT_DELIVERIES_LIMIT,
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
        messages.success(request, f"Delivery {delivery_id} is queued to be sent again.")
    return redirect("integrations:deliveries")
