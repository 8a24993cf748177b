"""The approval rule of ECOMMERCE_APPROVAL_RISK_LEVEL as two review rules, same behaviour.

AI recommendations and dynamic price changes at or above the setting's risk
level (default medium) need approval; with the setting ``None`` no rule is made.
"""

from django.conf import settings
from django.db import migrations

RULES = (
    ("AI recommendations at {level} risk or above", "ai.recommendation_generated"),
    ("Dynamic price changes at {level} risk or above", "pricing.dynamic_adjusted"),
)


def create(apps, schema_editor):
    level = getattr(settings, "ECOMMERCE_APPROVAL_RISK_LEVEL", "medium")
    level = getattr(level, "value", level)
    if level not in ("low", "medium", "high", "critical"):
        return
    ReviewRule = apps.get_model("traces_rules", "ReviewRule")
    db = schema_editor.connection.alias
    for order, (name, event_type) in enumerate(RULES, start=1):
        ReviewRule.objects.using(db).get_or_create(
            name=name.format(level=level),
            defaults={
                "order": order * 10,
                "condition": {"event_type": event_type, "risk_at_least": level},
            },
        )


def remove(apps, schema_editor):
    ReviewRule = apps.get_model("traces_rules", "ReviewRule")
    ReviewRule.objects.using(schema_editor.connection.alias).filter(
        name__in=[name.format(level=level) for name, _ in RULES for level in ("low", "medium", "high", "critical")]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("traces_rules", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
