"""Django admin for API keys, webhook endpoints and deliveries.

Adding an API key shows the full key on the next page, once. Revoking and
replaying are admin actions that call the services, so they are logged and
validated as in the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from integrations import services
from integrations.errors import ApiKeyAlreadyRevoked
from integrations.forms import ApiKeyCreateForm, WebhookEndpointForm
from integrations.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from leadflow.errors import ApplicationError


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "name",
        "masked_key",
        "user",
        "scope_list",
        "state",
        "last_used_at",
        "created_at",
    ]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke_selected"]
    readonly_fields = [
        "name",
        "prefix",
        "user",
        "scopes",
        "rate_limit",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    ]
    exclude = ["secret_hash"]

    @admin.display(description="Scopes")
    def scope_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Revoked keys stay as a record of who could call the API; revoke instead of deleting.
        return False

    def get_urls(self) -> list[Any]:
        return [
            path(
                "add/",
                self.admin_site.admin_view(self.add_key_view),
                name="integrations_apikey_add",
            ),
            *super().get_urls(),
        ]

    def add_key_view(self, request: HttpRequest) -> HttpResponse:
        """Create a key through the service and show its full text on this page, once."""
        if not self.has_add_permission(request):
            return HttpResponse(status=403)

        form = ApiKeyCreateForm(request.POST or None)
        created = None
        if request.method == "POST" and form.is_valid():
            try:
                created = services.api_key_create(created_by=request.user, **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(None, error.message)

        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "API key created" if created else "Add API key",
            "form": form,
            "created": created,
            "changelist_url": reverse("admin:integrations_apikey_changelist"),
        }
        return TemplateResponse(request, "integrations/admin/api_key_add.html", context)

    @admin.action(description="Revoke selected API keys")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for api_key in queryset:
            try:
                services.api_key_revoke(api_key_id=api_key.pk, actor=request.user)
            except ApiKeyAlreadyRevoked:
                continue
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API keys.", messages.SUCCESS)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = WebhookEndpointForm
    list_display = ["url", "event_type_list", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    # The secret is shown so an admin can copy it to the receiver; it is generated, not typed.
    readonly_fields = ["secret", "created_by", "created_at", "updated_at"]

    @admin.display(description="Event types")
    def event_type_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types)

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        if change:
            services.webhook_endpoint_update(
                endpoint_id=obj.pk,
                url=obj.url,
                event_types=obj.event_types,
                description=obj.description,
                is_active=obj.is_active,
            )
            return
        created = services.webhook_endpoint_create(
            url=obj.url,
            event_types=obj.event_types,
            description=obj.description,
            is_active=obj.is_active,
            created_by=request.user,
        )
        obj.pk = created.pk
        obj.secret = created.secret


class WebhookAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "started_at",
        "duration_ms",
        "response_code",
        "response_body_excerpt",
        "error",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "id",
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "response_code",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id"]
    actions = ["replay_selected"]
    inlines = [WebhookAttemptInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay selected deliveries")
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        replayed = 0
        for delivery in queryset:
            try:
                services.webhook_delivery_replay(delivery_id=delivery.pk, actor=request.user)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            replayed += 1
        self.message_user(request, f"Queued {replayed} deliveries for replay.", messages.SUCCESS)
