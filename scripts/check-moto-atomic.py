"""Measures whether an emulator's conditional writes are atomic: in each trial, four threads race
`UpdateItem ... ConditionExpression attribute_not_exists(pk)` on one new key; exactly one may win.
Usage: python3 scripts/check-moto-atomic.py http://127.0.0.1:PORT [trials]   (needs boto3: .venv)"""
import sys
import threading
import uuid

import boto3

endpoint, trials = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300
db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="ap-northeast-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
table = f"atomic-{uuid.uuid4().hex[:8]}"
db.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
doubled = 0
for trial in range(trials):
    wins = []
    barrier = threading.Barrier(4)

    def claim(n):
        barrier.wait()
        try:
            db.update_item(TableName=table, Key={"pk": {"S": f"k{trial}"}},
                           UpdateExpression="SET claimed_by = :n",
                           ExpressionAttributeValues={":n": {"N": str(n)}},
                           ConditionExpression="attribute_not_exists(pk)")
            wins.append(n)
        except db.exceptions.ConditionalCheckFailedException:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(wins) != 1:
        doubled += 1
print(f"{trials} trials, {doubled} with more than one winner")
sys.exit(1 if doubled else 0)
