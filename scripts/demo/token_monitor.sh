#!/bin/sh
# Demo for `deno task demo`: a token monitor that prints every 3 s and now
# and then complains on stderr, as a real one does when its cookie ages.
n=0
while :; do
  n=$((n + 1))
  echo "token ok, check $n"
  if [ $((n % 4)) -eq 0 ]; then
    echo "warning: token expires in $((60 - n % 60)) min" >&2
  fi
  sleep 3
done
