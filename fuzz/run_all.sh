#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600), one at a time, one worker, keeping going after
# a finding (every crashing input lands in artifacts/TARGET/). Build first: cargo +nightly fuzz build -s none
set -u
cd "$(dirname "$0")"
secs=${SECONDS_PER_TARGET:-600}
bin=target/x86_64-unknown-linux-gnu/release
for t in ${TARGETS:-profiles import scenario grid ledger shard_rows injections feeder}; do
  mkdir -p "corpus/$t" "artifacts/$t"
  start=$(date +%s)
  "$bin/$t" "corpus/$t" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="artifacts/$t/" > "logs/$t.log" 2>&1
  end=$(date +%s)
  echo "$t: $((end - start)) s wall; last status: $(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)" >> logs/summary.txt
done
