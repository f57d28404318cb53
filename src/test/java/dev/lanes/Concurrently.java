package dev.lanes;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Test helper: runs a body on several threads at once and rethrows the first failure. */
final class Concurrently {
    private Concurrently() {
    }

    interface ThreadBody {
        void run(int thread) throws Exception;
    }

    static void run(int threads, ThreadBody body) throws InterruptedException {
        List<Thread> started = new ArrayList<>();
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < threads; t++) {
            final int id = t;
            Thread th = new Thread(() -> {
                try {
                    body.run(id);
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "concurrently-" + t);
            started.add(th);
            th.start();
        }
        for (Thread th : started) {
            th.join();
        }
        if (!errors.isEmpty()) {
            AssertionError e = new AssertionError(errors.size() + " of " + threads + " threads failed", errors.get(0));
            errors.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }
}
