from __future__ import annotations

import datetime as dt
import json
from importlib import import_module

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from takedown import crypto
from takedown.checks.escalate import record_reply
from takedown.models import AffectedPerson, CaseEvent, Mandate, Notice, PortalMessage
from takedown.notices.complaint import answers
from takedown.resolve.bulk import insert_returning, update_matching
from tests.factories import CaseFactory, NoticeFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def raw_column(table: str, column: str, pk: int) -> str | bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def use_keys(settings, *keys: str) -> None:
    settings.FIELD_ENCRYPTION_KEYS = list(keys)
    crypto.reset_keys()


def test_personal_fields_are_stored_encrypted():
    case = CaseFactory(person__name="Alex Example", person__email="alex@example.org")
    person = case.person

    stored = raw_column("takedown_affectedperson", "name", person.pk)

    assert "Alex" not in stored
    assert AffectedPerson.objects.get(pk=person.pk).name == "Alex Example"


def test_letters_and_answers_are_stored_encrypted():
    case = CaseFactory(person__name="Alex Example")
    notice = NoticeFactory(case=case, status=Notice.Status.SENT)
    Notice.objects.filter(pk=notice.pk).update(body_text="Dear host, Alex Example asks")
    record_reply(notice, outcome="complied", text="We removed Alex Example's photo.", actor=None)

    for column in ("body_text", "reply_text"):
        assert "Alex" not in raw_column("takedown_notice", column, notice.pk)
    event = CaseEvent.objects.get(kind="notice.reply")
    assert "Alex" not in json.dumps(event.data)
    notice.refresh_from_db()
    assert notice.body_text == "Dear host, Alex Example asks"
    assert [row["text"] for row in answers(notice)] == ["We removed Alex Example's photo."]


def test_mandate_document_is_stored_encrypted():
    case = CaseFactory()
    mandate = Mandate.objects.create(case=case, signed_document=b"%PDF-1.7 signed by Alex")

    stored = bytes(raw_column("takedown_mandate", "signed_document", mandate.pk))

    assert b"Alex" not in stored
    assert Mandate.objects.get(pk=mandate.pk).signed_document == b"%PDF-1.7 signed by Alex"


def test_rotate_keys_re_encrypts_with_the_newest_key(settings, field_keys):
    old = field_keys[0]
    case = CaseFactory(person__name="Alex Example")
    Mandate.objects.create(case=case, signed_document=b"signed")
    message = PortalMessage.objects.create(case=case, body="Please hurry, Alex")
    answer = CaseEvent.objects.create(
        case=case, kind="notice.reply", data={"text_sealed": crypto.seal_text("Removed, Alex")}
    )
    new = Fernet.generate_key().decode()
    use_keys(settings, new, old)
    out = __import__("io").StringIO()

    call_command("rotate_keys", stdout=out)

    use_keys(settings, new)  # the old key is gone
    assert AffectedPerson.objects.get(case=case).name == "Alex Example"
    assert Mandate.objects.get(case=case).signed_document == b"signed"
    assert PortalMessage.objects.get(pk=message.pk).body == "Please hurry, Alex"
    assert "1 affected persons" in out.getvalue()
    assert "1 portal messages" in out.getvalue()
    answer.refresh_from_db()
    assert crypto.open_text(answer.data["text_sealed"]) == "Removed, Alex"
    assert "1 answers kept by events" in out.getvalue()


def test_value_without_a_matching_key_fails_loudly(settings):
    case = CaseFactory(person__name="Alex Example")
    use_keys(settings, Fernet.generate_key().decode())

    with pytest.raises(ImproperlyConfigured, match="could not be decrypted"):
        AffectedPerson.objects.get(case=case)


