"""The webhook sensor: every few seconds it reads the events `bp-nop webhooks serve` stored in
the ledger (no Brightpearl request: no quota) and starts runs for exactly the ids received:

- `product.modified.on-hand-modified` ids, and the products of `sales-order.created` orders from
  other channels -> one `stock_sync_job` run for those products;
- `goods-out-note.modified.shipped` ids, and `order.modified.order-status` ids of orders this
  integration created (ledger links) -> enqueued in the ledger (goods-out notes, status changes),
  then a `fulfilment_job` run, which reads each from Brightpearl (webhooks are thin).

The polling sensors stay: webhooks can be missed, and stock edits outside the API fire none.
Work both paths find is done once (the ledger, and the stock push writes only differences)."""

import dagster as dg

from bp_nop_dagster.defs.fulfilment.jobs import fulfilment_job
from bp_nop_dagster.defs.sensor_support import fail_dead_runs, run_in_flight
from bp_nop_dagster.defs.stock.assets import STOCK
from bp_nop_dagster.defs.stock.jobs import stock_sync_job
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync import fulfilment as fulfilment_flow
from bp_nop_dagster.sync import stock as stock_flow
from bp_nop_dagster.sync.cursor import utcnow
from bp_nop_dagster.sync.fate import active_pause, work_due
from bp_nop_dagster.webhooks.queue import QueueCursor, take

STOCK_OP = "__".join(STOCK.path)
WEBHOOK_TAG = {"bp_nop/trigger": "webhook"}


@dg.sensor(
    jobs=[stock_sync_job, fulfilment_job],
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Brightpearl webhook events received by `bp-nop webhooks serve` (the ledger's local queue; no "
    "Brightpearl request) -> a stock push for exactly the products announced, and a fulfilment run for the goods-out "
    "notes shipped and the order status changes announced. Polling stays as the safety net.",
)
def brightpearl_webhooks(context: dg.SensorEvaluationContext, ledger: LedgerResource):
    fail_dead_runs(context)
    book = ledger.get_ledger()
    now = utcnow()
    received, cursor = take(book, QueueCursor.parse(context.cursor), now)
    requests: list[dg.RunRequest] = []
    notes: list[str] = [f"{received.count} ids received"]

    # Sales orders this integration created are left out here (ledger links, no request): their
    # units are counted in flight until Brightpearl allocates them (sync/stock.py).
    ours_created = set(book.nop_keys(fulfilment_flow.ORDER, received.sales_order_ids)) if received.sales_order_ids else set()
    other_orders = [i for i in received.sales_order_ids if i not in ours_created]
    if received.product_ids or other_orders:
        if active_pause(book, now) is not None:
            # Kept for the stock sensor's retries once the pause is over (the orders' products are
            # found by its order search, the safety net).
            book.enqueue(stock_flow.RETRY, [str(p) for p in received.product_ids], requeue=True)
            notes.append("stock paused: products kept for after the pause")
        else:
            requests.append(dg.RunRequest(
                job_name=stock_sync_job.name,
                run_key=f"webhook-stock-{received.last_id}",
                run_config={"ops": {STOCK_OP: {"config": {"product_ids": received.product_ids,
                                                          "order_ids": other_orders}}}},
                tags={**WEBHOOK_TAG, "bp_nop/webhook_products": str(len(received.product_ids)),
                      "bp_nop/webhook_orders": str(len(other_orders))},
            ))

    if received.goods_out_note_ids:
        book.enqueue(fulfilment_flow.GOODS_OUT_NOTE, [str(i) for i in received.goods_out_note_ids], reopen_skipped=True)
    ours = sorted(book.nop_keys(fulfilment_flow.ORDER, received.order_status_ids)) if received.order_status_ids else []
    if ours:
        book.enqueue(fulfilment_flow.BP_ORDER_STATUS, [str(i) for i in ours], requeue=True, reopen_skipped=True)
    due, why = work_due(book, (fulfilment_flow.GOODS_OUT_NOTE, fulfilment_flow.BP_ORDER_STATUS), now)
    if due and not run_in_flight(context, fulfilment_job.name):
        requests.append(dg.RunRequest(
            job_name=fulfilment_job.name,
            tags={**WEBHOOK_TAG, "bp_nop/pending": str(due), "bp_nop/webhook_goods_out_notes": str(len(received.goods_out_note_ids)),
                  "bp_nop/webhook_order_statuses": str(len(ours))},
        ))
    elif due:
        notes.append(f"{due} fulfilment records due, a fulfilment run is in flight")
    elif why:
        notes.append(why)
    return dg.SensorResult(run_requests=requests, cursor=cursor.dumps(), skip_reason=None if requests else "; ".join(notes))
