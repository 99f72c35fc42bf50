#!/usr/bin/env bash
# The Windows lane: the agent as a Windows program, under Wine, from the zip a person would drop.
#
#   scripts/windows_lane.sh          set up once (cached), build the zip, run tests/windows/ under Wine
#   scripts/windows_lane.sh setup    only the set-up
#   scripts/windows_lane.sh FILE...  run these test files instead of tests/windows/lane.ts
#   SCRIPTMON_WINDOWS_LANE_FILTER=/crash/ scripts/windows_lane.sh    only the tests whose names match
#
# Debian 12's Wine cannot run deno.exe; Wine 10 from Debian 13 can. The set-up makes a Debian 13
# chroot with debootstrap (Debian's mirror) and installs wine64 in it, once, under
# ~/.cache/scriptmon/wine-trixie (about 1 min, 1.5 GB). Each run binds /proc, /dev, /tmp and this
# checkout into the chroot, unzips dist/scriptmon-agent-windows-x64.zip (deno task dist) into /tmp
# and runs the suite with that zip's deno.exe. At the end it stops every Wine process of its prefix
# (wineserver -k), then any process still running inside the chroot, by pid, and unmounts.
# Needs root (chroot, mount) or sudo. Ends with "windows lane: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
CACHE="${SCRIPTMON_CACHE:-$HOME/.cache/scriptmon}"
ROOT="$CACHE/wine-trixie"
MIRROR="${SCRIPTMON_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
LANE_TIMEOUT="${SCRIPTMON_WINDOWS_LANE_TIMEOUT:-900}"
FILTER="${SCRIPTMON_WINDOWS_LANE_FILTER:-}" # a test name or /regex/, for working on one test
PREFIX_IN_ROOT=/var/lib/scriptmon-wine
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi

say() { echo "windows lane: $*" >&2; }

setup() {
  if [ -f "$ROOT/.scriptmon-ready" ]; then return; fi
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap (Debian package) with apt-get"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  local partial="$ROOT.partial"
  $sudo rm -rf "$partial"
  say "making a Debian 13 (trixie) chroot for Wine 10 in $ROOT (once; about a minute)"
  $sudo debootstrap --variant=minbase trixie "$partial" "$MIRROR" >/dev/null
  $sudo cp /etc/resolv.conf "$partial/etc/resolv.conf"
  $sudo chroot "$partial" /bin/sh -c \
    'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends wine wine64 ca-certificates >/dev/null'
  $sudo touch "$partial/.scriptmon-ready"
  $sudo rm -rf "$ROOT"
  $sudo mv "$partial" "$ROOT"
}

MOUNTS=()
bind() {
  local from=$1 to="$ROOT$1"
  $sudo mkdir -p "$to"
  if ! mountpoint -q "$to"; then
    $sudo mount --bind "$from" "$to"
    MOUNTS+=("$to")
  fi
}

in_root() {
  $sudo chroot "$ROOT" /usr/bin/env HOME=/root WINEPREFIX="$PREFIX_IN_ROOT" WINEDEBUG=-all \
    XDG_RUNTIME_DIR=/tmp NO_COLOR=1 "$@"
}

cleanup() {
  set +e
  if [ -x "$ROOT/usr/bin/wineserver" ] && [ ${#MOUNTS[@]} -gt 0 ]; then
    in_root wineserver -k 2>/dev/null
  fi
  # Whatever still runs inside the chroot was started by this lane: stop it by pid.
  local left=()
  for proc in /proc/[0-9]*; do
    if [ "$($sudo readlink "$proc/root" 2>/dev/null)" = "$ROOT" ]; then left+=("${proc#/proc/}"); fi
  done
  if [ ${#left[@]} -gt 0 ]; then
    say "stopping ${#left[@]} process(es) left in the chroot: ${left[*]}"
    $sudo kill -KILL "${left[@]}" 2>/dev/null
  fi
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    $sudo umount "${MOUNTS[$i]}" 2>/dev/null || $sudo umount -l "${MOUNTS[$i]}"
  done
  if [ -n "${COLLECTOR_PID:-}" ]; then
    kill -TERM "$COLLECTOR_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$COLLECTOR_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$COLLECTOR_PID" 2>/dev/null
  fi
  if [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
}

setup
if [ "${1:-}" = "setup" ]; then exit 0; fi
TESTS="${*:-tests/windows/lane.ts}"

trap cleanup EXIT
bind /proc
bind /dev
bind /dev/pts
bind /tmp
bind "$REPO"

say "building the zip (deno task dist --os windows)"
deno task dist --os windows >/dev/null
WORK=$(mktemp -d /tmp/scriptmon-windows-lane.XXXXXX)
(cd "$WORK" && python3 -m zipfile -e "$REPO/dist/scriptmon-agent-windows-x64.zip" .)
AGENT_DIR="Z:${WORK//\//\\}\\scriptmon-agent"

# A Linux collector on loopback for the link test; stopped by pid in cleanup.
say "starting a Linux collector on loopback"
deno run --allow-all tests/windows/linux_collector.ts >"$WORK/collector.json" 2>"$WORK/collector.log" &
COLLECTOR_PID=$!
for _ in $(seq 1 600); do
  if [ -s "$WORK/collector.json" ] || ! kill -0 "$COLLECTOR_PID" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ ! -s "$WORK/collector.json" ]; then
  say "the collector did not start: $(cat "$WORK/collector.log")"
  exit 1
fi

if [ ! -f "$ROOT$PREFIX_IN_ROOT/system.reg" ]; then
  say "creating the Wine prefix (once)"
  in_root wineboot -i >/dev/null 2>&1 || true
  # wineboot returns while the new prefix's services still set themselves up; the first schtasks
  # call then took 22 s and a later one failed. Wait for them, and start the task scheduler once.
  timeout 120 $sudo chroot "$ROOT" /usr/bin/env HOME=/root WINEPREFIX="$PREFIX_IN_ROOT" \
    WINEDEBUG=-all /bin/sh -c 'wineserver -w; wine schtasks /Query; wineserver -w' \
    >/dev/null 2>&1 || true
fi

log="$WORK/lane.log"
: >"$log"
status=0
start=$(date +%s)
set +e
timeout --kill-after=10 "$LANE_TIMEOUT" \
  $sudo chroot "$ROOT" /usr/bin/env HOME=/root WINEPREFIX="$PREFIX_IN_ROOT" WINEDEBUG=-all \
  XDG_RUNTIME_DIR=/tmp NO_COLOR=1 SCRIPTMON_WINDOWS_AGENT="$AGENT_DIR" \
  SCRIPTMON_LANE_COLLECTOR="$(head -n 1 "$WORK/collector.json")" \
  /bin/sh -c "cd '$REPO' && wine '$WORK/scriptmon-agent/deno.exe' test --allow-all --no-check \
  ${FILTER:+--filter '$FILTER'} $TESTS" \
  >"$log" 2>&1 &
runner=$!
# Not a pipe into tee: a Wine process outliving the timeout would hold the pipe, and tee with it.
tail -n +1 -f --pid="$runner" "$log" &
tailer=$!
wait "$runner"
status=$?
wait "$tailer"
set -e
took=$(($(date +%s) - start))
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1 || true)
if [ -z "$summary" ]; then
  say "no test summary (exit $status after ${took}s)"
  exit $((status == 0 ? 1 : status))
fi
passed=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")
echo "windows lane: ${passed} passed, ${failed} failed (${took}s)"
exit "$status"
