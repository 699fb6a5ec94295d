"""The audit log is append-only: the database itself refuses UPDATE and DELETE on its tables.

PostgreSQL and SQLite each get their own trigger; the chain links and seals are protected the same way.
"""

from django.db import migrations

PROTECTED_TABLES = ["kanta_auditevent", "kanta_auditchainlink", "kanta_auditseal"]

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION kanta_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table in PROTECTED_TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION kanta_refuse_audit_change()"
            )
    elif vendor == "sqlite":
        for table in PROTECTED_TABLES:
            for operation in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {operation} on {table} refused'); END"
                )
    else:
        raise NotImplementedError(f"No append-only trigger for the {vendor} backend")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in PROTECTED_TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for operation in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS kanta_refuse_audit_change()")


class Migration(migrations.Migration):
    dependencies = [("kanta", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
