#!/usr/bin/env python3
"""Crash safety without a returned message: the flood of test_crash.py (kill -9 mid-flood,
restart, senders resend what got no 250) with DSNs that carry no returned headers, so no
original Message-ID identifies the failure. A resent DSN is a new spool file with a new
Received line; it must still be the same bounce: 0 lost, 0 double-counted. Which resends
fall in the window between the spool commit and the 250 is luck, so 200 acknowledged
messages are also sent again afterwards, as a client that lost their 250 does. (Before
event keys ignored trace fields, each such resend was counted twice.)"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_crash  # noqa: E402

if __name__ == "__main__":
    test_crash.main(returned=False, resend=200)
