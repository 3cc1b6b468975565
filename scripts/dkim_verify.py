#!/usr/bin/env python3
"""Verify the DKIM signature of one message with dkimpy (an independent implementation).

Usage: dkim_verify.py MESSAGE_FILE 'v=DKIM1; k=rsa; p=...'
The TXT record given is what DNS would answer for <selector>._domainkey.<domain>.
Exit 0 when the signature verifies, 1 when it does not.
"""
import sys

import dkim


def main() -> int:
    message = open(sys.argv[1], "rb").read()
    record = sys.argv[2].encode()

    def dns(name, timeout=5):
        return record

    ok = dkim.verify(message, dnsfunc=dns)
    print("pass" if ok else "fail")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
