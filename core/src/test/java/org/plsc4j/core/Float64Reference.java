package org.plsc4j.core;

/**
 * A float64, textbook implementation of the (combined-)margin softmax cross entropy and of the
 * normalised FC layer around it, used only to check the float32 production code. Mean reduction.
 */
public final class Float64Reference {

    private static final double EPS = 1e-12;

    /** Loss, per-sample losses, softmax and gradients (null where not computed). */
    public record Out(double loss, double[] perSample, double[][] softmax, double[][] dCos, double[][] dW, double[][] dX) {
    }

    private Float64Reference() {
    }

    /** Loss and dL/dcos of cosine logits [B][C]. */
    public static Out onCos(double[][] cos, int[] labels, MarginConfig m) {
        int b = cos.length;
        int c = cos[0].length;
        double s = m.scale();
        double[] perSample = new double[b];
        double[][] p = new double[b][c];
        double[][] dCos = new double[b][c];
        double total = 0;
        for (int i = 0; i < b; i++) {
            double[] z = new double[c];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) {
                z[j] = j == labels[i] ? s * TargetLogit.value(cos[i][j], m) : s * cos[i][j];
                max = Math.max(max, z[j]);
            }
            double sum = 0;
            for (int j = 0; j < c; j++) {
                sum += Math.exp(z[j] - max);
            }
            for (int j = 0; j < c; j++) {
                p[i][j] = Math.exp(z[j] - max) / sum;
                double dz = (p[i][j] - (j == labels[i] ? 1 : 0)) / b;
                dCos[i][j] = s * dz * (j == labels[i] ? TargetLogit.derivative(cos[i][j], m) : 1.0);
            }
            perSample[i] = Math.log(sum) + max - z[labels[i]];
            total += perSample[i];
        }
        return new Out(total / b, perSample, p, dCos, null, null);
    }

    /** Loss and gradients of the normalised FC: features x [B][D], weights w [C][D] (class-major). */
    static Out fc(double[][] x, double[][] w, int[] labels, MarginConfig m) {
        int b = x.length;
        int c = w.length;
        int d = x[0].length;
        double[] xn = new double[b];
        double[] wn = new double[c];
        double[][] xh = new double[b][d];
        double[][] wh = new double[c][d];
        for (int i = 0; i < b; i++) {
            xn[i] = Math.max(norm(x[i]), EPS);
            for (int k = 0; k < d; k++) {
                xh[i][k] = x[i][k] / xn[i];
            }
        }
        for (int j = 0; j < c; j++) {
            wn[j] = Math.max(norm(w[j]), EPS);
            for (int k = 0; k < d; k++) {
                wh[j][k] = w[j][k] / wn[j];
            }
        }
        double[][] cos = new double[b][c];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < c; j++) {
                cos[i][j] = dot(xh[i], wh[j]);
            }
        }
        Out o = onCos(cos, labels, m);
        double[][] dW = new double[c][d];
        for (int j = 0; j < c; j++) {
            double[] dwh = new double[d];
            for (int i = 0; i < b; i++) {
                for (int k = 0; k < d; k++) {
                    dwh[k] += o.dCos()[i][j] * xh[i][k];
                }
            }
            double proj = dot(wh[j], dwh);
            for (int k = 0; k < d; k++) {
                dW[j][k] = (dwh[k] - wh[j][k] * proj) / wn[j];
            }
        }
        double[][] dX = new double[b][d];
        for (int i = 0; i < b; i++) {
            double[] dxh = new double[d];
            for (int j = 0; j < c; j++) {
                for (int k = 0; k < d; k++) {
                    dxh[k] += o.dCos()[i][j] * wh[j][k];
                }
            }
            double proj = dot(xh[i], dxh);
            for (int k = 0; k < d; k++) {
                dX[i][k] = (dxh[k] - xh[i][k] * proj) / xn[i];
            }
        }
        return new Out(o.loss(), o.perSample(), o.softmax(), o.dCos(), dW, dX);
    }

    /** Loss and gradients of PLSC's plain softmax FC. */
    public record LinearOut(double loss, double[][] dW, double[] dB, double[][] dX) {
    }

    /**
     * PLSC's {@code softmax} / {@code dist_softmax}: logits {@code z = x·Wᵀ + b} (x [B][D] raw, w [C][D]
     * class-major, b [C]), softmax cross entropy, mean over B; dW = gᵀ·x, dB = Σ_i g_i, dX = g·W with
     * g = (softmax − onehot)/B.
     */
    public static LinearOut linear(double[][] x, double[][] w, double[] bias, int[] labels) {
        int b = x.length;
        int c = w.length;
        int d = x[0].length;
        double[][] z = new double[b][c];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < c; j++) {
                z[i][j] = dot(x[i], w[j]) + bias[j];
            }
        }
        Out o = onCos(z, labels, MarginConfig.softmax(1));
        double[][] g = o.dCos();
        double[][] dW = new double[c][d];
        double[] dB = new double[c];
        double[][] dX = new double[b][d];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < c; j++) {
                dB[j] += g[i][j];
                for (int k = 0; k < d; k++) {
                    dW[j][k] += g[i][j] * x[i][k];
                    dX[i][k] += g[i][j] * w[j][k];
                }
            }
        }
        return new LinearOut(o.loss(), dW, dB, dX);
    }

    static double norm(double[] v) {
        return Math.sqrt(dot(v, v));
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int k = 0; k < a.length; k++) {
            s += a[k] * b[k];
        }
        return s;
    }

    /**
     * Top-1 and top-5 accuracy of cosine logits in float64, as {lower, upper} bounds: a class counts as
     * beating the label when its cosine is above the label's by more than {@code tol} (lower bound) or
     * by more than −tol (upper bound), so float32 rounding of near ties cannot fail a test.
     *
     * @return {{acc1 lower, acc1 upper}, {acc5 lower, acc5 upper}}
     */
    static double[][] topKAccuracyBounds(double[][] x, double[][] w, int[] labels, double tol) {
        double[][] out = new double[2][2];
        for (int i = 0; i < x.length; i++) {
            double[] cos = new double[w.length];
            for (int j = 0; j < w.length; j++) {
                cos[j] = dot(x[i], w[j]) / Math.sqrt(dot(x[i], x[i]) * dot(w[j], w[j]));
            }
            int surelyBetter = 0;
            int maybeBetter = 0;
            for (int j = 0; j < w.length; j++) {
                if (j != labels[i]) {
                    surelyBetter += cos[j] > cos[labels[i]] + tol ? 1 : 0;
                    maybeBetter += cos[j] > cos[labels[i]] - tol ? 1 : 0;
                }
            }
            int[] ks = {1, 5};
            for (int k = 0; k < 2; k++) {
                out[k][0] += maybeBetter < ks[k] ? 1.0 / x.length : 0;
                out[k][1] += surelyBetter < ks[k] ? 1.0 / x.length : 0;
            }
        }
        for (double[] o : out) {
            o[0] -= 1e-12;
            o[1] += 1e-12;
        }
        return out;
    }
}
