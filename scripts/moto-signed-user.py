"""Makes the user whose key the signature-checking moto accepts (scripts/stack-up.sh): allowed
everything, so only a wrong signature is refused. Prints its access key id and secret.
Usage: moto-signed-user.py PORT"""
import json
import sys

import boto3

iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
iam.create_user(UserName="opsbell-signed")
iam.put_user_policy(UserName="opsbell-signed", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="opsbell-signed")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
