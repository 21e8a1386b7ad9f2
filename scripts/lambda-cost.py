#!/usr/bin/env python3
"""Prints the Lambda benchmark's tables from its report (tests/examples/lambda_bench.rs):
  1. per function: INIT, first invocation, warm p50/p99, peak RSS;
  2. per warm invocation: the AWS requests it made, with DynamoDB request units from the sizes;
  3. what a million job events cost at ap-northeast-1 list prices.

DynamoDB request units are computed from the requests and answers as DynamoDB bills them
(item size = attribute names + values; a write unit per started KB, a read unit per started
4 KB, halved for an eventually consistent read, the whole answer of a Query rounded once).
An UpdateItem's item is sized from its key and new values: the stored item can be larger.
Usage: scripts/lambda-cost.py REPORT.json
"""
import base64
import json
import math
import sys

# ap-northeast-1 (Tokyo) list prices, USD. Each from the page named, as known on 2026-12-01; the
# pages render regional prices with JavaScript, so check them there before budgeting.
PRICES = {
    # https://aws.amazon.com/lambda/pricing/ : requests, and Arm (arm64, as deployed) duration,
    # first tier; INIT is billed as duration (since 2025-08-01 for every runtime).
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm": 0.0000133334,
    # https://aws.amazon.com/sqs/pricing/ : standard queue, per request (per 64 KB chunk).
    "sqs_request": 0.40 / 1e6,
    # https://aws.amazon.com/dynamodb/pricing/on-demand/ : Standard table class, on-demand.
    "dynamodb_wru": 0.7135 / 1e6,
    "dynamodb_rru": 0.1427 / 1e6,
    # https://aws.amazon.com/api-gateway/pricing/ : HTTP API, first 300 million a month.
    "http_api_request": 1.29 / 1e6,
    # https://aws.amazon.com/cloudwatch/pricing/ : Logs ingestion (Standard), per GB.
    "logs_gb": 0.76,
}
MEMORY_GB = 128 / 1024


def attr_size(v):
    (kind, value), = v.items()
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        return (len(value.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(value))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + attr_size(x) for k, x in value.items())
    if kind == "L":
        return 3 + sum(1 + attr_size(x) for x in value)
    if kind == "SS":
        return sum(len(x.encode()) for x in value)
    if kind == "NS":
        return sum(attr_size({"N": x}) for x in value)
    if kind == "BS":
        return sum(len(base64.b64decode(x)) for x in value)
    raise ValueError(kind)


def item_size(item):
    return sum(len(k.encode()) + attr_size(v) for k, v in (item or {}).items())


