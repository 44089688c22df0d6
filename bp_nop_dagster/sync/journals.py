"""Gateway journals into Brightpearl, exactly once (issue 13, item 3): per day and payment
method, the fee journal and the clearing transfer journal (`mapping/journals.py` for the rules).

Each journal is one ledger record (`gateway_journal`, key `<kind>:<day>:<paymentMethodCode>`):
a journal already linked is never posted again; otherwise it is posted under a write-ahead
intent (`sync/exactly_once.py`), and an earlier attempt whose outcome is unknown is first looked
up by its natural key (journal type, the method's clearing nominal, the day: journal-search), as
Brightpearl would happily create a second journal. Failures get their fate from `sync/fate.py`
(a refusal dead-letters the journal with the server's code; a transient failure is retried)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, DEFAULT_POLICY, Ledger, RecordKind, RetryPolicy
from bp_nop_dagster.mapping.config import MappingConfig, MappingError
from bp_nop_dagster.mapping.journals import FEE, TRANSFER, JournalDue, journal_body, journal_type, journals_due
from bp_nop_dagster.sync.exactly_once import WriteAhead
from bp_nop_dagster.sync.fate import Fates
from bp_nop_dagster.transport.errors import ValidationError

GATEWAY_JOURNAL = RecordKind.GATEWAY_JOURNAL.value
FLOW = "journals"


@dataclass
class JournalReport:
    """What one run did: `journals` (key -> journal id) of the day, and the fate counts."""

    due: list[JournalDue] = field(default_factory=list)
    journals: dict[str, int] = field(default_factory=dict)
    posted: int = 0
    already_posted: int = 0
    fates: Counter = field(default_factory=Counter)


class GatewayJournalSync:
    """Posts one day's gateway journals. One instance per run."""

    def __init__(self, *, bp: BrightpearlClient, ledger: Ledger, config: MappingConfig, owner: str,
                 policy: RetryPolicy = DEFAULT_POLICY, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.bp, self.ledger, self.config = bp, ledger, config
        self.writes = WriteAhead(ledger, owner=owner, lease_seconds=lease_seconds, permanent=(ValidationError, MappingError))
        self.fates = Fates(ledger, flow=FLOW, probes={bp.system: bp.ping}, policy=policy, lease_seconds=lease_seconds)

    def run(self, day: str, payments: Iterable[Mapping]) -> JournalReport:
        """Post the day's due journals not posted yet. Raises SystemicOutage when Brightpearl is down."""
        report = JournalReport(due=journals_due(day, payments, self.config.payment_methods, self.config.journals))
        keys = [due.key for due in report.due]
        self.ledger.enqueue(GATEWAY_JOURNAL, keys)
        linked = self.ledger.bp_ids(GATEWAY_JOURNAL, keys)
        report.journals.update(linked)
        report.already_posted = len(linked)
        pending = set(self.ledger.pending(GATEWAY_JOURNAL))
        for due in report.due:
            if due.key in linked or due.key not in pending:
                continue  # posted already, or dead-lettered, skipped or waiting out its backoff
            with self.fates.settle(GATEWAY_JOURNAL, due.key, payload={"day": day, "kind": due.kind,
                                                                      "payment_method": due.method_code,
                                                                      "amount": str(due.amount)}) as outcome:
                report.journals[due.key] = self._post(due)
                report.posted += 1
            report.fates[outcome.fate] += 1
        self.fates.finish()
        return report

    def _post(self, due: JournalDue) -> int:
        body = journal_body(due, self.config.journals, self.config.currency_code)
        clearing = self.config.journals.by_payment_method[due.method_code].clearing_nominal
        kind = journal_type(due, self.config.journals)

        def lookup() -> int | None:
            found = self.bp.find_journals(kind, clearing, due.day)
            return found[0] if found else None

        with self.writes.intent(GATEWAY_JOURNAL, due.key) as claim:
            journal_id = self.writes.resume_or_create(claim, lambda: self.bp.create_journal(body), lookup)
            self.writes.complete(GATEWAY_JOURNAL, due.key, journal_id)
        return journal_id


def posted_journals(bp: BrightpearlClient, config: MappingConfig, day: str) -> list[dict]:
    """The fee and transfer journals dated `day` on each configured method's clearing nominal, as
    journal-search shows them: {kind, payment_method_code, journal_id, amount} (amount = what
    left clearing: its credits minus debits). Empty when the journals are not enabled."""
    if not config.journals.enabled:
        return []
    found = []
    for code, gateway in sorted(config.journals.by_payment_method.items()):
        for kind, type_code in ((FEE, config.journals.fee_journal_type), (TRANSFER, config.journals.transfer_journal_type)):
            rows = bp.journal_search({"journalType": type_code, "nominalCode": gateway.clearing_nominal, "journalDate": f"{day}/{day}"})
            amounts: dict[int, object] = {}
            for row in rows:
                if row.journal_type == type_code and row.nominal_code == gateway.clearing_nominal:
                    amounts[row.journal_id] = amounts.get(row.journal_id, 0) + (row.transaction_credit or 0) - (row.transaction_debit or 0)
            found += [{"kind": kind, "payment_method_code": code, "journal_id": jid, "amount": amount}
                      for jid, amount in sorted(amounts.items())]
    return found
