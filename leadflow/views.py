"""Project-level pages: the landing redirect and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER, user_roles


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each user to the page their role works from."""
    roles = user_roles(request.user)
    if roles & {MARKETING, REVOPS}:
        return redirect("leads:queue")
    if SALES_MANAGER in roles:
        return redirect("handoff:manager")
    if SALES in roles:
        return redirect("handoff:inbox")
    return redirect("leads:queue")


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
