#!/usr/bin/python3
"""Reference summary of a subunit v2 stream (stdin), computed with python3-subunit's own parser.

Prints the fields Firehose publishes, counted the way subunit-stats counts (testtools' StreamToExtendedDecorator):
a final status per (test id, route code) is one test, a test left in progress counts as failed.
"""
import json, sys
import subunit
import testtools

FINAL = {"success", "fail", "skip", "xfail", "uxsuccess"}


class Summary(testtools.StreamResult):
    def __init__(self):
        super().__init__()
        self.counts = {s: 0 for s in FINAL}
        self.open, self.failures, self.stamps = {}, [], []

    def status(self, test_id=None, test_status=None, timestamp=None, route_code=None, **kw):
        if test_id is None or test_status == "exists":
            return
        if timestamp is not None:
            self.stamps.append(timestamp)
        key = (test_id, route_code)
        if test_status in FINAL:
            self.open.pop(key, None)
            self.counts[test_status] += 1
            if test_status in ("fail", "uxsuccess"):
                self.failures.append(test_id)
        else:
            self.open[key] = True


s = Summary()
subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout").run(s)
unfinished = len(s.open)
s.failures += sorted(k[0] for k in s.open)
first, last = (min(s.stamps), max(s.stamps)) if s.stamps else (None, None)
print(json.dumps({
    "total": sum(s.counts.values()) + unfinished,
    "passed": s.counts["success"],
    "failed": s.counts["fail"] + unfinished,
    "skipped": s.counts["skip"],
    "xfail": s.counts["xfail"],
    "uxsuccess": s.counts["uxsuccess"],
    "failures": s.failures,
    "run_at": first.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if first else None,
    "duration_seconds": round((last - first).total_seconds(), 3) if first else 0,
}))
