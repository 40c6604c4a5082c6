#!/usr/bin/env bash
# tests/soak.sh - `make soak`: a long run loses nothing and leaks nothing.
# Trains SOAK_EPOCHS (30) epochs of the real MNIST with a checkpoint every 100
# steps and --keep-max 3, sampling the process's VmRSS and its open file
# descriptors (/proc/PID/status, /proc/PID/fd) every SOAK_PERIOD (0.5) s.
# SOAK_ARGS adds options to `lenet train` (e.g. --threads 1).
# Checks: from the first epoch to the last, resident memory stays within SOAK_RSS_SLACK_KB
# (4096) of its level at the end of epoch 1 and the descriptor count does not
# move; exactly 3 checkpoints remain, the last one the run's end; the log is
# complete (every step and epoch line, the done line, every line whole) and
# `lenet report` reads it. Prints the figures. Not part of `make test`
# (about a minute for 30 epochs on an idle machine here).
# shellcheck disable=SC2016
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$lenet" ] || { fail "$lenet not built"; finish; }
require_mnist
make_tmp
epochs=${SOAK_EPOCHS:-30}
period=${SOAK_PERIOD:-0.5}
slack=${SOAK_RSS_SLACK_KB:-4096}
log=$tmp/run.jsonl
samples=$tmp/samples

start=$(date +%s)
"$lenet" train --data "$mnist" --epochs "$epochs" --save-steps 100 --keep-max 3 --ckpt-dir "$tmp/ck" \
    --log "$log" --print-every 0 ${SOAK_ARGS:-} >"$tmp/out" 2>"$tmp/err" &
pid=$!
# One sample: epochs finished so far, VmRSS (kB), VmHWM (kB), open descriptors.
while kill -0 "$pid" 2>/dev/null; do
    status=$(cat "/proc/$pid/status" 2>/dev/null)
    # (a checkpoint being saved holds two more for a moment, its temporary
    # file and the folder it fsyncs: not counted)
    fds=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -- ' -> ' | grep -v -e '\.tmp\.' -e " -> $tmp/ck\$" | wc -l)
    ep=$(grep -c '"event": "epoch"' "$log" 2>/dev/null)
    rss=$(awk '/^VmRSS/ {print $2}' <<<"$status")
    hwm=$(awk '/^VmHWM/ {print $2}' <<<"$status")
    [ -n "$rss" ] && [ "$fds" -gt 0 ] && echo "${ep:-0} $rss $hwm $fds" >>"$samples"
    sleep "$period"
done
wait "$pid"
rc=$?
seconds=$(($(date +%s) - start))
check "soak: $epochs epochs trained (exit 0, ${seconds} s)" eval '[ "$rc" -eq 0 ]'
[ "$rc" -eq 0 ] || sed 's/^/    /' "$tmp/err"

# Figures after the first epoch, against the level at its end.
# (up to the last epoch: at the very end the run closes its files)
read -r n rss1 rss_min rss_max hwm_end fd_min fd_max <<<"$(awk -v last="$epochs" '$1 >= 1 && $1 < last {
    n++; if (n == 1) first = $2
    if (n == 1 || $2 < rmin) rmin = $2; if ($2 > rmax) rmax = $2
    if (n == 1 || $4 < fmin) fmin = $4; if ($4 > fmax) fmax = $4; hwm = $3 }
    END { print n + 0, first + 0, rmin + 0, rmax + 0, hwm + 0, fmin + 0, fmax + 0 }' "$samples")"
echo "figures: $n samples from the end of epoch 1 to the last epoch; VmRSS at the end of epoch 1 ${rss1} kB, then ${rss_min}-${rss_max} kB" \
     "(growth $((rss_max - rss1)) kB); peak VmHWM ${hwm_end} kB; open descriptors ${fd_min}-${fd_max}"
awk '{print "  sample: epochs " $1 ", VmRSS " $2 " kB, VmHWM " $3 " kB, fds " $4}' "$samples" |
    awk -v e=-1 '{split($3, a, ","); if (a[1] != e) {print; e = a[1]}}'
check "soak: resident memory flat after epoch 1 (grew $((rss_max - rss1)) kB, slack $slack kB)" \
    eval '[ "$n" -ge 5 ] && [ $((rss_max - rss1)) -le "$slack" ]'
check "soak: open descriptors flat after epoch 1 ($fd_min-$fd_max)" eval '[ "$n" -ge 5 ] && [ "$fd_min" -eq "$fd_max" ]'

steps=$((epochs * 1875))
left=$(ls "$tmp/ck" | tr '\n' ' ')
check "soak: exactly 3 checkpoints left, the last the run's end ($left)" \
    eval '[ "$(ls "$tmp/ck" | wc -l)" -eq 3 ] && [ -f "$tmp/ck/checkpoint_lenet-$epochs"_1875.ckpt ]'
check "soak: the log is complete: $steps step lines, $epochs epoch lines, the done line, every line whole" \
    eval '[ "$(grep -c "\"event\": \"step\"" "$log")" -eq "$steps" ] &&
          [ "$(grep -c "\"event\": \"epoch\"" "$log")" -eq "$epochs" ] &&
          tail -n 1 "$log" | grep -q "\"event\": \"done\"" && [ -z "$(tail -c 1 "$log" | tr -d "\n")" ]'
run report --log "$log" --data "$mnist" -o "$tmp/report"
check "soak: lenet report reads the whole log ($(head -c 120 "$tmp/out"))" \
    eval '[ "$rc" -eq 0 ] && ! grep -q warning "$tmp/err" && grep -q "$epochs epochs, $steps steps" "$tmp/out"'
finish