def test_mandate_command_writes_pdf_and_stores_signed_copy(tmp_path):
    from io import StringIO

    from django.core.management import CommandError

    case = CaseFactory(person__name="Alex Example")
    unsigned = tmp_path / "mandate.pdf"

    call_command("mandate", "--case", case.reference, "--pdf", str(unsigned), stdout=StringIO())
    # The form as generated is not a signed mandate.
    with pytest.raises(CommandError, match="the unsigned form as we generated it") as caught:
        call_command("mandate", "--case", case.reference, "--upload", str(unsigned))
    assert caught.value.returncode == 2
    assert Mandate.objects.count() == 0
    # A digitally signed copy appends its signature: another file, with another hash.
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(unsigned.read_bytes() + b"%% signature\n")
    call_command("mandate", "--case", case.reference, "--upload", str(signed), stdout=StringIO())

    assert unsigned.read_bytes().startswith(b"%PDF")
    assert Mandate.objects.get(case=case).signed_document == signed.read_bytes()
    assert case.events.get(kind="mandate.uploaded").visible_to_person is True


def test_mandate_command_refuses_non_pdf(tmp_path):
    from django.core.management import CommandError

    case = CaseFactory()
    fake = tmp_path / "x.pdf"
    fake.write_text("not a pdf")

    with pytest.raises(CommandError, match="neither a PDF nor a photo") as caught:
        call_command("mandate", "--case", case.reference, "--upload", str(fake))

    assert caught.value.returncode == 2
    assert Mandate.objects.count() == 0


def test_mandate_command_writes_the_pdf_for_this_user_only(tmp_path):
    import stat
    from io import StringIO

    case = CaseFactory(person__name="Alex Example")
    unsigned = tmp_path / "mandate.pdf"

    call_command("mandate", "--case", case.reference, "--pdf", str(unsigned), stdout=StringIO())

    assert stat.S_IMODE(unsigned.stat().st_mode) == 0o600


def test_mandate_command_unwritable_path_exits_2_without_a_traceback(tmp_path):
    from django.core.management import CommandError

    case = CaseFactory()
    target = tmp_path / "no-such-folder" / "mandate.pdf"

    with pytest.raises(CommandError, match=r"cannot write .*mandate.pdf: No such file") as caught:
        call_command("mandate", "--case", case.reference, "--pdf", str(target))

    assert caught.value.returncode == 2


def test_mandate_command_refuses_a_pdf_over_the_portal_cap(tmp_path, settings):
    from django.core.management import CommandError

    settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES = 1024 * 1024
    case = CaseFactory()
    big = tmp_path / "signed.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * (1024 * 1024))

    with pytest.raises(CommandError, match="the upload is larger than 1 MB") as caught:
        call_command("mandate", "--case", case.reference, "--upload", str(big))

    assert caught.value.returncode == 2
    assert Mandate.objects.count() == 0


def test_migration_seals_letters_and_answers_stored_in_plain_text():
    migration = import_module("takedown.migrations.0018_notice_texts_encrypted")
    notice = NoticeFactory()
    event = CaseEvent.objects.create(
        case=notice.case, kind="notice.reply", data={"notice": notice.pk, "text": "Alex's photo"}
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE takedown_notice SET body_text = %s, reply_text = %s WHERE id = %s",
            ["Letter for Alex", "Removed Alex's photo", notice.pk],
        )
    before = MigrationLoader(connection).project_state(("takedown", "0017_security")).apps

    migration._seal(before, None)

    assert "Alex" not in raw_column("takedown_notice", "body_text", notice.pk)
    notice.refresh_from_db()
    assert (notice.body_text, notice.reply_text) == ("Letter for Alex", "Removed Alex's photo")
    event.refresh_from_db()
    assert "text" not in event.data
    assert crypto.open_text(event.data["text_sealed"]) == "Alex's photo"


def test_bulk_writes_encrypt_what_the_field_encrypts():
    """resolve.bulk hands plain text columns to the driver unprepared; a field that encrypts
    (a TextField subclass) must still go through its own preparation."""
    case = CaseFactory()
    [pk] = insert_returning(
        PortalMessage, ["case", "body", "created_at"], [(case.pk, "Hi, Alex", NOW)]
    )
    assert "Alex" not in raw_column("takedown_portalmessage", "body", pk)
    assert PortalMessage.objects.get(pk=pk).body == "Hi, Alex"

    assert update_matching(PortalMessage, ["body"], "case", [(pk, case.pk, "Bye, Alex")]) == 1
    assert "Alex" not in raw_column("takedown_portalmessage", "body", pk)
    assert PortalMessage.objects.get(pk=pk).body == "Bye, Alex"
