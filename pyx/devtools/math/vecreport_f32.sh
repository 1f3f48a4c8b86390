#!/bin/sh
# Prints, for each -march level, every loop in loops_f32.c and whether GCC
# vectorized it.  Exit status 1 if any loop was not vectorized.
cd "$(dirname "$0")"
FLAGS="-O3 -fno-math-errno -fno-trapping-math"
bad=0
for m in x86-64 x86-64-v3 x86-64-v4; do
  rep=$(${CC:-gcc} $FLAGS -march=$m -fopt-info-vec-optimized -c loops_f32.c -o /dev/null 2>&1)
  echo "== -march=$m"
  grep -n '^OOP(\|^INP(\|^void loop_' loops_f32.c | while IFS=: read -r line text; do
    name=$(echo "$text" | sed -e 's/^OOP(\(.*\))/loop_\1/' -e 's/^INP(\(.*\))/loop_\1_inplace/' -e 's/^void \(loop_[a-z0-9_]*\).*/\1/')
    # a function's loop is reported on its own line or (multi-line functions) the next few
    v=$(echo "$rep" | grep -E "loops_f32.c:($line|$((line+1))|$((line+2))|$((line+3))):[0-9]+: optimized: loop vectorized" | head -1 | sed 's/.*using/using/')
    if [ -n "$v" ]; then printf '  %-24s vectorized %s\n' "$name" "$v"; else printf '  %-24s NOT VECTORIZED\n' "$name"; echo bad > .vecbad_f32; fi
  done
done
if [ -f .vecbad_f32 ]; then rm -f .vecbad_f32; exit 1; fi
