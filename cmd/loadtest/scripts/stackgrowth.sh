#!/usr/bin/env bash
# stackgrowth.sh counts the goroutine stacks that grow from 8 to 16 KB in
# run D (webhook, 50 ms, 1,000 users) and names where they grow, with the
# frames beneath (docs/BENCHMARKS.md, twelfth round). A worker whose stack
# grew keeps 16 KB until a collection finds it idle: under a burst, most
# of the 512 workers.
#
#   REDIS_URL=redis://127.0.0.1:6379/5 cmd/loadtest/scripts/stackgrowth.sh /tmp/m/loadtest
#
# It builds the bot with a copy of the Go toolchain whose runtime prints,
# at each such growth, the frames on the stack and their sizes (the first
# 3,000 in full, then one line each). Needs python3.
set -euo pipefail
: "${REDIS_URL:?set REDIS_URL to a database this script may flush}"
lt=$1
work=${STACKGROWTH_DIR:-/tmp/stackgrowth}
goroot=$(go env GOROOT)
mkdir -p "$work"
if [[ ! -f $work/goroot/src/runtime/.stackgrowth ]]; then
  rm -rf "$work/goroot"
  cp -r "$goroot" "$work/goroot"
  python3 - "$work/goroot/src/runtime/stack.go" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
anchor = '''	// The goroutine must be executing in order to call newstack,
	// so it must be Grunning (or Gscanrunning).
	casgstatus(gp, _Grunning, _Gcopystack)'''
add = '''	if oldsize == 8192 && growPrints > 3000 {
		print("GROW-\\n")
	}
	if oldsize == 8192 && growPrints <= 3000 {
		growPrints++
		print("GROW need=", funcMaxSPDelta(findfunc(gp.sched.pc)), "\\n")
		var u unwinder
		for u.initAt(gp.sched.pc, gp.sched.sp, gp.sched.lr, gp, 0); u.valid(); u.next() {
			print("F ", funcname(u.frame.fn), " ", u.frame.fp-u.frame.sp, "\\n")
		}
		print("END\\n")
	}
'''
assert anchor in s, "runtime/stack.go changed: update this script"
s = s.replace(anchor, add + anchor) + "\nvar growPrints int\n"
open(p, "w").write(s)
PY
  touch "$work/goroot/src/runtime/.stackgrowth"
fi
GOROOT=$work/goroot "$work/goroot/bin/go" build -trimpath -ldflags="-s -w" -o "$work/dostyq" .
cat >"$work/bot.sh" <<SH
#!/usr/bin/env bash
exec 3>&2
exec "$work/dostyq" "\$@" 2> >(tee -a "$work/growth.txt" >&3)
SH
chmod +x "$work/bot.sh"
rm -f "$work/growth.txt"
redis-cli -u "$REDIS_URL" flushdb >/dev/null
"$lt" -bin "$work/bot.sh" -users 1000 -mode webhook -api-delay 50ms -baseline 0 -broadcast 0 -open 0 2>&1 | grep "bot process 1" || true
echo "stacks grown from 8 to 16 KB: $(grep -c '^GROW' "$work/growth.txt")"
python3 - "$work/growth.txt" <<'PY'
import collections, sys
# Lines of two growths printed at once can interleave: frames whose size
# is not a number are skipped.
c, depth = collections.Counter(), {}
for b in open(sys.argv[1]).read().split("GROW ")[1:]:
    fr = [l[2:] for l in b.split("\n") if l.startswith("F ") and l[2:].rsplit(" ", 1)[-1].isdigit()]
    if not any("Dispatcher" in f for f in fr):
        continue  # not a worker
    own = [f.rsplit(" ", 1)[0].split("/")[-1] for f in fr if "dostyq" in f]
    key = " <- ".join(own[:4])
    c[key] += 1
    depth[key] = sum(int(f.rsplit(" ", 1)[1]) for f in fr)
print("where workers' stacks grow (of the first 3,000 growths), bytes on the stack:")
for k, n in c.most_common(10):
    print(f"{n:6d} {depth[k]:6d}  {k}")
PY
