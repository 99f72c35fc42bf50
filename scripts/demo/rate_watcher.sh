#!/bin/sh
# Demo for `deno task demo`: a rate watcher that prints one line every 2 s.
n=0
while :; do
  n=$((n + 1))
  echo "rates ${FC:-DEMO}: check $n, picks/h=$((880 + (n * 37) % 90))"
  sleep 2
done
