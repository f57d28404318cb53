package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.kernels.BinaryKernel;
import dev.lanes.kernels.BinaryOp;
import dev.lanes.kernels.ClassificationLoss;
import dev.lanes.kernels.Conv2dDriver;
import dev.lanes.kernels.Elementwise;
import dev.lanes.kernels.Im2col;
import dev.lanes.kernels.Parallel;
import dev.lanes.kernels.Pooling;
import dev.lanes.kernels.Reductions;
import dev.lanes.kernels.Select;
import dev.lanes.kernels.Sgemm;
import dev.lanes.kernels.UnaryOp;
import dev.lanes.kernels.Winograd;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One kernel call of an {@link InferencePlan}: the op's parameters fixed at trace time, its tensors as
 * {@link Ref}s resolved against an execution context's {@link Frame} at run time. {@code run} allocates nothing.
 */
abstract class PlanStep {
    /** Where the result goes: always a whole, contiguous slot. */
    Ref out;

    abstract Ref[] inputs();

    private static final Ref[] NO_REFS = {};

    /** Slots this step writes besides {@link #out} (fresh tensors the launch passes among its inputs, see {@code Launch}); they are not inputs. */
    Ref[] extraOutputs() {
        return NO_REFS;
    }

    abstract void run(Frame f);

    /**
     * Checks the values this step reads from the plan's inputs (class indices, token ids) before any step of the run
     * writes anything: a training plan calls it for every step first, so a refused batch leaves BatchNorm's running
     * statistics, the dropout generator and the parameters as they were (the cross-entropy step threw only after the
     * BatchNorm step had folded the batch in). The steps check again as they run.
     */
    void validateInputs(Frame f) {
    }

    abstract String describe();

    /** Column-buffer floats this step needs in the frame's scratch region. */
    long scratchFloats() {
        return 0;
    }

    /** The largest GEMM inner dimension and column count this step runs (for the packing buffers). */
    int gemmK() {
        return 0;
    }

    int gemmN() {
        return 0;
    }

    /** A step that draws from the global generator on every run (dropout's mask): never folded into a constant. */
    boolean random() {
        return false;
    }

    /** Called once the constants are known: steps that can precompute epilogues do it here. */
    void bind(MemorySegment[] consts) {
    }

    /**
     * Drops a rounding-heavy form chosen at bind (Winograd's convolution) for the direct one; whether there was one.
     * A plan whose self-check fails calls it before it gives up (see InferencePlan.selfCheck).
     */
    boolean dropApproximateForm(MemorySegment[] consts) {
        return false;
    }

    /** Whether the activation {@code op} ({@link UnaryOp#isActivation()}) on this step's result can be folded into its epilogue. */
    boolean canFuseActivation(UnaryOp op) {
        return false;
    }

    void fuseActivation(UnaryOp activation) {
        throw new UnsupportedOperationException();
    }

    /**
     * {@link #fuseActivation(UnaryOp)} of an activation with parameters p, q (leaky_relu's slope, hardtanh's bounds):
     * the GEMM and the convolution keep them for their epilogue; the others fuse ReLU only, which has none.
     */
    void fuseActivation(UnaryOp activation, float p, float q) {
        fuseActivation(activation);
    }

