"""Verifies requests with the Standard Webhooks reference library (PyPI `standardwebhooks`), as
a receiver of opsbell's `webhook` channel would: `verify-standard-webhooks.py SECRET FILE`,
FILE holding [{"headers": {...}, "body": "..."}]. Prints how many were verified; exits 1 on the
first that is not.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook

secret, path = sys.argv[1], sys.argv[2]
requests = json.load(open(path))
hook = Webhook(secret)
for r in requests:
    try:
        hook.verify(r["body"], r["headers"])
    except Exception as e:
        print(f"not verified: {type(e).__name__}: {e} ({r['headers'].get('webhook-id')})")
        sys.exit(1)
print(f"{len(requests)} request(s) verified by standardwebhooks")
