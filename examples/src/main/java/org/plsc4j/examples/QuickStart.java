package org.plsc4j.examples;

import org.plsc4j.core.NativeBuild;
import org.plsc4j.Entry;

/**
 * PLSC's quick start ({@code train.py} of its README) in Java: point {@link Entry} at a data set in
 * PLSC's label_txt layout and train with the distributed ArcFace head.
 *
 * <pre>
 *   java ... org.plsc4j.examples.QuickStart DATASET_DIR NUM_CLASSES [WORKERS]
 * </pre>
 * The data set needs {@code label.txt}, the images, and {@code lfw.bin} for evaluation (or generate
 * one with {@code ./plsc4j gen-data} and add {@code --set val_targets=synth}).
 */
public final class QuickStart {

    private QuickStart() {
    }

    /** Command-line entry. */
    public static void main(String[] args) throws Exception {
        NativeBuild.select(); // before ND4J loads: the fastest nd4j-native build this CPU runs
        if (args.length < 2) {
            System.err.println("usage: QuickStart DATASET_DIR NUM_CLASSES [WORKERS]");
            System.exit(2);
        }
        Entry ins = new Entry();
        ins.setDatasetDir(args[0]);
        ins.setClassNum(Integer.parseInt(args[1]));
        ins.setLossType("dist_arcface");
        ins.setTrainEpochs(50);
        ins.setCalcAcc(true);
        ins.setModelSaveDir("./saved_model");
        ins.setWorkers(args.length > 2 ? Integer.parseInt(args[2]) : 1);
        ins.train();
    }
}