    /** " -> relu" and the like for describe(); empty without an activation. */
    static String activationSuffix(UnaryOp activation) {
        return activation == UnaryOp.IDENTITY ? "" : " -> " + activation.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** " -> leaky_relu(0.01)", " -> hardtanh(0.0, 6.0)": {@link #activationSuffix(UnaryOp)} with the parameters that are set. */
    static String activationSuffix(UnaryOp activation, float p, float q) {
        return activationSuffix(activation) + (p != 0 || q != 0 ? "(" + p + (q != 0 ? ", " + q : "") + ")" : "");
    }

    @Override
    public String toString() {
        return out + " = " + describe();
    }

    /** Heap scratch (floats) this step needs: an image copy, an im2col matrix, a packed activation panel. */
    int heapImage() {
        return 0;
    }

    int heapColumns() {
        return 0;
    }

    int heapPanel() {
        return 0;
    }

    /** Floats of the frame's general heap scratch ({@link Frame#heapScratch}) this step needs. */
    int heapFloats() {
        return 0;
    }

    /**
     * Runs {@code steps} {@code calls} times on {@code f} ({@code prepare} before each run) and returns a table of the
     * median microseconds of each step, like a profiler's per-op view.
     */
    static String profile(PlanStep[] steps, Frame f, int calls, Runnable prepare) {
        long[][] ns = new long[steps.length][calls];
        for (int i = 0; i < calls; i++) {
            prepare.run();
            for (int j = 0; j < steps.length; j++) {
                long t0 = System.nanoTime();
                steps[j].run(f);
                ns[j][i] = System.nanoTime() - t0;
            }
        }
        StringBuilder sb = new StringBuilder();
        double total = 0;
        for (int j = 0; j < steps.length; j++) {
            Arrays.sort(ns[j]);
            double us = ns[j][calls / 2] / 1e3;
            total += us;
            sb.append(String.format("%9.2f us  %s%n", us, steps[j]));
        }
        return sb.append(String.format("%9.2f us  total of medians%n", total)).toString();
    }

    /** What a plan's execution context must hold for its steps: the largest of each step's needs. */
    record Needs(int gemmK, int gemmN, int heapFloats, int image, int columns, int panel) {
        static Needs of(PlanStep[] steps) {
            int k = 1;
            int n = 1;
            int heap = 0;
            int img = 0;
            int col = 0;
            int pan = 0;
            for (PlanStep s : steps) {
                img = Math.max(img, s.heapImage());
                col = Math.max(col, s.heapColumns());
                pan = Math.max(pan, s.heapPanel());
                k = Math.max(k, s.gemmK());
                n = Math.max(n, s.gemmN());
                heap = Math.max(heap, s.heapFloats());
            }
            return new Needs(k, n, heap, img, col, pan);
        }
    }

    /** Per-thread arrays for operands packed per call (conv weights, W^T of the input gradient): grown, never shrunk. */
    static final ThreadLocal<float[][]> PER_CALL_W = new ThreadLocal<>() {
        @Override
        protected float[][] initialValue() {
            return new float[0][];
        }
    };
    static final ThreadLocal<float[][]> PER_CALL_WT = new ThreadLocal<>() {
        @Override
        protected float[][] initialValue() {
            return new float[0][];
        }
    };

    /** {@code count} arrays of at least {@code floats} from {@code holder}, this thread's (allocates only to grow). */
    static float[][] reusable(ThreadLocal<float[][]> holder, int count, int floats) {
        float[][] arrays = holder.get();
        if (arrays.length < count) {
            arrays = java.util.Arrays.copyOf(arrays, count);
            holder.set(arrays);
        }
        for (int i = 0; i < count; i++) {
            if (arrays[i] == null || arrays[i].length < floats) {
                arrays[i] = new float[floats];
            }
        }
        return arrays;
    }

    /** The buffers of one execution context for one call. */
    static final class Frame {
        final MemorySegment arena;
        final long[] base;
        final MemorySegment[] consts;
        final Sgemm.Workspace workspace;
        final long scratchOff;
        final float[] tile;
        /** Heap scratch of the steps that ask for it ({@link PlanStep#heapFloats}): softmax over a non-last dim, attention. */
        final float[] heapScratch;
        final float[] image;
        final float[] columns;
        final float[] panel;
        /** The plan's conv scratch over {@link #image}, {@link #columns} and {@link #tile}. */
        final Conv2dDriver.Buffers convBuffers;
        /** The Winograd steps' arrays, grown at this context's first call to the largest such layer (then kept). */
        final Winograd.Buffers winograd;
        MemorySegment input;
        long inputOff;
        /** A training step's second input (the target), at offset 0 of its own segment. */
        MemorySegment input1;

        Frame(MemorySegment arena, long[] base, MemorySegment[] consts, Sgemm.Workspace workspace, long scratchOff, int heapScratch,
              int image, int columns, int panel, boolean parallel) {
            this.arena = arena;
            this.base = base;
            this.consts = consts;
            this.workspace = workspace;
            this.scratchOff = scratchOff;
            this.tile = new float[Sgemm.SCRATCH_FLOATS];
            this.heapScratch = new float[heapScratch];
            this.image = new float[image];
            this.columns = new float[columns];
            this.panel = new float[panel];
            this.convBuffers = Conv2dDriver.Buffers.of(this.image, this.columns, this.tile);
            this.winograd = new Winograd.Buffers();
            this.args = null;
            this.parallel = parallel;
        }

        /** The segments of an eager launch (inputs, then the output), for {@link Ref#ARG} refs. */
        private final MemorySegment[] args;
        /**
         * Eager launches and training plans may split a step across {@code Parallel}'s workers (kernels' parallel
         * forms, which allocate their scratch); an inference plan runs each call on its caller's thread with the
         * frame's scratch.
         */
        final boolean parallel;

        /** An eager launch's frame: the steps of the families on {@link Launch} need no scratch buffers. */
        private Frame(MemorySegment[] args) {
            this.arena = null;
            this.base = null;
            this.consts = null;
            this.workspace = null;
            this.scratchOff = 0;
            this.tile = null;
            this.heapScratch = null;
            this.image = null;
            this.columns = null;
            this.panel = null;
            this.convBuffers = null;
            this.winograd = null;
            this.args = args;
            this.parallel = true;
        }

        static Frame eager(MemorySegment[] args) {
            return new Frame(args);
        }

        /**
         * Whether this is a training plan's frame (a compiled TrainStep's): a plan's arena, run in parallel parts (an
         * inference plan runs on its caller's thread, an eager launch has no arena). Its steps run one call at a time.
         */
        boolean trainingPlan() {
            return arena != null && parallel;
        }

        /**
         * Set while a training plan checks itself against the eager step it was traced from (TrainingPlan.selfCheck):
         * its steps then take their exact forms (no Winograd), so the check compares what the plan does, not
         * Winograd's rounding, which a ReLU network's gradient can amplify far past the check's tolerance.
         */
        boolean exactForms;

        MemorySegment seg(Ref r) {
            int k = r.kind();
            return k == Ref.SLOT ? arena : k == Ref.INPUT ? (r.id() == 0 ? input : input1) : k == Ref.ARG ? args[r.id()] : consts[r.id()];
        }

        long off(Ref r) {
            int k = r.kind();
            return k == Ref.SLOT ? base[r.id()] + r.offset() : k == Ref.INPUT && r.id() == 0 ? inputOff + r.offset() : r.offset();
        }

        /**
         * {@link #off} for a tensor of {@code bytes}-byte elements (a bool is 1, an int64 8): slot bases and the input's
         * offset count floats, a ref's offset counts the tensor's own elements. Every slot base is a multiple of
         * {@code ArenaLayout.ALIGN_FLOATS}, so an int64 slot (argmax's indices) starts on a whole element; an int64
         * input sits at a float offset that is a multiple of its element size too (an inference plan's input region
         * starts the arena; a training plan's input has its own segment).
         */
        long elemOff(Ref r, int bytes) {
            if (bytes == 4) {
                return off(r);
            }
            int k = r.kind();
            return k == Ref.SLOT ? base[r.id()] * 4 / bytes + r.offset() : k == Ref.INPUT && r.id() == 0 ? inputOff * 4 / bytes + r.offset() : r.offset();
        }
    }

    /** Row-major strides exactly (no allocation: an eager launch builds a step per call). */
    private static boolean contiguous(int[] strides, int[] shape) {
        long s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (strides[d] != s) {
                return false;
            }
            s *= Math.max(shape[d], 1);
        }
        return true;
    }

    static final class Unary extends PlanStep {
        final UnaryOp op;
        final float p;
        final float q;
        final Ref in;
        final int[] inStrides;
        final int[] shape;
        final int[] outStrides;
        final boolean contiguous;
        final int n;

        Unary(UnaryOp op, float p, float q, Ref in, int[] inStrides, int[] shape) {
            this.op = op;
            this.p = p;
            this.q = q;
            this.in = in;
            this.inStrides = inStrides;
            this.shape = shape;
            this.outStrides = Shapes.contiguousStrides(shape);
            this.contiguous = contiguous(inStrides, shape);
            this.n = Shapes.checkedNumel(shape);
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {in};
        }

        @Override
        void run(Frame f) {
            if (contiguous && f.parallel) {
                Elementwise.unaryContiguousParallel(op, p, q, f.seg(in), f.off(in) << 2, f.seg(out), f.off(out) << 2, n);
            } else if (contiguous) {
                Elementwise.unaryContiguous(op, p, q, f.seg(in), f.off(in) << 2, f.seg(out), f.off(out) << 2, n);
            } else {
                Elementwise.unary(op, p, q, f.seg(in), f.off(in), inStrides, f.seg(out), f.off(out), outStrides, shape);
            }
        }

        /** True for an activation reading a whole contiguous tensor: one a producer's epilogue can absorb. */
        boolean isPlainActivation() {
            return op.isActivation() && contiguous;
        }

        @Override
        String describe() {
            return op.name().toLowerCase(java.util.Locale.ROOT) + (p != 0 || q != 0 ? "(" + p + (q != 0 ? ", " + q : "") + ")" : "")
                    + " " + in + " " + str(shape);
        }
    }

    static final class Binary extends PlanStep {
        /** The kernel; ADD becomes ADD_RELU when a plan fuses the ReLU that reads it (a residual block's sum). */
        BinaryKernel op;
        final Ref a;
        final int[] aStr;
        final Ref b;
        final int[] bStr;
        final int[] shape;
        final int[] outStrides;
        final boolean contiguous;
        final int n;

        Binary(BinaryKernel op, Ref a, int[] aStr, Ref b, int[] bStr, int[] shape) {
            this.op = op;
            this.a = a;
            this.aStr = aStr;
            this.b = b;
            this.bStr = bStr;
            this.shape = shape;
            this.outStrides = Shapes.contiguousStrides(shape);
            this.contiguous = contiguous(aStr, shape) && contiguous(bStr, shape);
            this.n = Shapes.checkedNumel(shape);
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {a, b};
        }

        @Override
        void run(Frame f) {
            if (contiguous && f.parallel) {
                Elementwise.binaryContiguousParallel(op, f.seg(a), f.off(a) << 2, f.seg(b), f.off(b) << 2, f.seg(out), f.off(out) << 2, n);
            } else if (contiguous) {
                Elementwise.binaryContiguous(op, f.seg(a), f.off(a) << 2, f.seg(b), f.off(b) << 2, f.seg(out), f.off(out) << 2, n);
            } else {
                Elementwise.binary(op, f.seg(a), f.off(a), aStr, f.seg(b), f.off(b), bStr, f.seg(out), f.off(out), outStrides, shape);
            }
        }

        @Override
        boolean canFuseActivation(UnaryOp activation) {
            return activation == UnaryOp.RELU && op == BinaryOp.ADD;
        }

        @Override
        void fuseActivation(UnaryOp activation) {
            if (!canFuseActivation(activation)) {
                throw new UnsupportedOperationException(op.name().toLowerCase(java.util.Locale.ROOT) + " cannot fuse " + activation);
            }
            op = BinaryOp.ADD_RELU;
        }

        @Override
        String describe() {
            return op == BinaryOp.ADD_RELU ? "add " + a + ", " + b + " " + str(shape) + " -> relu"
                    : op.name().toLowerCase(java.util.Locale.ROOT) + " " + a + ", " + b + " " + str(shape);
        }
    }

    static final class Copy extends PlanStep {
        final Ref src;
        final int[] srcStr;
        final int[] shape;
        final int[] outStrides;
        final boolean contiguous;
        final int n;

        Copy(Ref src, int[] srcStr, int[] shape) {
            this.src = src;
            this.srcStr = srcStr;
            this.shape = shape;
            this.outStrides = Shapes.contiguousStrides(shape);
            long numel = 1;
            for (int d : shape) {
                numel *= d; // a plan's slots are under 2^31 floats, but the strided copy never needed that
            }
            this.contiguous = contiguous(srcStr, shape) && numel <= Integer.MAX_VALUE;
            this.n = (int) Math.min(numel, Integer.MAX_VALUE);
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {src};
        }

        @Override
        void run(Frame f) {
            if (contiguous && f.parallel) { // a GPT step's contiguous copies ran on one thread: ~5% of its 2-thread wall time
                Elementwise.unaryContiguousParallel(UnaryOp.IDENTITY, 0f, 0f, f.seg(src), f.off(src) << 2, f.seg(out), f.off(out) << 2, n);
            } else {
                dev.lanes.kernels.Copy.copyFloat(f.seg(src), f.off(src), srcStr, f.seg(out), f.off(out), outStrides, shape);
            }
        }

        @Override
        String describe() {
            return "copy " + src + " " + str(shape) + " stride " + str(srcStr);
        }
    }

    /** {@code batch} GEMMs; bias (a row, per column of C) and ReLU in the epilogue; C0 copied in first when beta != 0. */
    static final class Gemm extends PlanStep {
        final int batch;
        final boolean transA;
        final boolean transB;
        final int m;
        final int n;
        final int k;
        final float alpha;
        final Ref a;
        final int lda;
        final long aBatch;
        final Ref b;
        final int ldb;
        final long bBatch;
        final float beta;
        final Ref cInit;
        final int[] cInitStrides;
        final Ref bias;
        final int[] shape;
        final int[] outStrides;
        UnaryOp activation = UnaryOp.IDENTITY;
        /** The activation's parameters (leaky_relu's slope, hardtanh's bounds, ...). */
        float activationP;
        float activationQ;
        private Sgemm.Epilogue epilogue;
        /**
         * A constant B (a Linear weight) packed once: for one row of A as [k, paddedColumns(n)] (the GEMV's layout), for
         * more in the packed-sliver layout of {@link Sgemm#gemmPackedAB}; null: the general GEMM.
         */
        private float[] packedB;

        Gemm(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha, Ref a, int lda, long aBatch,
             Ref b, int ldb, long bBatch, float beta, Ref cInit, int[] cInitStrides, Ref bias, int[] shape) {
            this.batch = batch;
            this.transA = transA;
            this.transB = transB;
            this.m = m;
            this.n = n;
            this.k = k;
            this.alpha = alpha;
            this.a = a;
            this.lda = lda;
            this.aBatch = aBatch;
            this.b = b;
            this.ldb = ldb;
            this.bBatch = bBatch;
            this.beta = beta;
            this.cInit = cInit;
            this.cInitStrides = cInitStrides;
            this.bias = bias;
            this.shape = shape;
            this.outStrides = Shapes.contiguousStrides(shape);
        }

        @Override
        Ref[] inputs() {
            int n = 2 + (cInit != null ? 1 : 0) + (bias != null ? 1 : 0);
            Ref[] r = new Ref[n];
            r[0] = a;
            r[1] = b;
            n = 2;
            if (cInit != null) {
                r[n++] = cInit;
            }
            if (bias != null) {
                r[n] = bias;
            }
            return r;
        }

        @Override
        void bind(MemorySegment[] consts) {
            // the prepacked kernels compute A B (+ epilogue) only: a scaled product (addmm's alpha) takes the general GEMM
            if (b.kind() == Ref.CONST && batch == 1 && !transA && cInit == null && k > 0 && alpha == 1f) {
                packedB = m > 1 ? Sgemm.packSlivers(transB, consts[b.id()], b.offset(), ldb, k, n)
                        : Sgemm.packGemv(transB, consts[b.id()], b.offset(), ldb, k, n);
            }
            epilogue = bias == null ? Sgemm.Epilogue.activation(activation, activationP, activationQ)
                    : bias.kind() == Ref.CONST ? Sgemm.Epilogue.columnBias(consts[bias.id()], bias.offset(), activation, activationP, activationQ) : null;
        }

        @Override
        void run(Frame f) {
            MemorySegment as = f.seg(a);
            MemorySegment bs = f.seg(b);
            long ao = f.off(a);
            long bo = f.off(b);
            long co = f.off(out);
            MemorySegment cs = f.seg(out);
            if (cInit != null) {
                dev.lanes.kernels.Copy.copyFloat(f.seg(cInit), f.off(cInit), cInitStrides, cs, co, outStrides, shape);
            }
            Sgemm.Epilogue epi = epilogue != null ? epilogue
                    : bias == null ? Sgemm.Epilogue.activation(activation, activationP, activationQ) : columnBias(f.seg(bias), f.off(bias));
            if (packedB != null) {
                if (m == 1) {
                    Sgemm.gemvPacked(as, ao, n, k, packedB, cs, co, epi, f.tile);
                } else {
                    Sgemm.packAInto(as, ao, lda, m, k, f.panel);
                    Sgemm.gemmPackedAB(m, n, k, f.panel, packedB, cs, co, n, epi, f.tile);
                }
                return;
            }
            for (int i = 0; i < batch; i++) {
                // eager (f.parallel): this thread's buffers, C may be split across workers; plan: the context's buffers
                Sgemm.sgemm(transA, transB, m, n, k, alpha, as, ao + i * aBatch, lda, bs, bo + i * bBatch, ldb,
                        beta, cs, co + (long) i * m * n, n, epi, f.workspace, f.parallel);
            }
        }

        /** The last bias epilogue, kept while the bias stays where it was (a training plan's bias does): no record per run. */
        private Sgemm.Epilogue lastBias;

        private Sgemm.Epilogue columnBias(MemorySegment bs, long bo) {
            Sgemm.Epilogue e = lastBias; // a racing run at worst builds its own: the record is immutable
            if (e == null || e.bias() != bs || e.biasOff() != bo || !e.applies(activation, activationP, activationQ)) {
                e = Sgemm.Epilogue.columnBias(bs, bo, activation, activationP, activationQ);
                lastBias = e;
            }
            return e;
        }

        @Override
        int gemmK() {
            return k;
        }

        @Override
        int gemmN() {
            return n;
        }

        @Override
        int heapPanel() {
            return (m + Sgemm.MR - 1) / Sgemm.MR * Sgemm.MR * k;
        }

        @Override
        boolean canFuseActivation(UnaryOp op) {
            return activation == UnaryOp.IDENTITY;
        }

        @Override
        void fuseActivation(UnaryOp op) {
            fuseActivation(op, 0f, 0f);
        }

        @Override
        void fuseActivation(UnaryOp op, float p, float q) {
            activation = op;
            activationP = p;
            activationQ = q;
        }

        @Override
        String describe() {
            return (batch > 1 ? "bmm x" + batch : "gemm") + " " + a + (transA ? "^T" : "") + " [" + m + "x" + k + "] * " + b + (transB ? "^T" : "")
                    + " [" + k + "x" + n + "]" + (alpha != 1 ? " * " + alpha : "") + (cInit != null ? " + " + beta + " * " + cInit : "")
                    + (bias != null ? " + bias " + bias : "") + activationSuffix(activation, activationP, activationQ);
        }
    }

    /**
     * im2col + GEMM per image and group ({@link Conv2dDriver}, the one driver of eager and plan), bias per output
     * channel and the activation in the epilogue. Eager: images split across threads, weights packed per call, and
     * optionally every image's columns kept for the weight gradient (a second output).
     */
    static final class Conv extends PlanStep {
        final int images;
        final int channels;
        final int groups;
        final int outChannels;
        final Im2col.Geometry geo;
        final boolean direct;
        final Ref x;
        final Ref w;
        final Ref bias;
        /** Training: receives the columns of every image ({@code [images * groups, rows * cols]}); a second output. */
        final Ref keptColumns;
        final int[] shape;
        UnaryOp activation = UnaryOp.IDENTITY;
        /** The activation's parameters (leaky_relu's slope, hardtanh's bounds, ...). */
        float activationP;
        float activationQ;
        private Sgemm.Epilogue[] epilogues;
        /** Constant weights packed once per group at bind(); null: packed per call. */
        private float[][] packedW;
        /** Constant weights packed channel-wise for a pixel tail (Conv2dDriver.transposedTails) at bind(); null: none. */
        private float[][] transposedW;
        /** Constant 3 x 3 weights transformed for Winograd's F(4 x 4, 3 x 3) at bind() (see Winograd.applies); null: im2col. */
        private Winograd.Weights winogradW;
        /**
         * A training plan's weights of this layer transformed for Winograd, again at every run ({@link #trainsByWinograd});
         * null until its first such run.
         */
        private Winograd.Weights trainingW;
        /**
         * A residual block's sum fused into this step ({@code out = conv + residual}, then ReLU when
         * {@link #residualRelu}): a plan's add of this step's result and another tensor of its shape, where this step
         * runs by Winograd (whose copy out of its staging adds it); null: none.
         */
        Ref residual;
        boolean residualRelu;
        /**
         * Whether the input ({@code x}), and the output with the residual, are channels-last ({@code [images, H, W, C]}):
         * an inference plan's tensors between two Winograd layers, which nothing else reads (InferencePlan's
         * chooseChannelsLast). Only while this step runs by Winograd (see dropApproximateForm), or, for the output
         * alone, while the Winograd layers reading a direct layer's result do ({@link #canWriteChannelsLast}).
         */
        boolean inChannelsLast;
        boolean outChannelsLast;
        /** The fused residual's layout, channels-last or not, which may differ from the output's (Winograd.forward). */
        boolean residualChannelsLast;
        /**
         * W^T and the bias (or null) for a direct layer that writes channels-last ({@link #outChannelsLast} without
         * Winograd: {@link #canWriteChannelsLast}), made at bind(); null otherwise.
         */
        private float[] channelsLastW;
        private float[] channelsLastBias;
        /**
         * A 1 x 1 convolution of the same input taken into this step (InferencePlan's fuseShortcuts: a downsampling
         * block's shortcut beside its 3 x 3 stride-2 convolution), computed from this step's staging where its product
         * runs on one ({@link Conv2dDriver#shortcutTap}), else run as its own step right after this one; null: none. Its
         * result is a second output of this step.
         */
        private Conv shortcut;
        /** The kernel tap whose staged rows are the shortcut's ({@link Conv2dDriver#shortcutTap}). */
        private int shortcutTap = -1;

        /**
         * Whether {@code one} can be computed with this step ({@link #shortcut}): both inference steps of constant
         * weights (and bias) reading the same images, neither by Winograd nor with a residual sum, {@code one} a 1 x 1
         * convolution whose every input pixel this one's staging holds as the rows of one tap.
         */
        boolean canTakeShortcut(Conv one) {
            return shortcut == null && one.shortcut == null && one != this && (geo.kH() > 1 || geo.kW() > 1) && x.equals(one.x) && images == one.images
                    && w.kind() == Ref.CONST && one.w.kind() == Ref.CONST && (bias == null || bias.kind() == Ref.CONST)
                    && (one.bias == null || one.bias.kind() == Ref.CONST) && keptColumns == null && one.keptColumns == null
                    && residual == null && one.residual == null && !winogradPlanned() && !one.winogradPlanned()
                    && Conv2dDriver.shortcutTap(geo, groups, direct, one.geo, one.groups, one.direct) >= 0;
        }

        /** Takes {@code one} into this step (see {@link #canTakeShortcut}). */
        void takeShortcut(Conv one) {
            shortcut = one;
            shortcutTap = Conv2dDriver.shortcutTap(geo, groups, direct, one.geo, one.groups, one.direct);
        }

        /**
         * Whether this run, in a training plan's frame, computes the layer by Winograd (Winograd.TRAINING): its weights
         * (parameters, which a training plan holds as constants that the optimizer updates in place) transformed at
         * every run, no columns kept for the weight gradient, none of the inference plans' fusions, a geometry
         * Winograd.applies to. Eager calls stay direct.
         */
        private boolean trainsByWinograd(Frame f) {
            return winogradW == null && f.trainingPlan() && !f.exactForms && Winograd.TRAINING && keptColumns == null && residual == null
                    && shortcut == null && !inChannelsLast && !outChannelsLast && channelsLastW == null && Winograd.applies(geo, groups, outChannels);
        }

        /** Whether bind() will choose Winograd for this step (a plan's constant weights; see Winograd.applies). */
        boolean winogradPlanned() {
            return w.kind() == Ref.CONST && keptColumns == null && Winograd.applies(geo, groups, outChannels);
        }

        /**
         * Whether this direct layer can write its result channels-last for Winograd layers that read it
         * (InferencePlan.chooseChannelsLast; Conv2dDriver.forwardChannelsLast): constant weights and bias, no residual sum
         * or shortcut taken in, ReLU or no activation, a geometry of Conv2dDriver.channelsLastApplies.
         */
        boolean canWriteChannelsLast() {
            return w.kind() == Ref.CONST && (bias == null || bias.kind() == Ref.CONST) && keptColumns == null && !winogradPlanned()
                    && residual == null && shortcut == null && (activation == UnaryOp.IDENTITY || activation == UnaryOp.RELU)
                    && Conv2dDriver.channelsLastApplies(geo, groups, outChannels, direct);
        }

        /** Takes a residual sum (and the ReLU after it) into this step: see {@link #residual}. */
        void fuseResidual(Ref other, boolean relu) {
            residual = other;
            residualRelu = relu;
        }

        Conv(int images, int channels, int groups, int outChannels, Im2col.Geometry geo, boolean direct, Ref x, Ref w, Ref bias, int[] shape) {
            this(images, channels, groups, outChannels, geo, direct, x, w, bias, null, shape);
        }

        Conv(int images, int channels, int groups, int outChannels, Im2col.Geometry geo, boolean direct, Ref x, Ref w, Ref bias,
             Ref keptColumns, int[] shape) {
            this.images = images;
            this.channels = channels;
            this.groups = groups;
            this.outChannels = outChannels;
            this.geo = geo;
            this.direct = direct;
            this.x = x;
            this.w = w;
            this.bias = bias;
            this.keptColumns = keptColumns;
            this.shape = shape;
        }

        @Override
        Ref[] inputs() {
            Ref[] in = bias == null ? new Ref[] {x, w} : new Ref[] {x, w, bias};
            if (residual != null) {
                in = java.util.Arrays.copyOf(in, in.length + 1);
                in[in.length - 1] = residual;
            }
            if (shortcut != null) {
                Ref[] more = shortcut.inputs();
                in = java.util.Arrays.copyOf(in, in.length + more.length);
                System.arraycopy(more, 0, in, in.length - more.length, more.length);
            }
            return in;
        }

        @Override
        Ref[] extraOutputs() {
            if (shortcut != null) {
                return keptColumns == null ? new Ref[] {shortcut.out} : new Ref[] {keptColumns, shortcut.out};
            }
            return keptColumns == null ? super.extraOutputs() : new Ref[] {keptColumns};
        }

        @Override
        void bind(MemorySegment[] consts) {
            if (shortcut != null) {
                shortcut.bind(consts);
            }
            if (w.kind() == Ref.CONST && keptColumns == null && Winograd.applies(geo, groups, outChannels)) {
                winogradW = Winograd.transformWeights(consts[w.id()], w.offset(), outChannels, channels);
            } else {
                bindDirect(consts);
            }
            if (bias == null || bias.kind() == Ref.CONST) {
                epilogues = epilogues(bias == null ? null : consts[bias.id()], bias == null ? 0 : bias.offset());
            }
            if (outChannelsLast && winogradW == null) { // chooseChannelsLast took this direct layer's result channels-last
                channelsLastW = Conv2dDriver.transposedWeights(consts[w.id()], w.offset(), outChannels, geo.rows());
                channelsLastBias = bias == null ? null : consts[bias.id()].asSlice((long) bias.offset() << 2, 4L * outChannels)
                        .toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            }
        }

        @Override
        boolean dropApproximateForm(MemorySegment[] consts) {
            if (winogradW == null) {
                if (outChannelsLast) { // the Winograd layers reading this result drop to channels-first with it (see below)
                    outChannelsLast = false;
                    channelsLastW = null;
                    channelsLastBias = null;
                }
                return false;
            }
            winogradW = null;
            // every Winograd step of the plan drops its form at once (InferencePlan.selfCheck), so every tensor between
            // two of them goes back to channels-first together
            inChannelsLast = false;
            outChannelsLast = false;
            residualChannelsLast = false;
            bindDirect(consts); // the plan's layout reserved the direct path's scratch all along
            return true;
        }

        /** The im2col path's weights, packed once when they are constants. */
        private void bindDirect(MemorySegment[] consts) {
            if (w.kind() == Ref.CONST && !direct && Conv2dDriver.staged(geo)) {
                packedW = pack(consts[w.id()], w.offset());
                int og = outChannels / groups;
                if (Conv2dDriver.transposedTails(geo, og)) {
                    transposedW = new float[groups][];
                    for (int g = 0; g < groups; g++) {
                        transposedW[g] = Sgemm.packTransposedTail(consts[w.id()], w.offset() + (long) g * og * geo.rows(), geo.rows(), og, geo.rows());
                    }
                }
            }
        }

        private float[][] pack(MemorySegment ws, long wo) {
            int og = outChannels / groups;
            float[][] p = new float[groups][];
            for (int g = 0; g < groups; g++) {
                p[g] = Sgemm.packA(ws, wo + (long) g * og * geo.rows(), geo.rows(), og, geo.rows());
            }
            return p;
        }

        /**
         * The weights packed for this call into this thread's reusable arrays (eager and training runs, whose weights
         * change between calls): used only until the call returns, so the next call on the thread may take them.
         */
        private float[][] packPerCall(MemorySegment ws, long wo) {
            int og = outChannels / groups;
            float[][] p = reusable(PER_CALL_W, groups, (og + Sgemm.MR - 1) / Sgemm.MR * Sgemm.MR * geo.rows());
            for (int g = 0; g < groups; g++) {
                Sgemm.packAInto(ws, wo + (long) g * og * geo.rows(), geo.rows(), og, geo.rows(), p[g]);
            }
            return p;
        }

        /**
         * The last per-run epilogues, kept while the bias stays where it was (a training plan's does): none built per run.
         * Held through a record's final field: a run on another thread that reads this plain field sees the whole array
         * (a bare array published through it could be seen with its elements still null).
         */
        private RunEpilogues lastEpilogues;

        private record RunEpilogues(Sgemm.Epilogue[] e) {
        }

        private Sgemm.Epilogue[] runEpilogues(MemorySegment bs, long bo) {
            RunEpilogues last = lastEpilogues; // a racing run at worst builds its own: the array is never written again
            if (last == null || last.e()[0].bias() != bs || last.e()[0].biasOff() != bo || !last.e()[0].applies(activation, activationP, activationQ)) {
                last = new RunEpilogues(epilogues(bs, bo));
                lastEpilogues = last;
            }
            return last.e();
        }

        private Sgemm.Epilogue[] epilogues(MemorySegment bs, long bo) {
            int og = outChannels / groups;
            Sgemm.Epilogue[] e = new Sgemm.Epilogue[groups];
            for (int g = 0; g < groups; g++) {
                e[g] = bs == null ? Sgemm.Epilogue.activation(activation, activationP, activationQ)
                        : Sgemm.Epilogue.rowBias(bs, bo + (long) g * og, activation, activationP, activationQ);
            }
            return e;
        }

        @Override
        void run(Frame f) {
            MemorySegment xs = f.seg(x);
            long xo = f.off(x);
            MemorySegment os = f.seg(out);
            long oo = f.off(out);
            MemorySegment ws = f.seg(w);
            long wo = f.off(w);
            Sgemm.Epilogue[] epi = epilogues != null ? epilogues : runEpilogues(bias == null ? null : f.seg(bias), bias == null ? 0 : f.off(bias));
            if (channelsLastW != null) { // a direct layer written channels-last for the Winograd layers that read it (its own cold form inside)
                Conv2dDriver.forwardChannelsLast(geo, outChannels, xs, xo, images, ws, wo, epi[0], channelsLastW, channelsLastBias,
                        activation == UnaryOp.RELU, os, oo, f.convBuffers);
                return;
            }
            boolean training = trainsByWinograd(f);
            if (training) {
                if (trainingW == null) {
                    trainingW = Winograd.weightsFor(outChannels, channels);
                }
                Winograd.transformWeightsInto(ws, wo, trainingW);
            }
            // the transformed weights this run computes with (constant ones, or this run's), null: the direct form
            Winograd.Weights u = training ? trainingW : winogradW;
            long cold = u == null && keptColumns == null
                    ? Conv2dDriver.forwardColdOrProbe(geo, channels, groups, outChannels, direct, xs, xo, ws, wo, epi, os, oo, 0, images)
                    : Conv2dDriver.WARM;
            if (cold == Conv2dDriver.COLD_DONE) {
                addResidualAfter(f, os, oo); // a young process: the scalar form, the same bits, no packing (see ColdStart)
                runShortcut(f);
                return;
            }
            float[][] pw = u != null || direct || !Conv2dDriver.staged(geo) ? null : packedW != null ? packedW : packPerCall(ws, wo);
            cold = Conv2dDriver.restartProbe(cold); // a probe times the vector form's arithmetic, not this packing
            MemorySegment kept = keptColumns == null ? null : f.seg(keptColumns);
            long keptOff = keptColumns == null ? 0 : f.off(keptColumns);
            if (winogradW != null && !f.parallel) {
                winograd(0, images, xs, xo, epi, os, oo, f.winograd.ensure(geo, outChannels), f);
                runShortcut(f);
                return;
            }
            if (shortcut != null && !f.parallel && cold == Conv2dDriver.WARM && pw != null && pw == packedW && shortcut.packedW != null) {
                boolean both = Conv2dDriver.forward(geo, channels, groups, outChannels, direct, xs, xo, ws, wo, pw, transposedW, epi, os, oo, null, 0,
                        f.arena, f.scratchOff, 0, images, f.convBuffers, f.workspace, shortcut.outChannels, shortcutTap, shortcut.packedW[0],
                        shortcut.epilogues[0], f.seg(shortcut.out), f.off(shortcut.out));
                if (!both) {
                    shortcut.run(f);
                }
                return;
            }
            if (f.parallel) {
                int chunks = Math.min(Parallel.partsFor(images, 1), Math.max(images, 1));
                if (chunks <= 1) {
                    forwardImages(0, 0, images, xs, xo, ws, wo, pw, u, epi, os, oo, kept, keptOff);
                } else {
                    ForwardImagesJob job = ForwardImagesJob.MINE.get();
                    job.set(this, xs, xo, ws, wo, pw, u, epi, os, oo, kept, keptOff);
                    try {
                        Parallel.forRange(chunks, images, job);
                    } finally {
                        job.release();
                    }
                }
            } else {
                Conv2dDriver.forward(geo, channels, groups, outChannels, direct, xs, xo, ws, wo, pw, pw == packedW ? transposedW : null, epi,
                        os, oo, null, 0, f.arena, f.scratchOff, 0, images, f.convBuffers, f.workspace);
            }
            Conv2dDriver.probeDone(cold, geo, images, outChannels); // a young process's timed try of the vector form
            addResidualAfter(f, os, oo);
            runShortcut(f);
        }

        /** The shortcut as a step of its own, after this one (no staging to share: a young process, parallel parts). */
        private void runShortcut(Frame f) {
            if (shortcut != null) {
                shortcut.run(f);
            }
        }

        /** The direct form after a self-check's fallback: the unfused add's own kernel, in place. */
        private void addResidualAfter(Frame f, MemorySegment os, long oo) {
            if (residual != null) {
                long n = (long) images * outChannels * geo.oH() * geo.oW();
                Elementwise.binaryContiguous(residualRelu ? BinaryOp.ADD_RELU : BinaryOp.ADD, os, oo << 2, f.seg(residual), f.off(residual) << 2,
                        os, oo << 2, Math.toIntExact(n));
            }
        }

        /**
         * Images [n0, n1) by Winograd's F(4 x 4, 3 x 3) (one group, constant weights: see bind), with the execution
         * context's buffers (or a worker thread's, in a parallel part).
         */
        private void winograd(int n0, int n1, MemorySegment xs, long xo, Sgemm.Epilogue[] epi, MemorySegment os, long oo, Winograd.Buffers buf,
                              Frame f) {
            long in = (long) channels * geo.h() * geo.w();
            long outFloats = (long) outChannels * geo.oH() * geo.oW();
            MemorySegment rs = residual == null ? null : f.seg(residual);
            long ro = residual == null ? 0 : f.off(residual) + n0 * outFloats;
            Winograd.forward(geo, winogradW, xs, xo + n0 * in, n1 - n0, epi[0].bias(), epi[0].biasOff(), epi[0].activation(), epi[0].p(), epi[0].q(), rs, ro, residualRelu,
                    residualChannelsLast, os, oo + n0 * outFloats, inChannelsLast, outChannelsLast, buf);
        }

        /** Images [n0, n1) by Winograd with {@code u} (the run's transformed weights), or directly where it is null. */
        private void forwardImages(int part, int n0, int n1, MemorySegment xs, long xo, MemorySegment ws, long wo, float[][] pw, Winograd.Weights u,
                Sgemm.Epilogue[] epi, MemorySegment os, long oo, MemorySegment kept, long keptOff) {
            if (residual != null || inChannelsLast || outChannelsLast || residualChannelsLast) { // only inference plans fuse these, and their frames never run parallel parts
                throw new IllegalStateException("a convolution with a fused residual sum or a channels-last side runs in parallel parts: " + describe());
            }
            if (u != null) {
                Winograd.forward(geo, u, xs, xo + n0 * (long) channels * geo.h() * geo.w(), n1 - n0, epi[0].bias(), epi[0].biasOff(),
                        epi[0].activation(), epi[0].p(), epi[0].q(), null, 0, false, os, oo + n0 * (long) outChannels * geo.oH() * geo.oW(), false, false,
                        Winograd.threadBuffers(geo, outChannels));
                return;
            }
            Conv2dDriver.forward(geo, channels, groups, outChannels, direct, xs, xo, ws, wo, pw, pw == packedW ? transposedW : null, epi,
                    os, oo, kept, keptOff, null, 0, n0, n1, Conv2dDriver.threadBuffers(geo), null);
        }

        /** The parallel body of {@link #forwardImages}, one per thread, reused: a compiled step allocates nothing (see Sgemm.Split). */
        private static final class ForwardImagesJob implements Parallel.RangeBody {
            static final ThreadLocal<ForwardImagesJob> MINE = new ThreadLocal<>() {
                @Override
                protected ForwardImagesJob initialValue() {
                    return new ForwardImagesJob();
                }
            };
            private Conv step;
            private MemorySegment xs;
            private long xo;
            private MemorySegment ws;
            private long wo;
            private float[][] pw;
            private Winograd.Weights u;
            private Sgemm.Epilogue[] epi;
            private MemorySegment os;
            private long oo;
            private MemorySegment kept;
            private long keptOff;

            void set(Conv step, MemorySegment xs, long xo, MemorySegment ws, long wo, float[][] pw, Winograd.Weights u, Sgemm.Epilogue[] epi,
                    MemorySegment os, long oo, MemorySegment kept, long keptOff) {
                this.step = step;
                this.xs = xs;
                this.xo = xo;
                this.ws = ws;
                this.wo = wo;
                this.pw = pw;
                this.u = u;
                this.epi = epi;
                this.os = os;
                this.oo = oo;
                this.kept = kept;
                this.keptOff = keptOff;
            }

            /** Drops the references: nothing of a finished call stays reachable. */
            void release() {
                step = null;
                xs = null;
                ws = null;
                pw = null;
                u = null;
                epi = null;
                os = null;
                kept = null;
            }

            @Override
            public void accept(int part, int from, int to) {
                step.forwardImages(part, from, to, xs, xo, ws, wo, pw, u, epi, os, oo, kept, keptOff);
            }
        }

        @Override
        long scratchFloats() {
            long mine = direct || Conv2dDriver.staged(geo) ? 0 : (long) geo.rows() * geo.cols();
            return shortcut == null ? mine : Math.max(mine, shortcut.scratchFloats());
        }

        @Override
        int heapImage() {
            int mine = Conv2dDriver.staged(geo) ? Conv2dDriver.imageFloats(geo) : 0;
            return shortcut == null ? mine : Math.max(mine, shortcut.heapImage());
        }

        @Override
        int heapColumns() {
            int mine = Conv2dDriver.staged(geo) ? Conv2dDriver.columnFloats(geo) : 0;
            return shortcut == null ? mine : Math.max(mine, shortcut.heapColumns());
        }

        @Override
        int gemmK() {
            return shortcut == null ? geo.rows() : Math.max(geo.rows(), shortcut.gemmK());
        }

        @Override
        int gemmN() {
            return shortcut == null ? geo.cols() : Math.max(geo.cols(), shortcut.gemmN());
        }

        @Override
        boolean canFuseActivation(UnaryOp op) {
            return activation == UnaryOp.IDENTITY && residual == null; // an activation after a fused sum would run before it
        }

        @Override
        void fuseActivation(UnaryOp op) {
            fuseActivation(op, 0f, 0f);
        }

        @Override
        void fuseActivation(UnaryOp op, float p, float q) {
            activation = op;
            activationP = p;
            activationQ = q;
        }

        @Override
        String describe() {
            return "conv2d " + x + " [" + images + ", " + channels + ", " + geo.h() + ", " + geo.w() + "] * " + w + " k" + geo.kH() + "x" + geo.kW()
                    + (geo.sH() != 1 || geo.sW() != 1 ? " stride " + geo.sH() + "x" + geo.sW() : "")
                    + (geo.pT() != 0 || geo.pL() != 0 ? " pad " + geo.pT() + "x" + geo.pL() : "")
                    + (groups != 1 ? " groups " + groups : "") + (winogradW != null ? " winograd F(4x4,3x3)" : "")
                    + (trainingW != null ? " winograd F(4x4,3x3) (weights transformed each run)" : "")
                    + (bias != null ? " + bias " + bias : "") + activationSuffix(activation, activationP, activationQ)
                    + (residual != null ? " + " + residual + (residualRelu ? " -> relu" : "") : "")
                    + " -> " + str(shape) + (inChannelsLast || outChannelsLast ? " (channels-last " + (inChannelsLast ? outChannelsLast ? "in and out" : "in" : "out") + ")" : "")
                    + (residual != null && residualChannelsLast != outChannelsLast ? " (residual channels-" + (residualChannelsLast ? "last" : "first") + ")" : "")
                    + (shortcut != null ? "; and " + shortcut + " from its staging" : "");
        }
    }

    /** max_pool2d, avg_pool2d or adaptive_avg_pool2d over {@code planes} planes of {@code h x w}. */
    static final class Pool extends PlanStep {
        enum Kind { MAX, AVG, ADAPTIVE_AVG }

        final Kind kind;
        final int planes;
        final int h;
        final int w;
        final Pooling.Window win;
        final boolean countIncludePad;
        final int oh;
        final int ow;
        final Ref in;
        /** Max pooling for autograd: where each maximum came from (a second output; in training plans only). */
        final Ref indices;
        final int[] shape;

        Pool(Kind kind, int planes, int h, int w, Pooling.Window win, boolean countIncludePad, int oh, int ow, Ref in, int[] shape) {
            this(kind, planes, h, w, win, countIncludePad, oh, ow, in, null, shape);
        }

        Pool(Kind kind, int planes, int h, int w, Pooling.Window win, boolean countIncludePad, int oh, int ow, Ref in, Ref indices,
             int[] shape) {
            this.indices = indices;
            this.kind = kind;
            this.planes = planes;
            this.h = h;
            this.w = w;
            this.win = win;
            this.countIncludePad = countIncludePad;
            this.oh = oh;
            this.ow = ow;
            this.in = in;
            this.shape = shape;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {in};
        }

        @Override
        Ref[] extraOutputs() {
            return indices == null ? super.extraOutputs() : new Ref[] {indices};
        }

        @Override
        void run(Frame f) {
            switch (kind) {
                case MAX -> {
                    MemorySegment idx = indices == null ? null : f.seg(indices);
                    long idxOff = indices == null ? 0 : f.off(indices);
                    if (f.parallel) {
                        Pooling.maxPool2d(f.seg(in), f.off(in), planes, h, w, win, f.seg(out), f.off(out), idx, idxOff, oh, ow);
                    } else {
                        Pooling.maxPool2dPlanes(f.seg(in), f.off(in), 0, planes, h, w, win, f.seg(out), f.off(out), idx, idxOff, oh, ow, f.tile);
                    }
                }
                case AVG -> Pooling.avgPool2d(false, f.seg(in), f.off(in), f.seg(out), f.off(out), planes, h, w, win, countIncludePad, oh, ow);
                case ADAPTIVE_AVG -> Pooling.adaptiveAvgPool2d(false, f.seg(in), f.off(in), f.seg(out), f.off(out), planes, h, w, oh, ow);
            }
        }

        @Override
        String describe() {
            String name = switch (kind) {
                case MAX -> "max_pool2d";
                case AVG -> "avg_pool2d";
                case ADAPTIVE_AVG -> "adaptive_avg_pool2d";
            };
            return name + " " + in + (win == null ? "" : " k" + win.kH() + "x" + win.kW() + " stride " + win.sH() + "x" + win.sW())
                    + " -> " + str(shape);
        }
    }

    /**
     * A reduction of a contiguous {@code [outer, r, inner]} input over r into {@code [outer, inner]}: sum, mean,
     * variance / standard deviation (with a correction), max or min values ({@code kernels.Reductions}).
     */
    static final class Reduce extends PlanStep {
        /** ARGMAX / ARGMIN write int64 indices (the first extremum's; a NaN wins), the other kinds float values. */
        enum Kind { SUM, MEAN, VAR, STD, MAX, MIN, ARGMAX, ARGMIN }

        final Kind kind;
        final Ref in;
        final int outer;
        final int r;
        final int inner;
        final int correction;

        Reduce(Kind kind, Ref in, int outer, int r, int inner, int correction) {
            this.kind = kind;
            this.in = in;
            this.outer = outer;
            this.r = r;
            this.inner = inner;
            this.correction = correction;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {in};
        }

        @Override
        void run(Frame f) {
            MemorySegment src = f.seg(in);
            long srcOff = f.off(in);
            MemorySegment dst = f.seg(out);
            long dstOff = f.off(out);
            switch (kind) {
                case SUM -> Reductions.sum(src, srcOff, outer, r, inner, dst, dstOff, f.parallel);
                case MEAN -> {
                    Reductions.sum(src, srcOff, outer, r, inner, dst, dstOff, f.parallel);
                    // mean of nothing is NaN, as in PyTorch (0 / 0)
                    Elementwise.unaryContiguous(UnaryOp.DIV_SCALAR, r, 0, dst, dstOff << 2, dst, dstOff << 2, outer * inner);
                }
                case VAR, STD -> Reductions.variance(src, srcOff, outer, r, inner, correction, kind == Kind.STD, dst, dstOff);
                case MAX, MIN -> Reductions.maxMin(kind == Kind.MAX, src, srcOff, outer, r, inner, dst, dstOff, null, 0);
                case ARGMAX, ARGMIN -> Reductions.maxMin(kind == Kind.ARGMAX, src, srcOff, outer, r, inner, null, 0, dst, f.elemOff(out, 8));
            }
        }

        @Override
        String describe() {
            return kind.name().toLowerCase(java.util.Locale.ROOT) + (kind == Kind.VAR || kind == Kind.STD ? "(correction " + correction + ")" : "")
                    + " " + in + " [" + outer + "x" + r + "x" + inner + "] over " + r;
        }
    }

    /**
     * sort / topk / argsort of a contiguous {@code [outer, n, inner]} input along n ({@code kernels.Sorting}): the first
     * k of each row's order, values into {@link #out} (float32) and int64 indices into a second output, both
     * {@code [outer, k, inner]}. Runs on the caller's thread with this thread's scratch (grown, then kept), so eager and
     * plan give the same bits and a warm plan call allocates nothing.
     */
    static final class Sort extends PlanStep {
        final Ref in;
        final int outer;
        final int n;
        final int inner;
        final int k;
        final boolean descending;
        final Ref indices;

        Sort(Ref in, int outer, int n, int inner, int k, boolean descending, Ref indices) {
            this.in = in;
            this.outer = outer;
            this.n = n;
            this.inner = inner;
            this.k = k;
            this.descending = descending;
            this.indices = indices;
        }

        /** This thread's keys (float[]) and order (int[]) scratch: allocates only to grow. */
        private static final ThreadLocal<Object[]> SCRATCH = new ThreadLocal<>() {
            @Override
            protected Object[] initialValue() {
                return new Object[] {new float[0], new int[0]};
            }
        };

        @Override
        Ref[] inputs() {
            return new Ref[] {in};
        }

        @Override
        Ref[] extraOutputs() {
            return new Ref[] {indices};
        }

        @Override
        void run(Frame f) {
            Object[] scratch = SCRATCH.get();
            if (((float[]) scratch[0]).length < dev.lanes.kernels.Sorting.scratchFloats(n)) {
                scratch[0] = new float[Math.toIntExact(dev.lanes.kernels.Sorting.scratchFloats(n))];
            }
            if (((int[]) scratch[1]).length < dev.lanes.kernels.Sorting.scratchInts(n)) {
                scratch[1] = new int[Math.toIntExact(dev.lanes.kernels.Sorting.scratchInts(n))];
            }
            dev.lanes.kernels.Sorting.select(f.seg(in), f.off(in), outer, n, inner, k, descending, f.seg(out), f.off(out),
                    f.seg(indices), f.elemOff(indices, 8), (float[]) scratch[0], (int[]) scratch[1]);
        }

        @Override
        String describe() {
            return (k == n ? "sort" : "topk(" + k + ")") + (descending ? " descending " : " ascending ") + in + " [" + outer + "x" + n + "x" + inner
                    + "] -> values, indices " + indices;
        }
    }

    /**
     * layer_norm over the last {@code n} floats of {@code rows} contiguous rows, optional weight and bias
     * ({@code kernels.Normalization}). Eager with autograd also writes each row's mean and 1/std (second and third
     * outputs, never in a plan).
     */
    static final class LayerNorm extends PlanStep {
        final Ref in;
        final Ref weight;
        final Ref bias;
        final int rows;
        final int n;
        final float eps;
        final Ref mean;
        final Ref rstd;

        LayerNorm(Ref in, Ref weight, Ref bias, int rows, int n, float eps, Ref mean, Ref rstd) {
            this.in = in;
            this.weight = weight;
            this.bias = bias;
            this.rows = rows;
            this.n = n;
            this.eps = eps;
            this.mean = mean;
            this.rstd = rstd;
        }

        @Override
        Ref[] inputs() {
            Ref[] r = {in, weight, bias};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        @Override
        Ref[] extraOutputs() {
            Ref[] r = {mean, rstd};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        @Override
        void run(Frame f) {
            dev.lanes.kernels.Normalization.layerNorm(f.seg(in), f.off(in), rows, n, eps,
                    weight == null ? null : f.seg(weight), weight == null ? 0 : f.off(weight),
                    bias == null ? null : f.seg(bias), bias == null ? 0 : f.off(bias), f.seg(out), f.off(out),
                    mean == null ? null : f.seg(mean), mean == null ? 0 : f.off(mean),
                    rstd == null ? null : f.seg(rstd), rstd == null ? 0 : f.off(rstd), f.parallel);
        }

        @Override
        String describe() {
            return "layer_norm " + in + " [" + rows + "x" + n + "] eps " + eps + (weight != null ? " * " + weight : "")
                    + (bias != null ? " + " + bias : "");
        }
    }

    /**
     * group_norm of a contiguous {@code [n, c, hw]} input in {@code groups} groups, optional weight and bias
     * ({@code kernels.Normalization}). Eager with autograd also writes each (sample, group)'s mean and 1/std (second
     * and third outputs, never in an inference plan).
     */
    static final class GroupNorm extends PlanStep {
        final Ref in;
        final Ref weight;
        final Ref bias;
        final int n;
        final int c;
        final int hw;
        final int groups;
        final float eps;
        final Ref mean;
        final Ref rstd;

        GroupNorm(Ref in, Ref weight, Ref bias, int n, int c, int hw, int groups, float eps, Ref mean, Ref rstd) {
            this.in = in;
            this.weight = weight;
            this.bias = bias;
            this.n = n;
            this.c = c;
            this.hw = hw;
            this.groups = groups;
            this.eps = eps;
            this.mean = mean;
            this.rstd = rstd;
        }

        @Override
        Ref[] inputs() {
            Ref[] r = {in, weight, bias};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        @Override
        Ref[] extraOutputs() {
            Ref[] r = {mean, rstd};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        @Override
        void run(Frame f) {
            dev.lanes.kernels.Normalization.groupNorm(f.seg(in), f.off(in), n, c, hw, groups, eps,
                    weight == null ? null : f.seg(weight), weight == null ? 0 : f.off(weight),
                    bias == null ? null : f.seg(bias), bias == null ? 0 : f.off(bias), f.seg(out), f.off(out),
                    mean == null ? null : f.seg(mean), mean == null ? 0 : f.off(mean),
                    rstd == null ? null : f.seg(rstd), rstd == null ? 0 : f.off(rstd), f.parallel);
        }

        @Override
        String describe() {
            return "group_norm " + in + " [" + n + "x" + c + "x" + hw + "] groups " + groups + " eps " + eps + (weight != null ? " * " + weight : "")
                    + (bias != null ? " + " + bias : "");
        }
    }

    /**
     * Tiled scaled dot-product attention of contiguous {@code q [batch, l, e]}, {@code k [batch, s, e]},
     * {@code v [batch, s, ev]} ({@code kernels.Attention}): never the {@code [l, s]} scores. Eager with autograd also
     * writes each query row's log-sum-exp (a second output, never in a plan).
     */
    static final class Attention extends PlanStep {
        final Ref q;
        final Ref k;
        final Ref v;
        final int batch;
        final int l;
        final int s;
        final int e;
        final int ev;
        final float scale;
        final boolean causal;
        final Ref lse;
        /** Dropout on the attention weights (training): p, and where this run's seed is written for the backward. */
        final double dropoutP;
        final Ref seed;

        Attention(Ref q, Ref k, Ref v, int batch, int l, int s, int e, int ev, float scale, boolean causal, Ref lse) {
            this(q, k, v, batch, l, s, e, ev, scale, causal, lse, 0, null);
        }

        Attention(Ref q, Ref k, Ref v, int batch, int l, int s, int e, int ev, float scale, boolean causal, Ref lse, double dropoutP, Ref seed) {
            this.dropoutP = dropoutP;
            this.seed = seed;
            this.q = q;
            this.k = k;
            this.v = v;
            this.batch = batch;
            this.l = l;
            this.s = s;
            this.e = e;
            this.ev = ev;
            this.scale = scale;
            this.causal = causal;
            this.lse = lse;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {q, k, v};
        }

        @Override
        Ref[] extraOutputs() {
            Ref[] r = {lse, seed};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        @Override
        boolean random() {
            return dropoutP > 0;
        }

        @Override
        void run(Frame f) {
            dev.lanes.kernels.Attention.Dropout dropout = null;
            if (dropoutP > 0) {
                // a new seed per run, kept in the seed slot (two floats' bytes) for this run's backward
                long drawn = Lanes.nextSeed();
                f.seg(seed).setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, f.elemOff(seed, 8), drawn);
                dropout = new dev.lanes.kernels.Attention.Dropout(dropoutP, drawn);
            }
            dev.lanes.kernels.Attention.forward(f.seg(q), f.off(q), f.seg(k), f.off(k), f.seg(v), f.off(v), batch, l, s, e, ev, scale, causal,
                    dropout, f.seg(out), f.off(out), lse == null ? null : f.seg(lse), lse == null ? 0 : f.off(lse), f.parallel, f.heapScratch);
        }

        @Override
        int heapFloats() {
            return Math.toIntExact(dev.lanes.kernels.Attention.forwardScratchFloats(s, e, ev));
        }

        @Override
        String describe() {
            return "attention q " + q + " k " + k + " v " + v + " [" + batch + "x" + l + "x" + e + ", " + s + " keys, " + ev + " values] scale "
                    + scale + (causal ? " causal" : "") + (dropoutP > 0 ? " dropout " + dropoutP : "");
        }
    }

    /**
     * batch_norm of a contiguous {@code [n, c, hw]} input ({@code kernels.Normalization}): eval (the running statistics,
     * what a plan runs) or, eagerly, training (batch statistics, the running ones updated, mean and 1/std written for
     * the backward). Optional refs are null.
     */
    static final class BatchNorm extends PlanStep {
        final Ref in;
        final int n;
        final int c;
        final int hw;
        final boolean training;
        final double momentum;
        final double eps;
        final Ref weight;
        final Ref bias;
        final Ref runningMean;
        final Ref runningVar;
        final Ref mean;
        final Ref rstd;

        /** Training, as nn.BatchNorm runs it: num_batches_tracked (int64, one element), incremented per run. */
        final Ref counter;

        BatchNorm(Ref in, int n, int c, int hw, boolean training, double momentum, double eps, Ref weight, Ref bias, Ref runningMean,
                  Ref runningVar, Ref mean, Ref rstd) {
            this(in, n, c, hw, training, momentum, eps, weight, bias, runningMean, runningVar, mean, rstd, null);
        }

        BatchNorm(Ref in, int n, int c, int hw, boolean training, double momentum, double eps, Ref weight, Ref bias, Ref runningMean,
                  Ref runningVar, Ref mean, Ref rstd, Ref counter) {
            this.counter = counter;
            this.in = in;
            this.n = n;
            this.c = c;
            this.hw = hw;
            this.training = training;
            this.momentum = momentum;
            this.eps = eps;
            this.weight = weight;
            this.bias = bias;
            this.runningMean = runningMean;
            this.runningVar = runningVar;
            this.mean = mean;
            this.rstd = rstd;
        }

        @Override
        Ref[] inputs() {
            Ref[] r = {in, weight, bias, runningMean, runningVar, counter};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        @Override
        Ref[] extraOutputs() {
            Ref[] r = {mean, rstd};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        private static MemorySegment seg(Frame f, Ref r) {
            return r == null ? null : f.seg(r);
        }

        private static long off(Frame f, Ref r) {
            return r == null ? 0 : f.off(r);
        }

        /** A ReLU fused into the normalising pass (conv-bn-relu: one pass over the activation less). */
        private boolean relu;

        @Override
        boolean canFuseActivation(UnaryOp op) {
            return op == UnaryOp.RELU && !relu;
        }

        @Override
        void fuseActivation(UnaryOp op) {
            if (op != UnaryOp.RELU) {
                throw new UnsupportedOperationException("batch_norm fuses relu only, not " + op);
            }
            relu = true;
        }

        @Override
        void run(Frame f) {
            dev.lanes.kernels.Normalization.batchNorm(f.seg(in), f.off(in), n, c, hw, training, momentum, eps, seg(f, weight), off(f, weight),
                    seg(f, bias), off(f, bias), seg(f, runningMean), off(f, runningMean), seg(f, runningVar), off(f, runningVar),
                    f.seg(out), f.off(out), seg(f, mean), off(f, mean), seg(f, rstd), off(f, rstd), f.parallel, relu);
            if (counter != null) {
                MemorySegment cs = f.seg(counter);
                long at = f.elemOff(counter, 8);
                cs.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, at, cs.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, at) + 1);
            }
        }

        @Override
        String describe() {
            return "batch_norm " + in + " [" + n + "x" + c + "x" + hw + "]" + (training ? " training" : "") + " eps " + eps
                    + activationSuffix(relu ? UnaryOp.RELU : UnaryOp.IDENTITY);
        }
    }

    static final class Softmax extends PlanStep {
        final boolean log;
        final int outer;
        final int r;
        final int inner;
        final Ref in;
        final int[] shape;

        Softmax(boolean log, int outer, int r, int inner, Ref in, int[] shape) {
            this.log = log;
            this.outer = outer;
            this.r = r;
            this.inner = inner;
            this.in = in;
            this.shape = shape;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {in};
        }

        @Override
        void run(Frame f) {
            if (f.parallel) {
                dev.lanes.kernels.Softmax.forward(log, f.seg(in), f.off(in), outer, r, inner, f.seg(out), f.off(out));
            } else if (r > 0) {
                dev.lanes.kernels.Softmax.forwardRows(log, f.seg(in), f.off(in), 0, outer, r, inner, f.seg(out), f.off(out), f.heapScratch);
            }
        }

        @Override
        int heapFloats() {
            return inner == 1 ? 0 : 2 * inner;
        }

        @Override
        String describe() {
            return (log ? "log_softmax " : "softmax ") + in + " " + str(shape);
        }
    }

    /**
     * cat / stack: each input copied ({@code kernels.Copy}, strided) into its slice of the contiguous result; stack's
     * inputs come with a size-1 dim inserted in their shapes and strides.
     */
    static final class Cat extends PlanStep {
        final Ref[] ins;
        final int[][] inStrides;
        final int[][] inShapes;
        /** Element offset of each input's slice in the result. */
        final long[] sliceOffsets;
        final int[] shape;
        final int dim;
        final int[] outStrides;

        Cat(Ref[] ins, int[][] inStrides, int[][] inShapes, int dim, int[] shape) {
            this.ins = ins;
            this.inStrides = inStrides;
            this.inShapes = inShapes;
            this.dim = dim;
            this.shape = shape;
            this.outStrides = Shapes.contiguousStrides(shape);
            this.sliceOffsets = new long[ins.length];
            long at = 0;
            for (int i = 0; i < ins.length; i++) {
                sliceOffsets[i] = at * outStrides[dim];
                at += inShapes[i][dim];
            }
        }

        @Override
        Ref[] inputs() {
            return ins.clone();
        }

        @Override
        void run(Frame f) {
            MemorySegment o = f.seg(out);
            long oo = f.off(out);
            for (int i = 0; i < ins.length; i++) {
                dev.lanes.kernels.Copy.copyFloat(f.seg(ins[i]), f.off(ins[i]), inStrides[i], o, oo + sliceOffsets[i], outStrides, inShapes[i]);
            }
        }

        @Override
        String describe() {
            return "cat " + Arrays.toString(ins) + " dim " + dim + " -> " + str(shape);
        }
    }

    /**
     * A comparison or logical op with a bool result ({@code kernels.Compare}): {@code op(a, b)} with broadcasting, or
     * {@code !a} when {@code b} is null; the operands may be float32, int64 or bool.
     */
    static final class Compare extends PlanStep {
        final dev.lanes.kernels.Compare.Op op;
        final dev.lanes.kernels.Copy.Elem ea;
        final Ref a;
        final int[] aStr;
        final dev.lanes.kernels.Copy.Elem eb;
        final Ref b;
        final int[] bStr;
        final int[] shape;
        final int[] outStrides;

        Compare(dev.lanes.kernels.Compare.Op op, dev.lanes.kernels.Copy.Elem ea, Ref a, int[] aStr, dev.lanes.kernels.Copy.Elem eb, Ref b,
                int[] bStr, int[] shape) {
            this.op = op;
            this.ea = ea;
            this.a = a;
            this.aStr = aStr;
            this.eb = eb;
            this.b = b;
            this.bStr = bStr;
            this.shape = shape;
            this.outStrides = Shapes.contiguousStrides(shape);
        }

        @Override
        Ref[] inputs() {
            return b == null ? new Ref[] {a} : new Ref[] {a, b};
        }

        @Override
        void run(Frame f) {
            if (b == null) {
                dev.lanes.kernels.Compare.not(ea, f.seg(a), f.elemOff(a, ea.bytes), aStr, f.seg(out), f.elemOff(out, 1), outStrides, shape);
            } else {
                dev.lanes.kernels.Compare.binary(op, ea, f.seg(a), f.elemOff(a, ea.bytes), aStr, eb, f.seg(b), f.elemOff(b, eb.bytes), bStr,
                        f.seg(out), f.elemOff(out, 1), outStrides, shape);
            }
        }

        @Override
        String describe() {
            return (b == null ? "logical_not " + a : op.name().toLowerCase(java.util.Locale.ROOT) + " " + a + ", " + b) + " " + str(shape) + " -> bool";
        }
    }

    /**
     * A conversion between element types ({@code tensor.float()}, {@code .long()}, {@code .to(torch.bool)}): bool or
     * int64 to float32, float32 to int64 (toward zero) or bool, ... ({@code kernels.Copy.convert}). A result of int64
     * or bool lives in a slot like any other ({@link Frame#elemOff} counts its elements).
     */
    static final class Convert extends PlanStep {
        final dev.lanes.kernels.Copy.Elem from;
        final dev.lanes.kernels.Copy.Elem to;
        final Ref in;
        final int[] inStrides;
        final int[] shape;
        final int[] outStrides;
        /** int64 elements holding int32 values ({@code .int().long()}: {@code kernels.Copy.convertToInt32}). */
        final boolean int32;

        Convert(dev.lanes.kernels.Copy.Elem from, dev.lanes.kernels.Copy.Elem to, Ref in, int[] inStrides, int[] shape) {
            this(from, to, in, inStrides, shape, false);
        }

        Convert(dev.lanes.kernels.Copy.Elem from, dev.lanes.kernels.Copy.Elem to, Ref in, int[] inStrides, int[] shape, boolean int32) {
            this.from = from;
            this.to = to;
            this.in = in;
            this.inStrides = inStrides;
            this.shape = shape;
            this.outStrides = Shapes.contiguousStrides(shape);
            this.int32 = int32;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {in};
        }

        @Override
        void run(Frame f) {
            if (int32) {
                dev.lanes.kernels.Copy.convertToInt32(from, f.seg(in), f.elemOff(in, from.bytes), inStrides, f.seg(out), f.elemOff(out, to.bytes),
                        outStrides, shape);
                return;
            }
            dev.lanes.kernels.Copy.convert(from, f.seg(in), f.elemOff(in, from.bytes), inStrides, to, f.seg(out), f.elemOff(out, to.bytes),
                    outStrides, shape);
        }

        @Override
        String describe() {
            String name = int32 ? "to_int32_values" : switch (to) {
                case F32 -> "to_float";
                case I64 -> "to_int64";
                case BOOL -> "to_bool";
            };
            return name + " " + in + " " + str(shape);
        }
    }

    /** where(cond, a, b) with broadcast strides; the condition is float32 or int64 (nonzero is true). */
    static final class Where extends PlanStep {
        final Select.Cond kind;
        final Ref cond;
        final int[] cStr;
        final Ref a;
        final int[] aStr;
        final Ref b;
        final int[] bStr;
        final int[] shape;
        final int[] outStrides;

        Where(Select.Cond kind, Ref cond, int[] cStr, Ref a, int[] aStr, Ref b, int[] bStr, int[] shape) {
            this.kind = kind;
            this.cond = cond;
            this.cStr = cStr;
            this.a = a;
            this.aStr = aStr;
            this.b = b;
            this.bStr = bStr;
            this.shape = shape;
            this.outStrides = Shapes.contiguousStrides(shape);
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {cond, a, b};
        }

        @Override
        void run(Frame f) {
            Select.where(kind, f.seg(cond), f.elemOff(cond, kind.bytes), cStr, f.seg(a), f.off(a), aStr, f.seg(b), f.off(b), bStr, f.seg(out), f.off(out),
                    outStrides, shape);
        }

        @Override
        String describe() {
            return "where " + cond + (kind == Select.Cond.INT64 ? " (int64)" : "") + ", " + a + ", " + b + " " + str(shape);
        }
    }

    /** masked_fill(x, mask, value), or with {@code invert} the value where the mask is false (where's backward). */
    static final class MaskedFill extends PlanStep {
        final Select.Cond kind;
        final Ref mask;
        final int[] mStr;
        final boolean invert;
        final float value;
        final Ref x;
        final int[] xStr;
        final int[] shape;
        final int[] outStrides;

        MaskedFill(Select.Cond kind, Ref mask, int[] mStr, boolean invert, float value, Ref x, int[] xStr, int[] shape) {
            this.kind = kind;
            this.mask = mask;
            this.mStr = mStr;
            this.invert = invert;
            this.value = value;
            this.x = x;
            this.xStr = xStr;
            this.shape = shape;
            this.outStrides = Shapes.contiguousStrides(shape);
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {x, mask};
        }

        @Override
        void run(Frame f) {
            Select.maskedFill(kind, f.seg(mask), f.elemOff(mask, kind.bytes), mStr, invert, value, f.seg(x), f.off(x), xStr, f.seg(out), f.off(out),
                    outStrides, shape);
        }

        @Override
        String describe() {
            return "masked_fill " + x + ", " + (invert ? "not " : "") + mask + (kind == Select.Cond.INT64 ? " (int64)" : "") + ", " + value
                    + " " + str(shape);
        }
    }

    /** tril / triu over the last two dims. */
    static final class Triangle extends PlanStep {
        final boolean lower;
        final int diagonal;
        final Ref in;
        final int[] inStrides;
        final int[] shape;

        Triangle(boolean lower, int diagonal, Ref in, int[] inStrides, int[] shape) {
            this.lower = lower;
            this.diagonal = diagonal;
            this.in = in;
            this.inStrides = inStrides;
            this.shape = shape;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {in};
        }

        @Override
        void run(Frame f) {
            Select.triangle(lower, diagonal, f.seg(in), f.off(in), inStrides, f.seg(out), f.off(out), shape);
        }

        @Override
        String describe() {
            return (lower ? "tril" : "triu") + (diagonal != 0 ? "(" + diagonal + ")" : "") + " " + in + " " + str(shape);
        }
    }

    /**
     * The three gradients of a convolution ({@code ConvOps.ConvolutionBackward0} launches them; a training plan
     * replays them): INPUT {@code dx[n, group] = col2im(W_g^T gout[n, group])}; WEIGHT
     * {@code dW_g = sum_n gout[n, group] col(x[n, group])^T} from the input (im2col again) or from the columns the
     * forward pass kept (WEIGHT_FROM_COLUMNS); BIAS {@code db[o] = sum over images and positions of gout[n, o]}.
     * The weight gradient sums images in fixed chunks of {@link #IMAGES_PER_CHUNK} (chunks in parallel, each into its
     * own partial, then added in chunk order), so it depends on the batch size only, never on the thread count.
     * Column buffers and partials come from the memory pool per run.
     */
    static final class ConvBackward extends PlanStep {
        enum Kind { INPUT, WEIGHT, WEIGHT_FROM_COLUMNS, BIAS }

        static final int IMAGES_PER_CHUNK = 8;

        final Kind kind;
        final ConvOps.Shape s;
        final int groups;
        /** The gradient of the convolution's output, contiguous {@code [n, o, oH, oW]}. */
        final Ref g;
        /** INPUT: the weight; WEIGHT: the input; WEIGHT_FROM_COLUMNS: the kept columns; BIAS: null. */
        final Ref other;

        /** INPUT: the geometry of the input gradient as a forward convolution of gout (null for a 1x1 direct one). */
        private final Im2col.Geometry transposed;

        private static final dev.lanes.memory.Storage[] NO_COLUMNS = new dev.lanes.memory.Storage[0];

        ConvBackward(Kind kind, ConvOps.Shape s, int groups, Ref g, Ref other) {
            this.kind = kind;
            this.s = s;
            this.groups = groups;
            this.g = g;
            this.other = other;
            this.transposed = kind == Kind.INPUT && !s.direct() ? Conv2dDriver.flippedInputGradientGeometry(s.geo(), s.og(), s.cg()) : null;
            Im2col.Geometry t = kind == Kind.INPUT && !s.direct() && groups == 1 && Winograd.TRAINING ? Conv2dDriver.transposedGeometry(s.geo(), s.og()) : null;
            this.winogradTransposed = t != null && Winograd.applies(t, 1, s.c()) ? t : null;
            this.inputScratchParts = kind == Kind.INPUT && !s.direct() && (transposed == null || !Conv2dDriver.staged(transposed)) ? Parallel.threads() : 0;
        }

        /** INPUT through col2im: the column buffers a plan's scratch holds, one per part, as many as threads at capture. */
        private final int inputScratchParts;
        /** A training plan's flipped weights transformed for Winograd, again at every run (see inputGrad); null until then. */
        private Winograd.Weights inputGradW;
        /**
         * The input gradient's geometry as a stride-1 convolution of the output's gradient, where a training plan runs it
         * by Winograd (Winograd.applies; one group); null: never by Winograd.
         */
        private final Im2col.Geometry winogradTransposed;

        private boolean packedWeightGradient() {
            return kind == Kind.WEIGHT && Conv2dDriver.staged(s.geo());
        }

        /**
         * A plan's weight gradient takes its partial sums (and the packed path's transposed sum) from the frame's scratch
         * region rather than the pool: a compiled training step allocates nothing for them.
         */
        @Override
        long scratchFloats() {
            if (kind == Kind.INPUT) {
                return inputScratchParts * (long) s.k() * s.l();
            }
            if (kind != Kind.WEIGHT && kind != Kind.WEIGHT_FROM_COLUMNS) {
                return 0;
            }
            long wsize = (long) s.o() * s.k();
            long chunks = (s.n() + IMAGES_PER_CHUNK - 1) / IMAGES_PER_CHUNK;
            return chunks * wsize + (packedWeightGradient() ? wsize : 0);
        }

        @Override
        Ref[] inputs() {
            return other == null ? new Ref[] {g} : new Ref[] {g, other};
        }

        @Override
        void run(Frame f) {
            switch (kind) {
                case INPUT -> inputGrad(f);
                case WEIGHT, WEIGHT_FROM_COLUMNS -> weightGrad(f);
                case BIAS -> biasGrad(f);
            }
        }

        /** One column buffer per part, from the pool (none for the direct 1x1 path). */
        private dev.lanes.memory.Storage[] columns(int parts) {
            dev.lanes.memory.Storage[] cols = new dev.lanes.memory.Storage[parts];
            if (!s.direct()) {
                for (int i = 0; i < parts; i++) {
                    cols[i] = dev.lanes.memory.Storage.allocate((long) s.k() * s.l() * 4);
                }
            }
            return cols;
        }

        private static void free(dev.lanes.memory.Storage... buffers) {
            for (dev.lanes.memory.Storage b : buffers) {
                if (b != null) {
                    b.release("conv2d backward");
                }
            }
        }

        private void inputGrad(Frame f) {
            MemorySegment gs = f.seg(g);
            long g0 = f.off(g);
            MemorySegment ws = f.seg(other);
            long w0 = f.off(other);
            MemorySegment ds = f.seg(out);
            long d0 = f.off(out);
            boolean winograd = winogradTransposed != null && f.trainingPlan() && !f.exactForms;
            Im2col.Geometry gT = winograd ? winogradTransposed : transposed;
            if (gT != null && (winograd || Conv2dDriver.staged(gT))) {
                // stride 1: a forward convolution of gout with the flipped weights (no column matrix, no col2im); in a
                // training plan by Winograd where it applies (flipped == null: see Winograd.TRAINING)
                float[][] flipped = null;
                if (winograd) {
                    if (inputGradW == null) {
                        inputGradW = Winograd.weightsFor(s.c(), s.o());
                    }
                    Winograd.transformFlippedWeightsInto(ws, w0, inputGradW);
                } else {
                    flipped = reusable(PER_CALL_WT, groups, Conv2dDriver.flippedWeightFloats(s.og(), s.cg(), s.kH(), s.kW()));
                    for (int grp = 0; grp < groups; grp++) {
                        Conv2dDriver.packFlippedWeights(ws, w0 + (long) grp * s.og() * s.k(), s.og(), s.cg(), s.kH(), s.kW(), flipped[grp]);
                    }
                }
                int chunks = f.parallel ? Math.min(Parallel.partsFor(s.n(), 1), Math.max(s.n(), 1)) : 1;
                if (chunks <= 1) {
                    flippedInputGradImages(0, 0, s.n(), gT, gs, g0, flipped, ds, d0);
                } else {
                    FlippedInputGradImagesJob job = FlippedInputGradImagesJob.MINE.get();
                    job.set(this, gT, gs, g0, flipped, ds, d0);
                    try {
                        Parallel.forRange(chunks, s.n(), job);
                    } finally {
                        job.release();
                    }
                }
                return;
            }
            Elementwise.unaryContiguous(UnaryOp.FILL, 0f, 0f, ds, d0 << 2, ds, d0 << 2, Math.toIntExact((long) s.n() * s.c() * s.h() * s.w()));
            int chunks = f.parallel ? Math.min(Parallel.partsFor(s.n(), 1), Math.max(s.n(), 1)) : 1;
            long colFloats = (long) s.k() * s.l();
            // a plan's frame: each part's column buffer in the scratch region, when the parts fit the region sized at capture
            boolean inScratch = f.arena != null && !s.direct() && chunks <= inputScratchParts;
            dev.lanes.memory.Storage[] cols = inScratch ? NO_COLUMNS : columns(chunks);
            try {
                long planeIn = (long) s.cg() * s.h() * s.w();
                // W_g^T packed once for all images; the same kernel and order as packing it per image
                boolean prepack = s.og() <= Sgemm.KC && (long) s.l() * s.og() <= (1 << 20);
                float[][] packedWT = prepack ? reusable(PER_CALL_WT, groups, (s.k() + Sgemm.MR - 1) / Sgemm.MR * Sgemm.MR * s.og()) : null;
                if (prepack) {
                    for (int grp = 0; grp < groups; grp++) {
                        Sgemm.packATransposedInto(ws, w0 + (long) grp * s.og() * s.k(), s.k(), s.k(), s.og(), packedWT[grp]);
                    }
                }
                if (chunks <= 1) {
                    col2imInputGradImages(0, 0, s.n(), gs, g0, ws, w0, ds, d0, f, inScratch, cols, colFloats, planeIn, prepack, packedWT);
                } else {
                    Col2imInputGradImagesJob job = Col2imInputGradImagesJob.MINE.get();
                    job.set(this, gs, g0, ws, w0, ds, d0, f, inScratch, cols, colFloats, planeIn, prepack, packedWT);
                    try {
                        Parallel.forRange(chunks, s.n(), job);
                    } finally {
                        job.release();
                    }
                }
            } finally {
                free(cols);
            }
        }

        private void col2imInputGradImages(int part, int n0, int n1, MemorySegment gs, long g0, MemorySegment ws, long w0, MemorySegment ds,
                long d0, Frame f, boolean inScratch, dev.lanes.memory.Storage[] cols, long colFloats, long planeIn, boolean prepack,
                float[][] packedWT) {
            for (int n = n0; n < n1; n++) {
                for (int grp = 0; grp < groups; grp++) {
                    long dxOff = d0 + (long) n * s.c() * s.h() * s.w() + grp * planeIn;
                    long gOff = g0 + ((long) n * s.o() + (long) grp * s.og()) * s.l();
                    long wOff = w0 + (long) grp * s.og() * s.k();
                    MemorySegment target = s.direct() ? ds : inScratch ? f.arena : cols[part].segment();
                    long colOff = inScratch ? f.scratchOff + part * colFloats : 0;
                    long targetOff = s.direct() ? dxOff : colOff;
                    if (prepack) {
                        Sgemm.gemmPackedA(s.k(), s.l(), s.og(), packedWT[grp], gs, gOff, s.l(), target, targetOff, s.l(), null);
                    } else {
                        Sgemm.sgemm(true, false, s.k(), s.l(), s.og(), 1f, ws, wOff, s.k(), gs, gOff, s.l(), 0f, target, targetOff, s.l(), null);
                    }
                    if (s.direct()) {
                        continue;
                    }
                    if (Conv2dDriver.staged(s.geo())) {
                        Conv2dDriver.col2imStaged(s.geo(), target, targetOff, ds, dxOff, Conv2dDriver.threadBuffers(s.geo()));
                    } else {
                        Im2col.col2im(target, colOff, s.geo(), ds, dxOff);
                    }
                }
            }
        }

        /** The parallel body of {@link #col2imInputGradImages}, one per thread, reused: a compiled step allocates nothing (see Sgemm.Split). */
        private static final class Col2imInputGradImagesJob implements Parallel.RangeBody {
            static final ThreadLocal<Col2imInputGradImagesJob> MINE = new ThreadLocal<>() {
                @Override
                protected Col2imInputGradImagesJob initialValue() {
                    return new Col2imInputGradImagesJob();
                }
            };
            private ConvBackward step;
            private MemorySegment gs;
            private long g0;
            private MemorySegment ws;
            private long w0;
            private MemorySegment ds;
            private long d0;
            private Frame f;
            private boolean inScratch;
            private dev.lanes.memory.Storage[] cols;
            private long colFloats;
            private long planeIn;
            private boolean prepack;
            private float[][] packedWT;

            void set(ConvBackward step, MemorySegment gs, long g0, MemorySegment ws, long w0, MemorySegment ds, long d0, Frame f,
                    boolean inScratch, dev.lanes.memory.Storage[] cols, long colFloats, long planeIn, boolean prepack, float[][] packedWT) {
                this.step = step;
                this.gs = gs;
                this.g0 = g0;
                this.ws = ws;
                this.w0 = w0;
                this.ds = ds;
                this.d0 = d0;
                this.f = f;
                this.inScratch = inScratch;
                this.cols = cols;
                this.colFloats = colFloats;
                this.planeIn = planeIn;
                this.prepack = prepack;
                this.packedWT = packedWT;
            }

            /** Drops the references: nothing of a finished call stays reachable. */
            void release() {
                step = null;
                gs = null;
                ws = null;
                ds = null;
                f = null;
                cols = null;
                packedWT = null;
            }

            @Override
            public void accept(int part, int from, int to) {
                step.col2imInputGradImages(part, from, to, gs, g0, ws, w0, ds, d0, f, inScratch, cols, colFloats, planeIn, prepack,
                        packedWT);
            }
        }

        private void flippedInputGradImages(int part, int n0, int n1, Im2col.Geometry gT, MemorySegment gs, long g0, float[][] flipped,
                MemorySegment ds, long d0) {
            if (flipped == null) { // Winograd, with this run's inputGradW (one group)
                Winograd.forward(gT, inputGradW, gs, g0 + n0 * (long) s.o() * gT.h() * gT.w(), n1 - n0, null, 0, UnaryOp.IDENTITY, ds,
                        d0 + n0 * (long) s.c() * s.h() * s.w(), Winograd.threadBuffers(gT, s.c()));
                return;
            }
            Conv2dDriver.inputGradient(gT, s.cg(), groups, gs, g0, flipped, ds, d0, n0, n1, Conv2dDriver.threadBuffers(gT));
        }

        /** The parallel body of {@link #flippedInputGradImages}, one per thread, reused: a compiled step allocates nothing (see Sgemm.Split). */
        private static final class FlippedInputGradImagesJob implements Parallel.RangeBody {
            static final ThreadLocal<FlippedInputGradImagesJob> MINE = new ThreadLocal<>() {
                @Override
                protected FlippedInputGradImagesJob initialValue() {
                    return new FlippedInputGradImagesJob();
                }
            };
            private ConvBackward step;
            private Im2col.Geometry gT;
            private MemorySegment gs;
            private long g0;
            private float[][] flipped;
            private MemorySegment ds;
            private long d0;

            void set(ConvBackward step, Im2col.Geometry gT, MemorySegment gs, long g0, float[][] flipped, MemorySegment ds, long d0) {
                this.step = step;
                this.gT = gT;
                this.gs = gs;
                this.g0 = g0;
                this.flipped = flipped;
                this.ds = ds;
                this.d0 = d0;
            }

            /** Drops the references: nothing of a finished call stays reachable. */
            void release() {
                step = null;
                gT = null;
                gs = null;
                flipped = null;
                ds = null;
            }

            @Override
            public void accept(int part, int from, int to) {
                step.flippedInputGradImages(part, from, to, gT, gs, g0, flipped, ds, d0);
            }
        }

        /**
         * The weight gradient, per chunk of {@link #IMAGES_PER_CHUNK} images a partial summed image by image, the chunks
         * then summed in order (so the thread count changes nothing). Images that stage on the heap go through
         * {@link Conv2dDriver#weightGradient} (their columns unfolded again from the input, or the input itself for a
         * 1x1 convolution; staged images never keep columns, see ConvOps), or, for few channels over many pixels
         * ({@link Conv2dDriver#dotsWeightGradient}: LeNet's first layer), through {@link Conv2dDriver#weightGradientDots}
         * (dot products whose 16 partial sums per weight run over the whole chunk, written at its last image); both
         * partials are transposed ({@code [groups][k, og]}) and transposed back at the end. Larger images: {@code gout col^T} through the GEMM
         * dispatcher, from the kept columns or unfolded into a column buffer.
         */
        private void weightGrad(Frame f) {
            boolean packed = packedWeightGradient();
            int chunks = (s.n() + IMAGES_PER_CHUNK - 1) / IMAGES_PER_CHUNK;
            int wsize = s.o() * s.k();
            boolean kept = kind == Kind.WEIGHT_FROM_COLUMNS;
            int parts = f.parallel ? Math.min(Parallel.partsFor(chunks, 1), chunks) : 1;
            boolean inPlan = f.arena != null; // a plan's frame: partials and sum in its scratch region (see scratchFloats)
            dev.lanes.memory.Storage partials = inPlan ? null : dev.lanes.memory.Storage.allocate((long) chunks * wsize * 4);
            dev.lanes.memory.Storage summed = packed && !inPlan ? dev.lanes.memory.Storage.allocate((long) wsize * 4) : null;
            dev.lanes.memory.Storage[] cols = kept || packed ? NO_COLUMNS : columns(parts);
            try {
                MemorySegment gs = f.seg(g);
                long g0 = f.off(g);
                MemorySegment xs = f.seg(other);
                long x0 = f.off(other);
                MemorySegment ps = inPlan ? f.arena : partials.segment();
                long p0 = inPlan ? f.scratchOff : 0; // element offset of the partials
                long planeIn = (long) s.cg() * s.h() * s.w();
                if (parts <= 1) {
                    weightGradChunks(0, 0, chunks, packed, p0, wsize, planeIn, xs, x0, gs, g0, ps, kept, cols);
                } else {
                    WeightGradChunksJob job = WeightGradChunksJob.MINE.get();
                    job.set(this, packed, p0, wsize, planeIn, xs, x0, gs, g0, ps, kept, cols);
                    try {
                        Parallel.forRange(parts, chunks, job);
                    } finally {
                        job.release();
                    }
                }
                if (!packed) {
                    Reductions.sum(ps, p0, 1, chunks, wsize, f.seg(out), f.off(out));
                    return;
                }
                MemorySegment sum = inPlan ? f.arena : summed.segment();
                long s0 = inPlan ? p0 + (long) chunks * wsize : 0;
                Reductions.sum(ps, p0, 1, chunks, wsize, sum, s0);
                MemorySegment os = f.seg(out);
                long o0 = f.off(out);
                for (int grp = 0; grp < groups; grp++) {
                    long base = (long) grp * s.og() * s.k();
                    for (int o = 0; o < s.og(); o++) {
                        for (int r = 0; r < s.k(); r++) {
                            os.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, o0 + base + (long) o * s.k() + r,
                                    sum.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, s0 + base + (long) r * s.og() + o));
                        }
                    }
                }
            } finally {
                if (partials != null) {
                    partials.release("conv2d backward");
                }
                if (summed != null) {
                    summed.release("conv2d backward");
                }
                free(cols);
            }
        }

        private void weightGradChunks(int part, int c0, int c1, boolean packed, long p0, int wsize, long planeIn, MemorySegment xs, long x0,
                MemorySegment gs, long g0, MemorySegment ps, boolean kept, dev.lanes.memory.Storage[] cols) {
            Conv2dDriver.Buffers buf = packed ? Conv2dDriver.threadBuffers(s.geo()) : null;
            boolean dots = packed && !s.direct() && Conv2dDriver.dotsWeightGradient(s.geo(), s.og(), groups);
            for (int chunk = c0; chunk < c1; chunk++) {
                long pOff = p0 + (long) chunk * wsize;
                int nEnd = Math.min(s.n(), (chunk + 1) * IMAGES_PER_CHUNK);
                for (int n = chunk * IMAGES_PER_CHUNK; n < nEnd; n++) {
                    boolean first = n == chunk * IMAGES_PER_CHUNK;
                    for (int grp = 0; grp < groups; grp++) {
                        long image = x0 + (long) n * s.c() * s.h() * s.w() + grp * planeIn;
                        long gOff = g0 + ((long) n * s.o() + (long) grp * s.og()) * s.l();
                        long partial = pOff + (long) grp * s.og() * s.k();
                        if (dots) {
                            Conv2dDriver.weightGradientDots(s.geo(), s.og(), grp, groups, xs, image, gs, gOff, ps, partial, first,
                                    n == nEnd - 1, buf);
                            continue;
                        }
                        if (packed) {
                            Conv2dDriver.weightGradient(s.geo(), s.og(), xs, image, s.direct(), gs, gOff, ps, partial, !first, buf);
                            continue;
                        }
                        MemorySegment col;
                        long colOff;
                        if (kept) { // columns kept by the forward pass
                            col = xs;
                            colOff = x0 + ((long) n * groups + grp) * s.k() * s.l();
                        } else if (s.direct()) {
                            col = xs;
                            colOff = image;
                        } else {
                            col = cols[part].segment();
                            colOff = 0;
                            Im2col.im2col(xs, image, s.geo(), col, 0);
                        }
                        Sgemm.sgemm(false, true, s.og(), s.k(), s.l(), 1f, gs, gOff, s.l(), col, colOff, s.l(), first ? 0f : 1f,
                                ps, partial, s.k(), null);
                    }
                }
            }
        }

        /** The parallel body of {@link #weightGradChunks}, one per thread, reused: a compiled step allocates nothing (see Sgemm.Split). */
        private static final class WeightGradChunksJob implements Parallel.RangeBody {
            static final ThreadLocal<WeightGradChunksJob> MINE = new ThreadLocal<>() {
                @Override
                protected WeightGradChunksJob initialValue() {
                    return new WeightGradChunksJob();
                }
            };
            private ConvBackward step;
            private boolean packed;
            private long p0;
            private int wsize;
            private long planeIn;
            private MemorySegment xs;
            private long x0;
            private MemorySegment gs;
            private long g0;
            private MemorySegment ps;
            private boolean kept;
            private dev.lanes.memory.Storage[] cols;

            void set(ConvBackward step, boolean packed, long p0, int wsize, long planeIn, MemorySegment xs, long x0, MemorySegment gs,
                    long g0, MemorySegment ps, boolean kept, dev.lanes.memory.Storage[] cols) {
                this.step = step;
                this.packed = packed;
                this.p0 = p0;
                this.wsize = wsize;
                this.planeIn = planeIn;
                this.xs = xs;
                this.x0 = x0;
                this.gs = gs;
                this.g0 = g0;
                this.ps = ps;
                this.kept = kept;
                this.cols = cols;
            }

            /** Drops the references: nothing of a finished call stays reachable. */
            void release() {
                step = null;
                xs = null;
                gs = null;
                ps = null;
                cols = null;
            }

            @Override
            public void accept(int part, int from, int to) {
                step.weightGradChunks(part, from, to, packed, p0, wsize, planeIn, xs, x0, gs, g0, ps, kept, cols);
            }
        }

        private void biasGrad(Frame f) {
            Reductions.channelSums(f.seg(g), f.off(g), s.n(), s.o(), s.l(), f.seg(out), f.off(out), f.parallel);
        }

        @Override
        String describe() {
            return "conv2d_backward " + kind.name().toLowerCase(java.util.Locale.ROOT) + " " + g + (other == null ? "" : ", " + other)
                    + " [" + s.n() + ", " + s.c() + ", " + s.h() + ", " + s.w() + "] k" + s.kH() + "x" + s.kW()
                    + (inputGradW != null ? " winograd F(4x4,3x3) (flipped weights transformed each run)" : "");
        }
    }

    /** The gradient of max_pool2d: each output gradient added at its argmax position (a second output of the forward). */
    static final class MaxPoolBackward extends PlanStep {
        final int planes;
        final int outPerPlane;
        final int inPerPlane;
        /** The output width when every input cell lies in exactly one 2 x 2 window ({@link Pooling#tiles2x2}), else 0. */
        final int tiledWidth;
        final Ref g;
        final Ref indices;

        MaxPoolBackward(int planes, int outPerPlane, int inPerPlane, int tiledWidth, Ref g, Ref indices) {
            this.planes = planes;
            this.outPerPlane = outPerPlane;
            this.inPerPlane = inPerPlane;
            this.tiledWidth = tiledWidth;
            this.g = g;
            this.indices = indices;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {g, indices};
        }

        @Override
        void run(Frame f) {
            if (tiledWidth > 0) { // one write per cell, no zeroing pass
                Pooling.maxPool2x2Backward(f.seg(g), f.off(g), f.seg(indices), f.off(indices), planes, outPerPlane / tiledWidth, tiledWidth,
                        f.seg(out), f.off(out));
                return;
            }
            Pooling.maxPool2dBackward(f.seg(g), f.off(g), f.seg(indices), f.off(indices), planes, outPerPlane, f.seg(out), f.off(out), inPerPlane);
        }

        @Override
        String describe() {
            return "max_pool2d_backward " + g + " at " + indices + " -> [" + planes + " planes of " + inPerPlane + "]";
        }
    }

    /** {@code torch.full}: every element of the result set to one value (zeros, ones, a fill). */
    static final class Fill extends PlanStep {
        final float value;
        final int n;

        Fill(float value, int n) {
            this.value = value;
            this.n = n;
        }

        @Override
        Ref[] inputs() {
            return new Ref[0];
        }

        @Override
        void run(Frame f) {
            MemorySegment o = f.seg(out);
            long at = f.off(out);
            // the vector fill for zero too: asSlice(...).fill would allocate a segment per run
            Elementwise.unaryContiguous(UnaryOp.FILL, value, 0, o, at << 2, o, at << 2, n); // byte offsets
        }

        @Override
        String describe() {
            return "fill " + value + " [" + n + "]";
        }
    }

    /**
     * Cross-entropy or NLL of contiguous {@code [n, c]} scores against int64 targets ({@code kernels.ClassificationLoss}):
     * forward ({@code g == null}: the loss) or backward (the scores' gradient from the loss's gradient {@code g}).
     */
    static final class Classification extends PlanStep {
        final boolean logits;
        final int n;
        final int c;
        final int ignoreIndex;
        final double eps;
        final int reduction;
        final Ref g;
        final Ref x;
        final Ref target;
        final Ref weight;

        @Override
        void validateInputs(Frame f) {
            if (target.kind() == Ref.INPUT) {
                ClassificationLoss.checkTargets(f.seg(target), f.elemOff(target, 8), n, c, ignoreIndex);
            }
        }

        Classification(boolean logits, int n, int c, int ignoreIndex, double eps, int reduction, Ref g, Ref x, Ref target, Ref weight) {
            this.logits = logits;
            this.n = n;
            this.c = c;
            this.ignoreIndex = ignoreIndex;
            this.eps = eps;
            this.reduction = reduction;
            this.g = g;
            this.x = x;
            this.target = target;
            this.weight = weight;
        }

        @Override
        Ref[] inputs() {
            java.util.List<Ref> r = new java.util.ArrayList<>(4);
            for (Ref a : new Ref[] {g, x, target, weight}) {
                if (a != null) {
                    r.add(a);
                }
            }
            return r.toArray(Ref[]::new);
        }

        @Override
        void run(Frame f) {
            MemorySegment ws = weight == null ? null : f.seg(weight);
            long wo = weight == null ? 0 : f.off(weight);
            MemorySegment xs = x == null ? null : f.seg(x);
            long xo = x == null ? 0 : f.off(x);
            if (g == null) {
                ClassificationLoss.forward(logits, xs, xo, f.seg(target), f.elemOff(target, 8), ws, wo, n, c, ignoreIndex, eps, reduction,
                        f.seg(out), f.off(out), f.parallel);
            } else {
                ClassificationLoss.backward(logits, f.seg(g), f.off(g), xs, xo, f.seg(target), f.elemOff(target, 8), ws, wo, n, c, ignoreIndex, eps,
                        reduction, f.seg(out), f.off(out), f.parallel);
            }
        }

        @Override
        String describe() {
            return (logits ? "cross_entropy" : "nll_loss") + (g == null ? " " : "_backward " + g + ", ") + (x == null ? "" : x + ", ") + target
                    + (weight == null ? "" : " weight " + weight) + " [" + n + ", " + c + "]";
        }
    }

    /**
     * The gradients of batch_norm ({@code [n, c, hw]}, dweight and dbias per channel) or layer_norm ({@code n} rows of
     * {@code c}, dweight and dbias summed over rows) from the saved mean and 1/std ({@code kernels.Normalization}).
     * {@code outIs} says which of dx (0), dw (1), db (2) is the step's result; the others wanted are extra outputs.
     */
    static final class NormBackward extends PlanStep {
        final boolean layer;
        final int n;
        final int c;
        final int hw;
        final boolean training;
        final int outIs;
        final Ref g;
        final Ref x;
        final Ref mean;
        final Ref rstd;
        final Ref weight;
        final Ref dw;
        final Ref db;

        NormBackward(boolean layer, int n, int c, int hw, boolean training, int outIs, Ref g, Ref x, Ref mean, Ref rstd, Ref weight, Ref dw,
                     Ref db) {
            this.layer = layer;
            this.n = n;
            this.c = c;
            this.hw = hw;
            this.training = training;
            this.outIs = outIs;
            this.g = g;
            this.x = x;
            this.mean = mean;
            this.rstd = rstd;
            this.weight = weight;
            this.dw = dw;
            this.db = db;
        }

        @Override
        Ref[] inputs() {
            return weight == null ? new Ref[] {g, x, mean, rstd} : new Ref[] {g, x, mean, rstd, weight};
        }

        @Override
        Ref[] extraOutputs() {
            Ref[] r = {dw, db};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        @Override
        void run(Frame f) {
            Ref dxR = outIs == 0 ? out : null;
            Ref dwR = outIs == 1 ? out : dw;
            Ref dbR = outIs == 2 ? out : db;
            MemorySegment dxs = dxR == null ? null : f.seg(dxR);
            MemorySegment dws = dwR == null ? null : f.seg(dwR);
            MemorySegment dbs = dbR == null ? null : f.seg(dbR);
            long dxo = dxR == null ? 0 : f.off(dxR);
            long dwo = dwR == null ? 0 : f.off(dwR);
            long dbo = dbR == null ? 0 : f.off(dbR);
            MemorySegment ws = weight == null ? null : f.seg(weight);
            long wo = weight == null ? 0 : f.off(weight);
            if (layer) {
                // layer_norm's parameter gradients accumulate over rows
                if (dws != null) {
                    Elementwise.zero(dws, dwo << 2, c);
                }
                if (dbs != null) {
                    Elementwise.zero(dbs, dbo << 2, c);
                }
                dev.lanes.kernels.Normalization.layerNormBackward(f.seg(g), f.off(g), f.seg(x), f.off(x), n, c, f.seg(mean), f.off(mean),
                        f.seg(rstd), f.off(rstd), ws, wo, dxs, dxo, dws, dwo, dbs, dbo, f.parallel);
            } else {
                dev.lanes.kernels.Normalization.batchNormBackward(f.seg(g), f.off(g), f.seg(x), f.off(x), n, c, hw, training, f.seg(mean),
                        f.off(mean), f.seg(rstd), f.off(rstd), ws, wo, dxs, dxo, dws, dwo, dbs, dbo, f.parallel);
            }
        }

        @Override
        String describe() {
            return (layer ? "layer_norm_backward " : "batch_norm_backward ") + g + ", " + x + " [" + n + ", " + c + (layer ? "" : ", " + hw) + "]"
                    + " -> " + (outIs == 0 ? "dx" : outIs == 1 ? "dw" : "db") + (dw != null ? ", dw " + dw : "") + (db != null ? ", db " + db : "");
        }
    }

    /**
     * The gradients of group_norm ({@code [n, c, hw]} in {@code groups} groups) from the saved per-(sample, group) mean
     * and 1/std ({@code kernels.Normalization}); {@code outIs} says which of dx (0), dw (1), db (2) is the step's
     * result; the others wanted are extra outputs.
     */
    static final class GroupNormBackward extends PlanStep {
        final int n;
        final int c;
        final int hw;
        final int groups;
        final int outIs;
        final Ref g;
        final Ref x;
        final Ref mean;
        final Ref rstd;
        final Ref weight;
        final Ref dw;
        final Ref db;

        GroupNormBackward(int n, int c, int hw, int groups, int outIs, Ref g, Ref x, Ref mean, Ref rstd, Ref weight, Ref dw, Ref db) {
            this.n = n;
            this.c = c;
            this.hw = hw;
            this.groups = groups;
            this.outIs = outIs;
            this.g = g;
            this.x = x;
            this.mean = mean;
            this.rstd = rstd;
            this.weight = weight;
            this.dw = dw;
            this.db = db;
        }

        @Override
        Ref[] inputs() {
            return weight == null ? new Ref[] {g, x, mean, rstd} : new Ref[] {g, x, mean, rstd, weight};
        }

        @Override
        Ref[] extraOutputs() {
            Ref[] r = {dw, db};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        @Override
        void run(Frame f) {
            Ref dxR = outIs == 0 ? out : null;
            Ref dwR = outIs == 1 ? out : dw;
            Ref dbR = outIs == 2 ? out : db;
            dev.lanes.kernels.Normalization.groupNormBackward(f.seg(g), f.off(g), f.seg(x), f.off(x), n, c, hw, groups, f.seg(mean),
                    f.off(mean), f.seg(rstd), f.off(rstd), weight == null ? null : f.seg(weight), weight == null ? 0 : f.off(weight),
                    dxR == null ? null : f.seg(dxR), dxR == null ? 0 : f.off(dxR), dwR == null ? null : f.seg(dwR), dwR == null ? 0 : f.off(dwR),
                    dbR == null ? null : f.seg(dbR), dbR == null ? 0 : f.off(dbR), f.parallel);
        }

        @Override
        String describe() {
            return "group_norm_backward " + g + ", " + x + " [" + n + ", " + c + ", " + hw + "] groups " + groups + " -> "
                    + (outIs == 0 ? "dx" : outIs == 1 ? "dw" : "db") + (dw != null ? ", dw " + dw : "") + (db != null ? ", db " + db : "");
        }
    }

    /** The gradient of avg_pool2d ({@code win} given) or adaptive_avg_pool2d ({@code kernels.Pooling}, backward form). */
    static final class AvgPoolBackward extends PlanStep {
        final int planes;
        final int h;
        final int w;
        final Pooling.Window win;
        final boolean countIncludePad;
        final int oh;
        final int ow;
        final Ref g;

        AvgPoolBackward(int planes, int h, int w, Pooling.Window win, boolean countIncludePad, int oh, int ow, Ref g) {
            this.planes = planes;
            this.h = h;
            this.w = w;
            this.win = win;
            this.countIncludePad = countIncludePad;
            this.oh = oh;
            this.ow = ow;
            this.g = g;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {g};
        }

        @Override
        void run(Frame f) {
            if (win == null) {
                Pooling.adaptiveAvgPool2d(true, f.seg(g), f.off(g), f.seg(out), f.off(out), planes, h, w, oh, ow);
            } else {
                Pooling.avgPool2d(true, f.seg(g), f.off(g), f.seg(out), f.off(out), planes, h, w, win, countIncludePad, oh, ow);
            }
        }

        @Override
        String describe() {
            return (win == null ? "adaptive_avg_pool2d_backward " : "avg_pool2d_backward ") + g + " -> [" + planes + " planes of " + h + "x" + w + "]";
        }
    }

    /**
     * index_select / embedding ({@code out[o, j, :] = x[o, idx[j], :]}, x {@code [outer, r, inner]}) or, backward, the
     * gradient rows added at their indices into zeros ({@code kernels.Indexing}). The indices are checked on every
     * run (a plan's indices are its input's values): one outside {@code [0, r)} ({@code [-r, r)} where {@link #wrap})
     * throws before anything is read.
     */
    static final class Rows extends PlanStep {
        final boolean backward;
        final String op;
        final int outer;
        final int r;
        final int inner;
        final int m;
        final long skip;
        final Ref src;
        final Ref idx;

        /** Backward only: each gradient row divided by how often its index occurs (embedding's scale_grad_by_freq). */
        final boolean byFreq;
        /** A negative index counts from the end (Tensor.index: PyTorch's advanced indexing, ONNX's Gather): [-r, r) is in range. */
        final boolean wrap;

        Rows(boolean backward, String op, int outer, int r, int inner, int m, long skip, Ref src, Ref idx) {
            this(backward, op, outer, r, inner, m, skip, false, false, src, idx);
        }

        Rows(boolean backward, String op, int outer, int r, int inner, int m, long skip, boolean byFreq, Ref src, Ref idx) {
            this(backward, op, outer, r, inner, m, skip, byFreq, false, src, idx);
        }

        Rows(boolean backward, String op, int outer, int r, int inner, int m, long skip, boolean byFreq, boolean wrap, Ref src, Ref idx) {
            if (byFreq && (!backward || outer != 1)) {
                throw new IllegalArgumentException(op + ": scale_grad_by_freq is an embedding backward's (outer 1), got outer " + outer);
            }
            if (wrap && (byFreq || skip != Long.MIN_VALUE)) { // both compare raw index values: a negative alias would slip past
                throw new IllegalArgumentException(op + ": scale_grad_by_freq and a skipped (padding) row take indices in [0, r), not ones that wrap");
            }
            this.wrap = wrap;
            this.byFreq = byFreq;
            this.backward = backward;
            this.op = op;
            this.outer = outer;
            this.r = r;
            this.inner = inner;
            this.m = m;
            this.skip = skip;
            this.src = src;
            this.idx = idx;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {src, idx};
        }

        @Override
        void validateInputs(Frame f) {
            if (idx.kind() == Ref.INPUT) {
                checkIndices(f);
            }
        }

        private void checkIndices(Frame f) {
            MemorySegment is = f.seg(idx);
            long io = f.elemOff(idx, 8);
            long bad = dev.lanes.kernels.Indexing.firstOutOfRange(is, io, m, r, wrap);
            if (bad >= 0) {
                throw new IndexOutOfBoundsException(op + ": index " + is.getAtIndex(dev.lanes.kernels.Simd.LONG, io + bad)
                        + " is out of bounds for the indexed dimension with size " + r);
            }
        }

        @Override
        void run(Frame f) {
            checkIndices(f);
            MemorySegment is = f.seg(idx);
            long io = f.elemOff(idx, 8);
            if (backward) {
                Elementwise.zero(f.seg(out), f.off(out) << 2, (long) outer * r * inner);
                if (byFreq) {
                    int[] counts = reusableCounts(r);
                    dev.lanes.kernels.Indexing.addRowsScaledByFreq(f.seg(src), f.off(src), m, inner, is, io, skip, f.seg(out), f.off(out), counts);
                    return;
                }
                dev.lanes.kernels.Indexing.addRows(f.seg(src), f.off(src), outer, m, inner, is, io, skip, f.seg(out), f.off(out), r, wrap);
            } else {
                dev.lanes.kernels.Indexing.selectRows(f.seg(src), f.off(src), outer, r, inner, is, io, m, f.seg(out), f.off(out), wrap);
            }
        }

        /** Per-thread index counts, grown once: a warm plan call allocates nothing, and threads share no scratch. */
        private static final ThreadLocal<int[][]> COUNTS = new ThreadLocal<>() {
            @Override
            protected int[][] initialValue() {
                return new int[1][0];
            }
        };

        private static int[] reusableCounts(int r) {
            int[][] holder = COUNTS.get();
            if (holder[0].length < r) {
                holder[0] = new int[r];
            }
            return holder[0];
        }

        @Override
        String describe() {
            return (backward ? op + (byFreq ? "_backward(scale_grad_by_freq) " : "_backward ") : op + " ") + src + " at " + idx + (wrap ? " (negative from the end)" : "")
                    + " [" + outer + ", " + (backward ? m : r) + ", " + inner + "] -> " + (backward ? r : m) + " rows";
        }
    }

    /**
     * The backward of select / narrow / slicing: zeros of the input's {@code numel}, then the gradient {@code src}
     * copied into the same view ({@code viewOffset}, {@code viewStrides} over {@code viewShape}) of them.
     */
    static final class IntoView extends PlanStep {
        final Ref src;
        final int[] srcStr;
        final int numel;
        final long viewOffset;
        final int[] viewStrides;
        final int[] viewShape;

        IntoView(Ref src, int[] srcStr, int numel, long viewOffset, int[] viewStrides, int[] viewShape) {
            this.src = src;
            this.srcStr = srcStr;
            this.numel = numel;
            this.viewOffset = viewOffset;
            this.viewStrides = viewStrides;
            this.viewShape = viewShape;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {src};
        }

        @Override
        void run(Frame f) {
            MemorySegment o = f.seg(out);
            long at = f.off(out);
            Elementwise.zero(o, at << 2, numel);
            dev.lanes.kernels.Copy.copyFloat(f.seg(src), f.off(src), srcStr, o, at + viewOffset, viewStrides, viewShape);
        }

        @Override
        String describe() {
            return "into_view " + src + " " + str(viewShape) + " at +" + viewOffset + " stride " + str(viewStrides) + " of zeros [" + numel + "]";
        }
    }

    /**
     * Dropout's mask: {@code 1 / (1 - p)} where an element is kept, 0 where dropped, from a counter-based hash of a
     * seed this step draws from the global generator on every run ({@code kernels.Attention.Dropout}'s), so eager
     * and compiled steps draw the same masks, and a plan draws a new one per run.
     */
    static final class DropoutMask extends PlanStep {
        final double p;
        final int n;

        DropoutMask(double p, int n) {
            this.p = p;
            this.n = n;
        }

        @Override
        Ref[] inputs() {
            return new Ref[0];
        }

        @Override
        boolean random() {
            return true;
        }

        @Override
        void run(Frame f) {
            dev.lanes.kernels.Attention.Dropout d = new dev.lanes.kernels.Attention.Dropout(p, Lanes.nextSeed());
            float scale = 1f / (float) (1 - p); // PyTorch: noise.div_(1 - p), the divisor rounded to float first (1.1764705 at p = 0.15, not 1.1764706)
            MemorySegment o = f.seg(out);
            long at = f.off(out);
            for (int i = 0; i < n; i++) {
                o.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, at + i, d.kept(i) ? scale : 0f);
            }
        }

        @Override
        String describe() {
            return "dropout_mask p=" + p + " [" + n + "]";
        }
    }

    /**
     * dq, dk, dv of the tiled attention from one kernel that recomputes the probabilities from the saved log-sum-exp
     * (and the dropout mask from the forward run's seed slot). {@code outIs}: which of dq (0), dk (1), dv (2) is the
     * result; the others wanted are extra outputs.
     */
    static final class AttentionBackward extends PlanStep {
        final Ref q;
        final Ref k;
        final Ref v;
        final Ref o;
        final Ref lse;
        final Ref g;
        final Ref seed;
        final int batch;
        final int l;
        final int s;
        final int e;
        final int ev;
        final float scale;
        final boolean causal;
        final double dropoutP;
        final int outIs;
        final Ref dk;
        final Ref dv;

        AttentionBackward(Ref q, Ref k, Ref v, Ref o, Ref lse, Ref g, Ref seed, int batch, int l, int s, int e, int ev, float scale, boolean causal,
                          double dropoutP, int outIs, Ref dk, Ref dv) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.o = o;
            this.lse = lse;
            this.g = g;
            this.seed = seed;
            this.batch = batch;
            this.l = l;
            this.s = s;
            this.e = e;
            this.ev = ev;
            this.scale = scale;
            this.causal = causal;
            this.dropoutP = dropoutP;
            this.outIs = outIs;
            this.dk = dk;
            this.dv = dv;
        }

        @Override
        Ref[] inputs() {
            return seed == null ? new Ref[] {q, k, v, o, lse, g} : new Ref[] {q, k, v, o, lse, g, seed};
        }

        @Override
        Ref[] extraOutputs() {
            Ref[] r = {dk, dv};
            return Arrays.stream(r).filter(java.util.Objects::nonNull).toArray(Ref[]::new);
        }

        @Override
        void run(Frame f) {
            dev.lanes.kernels.Attention.Dropout dropout = dropoutP > 0
                    ? new dev.lanes.kernels.Attention.Dropout(dropoutP, f.seg(seed).getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, f.elemOff(seed, 8)))
                    : null;
            Ref dqR = outIs == 0 ? out : null;
            Ref dkR = outIs == 1 ? out : dk;
            Ref dvR = outIs == 2 ? out : dv;
            dev.lanes.kernels.Attention.backward(f.seg(q), f.off(q), f.seg(k), f.off(k), f.seg(v), f.off(v), f.seg(o), f.off(o), f.seg(lse),
                    f.off(lse), f.seg(g), f.off(g), batch, l, s, e, ev, scale, causal, dropout, dqR == null ? null : f.seg(dqR),
                    dqR == null ? 0 : f.off(dqR), dkR == null ? null : f.seg(dkR), dkR == null ? 0 : f.off(dkR), dvR == null ? null : f.seg(dvR),
                    dvR == null ? 0 : f.off(dvR));
        }

        @Override
        String describe() {
            return "attention_backward " + g + " q " + q + " k " + k + " v " + v + " [" + batch + "x" + l + "x" + e + ", " + s + " keys]"
                    + (dropoutP > 0 ? " dropout " + dropoutP + " seed " + seed : "");
        }
    }
}
