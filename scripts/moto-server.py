"""moto_server with DynamoDB's per-item atomicity.

moto 5.2.5 checks a write's ConditionExpression and applies the write without a lock, so two
concurrent conditional writes on one key can both succeed (measured: 1 in 300 trials of four
racing `attribute_not_exists` UpdateItems). Real DynamoDB serializes writes per item, and the
delivery log's exactly-once rests on that. This wrapper runs every DynamoDB item operation under
one lock, which is stricter than AWS (per item) but never kinder. Same arguments as moto_server.
`scripts/check-moto-atomic.py` measures the race with and without it.

It also adds SQS's StartMessageMoveTask (the console's DLQ redrive), which moto lacks."""
import functools
import sys
import threading

from moto.core.responses import ActionResult
from moto.dynamodb.models import DynamoDBBackend
from moto.server import main
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.responses import SQSResponse

LOCK = threading.RLock()
ITEM_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "transact_write_items",
)


def serialized(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with LOCK:
            return method(*args, **kwargs)

    return locked


for name in ITEM_OPERATIONS:
    setattr(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name)))


# moto 5.2.5 has no StartMessageMoveTask (the console's redrive). This one moves every message
# of the source queue (a DLQ) to DestinationArn at once, as AWS's task does over time; it asks
# for DestinationArn, which AWS may infer and opsbell always gives.
def start_message_move_task(self):
    source_arn = self._get_param("SourceArn")
    destination_arn = self._get_param("DestinationArn")
    by_arn = {q.queue_arn: q for q in self.sqs_backend.queues.values()}
    source, destination = by_arn.get(source_arn), by_arn.get(destination_arn)
    if source is None or destination is None:
        raise QueueDoesNotExist()
    moved = 0
    while True:
        messages = self.sqs_backend.receive_message(source.name, 10, 0, 30)
        if not messages:
            break
        for m in messages:
            self.sqs_backend.send_message(destination.name, m.body)
            self.sqs_backend.delete_message(source.name, m.receipt_handle)
            moved += 1
    return ActionResult({"TaskHandle": f"moved-{moved}"})


SQSResponse.start_message_move_task = start_message_move_task

if __name__ == "__main__":
    main(sys.argv[1:])
