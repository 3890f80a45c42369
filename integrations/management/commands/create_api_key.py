"""manage.py create_api_key: create an API key and print it once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from integrations.scopes import SCOPES
from integrations.services import api_key_create
from leadflow.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create an API key acting as a user and print it. The key is printed once and "
        "cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Username the key acts as.")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated scopes, from: {', '.join(SCOPES)}.",
        )
        parser.add_argument("--name", required=True, help="What the key is for.")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help="Days until the key stops working; default: never.",
        )
        parser.add_argument(
            "--rate-limit",
            default="",
            help="Requests per period, such as 600/min; default: the API key rate in settings.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: options["user"]}).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r} exists; create the user first.")

        expires_at = None
        if options["expires_in_days"] is not None:
            if options["expires_in_days"] < 1:
                raise CommandError("--expires-in-days must be 1 or more.")
            expires_at = timezone.now() + timedelta(days=options["expires_in_days"])

        try:
            created = api_key_create(
                name=options["name"],
                user=user,
                scopes=options["scopes"].split(","),
                expires_at=expires_at,
                rate_limit=options["rate_limit"],
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error

        self.stdout.write(created.key)
        self.stderr.write(
            f"API key {created.api_key.pk} ({created.api_key.masked_key}) acts as "
            f"{options['user']} with scopes {', '.join(created.api_key.scopes)}. "
            "Store it now: it cannot be shown again."
        )
