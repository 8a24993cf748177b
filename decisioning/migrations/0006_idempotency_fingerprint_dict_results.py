"""Idempotency keys keep their call's fingerprint; dict results are stored as themselves."""

from __future__ import annotations

from django.db import migrations, models

import decisioning.encoders

DICT_RESULT_TYPE = "builtins.dict"


def unwrap_dict_results(apps, schema_editor):
    IdempotencyKey = apps.get_model("decisioning", "IdempotencyKey")
    rows = IdempotencyKey.objects.filter(result_type=DICT_RESULT_TYPE)
    for row in rows.iterator(chunk_size=1000):
        data = row.result_data
        if isinstance(data, dict) and set(data) == {"value"} and isinstance(data["value"], dict):
            row.result_data = data["value"]
            row.save(update_fields=["result_data"])


def wrap_dict_results(apps, schema_editor):
    IdempotencyKey = apps.get_model("decisioning", "IdempotencyKey")
    rows = IdempotencyKey.objects.filter(result_type=DICT_RESULT_TYPE)
    for row in rows.iterator(chunk_size=1000):
        row.result_data = {"value": row.result_data}
        row.save(update_fields=["result_data"])


class Migration(migrations.Migration):
    dependencies = [("decisioning", "0005_decision_queue_indexes")]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="fingerprint",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                help_text="SHA-256 of the call's arguments (or the HTTP request); a repeat of "
                "the key with another fingerprint is refused.",
                max_length=64,
            ),
        ),
        migrations.AlterField(
            model_name="idempotencykey",
            name="result_data",
            field=models.JSONField(
                blank=True,
                default=dict,
                encoder=decisioning.encoders.DecisioningJSONEncoder,
                help_text="The stored result, replayed to later callers: a dict result as "
                'itself, anything else as {"value": ...}.',
            ),
        ),
        migrations.RunPython(unwrap_dict_results, wrap_dict_results),
    ]
