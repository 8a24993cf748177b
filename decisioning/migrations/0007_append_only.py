# Decision transitions become append-only (decisioning.appendonly): triggers refuse
# UPDATE and DELETE outside the retention window. ``by`` may still be set: Django
# sets it to NULL when the user is deleted (``by_username`` keeps the name).

from django.db import migrations

from decisioning.appendonly import AppendOnly


class Migration(migrations.Migration):

    dependencies = [
        ('decisioning', '0006_idempotency_fingerprint_dict_results'),
    ]

    operations = [
        AppendOnly('decisiontransition', mutable=('by',)),
    ]
