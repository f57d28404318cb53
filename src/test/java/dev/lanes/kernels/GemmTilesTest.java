package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every register tile ({@code -Dlanes.gemmTile=8x2|6x2}) and each of its kernels (A packed or row-major: the
 * convolution's weight gradient) give the same bits: each JVM multiplies matrices of edge sizes (partial tiles,
 * several KC blocks, transposed operands), runs an inference plan's prepacked Linear over 3 rows, convolutions (one
 * with 6 output channels: the 6-row kernels of the 8-row tile, eager and in a plan) and
 * the tiled attention (with dropout) forward and backward, and prints a hash of the results. Tiles are JVM-wide constants, so each runs in a
 * child JVM of this one's width; so does the attention kernel's scalar form ({@code -Dlanes.attentionScalar=true},
 * what lane counts above 32 run).
 */
class GemmTilesTest {
    /** Entry point of the child JVMs: prints the hash of {@link #results()} on the last line. */
    public static void main(String[] args) throws Exception {
        System.out.println("tile " + Sgemm.TILE + " hash " + results());
    }

    static String results() throws Exception {
        Lanes.manualSeed(17);
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        // with -Dlanes.gemmBlockRows=12, 12-row tiles: 97 (an edge sliver of 1 row, a second KC block 1 deep), 200 rows;
        // 13 and 64 rows take MR-row tiles (blockRowsFor); 150 x 100 x 531: whole 12-row slivers whose depth is no
        // whole number of vectors
        int[][] shapes = {{1, 1, 1}, {5, 7, 3}, {13, 37, 300}, {64, 64, 64}, {97, 50, 513}, {200, 33, 129}, {150, 100, 531}};
        for (int[] s : shapes) {
            Tensor a = Tensor.randn(s[0], s[2]);
            Tensor b = Tensor.randn(s[2], s[1]);
            Tensor bt = Tensor.randn(s[1], s[2]);
            Tensor at = Tensor.randn(s[2], s[0]);
            for (Tensor c : new Tensor[] {a.mm(b), a.mm(bt.t()), at.t().mm(b), at.t().mm(bt.t())}) {
                update(md, c);
            }
        }
        Tensor weight = Tensor.randn(37, 600);
        Tensor bias = Tensor.randn(37);
        try (dev.lanes.InferencePlan plan = dev.lanes.InferencePlan.trace(in -> Tensor.addmm(bias, in, weight.t()), 3, 600)) {
            float[] in = Tensor.randn(3, 600).toFloatArray();
            float[] out = new float[plan.outputSize()];
            plan.run(in, out);
            update(md, Tensor.of(out, 3, 37));
        }
        Tensor x = Tensor.randn(3, 5, 11, 9).requiresGrad(true);
        Tensor w = Tensor.randn(7, 5, 3, 3).requiresGrad(true);
        Tensor y = Tensor.conv2d(x, w, null, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1);
        y.backward(Tensor.randn(y.shape()));
        update(md, y.detach());
        update(md, x.grad());
        update(md, w.grad());
        // 6 output channels (LeNet's second layer's input gradient): the 6-row kernels of an 8-row tile, eagerly and as a
        // plan, read in place (depth 50)
        Tensor w6 = Tensor.randn(6, 2, 5, 5);
        Tensor b6 = Tensor.randn(6);
        update(md, Tensor.conv2d(Tensor.randn(2, 2, 32, 32), w6, b6, new int[] {1, 1}, new int[] {0, 0}, new int[] {1, 1}, 1));
        try (dev.lanes.InferencePlan plan = dev.lanes.InferencePlan.trace(in -> Tensor.conv2d(in, w6, b6, new int[] {1, 1}, new int[] {0, 0},
                new int[] {1, 1}, 1).relu(), 2, 2, 32, 32)) {
            float[] out = new float[plan.outputSize()];
            plan.run(Tensor.randn(2, 2, 32, 32).toFloatArray(), out);
            update(md, Tensor.of(out, 2, 6, 28, 28));
        }
        Tensor q = Tensor.randn(2, 70, 5).requiresGrad(true);
        Tensor k = Tensor.randn(2, 131, 5).requiresGrad(true);
        Tensor v = Tensor.randn(2, 131, 3).requiresGrad(true);
        for (boolean causal : new boolean[] {false, true}) {
            Tensor a = Tensor.flashAttention(q, k, v, causal, 0.45, causal ? 0.2 : 0);
            a.backward(Tensor.randn(a.shape()));
            update(md, a.detach());
        }
        update(md, q.grad());
        update(md, k.grad());
        update(md, v.grad());
        return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }

