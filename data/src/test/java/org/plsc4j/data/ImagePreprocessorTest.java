package org.plsc4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.plsc4j.core.TestSeed;

@ExtendWith(TestSeed.class)
class ImagePreprocessorTest {

    @Test
    void pngIsChwRgbNormalisedAsPlsc() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("png"));
        int w = 5;
        int h = 4;
        int[][] px = new int[h][w];
        for (int[] row : px) {
            for (int x = 0; x < w; x++) {
                row[x] = rng.nextInt(1 << 24);
            }
        }
        byte[] png = TestImages.encode(TestImages.rgb(w, h, (x, y) -> px[y][x]), "png");
        float[] out = new float[3 * h * w + 7];
        new ImagePreprocessor(new ImageShape(3, h, w)).toChw(png, "t.png", false, out, 7);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int v = (px[y][x] >> (16 - 8 * c)) & 0xff;
                    assertEquals(TestImages.norm(v), out[7 + c * h * w + y * w + x], 0f, "c" + c + " y" + y + " x" + x);
                }
            }
        }
    }

    @Test
    void flipMirrorsColumns() {
        byte[] png = TestImages.encode(TestImages.rgb(6, 3, (x, y) -> (x * 40) << 16 | (y * 70) << 8 | 9), "png");
        ImagePreprocessor p = new ImagePreprocessor(new ImageShape(3, 3, 6));
        float[] a = new float[54];
        float[] b = new float[54];
        p.toChw(png, "t", false, a, 0);
        p.toChw(png, "t", true, b, 0);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 3; y++) {
                for (int x = 0; x < 6; x++) {
                    assertEquals(a[c * 18 + y * 6 + x], b[c * 18 + y * 6 + 5 - x], 0f);
                }
            }
        }
        assertEquals(TestImages.norm(200), a[5], 0f);
    }

    @Test
    void grayscaleIsReplicatedWithoutGammaChange() {
        BufferedImage g = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_GRAY);
        for (int x = 0; x < 4; x++) {
            g.getRaster().setSample(x, 0, 0, x * 60);
            g.getRaster().setSample(x, 1, 0, 255 - x);
        }
        byte[] png = TestImages.encode(g, "png");
        float[] out = new float[24];
        new ImagePreprocessor(new ImageShape(3, 2, 4)).toChw(png, "g.png", false, out, 0);
        for (int c = 0; c < 3; c++) {
            for (int x = 0; x < 4; x++) {
                assertEquals(TestImages.norm(x * 60), out[c * 8 + x], 0f);
                assertEquals(TestImages.norm(255 - x), out[c * 8 + 4 + x], 0f);
            }
        }
    }

    @Test
    void resizeMatchesFloat64BilinearWithAlignedPixelCentres() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("resize"));
        int sw = 7;
        int sh = 5;
        int[][] v = new int[sh][sw];
        for (int[] row : v) {
            for (int x = 0; x < sw; x++) {
                row[x] = rng.nextInt(256);
            }
        }
        byte[] png = TestImages.encode(TestImages.rgb(sw, sh, (x, y) -> v[y][x] << 16 | v[y][x] << 8 | v[y][x]), "png");
        for (int[] dst : new int[][] {{3, 4}, {11, 9}, {5, 7}, {1, 1}}) {
            int dh = dst[0];
            int dw = dst[1];
            float[] out = new float[3 * dh * dw];
            new ImagePreprocessor(new ImageShape(3, dh, dw)).toChw(png, "r", false, out, 0);
            for (int y = 0; y < dh; y++) {
                for (int x = 0; x < dw; x++) {
                    double want = (reference(v, sh, sw, dh, dw, y, x) - 127.5) / 128;
                    assertEquals(want, out[y * dw + x], 1e-5, dh + "x" + dw + " at " + y + "," + x);
                    assertEquals(out[y * dw + x], out[2 * dh * dw + y * dw + x], 0f);
                }
            }
        }
    }

    /** OpenCV INTER_LINEAR in float64: source coordinate (d + 0.5)·s − 0.5, clamped, 4 neighbours. */
    private static double reference(int[][] v, int sh, int sw, int dh, int dw, int y, int x) {
        double sy = Math.min(Math.max((y + 0.5) * sh / dh - 0.5, 0), sh - 1);
        double sx = Math.min(Math.max((x + 0.5) * sw / dw - 0.5, 0), sw - 1);
        int y0 = (int) Math.floor(sy);
        int x0 = (int) Math.floor(sx);
        int y1 = Math.min(y0 + 1, sh - 1);
        int x1 = Math.min(x0 + 1, sw - 1);
        double fy = sy - y0;
        double fx = sx - x0;
        return (1 - fy) * ((1 - fx) * v[y0][x0] + fx * v[y0][x1]) + fy * ((1 - fx) * v[y1][x0] + fx * v[y1][x1]);
    }

    @Test
    void constantImageStaysConstantWhenResized() {
        byte[] png = TestImages.tagged(77, 40);
        float[] out = new float[3 * 112 * 112];
        new ImagePreprocessor(ImageShape.square(112)).toChw(png, "c", true, out, 0);
        for (int i = 0; i < 112 * 112; i++) {
            assertEquals(TestImages.norm(77), out[i], 1e-6f);
            assertEquals(TestImages.norm(255 - 77), out[112 * 112 + i], 1e-6f);
        }
    }

    @Test
    void undecodableBytesNameTheSource() {
        BadDataException e = assertThrows(BadDataException.class,
                () -> ImagePreprocessor.decode("not an image".getBytes(java.nio.charset.StandardCharsets.US_ASCII), "x.txt:3"));
        assertTrue(e.getMessage().startsWith("x.txt:3: image : 12 bytes starting 0x6e6f7420"), e.getMessage());

        byte[] jpeg = TestImages.encode(TestImages.rgb(64, 64, (x, y) -> x * y * 997), "jpeg");
        byte[] truncated = Arrays.copyOf(jpeg, jpeg.length / 2);
        BadDataException t = assertThrows(BadDataException.class, () -> ImagePreprocessor.decode(truncated, "cut.jpg"));
        assertTrue(t.getMessage().startsWith("cut.jpg: image : "), t.getMessage());

        byte[] garbled = jpeg.clone();
        for (int i = 2; i < 40; i++) {
            garbled[i] = (byte) 0x5a;
        }
        BadDataException g = assertThrows(BadDataException.class, () -> ImagePreprocessor.decode(garbled, "bad.jpg"));
        assertTrue(g.getMessage().startsWith("bad.jpg: image : "), g.getMessage());
    }

    @Test
    void flipDecisionIsAFairCoinOfSeedEpochIndex() {
        long seed = TestSeed.of("flip");
        int heads = 0;
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            boolean f = ImagePreprocessor.flip(seed, 3, i);
            assertEquals(f, ImagePreprocessor.flip(seed, 3, i));
            heads += f ? 1 : 0;
        }
        assertTrue(Math.abs(heads - n / 2) < 5 * Math.sqrt(n / 4.0), "heads " + heads + " of " + n);
        int differ = 0;
        for (int i = 0; i < 1000; i++) {
            differ += ImagePreprocessor.flip(seed, 3, i) != ImagePreprocessor.flip(seed, 4, i) ? 1 : 0;
        }
        assertTrue(differ > 400 && differ < 600, "epochs 3 and 4 differ on " + differ + " of 1000");
    }

    @Test
    void shapeValidation() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ImageShape(1, 112, 112));
        assertEquals("image_shape[0] : 1 (expected: 3)", e.getMessage());
        assertArrayEquals(new int[] {3, 112, 96}, new int[] {3, new ImageShape(3, 112, 96).height(), 96});
    }
}