def dynamodb_units(call):
    """(write units, read units) of one DynamoDB request."""
    op, req, res = call["operation"], call.get("request") or {}, call.get("response") or {}
    half = 1.0 if req.get("ConsistentRead") else 0.5
    if op == "PutItem":
        return math.ceil(max(item_size(req.get("Item")), 1) / 1024), 0
    if op in ("UpdateItem", "DeleteItem"):
        size = item_size(req.get("Key")) + sum(attr_size(v) for v in (req.get("ExpressionAttributeValues") or {}).values())
        return math.ceil(max(size, 1) / 1024), 0
    if op == "GetItem":
        return 0, math.ceil(max(item_size(res.get("Item")), 1) / 4096) * half
    if op in ("Query", "Scan"):
        total = sum(item_size(i) for i in res.get("Items", []))
        return 0, math.ceil(max(total, 1) / 4096) * half
    if op == "BatchWriteItem":
        w = 0
        for reqs in req.get("RequestItems", {}).values():
            for r in reqs:
                w += math.ceil(max(item_size((r.get("PutRequest") or r.get("DeleteRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key")), 1) / 1024)
        return w, 0
    if op == "TransactWriteItems":
        w = 0
        for t in req.get("TransactItems", []):
            (_, body), = t.items()
            w += 2 * math.ceil(max(item_size(body.get("Item") or body.get("Key")), 1) / 1024)
        return w, 0
    return 0, 0


def sqs_requests(call):
    # A request is billed per started 64 KB of its payload.
    return max(1, math.ceil(call["request_bytes"] / 65536))


def per_invocation(calls, n):
    """{label: (count, units)} averaged over n invocations."""
    out = {}
    for c in calls:
        label = f'{c["service"]}:{c["operation"]}'
        count, units = out.get(label, (0, 0.0))
        if c["service"] == "dynamodb":
            w, r = dynamodb_units(c)
            units += w + r
        elif c["service"] == "sqs":
            units += sqs_requests(c)
        else:
            units += 1
        out[label] = (count + 1, units)
    return {k: (v[0] / n, v[1] / n) for k, v in out.items()}


def dollars_per_event(row, calls, billed_ms):
    """Lambda request + duration, SQS and DynamoDB of one warm invocation, and logs."""
    cost = PRICES["lambda_request"] + math.ceil(billed_ms) / 1000 * MEMORY_GB * PRICES["lambda_gb_second_arm"]
    for label, (count, units) in calls.items():
        if label.startswith("dynamodb:"):
            write = label.split(":")[1] in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
            cost += units * (PRICES["dynamodb_wru"] if write else PRICES["dynamodb_rru"])
        elif label.startswith("sqs:"):
            cost += units * PRICES["sqs_request"]
    # The function's own lines, and Lambda's START, END and REPORT lines (about 260 bytes).
    logged = row["calls"].get("log_bytes_per_invocation", 0) + 260
    cost += logged / 1e9 * PRICES["logs_gb"]
    return cost


def main():
    report = json.load(open(sys.argv[1]))
    rows = {r["function"]: r for r in report["functions"]}
    print("\nLambda binaries through the Runtime API emulator, moto behind them")
    print("| function | INIT | first invocation | warm p50 | warm p99 | warm events | peak RSS | own time: INIT / first / warm |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        t, c = r["timing"], r["calls"]
        apart = f", {t['gap_ms']:.0f} ms apart" if t["gap_ms"] else ""
        print(f"| {name} | {t['init_ms']:.1f} ms | {t['first_ms']:.1f} ms | {t['p50_ms']:.2f} ms | {t['p99_ms']:.2f} ms | {t['warm_events']}{apart} | {t['peak_rss_mib']:.1f} MiB | {c['own_init_ms']:.1f} / {c['own_first_ms']:.2f} / {c['own_warm_ms']:.2f} ms |")
    print("(own time: an invocation less its AWS requests as moto answered them, through the IAM proxy;"
          " moto's own answers slow down as it serves more requests: 10 ms to 29 ms for one SendMessageBatch over 1,000 sends)")

    print("\nAWS requests of one warm invocation (DynamoDB: request units from the sizes; SQS: 64 KB requests)")
    print("| function | requests | at cold start |")
    print("| --- | --- | --- |")
    calls = {}
    for name, r in rows.items():
        c = r["calls"]
        calls[name] = per_invocation(c["warm"], c["warm_invocations"])
        warm = ", ".join(f"{k} ×{n:g} ({u:g} units)" if k.startswith("dynamodb") else f"{k} ×{n:g}"
                         for k, (n, u) in sorted(calls[name].items())) or "none"
        cold = ", ".join(sorted({f'{x["service"]}:{x["operation"]}' for x in c["init"] + c["first"]} - set(calls[name]))) or "none"
        print(f"| {name} | {warm} | {cold} |")

    if not {"webhook-ingest", "alarm-fanout", "job-poller"} <= rows.keys():
        return
    # One job event: a faulted job by webhook (HTTP API → webhook-ingest → SQS → alarm-fanout → one
    # Slack channel). The events queue's Lambda poller receives and deletes each batch: with
    # events arriving one at a time, one ReceiveMessage and one DeleteMessageBatch per event.
    ingest, fanout = rows["webhook-ingest"], rows["alarm-fanout"]
    lines = [
        ("API Gateway HTTP API request", PRICES["http_api_request"]),
        (f"webhook-ingest: invocation, {math.ceil(ingest['timing']['mean_ms'])} ms billed at 128 MB, its requests, logs",
         dollars_per_event(ingest, calls["webhook-ingest"], ingest["timing"]["mean_ms"])),
        ("events queue: the Lambda poller's ReceiveMessage + DeleteMessageBatch", 2 * PRICES["sqs_request"]),
        (f"alarm-fanout: invocation, {math.ceil(fanout['timing']['mean_ms'])} ms billed, its requests, logs",
         dollars_per_event(fanout, calls["alarm-fanout"], fanout["timing"]["mean_ms"])),
    ]
    # The same job seen again by the poller (it lists every job that ended since its watermark):
    # it reads whether the job was delivered everywhere (one eventually consistent Query, half a read
    # unit) and queues it only when not. Queued again, the copy would cost its share of a
    # SendMessageBatch (up to 10 a request), the queue's receive and delete, and a fan-out
    # invocation whose claim is refused: what every job paid before the check.
    lines.append(("the poll's copy of the job: one eventually consistent Query of its delivery records",
                  0.5 * PRICES["dynamodb_rru"]))
    repeat = fanout["calls"].get("repeat")
    requeued = None
    if repeat:
        again = per_invocation(repeat, 1)
        billed = fanout["calls"]["repeat_ms"]
        requests = ", ".join(f"{k} ×{n:g}" for k, (n, _) in sorted(again.items()))
        requeued = (f"1/10 SendMessageBatch, receive + delete, alarm-fanout {math.ceil(billed)} ms ({requests})",
                    2.1 * PRICES["sqs_request"] + dollars_per_event(fanout, again, billed))
    print("\nWhat a million job events cost (a webhook to one Slack channel; ap-northeast-1 list prices, arm64, 128 MB)")
    print("| part | USD per million events |")
    print("| --- | --- |")
    for label, cost in lines:
        print(f"| {label} | {cost * 1e6:.3f} |")
    print(f"| **total** | **{sum(x for _, x in lines) * 1e6:.3f}** |")
    if requeued:
        print(f"\nA copy queued again (the poll ran before the webhook's copy was delivered everywhere, or a delivery failed): "
              f"{requeued[0]}: {requeued[1] * 1e6:.3f} USD per million.")
    poller = rows["job-poller"]
    tick = dollars_per_event(poller, calls["job-poller"], poller["timing"]["mean_ms"])
    print(f"\njob-poller: {tick * 1e6:.3f} USD per million ticks; at rate(5 minutes), 8,640 ticks "
          f"a month: {tick * 8640:.4f} USD a month, each tick that finds a job included.")
    json.dump({"per_million_events_usd": sum(x for _, x in lines) * 1e6, "calls": calls}, open("/tmp/opsbell-lambda-cost.json", "w"))


main()