    private static void update(MessageDigest md, Tensor t) {
        for (float v : t.toFloatArray()) {
            int bits = Float.floatToRawIntBits(v);
            md.update(new byte[] {(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)});
        }
    }

    @Test
    void everyTileGivesTheSameBits() throws Exception {
        String expect = System.getProperty("lanes.test.expectBits");
        if (expect != null && !expect.isBlank()) {
            return; // a width pass of .ci/run: the native pass ran every tile
        }
        String here = results();
        for (String tile : new String[] {"8x2", "6x2"}) {
            String child = runChild(tile, false); // MR-row tiles in the blocked product too (-Dlanes.gemmBlockRows=MR)
            assertThat(child).as("tile %s vs this JVM (tile %s)", tile, Sgemm.TILE).isEqualTo("tile " + tile + " hash " + here);
        }
        // the blocked product's 12-row tiles (-Dlanes.gemmBlockRows=12, the default with 32 registers): at this width, with the 6 x 2 tile,
        // and at 8 and 4 lanes, where packSliver12 copies A^T by 256/128-bit vectors or packs float by float
        for (List<String> flags : List.of(List.of("-Dlanes.gemmBlockRows=12"), List.of("-Dlanes.gemmTile=6x2", "-Dlanes.gemmBlockRows=12"),
                List.of("-XX:MaxVectorSize=32", "-Dlanes.gemmBlockRows=12"), List.of("-XX:MaxVectorSize=16", "-Dlanes.gemmBlockRows=12"))) {
            String line = dev.lanes.ChildJvm.lastLine(GemmTilesTest.class, flags, List.of(), "tile ", 60);
            assertThat(line.substring(line.indexOf(" hash "))).as("%s vs this JVM", flags).isEqualTo(" hash " + here);
        }
        // the 6 x 2 kernel's two loop shapes (LoopShape: plain where C2 strip-mines, hand-made strips where it does not),
        // each under a collector that strip-mines (G1) and one that does not (Parallel)
        for (String shape : new String[] {"strip-mined", "strips"}) {
            for (String gc : new String[] {"-XX:+UseG1GC", "-XX:+UseParallelGC"}) {
                List<String> flags = List.of("-Dlanes.gemmTile=6x2", "-Dlanes.gemmBlockRows=6", "-Dlanes.gemmLoopShape=" + shape, gc);
                String line = dev.lanes.ChildJvm.lastLine(GemmTilesTest.class, flags, List.of(), "tile ", 60);
                assertThat(line.substring(line.indexOf(" hash "))).as("%s vs this JVM", flags).isEqualTo(" hash " + here);
            }
        }
        String scalar = runChild(Sgemm.TILE, true);
        assertThat(scalar).as("the attention kernel's scalar form vs this JVM").isEqualTo("tile " + Sgemm.TILE + " hash " + here);
    }

    /** The blocked product's rows per tile: 12 (when asked for) unless that pads more than 4% past the MR-row tiles. */
    @Test
    void theBlockedTileRowsFollowThePadding() {
        assertThat(Sgemm.blockRowsFor(1024, Sgemm.MR)).isEqualTo(Sgemm.MR);
        assertThat(Sgemm.blockRowsFor(1024, 12)).isEqualTo(12); // 1032 against 1024
        assertThat(Sgemm.blockRowsFor(96, 12)).isEqualTo(12);
        assertThat(Sgemm.blockRowsFor(Sgemm.MR == 8 ? 97 : 95, 12)).isEqualTo(12); // 108 against 104 (102)
        assertThat(Sgemm.blockRowsFor(64, 12)).isEqualTo(Sgemm.MR); // 72 against 64 (66)
        assertThat(Sgemm.blockRowsFor(13, 12)).isEqualTo(Sgemm.MR);
        assertThat(Sgemm.blockRowsFor(1, 12)).isEqualTo(Sgemm.MR);
    }

    private static String runChild(String tile, boolean scalarAttention) throws Exception {
        return "tile " + dev.lanes.ChildJvm.lastLine(GemmTilesTest.class, List.of("-Dlanes.gemmTile=" + tile, "-Dlanes.gemmBlockRows=" + tile.charAt(0),
                "-Dlanes.attentionScalar=" + scalarAttention),
                List.of(), "tile ", 60);
    }
}
