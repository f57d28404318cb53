package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The pool's queue (PartQueue): FIFO within its capacity, blocking takes, removal keeping order, a working pool on it. */
class PartQueueTest {
    private static Runnable named(List<String> log, String name) {
        return new Runnable() {
            @Override
            public void run() {
                log.add(name);
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    @Test
    void keepsOrderWithinItsCapacityAndAcrossTheRingsEnd() {
        PartQueue q = new PartQueue(3);
        List<String> log = new ArrayList<>();
        Runnable a = named(log, "a");
        Runnable b = named(log, "b");
        Runnable c = named(log, "c");
        Runnable d = named(log, "d");
        assertThat(q.offer(a)).isTrue();
        assertThat(q.offer(b)).isTrue();
        assertThat(q.offer(c)).isTrue();
        assertThat(q.offer(d)).as("full").isFalse();
        assertThat(q.remainingCapacity()).isZero();
        assertThat(q.poll()).isSameAs(a);
        assertThat(q.offer(d)).isTrue(); // wraps around the ring
        assertThat(q.remove(c)).isTrue(); // from the middle: b, d remain in order
        assertThat(q.remove(c)).isFalse();
        assertThat(q).containsExactly(b, d);
        List<Runnable> drained = new ArrayList<>();
        assertThat(q.drainTo(drained)).isEqualTo(2);
        assertThat(drained).containsExactly(b, d);
        assertThat(q.poll()).isNull();
        assertThat(q.peek()).isNull();
        assertThatThrownBy(() -> q.offer(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> new PartQueue(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void takeWaitsForAPartAndTimedPollGivesUp() throws Exception {
        PartQueue q = new PartQueue(2);
        assertThat(q.poll(20, TimeUnit.MILLISECONDS)).isNull();
        AtomicReference<Runnable> got = new AtomicReference<>();
        CountDownLatch waiting = new CountDownLatch(1);
        Thread taker = new Thread(() -> {
            waiting.countDown();
            try {
                got.set(q.take());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        taker.start();
        waiting.await();
        Thread.sleep(20);
        Runnable r = () -> { };
        q.offer(r);
        taker.join(5_000);
        assertThat(got.get()).isSameAs(r);
        // a full queue: a timed offer gives up, a put waits for room
        q.offer(r);
        q.offer(r);
        assertThat(q.offer(r, 20, TimeUnit.MILLISECONDS)).isFalse();
        Thread putter = new Thread(() -> {
            try {
                q.put(r);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        putter.start();
        Thread.sleep(20);
        assertThat(q.poll()).isSameAs(r);
        putter.join(5_000);
        assertThat(q.size()).isEqualTo(2);
    }

    @Test
    void aPoolOnItRunsEveryPartAndShutsDown() throws Exception {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(3, 3, 0L, TimeUnit.MILLISECONDS, new PartQueue(64));
        AtomicInteger ran = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(10_000);
        for (int i = 0; i < 10_000; i++) {
            while (true) {
                try {
                    pool.execute(() -> {
                        ran.incrementAndGet();
                        done.countDown();
                    });
                    break;
                } catch (java.util.concurrent.RejectedExecutionException full) {
                    Thread.onSpinWait(); // the queue is full: Parallel runs such a part on its caller
                }
            }
        }
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(ran.get()).isEqualTo(10_000);
        pool.shutdown();
        assertThat(pool.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    }
}
