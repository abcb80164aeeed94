"""A sign-in is now a session: its ``signed_in`` audit row is written by the database in the session's
INSERT (a refresh inserts tokens, and is not a sign-in)."""

import importlib

from django.db import migrations

on_tokens = importlib.import_module("accounts.migrations.0003_signed_in_trigger")

CREATE = {
    "postgresql": [
        """CREATE FUNCTION sessions_signed_in() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
               INSERT INTO audit_events (user_id, event, detail, created_at)
               VALUES (NEW.user_id, 'signed_in', NEW.device_name, NEW.created_at);
               RETURN NULL;
           END $$""",
        "CREATE TRIGGER sessions_signed_in AFTER INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION sessions_signed_in()",
    ],
    "sqlite": [
        """CREATE TRIGGER sessions_signed_in AFTER INSERT ON sessions BEGIN
               INSERT INTO audit_events (user_id, event, detail, created_at)
               VALUES (NEW.user_id, 'signed_in', NEW.device_name, NEW.created_at);
           END""",
    ],
}
DROP = {
    "postgresql": ["DROP TRIGGER sessions_signed_in ON sessions", "DROP FUNCTION sessions_signed_in()"],
    "sqlite": ["DROP TRIGGER sessions_signed_in"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_signed_in_trigger"),
        ("tokens", "0002_sessions"),
    ]

    operations = [
        migrations.RunPython(on_tokens.run(on_tokens.DROP), on_tokens.run(on_tokens.CREATE)),
        migrations.RunPython(on_tokens.run(CREATE), on_tokens.run(DROP)),
    ]
