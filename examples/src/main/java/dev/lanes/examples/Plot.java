package dev.lanes.examples;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** TrainLeNet's and TrainResNet's {@code --plot}: train/test loss and accuracy per epoch, one PNG (JFreeChart, examples only). */
final class Plot {
    private Plot() {
    }

    static void write(List<TrainLeNet.EpochStats> history, Path png) throws IOException {
        write(history, png, "LeNet training");
    }

    static void write(List<TrainLeNet.EpochStats> history, Path png, String title) throws IOException {
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plots(history), true);
        Path dir = png.toAbsolutePath().getParent();
        if (dir != null) {
            java.nio.file.Files.createDirectories(dir);
        }
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 700);
    }

    /** Loss over accuracy, per epoch, with a marker on every point: one or two epochs draw no line to speak of. */
    static CombinedDomainXYPlot plots(List<TrainLeNet.EpochStats> history) {
        System.setProperty("java.awt.headless", "true");
        XYSeries trainLoss = new XYSeries("train loss");
        XYSeries testLoss = new XYSeries("test loss");
        XYSeries trainAcc = new XYSeries("train accuracy");
        XYSeries testAcc = new XYSeries("test accuracy");
        for (int i = 0; i < history.size(); i++) {
            TrainLeNet.EpochStats s = history.get(i);
            trainLoss.add(i + 1, s.trainLoss());
            testLoss.add(i + 1, s.testLoss());
            trainAcc.add(i + 1, s.trainAccuracy());
            testAcc.add(i + 1, s.testAccuracy());
        }
        XYSeriesCollection losses = new XYSeriesCollection();
        losses.addSeries(trainLoss);
        losses.addSeries(testLoss);
        XYSeriesCollection accuracies = new XYSeriesCollection();
        accuracies.addSeries(trainAcc);
        accuracies.addSeries(testAcc);
        XYPlot lossPlot = ChartFactory.createXYLineChart(null, null, "loss", losses).getXYPlot();
        XYPlot accPlot = ChartFactory.createXYLineChart(null, null, "accuracy", accuracies).getXYPlot();
        for (XYPlot p : new XYPlot[] {lossPlot, accPlot}) {
            p.setRenderer(new org.jfree.chart.renderer.xy.XYLineAndShapeRenderer(true, true));
        }
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(new NumberAxis("epoch"));
        plot.add(lossPlot);
        plot.add(accPlot);
        return plot;
    }

    /** Loss curves: {@code points} are {x, train loss, validation loss}, one PNG (TrainGPT's {@code --plot}). */
    static void writeLosses(String title, List<double[]> points, String xLabel, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYSeries train = new XYSeries("train loss");
        XYSeries val = new XYSeries("validation loss");
        for (double[] p : points) {
            train.add(p[0], p[1]);
            val.add(p[0], p[2]);
        }
        XYSeriesCollection losses = new XYSeriesCollection();
        losses.addSeries(train);
        losses.addSeries(val);
        JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, "loss", losses);
        chart.getXYPlot().setRenderer(new org.jfree.chart.renderer.xy.XYLineAndShapeRenderer(true, true));
        Path dir = png.toAbsolutePath().getParent();
        if (dir != null) {
            java.nio.file.Files.createDirectories(dir);
        }
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 600);
    }
}
