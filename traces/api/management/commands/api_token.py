"""``manage.py api_token create|list|revoke``: service tokens from the command line."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from traces.api.models import Scope, ServiceToken
from traces.api.tokens import TokenError, service_token_create, service_token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API service tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token; prints it once.")
        create.add_argument("--owner", required=True, help="Username of the owner.")
        create.add_argument("--name", required=True, help="What the token is for.")
        create.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=[scope.value for scope in Scope],
            help="Repeat for several scopes.",
        )
        create.add_argument("--expires-in-days", type=int, help="Expire after N days.")
        create.add_argument("--rate-limit", type=int, help="Requests per minute.")
        sub.add_parser("list", help="List tokens (never their text).")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list()
        else:
            self._revoke(options["prefix"])

    def _create(self, options: dict[str, Any]) -> None:
        user = get_user_model().objects.filter(username=options["owner"]).first()
        if user is None:
            raise CommandError(f"No user named {options['owner']!r}.")
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        try:
            created = service_token_create(
                owner=user,
                name=options["name"],
                scopes=options["scope"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                rate_limit=options["rate_limit"],
            )
        except TokenError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Token {created.token.prefix} created; it is not shown again:")
        self.stdout.write(created.text)

    def _list(self) -> None:
        for token in ServiceToken.objects.select_related("owner"):
            state = (
                "revoked" if token.revoked_at else ("active" if token.is_active() else "expired")
            )
            self.stdout.write(
                f"{token.prefix}  {state:8}  {token.owner.get_username():20}  "
                f"{','.join(token.scopes):50}  {token.name}"
            )

    def _revoke(self, prefix: str) -> None:
        token = ServiceToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"No token with prefix {prefix!r}.")
        if not service_token_revoke(token=token):
            raise CommandError(f"Token {prefix} was already revoked.")
        self.stdout.write(f"Token {prefix} revoked.")
