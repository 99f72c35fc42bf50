#!/bin/sh
# Demo for `deno task demo`: runs ~5 s, then fails with exit code 1, so the
# agent shows restarts with backoff and, after a few, a crash loop.
echo "flaky: starting (pid $$)"
sleep 5
echo "flaky: lost the connection, giving up" >&2
exit 1
