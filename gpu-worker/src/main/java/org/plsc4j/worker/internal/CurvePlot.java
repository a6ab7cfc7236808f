package org.plsc4j.worker.internal;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.plsc4j.worker.MetricsLog;

/**
 * The end-of-training picture: loss against step on the left, training top-1 accuracy and each
 * verification set's accuracy on the right, as a PNG in {@code model_save_dir}.
 *
 * <p>Hand-written with Java2D (headless) rather than a charting library: two line charts do not
 * justify a dependency, and the JDK renders them everywhere the trainer runs.
 */
public final class CurvePlot {

    private static final int W = 1000;
    private static final int H = 420;
    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0x9467bd), new Color(0xff7f0e), new Color(0x8c564b)};

    private CurvePlot() {
    }

    /** Draws the curves of {@code log} into {@code png}; an empty log gives axes with a note. */
    public static void write(List<MetricsLog.TrainPoint> train, List<MetricsLog.EvalPoint> evals, Path png)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, W, H);
            Map<String, List<double[]>> left = new LinkedHashMap<>();
            List<double[]> loss = new ArrayList<>();
            List<double[]> acc1 = new ArrayList<>();
            for (MetricsLog.TrainPoint p : train) {
                loss.add(new double[] {p.step(), p.loss()});
                if (!Double.isNaN(p.acc1())) {
                    acc1.add(new double[] {p.step(), p.acc1()});
                }
            }
            left.put("loss", loss);
            Map<String, List<double[]>> right = new LinkedHashMap<>();
            if (!acc1.isEmpty()) {
                right.put("train acc1", acc1);
            }
            for (MetricsLog.EvalPoint e : evals) {
                e.accuracy().forEach((name, a) ->
                        right.computeIfAbsent(name + " accuracy", k -> new ArrayList<>()).add(new double[] {e.step(), a}));
            }
            panel(g, 0, "training loss", left, false);
            panel(g, W / 2, "accuracy", right, true);
        } finally {
            g.dispose();
        }
        Path tmp = png.resolveSibling("." + png.getFileName() + ".tmp");
        ImageIO.write(img, "png", tmp.toFile());
        Files.move(tmp, png, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static void panel(Graphics2D g, int x0, String title, Map<String, List<double[]>> series, boolean unit) {
        int left = x0 + 70;
        int right = x0 + W / 2 - 20;
        int top = 40;
        int bottom = H - 50;
        double xmin = Double.MAX_VALUE;
        double xmax = -Double.MAX_VALUE;
        double ymin = unit ? 0 : Double.MAX_VALUE;
        double ymax = unit ? 1 : -Double.MAX_VALUE;
        for (List<double[]> s : series.values()) {
            for (double[] p : s) {
                xmin = Math.min(xmin, p[0]);
                xmax = Math.max(xmax, p[0]);
                if (!unit && Double.isFinite(p[1])) {
                    ymin = Math.min(ymin, p[1]);
                    ymax = Math.max(ymax, p[1]);
                }
            }
        }
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, left, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawRect(left, top, right - left, bottom - top);
        if (xmin > xmax) {
            g.drawString("no data", (left + right) / 2 - 20, (top + bottom) / 2);
            return;
        }
        if (xmax == xmin) {
            xmax = xmin + 1;
        }
        if (ymax <= ymin) {
            ymax = ymin + 1;
        }
        for (int t = 0; t <= 4; t++) {
            double yv = ymin + (ymax - ymin) * t / 4;
            int yp = bottom - (int) Math.round((bottom - top) * t / 4.0);
            g.setColor(new Color(0xdddddd));
            g.drawLine(left, yp, right, yp);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.3g", yv), x0 + 8, yp + 4);
            double xv = xmin + (xmax - xmin) * t / 4;
            int xp = left + (int) Math.round((right - left) * t / 4.0);
            g.drawString(String.format(Locale.ROOT, "%.0f", xv), xp - 10, bottom + 16);
        }
        g.drawString("step", (left + right) / 2 - 10, bottom + 34);
        int i = 0;
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            Color c = PALETTE[i % PALETTE.length];
            g.setColor(c);
            g.setStroke(new BasicStroke(1.8f));
            int px = -1;
            int py = -1;
            for (double[] p : e.getValue()) {
                if (!Double.isFinite(p[1])) {
                    continue;
                }
                int xp = left + (int) Math.round((p[0] - xmin) / (xmax - xmin) * (right - left));
                int yp = bottom - (int) Math.round((p[1] - ymin) / (ymax - ymin) * (bottom - top));
                if (px >= 0) {
                    g.drawLine(px, py, xp, yp);
                } else {
                    g.fillOval(xp - 2, yp - 2, 4, 4);
                }
                px = xp;
                py = yp;
            }
            g.drawString(e.getKey(), right - 150, top + 16 + 14 * i);
            i++;
        }
    }
}
