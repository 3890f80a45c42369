"""Pages of the leads app."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def mql_queue(request: HttpRequest) -> HttpResponse:
    # TODO: the queue itself; this placeholder keeps the URL stable for the skeleton.
    return render(request, "base.html")
