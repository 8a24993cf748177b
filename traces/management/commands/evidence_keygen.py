"""``manage.py evidence_keygen``: create the checkpoint signing key file unless it exists."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from decision_trace.evidence import key_id
from traces.evidence.keys import key_file, key_file_create, public_key_bytes, signing_key


class Command(BaseCommand):
    help = (
        "Create the Ed25519 key that signs evidence checkpoints "
        "(TRACES_EVIDENCE_SIGNING_KEY_FILE, mode 0600) unless it exists; print its public key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.TRACES_EVIDENCE_SIGNING_KEY:
            public = public_key_bytes(signing_key())
            self.stdout.write(f"TRACES_EVIDENCE_SIGNING_KEY is set: public key {public.hex()}")
            return
        path = key_file()
        created = key_file_create(path)
        public = public_key_bytes(signing_key())
        verb = "Created" if created else "Kept the existing"
        self.stdout.write(f"{verb} signing key {path}")
        self.stdout.write(f"public key {public.hex()} (key id {key_id(public)})")
