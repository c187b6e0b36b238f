"""manage.py send_notices [--case REF] [--sync]

Queues the approved notices (e-mail ones for sending, the others as a manual-submission task for
the caseworker), concludes notices a dead worker left in SENDING, then hands the due ones to the
Celery workers, or with --sync sends them here, one attempt each.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from takedown.dispatch import queue_approved
from takedown.management.lookups import case_named
from takedown.models import Notice
from takedown.notices import send as sending


class Command(BaseCommand):
    help = "Queue approved notices and send the due ones (in the workers, or here with --sync)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", metavar="REF", help="Only this case's notices")
        parser.add_argument("--sync", action="store_true", help="Send here, not in the workers")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"]) if options["case"] else None

        done = queue_approved(case=case, hand_out=not options["sync"])
        for status, count in sorted(done.recovered.items()):
            self.stdout.write(f"recovered {count} notices left sending by a dead worker: {status}")
        # Notices someone else moved meanwhile (done.changed) are theirs: nothing to say.
        for notice, problem in done.refused:
            self.stderr.write(f"notice {notice.pk}: not queued: {problem}")
        for notice in sorted([*done.queued, *done.manual], key=lambda notice: notice.pk):
            if notice.status == Notice.Status.AWAITING_MANUAL:
                target = sending.manual_target(notice)
                self.stdout.write(
                    f"notice {notice.pk}: submit manually at {target} "
                    f"(PDF: python manage.py render_notice {notice.pk} --pdf FILE)"
                )
            else:
                self.stdout.write(f"notice {notice.pk}: queued")

        if not options["sync"]:
            self.stdout.write(f"handed {done.handed_out} notices to the workers")
            return

        outcomes: dict[str, int] = {}
        for notice_id in sending.due_notices(case=case).order_by("pk").values_list("pk", flat=True):
            result = sending.send_notice(notice_id)
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
            line = f"notice {notice_id}: {result.outcome}"
            if result.accepted:
                line += f" (accepted for {len(result.accepted)} addresses)"
            if result.next_attempt_at is not None:
                line += f", next attempt at {result.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
            self.stdout.write(line)
            for failure in result.failures:
                self.stdout.write(f"  {failure}")
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        self.stdout.write(f"sent {sum(outcomes.values())} notices: {summary or 'none due'}")
