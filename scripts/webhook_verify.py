#!/usr/bin/env python3
"""Verify webhook deliveries with the `standardwebhooks` library (an independent implementation
of the Standard Webhooks scheme).

Usage: webhook_verify.py FILE, where FILE holds one JSON object per line:
  {"secret": "whsec_...", "headers": {"webhook-id": ..., ...}, "body": "..."}
Exit 0 when every delivery verifies, 1 otherwise (the first failure is printed).
"""
import json
import sys

from standardwebhooks.webhooks import Webhook


def main() -> int:
    n = 0
    for line in open(sys.argv[1], encoding="utf-8"):
        if not line.strip():
            continue
        d = json.loads(line)
        try:
            Webhook(d["secret"]).verify(d["body"], d["headers"])
        except Exception as e:  # noqa: BLE001 - report any failure
            print(f"fail: {e}: {d['headers'].get('webhook-id')}")
            return 1
        n += 1
    print(f"pass: {n} deliveries")
    return 0 if n > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
