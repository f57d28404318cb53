package dev.lanes.kernels;

import java.util.AbstractQueue;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The bounded queue of {@link Parallel}'s pool: a ring of parts under this object's monitor. ArrayBlockingQueue
 * made a {@code ConditionNode} each time an idle worker waited in {@code take()} (AQS conditions allocate one per
 * await), which was the largest allocation left in a compiled training step on two threads (issue 17: ~17% of a
 * ResNet-20 step's bytes); a monitor's wait and notify allocate nothing on the Java heap.
 */
final class PartQueue extends AbstractQueue<Runnable> implements BlockingQueue<Runnable> {
    private final Runnable[] items;
    private int head;
    /** Written under the monitor; volatile so that an idle worker can watch it without the lock ({@link #take}). */
    private volatile int count;
    /** Takers waiting on the monitor (under it): an offer notifies only then, not while the workers watch {@link #count}. */
    private int waiting;

    /**
     * How long an idle worker watches for the next part before it waits on the monitor. A compiled LeNet step makes
     * hundreds of parallel calls a few microseconds apart; waking a waiting thread costs tens of microseconds (more on
     * a busy VM), so a worker that went to sleep after each part arrived late to the next one. A short watch keeps it
     * awake across those gaps and costs at most this much CPU after the last part of a burst.
     */
    static final long SPIN_NANOS = 50_000;

    PartQueue(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive, got " + capacity);
        }
        items = new Runnable[capacity];
    }

    @Override
    public synchronized boolean offer(Runnable r) {
        Objects.requireNonNull(r);
        if (count == items.length) {
            return false;
        }
        items[(head + count) % items.length] = r;
        count++;
        // one waiting worker: only takers can be waiting here (putters wait while the queue is full, and the dequeue
        // that made room woke them all), and one new part needs one worker; a worker still watching needs no signal
        if (waiting > 0) {
            notify();
        }
        return true;
    }

    @Override
    public synchronized void put(Runnable r) throws InterruptedException {
        Objects.requireNonNull(r);
        while (count == items.length) {
            wait();
        }
        offer(r);
    }

    @Override
    public synchronized boolean offer(Runnable r, long timeout, TimeUnit unit) throws InterruptedException {
        Objects.requireNonNull(r);
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (count == items.length) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return offer(r);
    }

    @Override
    public Runnable take() throws InterruptedException {
        long start = System.nanoTime();
        while (count == 0 && System.nanoTime() - start < SPIN_NANOS) {
            Thread.onSpinWait();
        }
        synchronized (this) {
            while (count == 0) {
                waiting++;
                try {
                    wait();
                } finally {
                    waiting--;
                }
            }
            return dequeue();
        }
    }

    @Override
    public synchronized Runnable poll(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (count == 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            waiting++;
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } finally {
                waiting--;
            }
        }
        return dequeue();
    }

    @Override
    public synchronized Runnable poll() {
        return count == 0 ? null : dequeue();
    }

    @Override
    public synchronized Runnable peek() {
        return count == 0 ? null : items[head];
    }

    private Runnable dequeue() {
        Runnable r = items[head];
        items[head] = null;
        head = (head + 1) % items.length;
        count--;
        if (count == items.length - 1) {
            notifyAll(); // a putter may wait for room
        }
        return r;
    }

    @Override
    public synchronized int size() {
        return count;
    }

    @Override
    public synchronized int remainingCapacity() {
        return items.length - count;
    }

    /** Removes one occurrence (ThreadPoolExecutor takes back a part it could not run after a shutdown). */
    @Override
    public synchronized boolean remove(Object o) {
        for (int i = 0; i < count; i++) {
            int at = (head + i) % items.length;
            if (items[at].equals(o)) {
                for (int j = i; j < count - 1; j++) { // close the gap, keeping the order
                    items[(head + j) % items.length] = items[(head + j + 1) % items.length];
                }
                items[(head + count - 1) % items.length] = null;
                count--;
                notifyAll();
                return true;
            }
        }
        return false;
    }

    @Override
    public synchronized int drainTo(Collection<? super Runnable> c) {
        return drainTo(c, Integer.MAX_VALUE);
    }

    @Override
    public synchronized int drainTo(Collection<? super Runnable> c, int max) {
        if (c == this) {
            throw new IllegalArgumentException("cannot drain a queue into itself");
        }
        int n = Math.min(max, count);
        for (int i = 0; i < n; i++) {
            c.add(dequeue());
        }
        return n;
    }

    /** A snapshot: the queue may change while it is walked (ThreadPoolExecutor only reads it). */
    @Override
    public synchronized Iterator<Runnable> iterator() {
        Runnable[] copy = new Runnable[count];
        for (int i = 0; i < count; i++) {
            copy[i] = items[(head + i) % items.length];
        }
        return Arrays.asList(copy).iterator();
    }
}
