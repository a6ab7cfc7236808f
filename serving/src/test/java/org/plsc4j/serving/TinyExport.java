package org.plsc4j.serving;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.data.ImagePreprocessor;
import org.plsc4j.data.ImageShape;
import org.plsc4j.serving.internal.Normalize;
import org.plsc4j.worker.Backbone;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.InferenceModel;
import org.plsc4j.worker.OnnxExport;

/**
 * A tiny exported model (the {@code small} CNN, with batch norm, on 16×16 images, D = 8) in the
 * layout {@code plsc4j export} writes, random JPEG/PNG images, and the in-process reference: the
 * exported model loaded with {@link Backbones#loadInference} and fed images preprocessed as
 * evaluation does.
 */
final class TinyExport {

    static final ImageShape SHAPE = new ImageShape(3, 16, 16);
    static final int DIM = 8;

    private TinyExport() {
    }

    /** Writes the export into {@code dir} (model.fb, model.properties, model.onnx, model.json). */
    static Path write(Path dir, long seed) throws IOException {
        Backbone bb = Backbones.create("small", BackboneConfig.of(DIM, 3, SHAPE.height(), SHAPE.width(), seed));
        bb.inference().save(dir);
        OnnxExport.write(bb.inference(), dir); // for the onnxruntime engine
        ObjectMapper json = new ObjectMapper();
        ObjectNode meta = json.createObjectNode();
        meta.put("format_version", 1);
        meta.put("model_name", "small");
        meta.put("emb_size", DIM);
        meta.putArray("image_shape").add(3).add(SHAPE.height()).add(SHAPE.width());
        meta.put("normalization", "(x - 127.5) / 128, RGB, CHW");
        meta.put("checkpoint", "none (test)");
        meta.put("epoch", 0);
        meta.put("step", 0);
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model.json").toFile(), meta);
        return dir;
    }

    /** {@code n} random images of random sizes (8..40 pixels a side), alternately PNG and JPEG. */
    static List<byte[]> images(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(image(rng.nextInt(8, 41), rng.nextInt(8, 41), i % 2 == 0 ? "png" : "jpg", rng.nextLong()));
        }
        return out;
    }

    /** One random w×h image encoded as {@code format}. */
    static byte[] image(int w, int h, String format, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rng.nextInt(1 << 24));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, format, out)) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The exported model at {@code dir} called in-process on {@code images}, one forward pass per image. */
    static float[][] reference(Path dir, List<byte[]> images, boolean normalize) throws IOException {
        InferenceModel model = Backbones.loadInference(dir);
        ImagePreprocessor pre = new ImagePreprocessor(SHAPE);
        float[][] out = new float[images.size()][];
        for (int i = 0; i < images.size(); i++) {
            float[] chw = new float[SHAPE.floatsPerImage()];
            pre.toChw(images.get(i), "image " + i, false, chw, 0);
            INDArray e = model.embed(Nd4j.create(chw, new long[] {1, 3, SHAPE.height(), SHAPE.width()}, DataType.FLOAT));
            float[] row = e.castTo(DataType.FLOAT).toFloatVector();
            out[i] = normalize ? Normalize.l2(row) : row;
        }
        return out;
    }
}
