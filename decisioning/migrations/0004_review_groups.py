"""The review groups: Reviewers (view), Admins (decide), Senior admins (decide escalated).

Django creates permissions in a ``post_migrate`` handler, after all
migrations have run, so on a fresh database the ones this migration needs do
not exist yet. It therefore gets or creates the content type and the four
permissions itself, with the historical models; ``create_permissions`` later
finds them by codename and adds nothing twice. The group definitions are
written out here (not imported) so that later changes to the app cannot
change what this migration did; ``decisioning.review.review_groups_ensure``
applies the current definitions.
"""

from django.db import migrations

PERMISSIONS = {
    "view_decision": "Can view decision",
    "approve_decision": "Can approve, reject, defer or reopen decisions",
    "escalate_decision": "Can escalate decisions",
    "decide_escalated_decision": "Can approve or reject escalated decisions",
}

GROUPS = {
    "Reviewers": ["view_decision"],
    "Admins": ["view_decision", "approve_decision", "escalate_decision"],
    "Senior admins": [
        "view_decision",
        "approve_decision",
        "escalate_decision",
        "decide_escalated_decision",
    ],
}


def create_review_groups(apps, schema_editor):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.using(db).get_or_create(
        app_label="decisioning", model="decision"
    )
    permissions = {}
    for codename, name in PERMISSIONS.items():
        permissions[codename], _ = Permission.objects.using(db).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for group_name, codenames in GROUPS.items():
        group, _ = Group.objects.using(db).get_or_create(name=group_name)
        group.permissions.set([permissions[codename] for codename in codenames])


def remove_review_groups(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Group.objects.using(db).filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("decisioning", "0003_review_workflow"),
    ]

    operations = [migrations.RunPython(create_review_groups, remove_review_groups)]
