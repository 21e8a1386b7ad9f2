"""The predecessor, run beside opsbell in the same benchmark: uipath-job-status-listener-on-aws's
own webhook handler for Slack (handler.slack_webhook_handler, handlers/slack.py), on this
machine's Python 3, against the same sink and the same signed job.faulted.

PEER_DIR is a checkout of https://github.com/miyaichi/uipath-job-status-listener-on-aws. Its
code is Python 2.7 (serverless.yml: runtime python2.7), which no registry here carries, so the
harness copies it and makes the fewest edits that let Python 3 run it, each asserted to apply:
  - the signature header is base64-decoded with base64.b64decode instead of str.decode('base64');
  - the HMAC key is the secret's UTF-8 bytes (Python 2's str was bytes);
  - handlers/slack.py keeps its fields as str instead of encoding them to bytes (Python 2's
    .encode gave a str, Python 3's gives bytes that json.dumps refuses).
Nothing else changes: it logs the event at DEBUG (to /dev/null here; Lambda's runtime ships it to
CloudWatch), checks the signature, parses, filters the state and posts with requests.post, a new
connection per event, as the predecessor does in Lambda.

Usage: peer-predecessor.py PEER_DIR SINK_URL SECRET BODY SIGNATURE N
  N = 1: one event (time the whole process for the cold figure);
  N > 1: N events in this process; prints "<rate> events/s".
"""

import json
import logging
import os
import shutil
import sys
import tempfile
import time

peer_dir, sink_url, secret, body_path, signature, n = sys.argv[1:7]
peer_dir, body_path, n = os.path.abspath(peer_dir), os.path.abspath(body_path), int(n)

EDITS = {
    "handler.py": [
        ("import hmac\n", "import hmac\nimport base64\n"),
        ('event["headers"]["X-UIPATH-Signature"].decode(\'base64\')',
         'base64.b64decode(event["headers"]["X-UIPATH-Signature"])'),
        ("hmac.new(secret, msg=msg", "hmac.new(secret.encode('utf-8'), msg=msg"),
    ],
    "handlers/slack.py": [
        ('lambda s: s.encode("utf-8")', "lambda s: s"),
    ],
}

work = tempfile.mkdtemp(prefix="opsbell-peer-")
try:
    for name in ["handler.py", "uipath.py", "handlers", "locale"]:
        src = os.path.join(peer_dir, name)
        dst = os.path.join(work, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, dst)
    for name, edits in EDITS.items():
        path = os.path.join(work, name)
        text = open(path, encoding="utf-8").read()
        for old, new in edits:
            if old not in text:
                sys.exit(f"{name}: the predecessor changed ({old!r} not found); update {__file__}")
            text = text.replace(old, new, 1)
        open(path, "w", encoding="utf-8").write(text)

    os.environ.update({
        "language": "ja",
        "orchestrator_secret": secret,
        "available_state": "Faulted,Successful,Stopped",
        "incomming_webhook_url": sink_url,
    })
    # Lambda's Python runtime gives the root logger a handler; the DEBUG lines are written.
    logging.basicConfig(stream=open(os.devnull, "w"), level=logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    os.chdir(work)  # gettext's localedir="locale" is relative
    sys.path.insert(0, work)
    import handler  # noqa: E402

    body = open(body_path, encoding="utf-8").read()
    event = {"headers": {"X-UIPATH-Signature": signature}, "body": body}
    expected = json.dumps({"message": "1 メッセージを送信しました"})

    def once():
        reply = handler.slack_webhook_handler(event, None)
        if reply != {"statusCode": 200, "body": expected}:
            sys.exit(f"the predecessor answered {reply!r}")

    once()
    if n > 1:
        started = time.perf_counter()
        for _ in range(n):
            once()
        print(f"{n / (time.perf_counter() - started):.0f} events/s")
finally:
    shutil.rmtree(work, ignore_errors=True)
