"""Every token row gets its ``signed_in`` audit row from the database, in the token's own INSERT: a
sign-in's work stays one statement shorter, and no path that creates a token can skip its audit row."""

from django.db import migrations

CREATE = {
    "postgresql": [
        """CREATE FUNCTION tokens_signed_in() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
               INSERT INTO audit_events (user_id, event, detail, created_at)
               VALUES (NEW.user_id, 'signed_in', NEW.device_name, NEW.created_at);
               RETURN NULL;
           END $$""",
        "CREATE TRIGGER tokens_signed_in AFTER INSERT ON tokens FOR EACH ROW EXECUTE FUNCTION tokens_signed_in()",
    ],
    "sqlite": [
        """CREATE TRIGGER tokens_signed_in AFTER INSERT ON tokens BEGIN
               INSERT INTO audit_events (user_id, event, detail, created_at)
               VALUES (NEW.user_id, 'signed_in', NEW.device_name, NEW.created_at);
           END""",
    ],
}
DROP = {
    "postgresql": ["DROP TRIGGER tokens_signed_in ON tokens", "DROP FUNCTION tokens_signed_in()"],
    "sqlite": ["DROP TRIGGER tokens_signed_in"],
}


def run(statements):
    def operation(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"no signed_in trigger written for the {vendor} backend (PostgreSQL and SQLite only)")
        for sql in statements[vendor]:
            schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_audit_events"),
        ("tokens", "0001_initial"),
    ]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
