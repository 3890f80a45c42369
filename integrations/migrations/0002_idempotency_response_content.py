"""Keep the first answer of an idempotent request as the bytes that were sent.

Records still within their 24 hours keep their answer: the stored JSON is written
out as bytes before the old column goes.
"""

from django.db import migrations, models


def copy_bodies_to_content(apps, schema_editor):
    from leadflow.api.renderers import render_json

    record_model = apps.get_model("integrations", "IdempotencyRecord")
    completed = record_model.objects.filter(response_body__isnull=False)
    for record in completed.iterator(chunk_size=500):
        record.response_content = render_json(record.response_body)
        record.save(update_fields=["response_content"])


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="response_content",
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.RunPython(copy_bodies_to_content, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(
            model_name="idempotencyrecord",
            name="response_body",
        ),
    ]
