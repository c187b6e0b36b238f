"""manage.py record_reply ID --outcome OUTCOME --text TEXT --as USER [--extend-until DATE]
    [--received DATETIME]

Records a recipient's answer to a sent notice (or to its reminder). "not_responsible" and
"refused" move the escalation ladder on at once; --extend-until records a deadline extension
(GDPR Art. 12(3)) and goes with --outcome pending; it counts only if the answer arrived
(--received, default now) within the first period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from takedown.checks.escalate import REPLY_OUTCOMES, record_reply
from takedown.errors import NotPossible
from takedown.management.lookups import user_named
from takedown.models import Notice
from takedown.workflow import ConcurrentChange, TransitionNotAllowed


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--extend-until: {value!r} is not a date (YYYY-MM-DD)", returncode=2
        ) from None


def _moment(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--received: {value!r} is not a date and time (YYYY-MM-DDTHH:MM)", returncode=2
        ) from None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Record a recipient's reply to a notice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int)
        parser.add_argument("--outcome", required=True, choices=[str(o) for o in REPLY_OUTCOMES])
        parser.add_argument("--text", required=True)
        parser.add_argument("--as", dest="user", required=True, metavar="USER")
        parser.add_argument("--extend-until", metavar="DATE")
        parser.add_argument("--received", metavar="DATETIME", help="when the answer arrived")

    def handle(self, *args: Any, **options: Any) -> None:
        notice = Notice.objects.filter(pk=options["id"]).first()
        if notice is None:
            raise CommandError(f"no notice {options['id']}", returncode=2)
        actor = user_named(options["user"])
        until = _date(options["extend_until"]) if options["extend_until"] else None
        try:
            record_reply(
                notice,
                outcome=options["outcome"],
                text=options["text"],
                actor=actor,
                extension_until=until,
                received_at=_moment(options["received"]) if options["received"] else None,
            )
        except (TransitionNotAllowed, ConcurrentChange) as exc:
            raise CommandError(exc.message, returncode=1) from None
        except NotPossible as exc:  # an escalation step, or a deadline the law does not allow
            raise CommandError(exc.message, returncode=2) from None
        notice.refresh_from_db()
        self.stdout.write(f"notice {notice.pk}: reply recorded, outcome {notice.outcome}")
