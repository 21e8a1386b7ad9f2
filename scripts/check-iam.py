"""Checks the packaged CloudFormation template's IAM: one role per function, and no statement
with a wildcard action or an unscoped resource. Prints each function's actions.
Usage: python3 scripts/check-iam.py .serverless/cloudformation-template-update-stack.json"""
import json
import sys

template = json.load(open(sys.argv[1]))
resources = template["Resources"]
problems = []
for name, res in sorted(resources.items()):
    if res["Type"] != "AWS::IAM::Role":
        continue
    actions = []
    for policy in res["Properties"].get("Policies", []):
        for st in policy["PolicyDocument"]["Statement"]:
            acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            actions += acts
            if any(a == "*" or a.endswith(":*") for a in acts):
                problems.append(f"{name}: wildcard action {acts}")
            if st.get("Resource") in ("*", ["*"]):
                problems.append(f"{name}: unscoped resource for {acts}")
    if res["Properties"].get("ManagedPolicyArns"):
        problems.append(f"{name}: managed policies {res['Properties']['ManagedPolicyArns']}")
    print(f"{name}: {', '.join(actions)}")
functions = [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"]
for f in functions:
    role = resources[f]["Properties"]["Role"]
    if not (isinstance(role, dict) and "Fn::GetAtt" in role):
        problems.append(f"{f}: not using its own role ({role})")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"IAM: {len(functions)} functions, each with its own least-privilege role")
