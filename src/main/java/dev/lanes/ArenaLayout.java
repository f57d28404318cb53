package dev.lanes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where each slot of a compiled plan lives in its one arena: slots are placed by liveness, first fit, so a slot
 * takes the place of any slot whose last reader ran before it is written. Shared by {@link InferencePlan} and
 * {@link TrainingPlan}; slots may be aliased (an activation fused into its producer writes the producer's slot).
 */
final class ArenaLayout {
    static final int ALIGN_FLOATS = 16;

    /** Float offset of each slot (aliases resolved). */
    final long[] base;
    /** First float past the last slot. */
    final long top;

    private ArenaLayout(long[] base, long top) {
        this.base = base;
        this.top = top;
    }

    static long roundUp(long floats) {
        return (floats + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    }

    static int canon(int[] alias, int slot) {
        while (alias[slot] != slot) {
            slot = alias[slot];
        }
        return slot;
    }

    /** The slots a step writes: its result, then any second outputs. */
    private static Ref[] outputs(PlanStep s) {
        Ref[] extra = s.extraOutputs();
        if (extra.length == 0) {
            return new Ref[] {s.out};
        }
        Ref[] all = new Ref[extra.length + 1];
        all[0] = s.out;
        System.arraycopy(extra, 0, all, 1, extra.length);
        return all;
    }

    /**
     * Lays out the slots {@code steps} write, from float {@code start} on; the slots in {@code results} stay live to
     * the end (what the caller reads after the run).
     */
    static ArenaLayout of(List<PlanStep> steps, List<Long> slotFloats, int[] alias, int[] results, long start) {
        return of(steps, slotFloats, alias, results, start, false);
    }

    /**
     * {@code ownRegion}: the result slots get a region of their own before the others, never shared with another
     * slot (a training plan's gradients and output are views callers hold between runs: their bytes must never be
     * another value's, even mid-run).
     */
    static ArenaLayout of(List<PlanStep> steps, List<Long> slotFloats, int[] alias, int[] results, long start, boolean ownRegion) {
        int slots = slotFloats.size();
        int[] def = new int[slots];
        int[] last = new int[slots];
        Arrays.fill(def, -1);
        Arrays.fill(last, -1);
        for (int i = 0; i < steps.size(); i++) {
            PlanStep s = steps.get(i);
            for (Ref o : outputs(s)) {
                int c = canon(alias, o.id());
                if (def[c] < 0) {
                    def[c] = i;
                }
                last[c] = Math.max(last[c], i);
            }
            for (Ref r : s.inputs()) {
                if (r != null && r.kind() == Ref.SLOT) {
                    int d = canon(alias, r.id());
                    last[d] = Math.max(last[d], i);
                }
            }
        }
        for (int r : results) {
            last[canon(alias, r)] = steps.size();
        }
        long[] offset = new long[slots];
        boolean[] placed = new boolean[slots];
        if (ownRegion) {
            for (int r : results) {
                int c = canon(alias, r);
                if (!placed[c]) {
                    placed[c] = true;
                    offset[c] = start;
                    start += roundUp(slotFloats.get(c));
                }
            }
        }
        // {offset, size, lastUse} of the slots alive, in the order of their offsets (loops, not lambdas: a plan is
        // often compiled in a young JVM, where each lambda's first use spins a class)
        List<long[]> live = new ArrayList<>();
        long top = start;
        for (int i = 0; i < steps.size(); i++) {
            for (java.util.Iterator<long[]> it = live.iterator(); it.hasNext(); ) {
                if (it.next()[2] < i) {
                    it.remove();
                }
            }
            for (Ref o : outputs(steps.get(i))) {
                int c = canon(alias, o.id());
                if (def[c] != i || placed[c]) {
                    continue;
                }
                long size = roundUp(slotFloats.get(c));
                long at = start;
                for (long[] b : live) {
                    if (b[0] - at >= size) {
                        break;
                    }
                    at = Math.max(at, b[0] + b[1]);
                }
                offset[c] = at;
                int k = 0;
                while (k < live.size() && live.get(k)[0] <= at) {
                    k++;
                }
                live.add(k, new long[] {at, size, last[c]});
                top = Math.max(top, at + size);
            }
        }
        long[] base = new long[slots];
        for (int i = 0; i < slots; i++) {
            base[i] = offset[canon(alias, i)];
        }
        return new ArenaLayout(base, top);
    }
}
