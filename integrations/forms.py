"""Forms of the admin and the revops page."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from integrations.errors import InvalidWebhookEndpoint
from integrations.models import WebhookEndpoint, WebhookEventType
from integrations.rates import validate_rate
from integrations.scopes import SCOPE_CHOICES
from integrations.services.webhooks import clean_webhook_url


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the key is for, such as 'Website forms'."
    )
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        help_text="The user the key acts as; their roles and record scoping apply.",
    )
    scopes = forms.MultipleChoiceField(choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple)
    expires_at = forms.DateTimeField(
        required=False, help_text="Optional; the key stops working at this time (UTC)."
    )
    rate_limit = forms.CharField(
        max_length=20,
        required=False,
        validators=[validate_rate],
        help_text="Requests per period, such as 600/min. Empty: the default API key rate.",
    )


class WebhookEndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(
        max_length=2000,
        assume_scheme="https",
        help_text="An absolute http:// or https:// URL; redirects are not followed.",
    )
    event_types = forms.MultipleChoiceField(
        choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "is_active"]

    def clean_url(self) -> str:
        try:
            return clean_webhook_url(self.cleaned_data["url"])
        except InvalidWebhookEndpoint as error:
            raise forms.ValidationError(error.message) from None
