package org.plsc4j.worker.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import onnx.Onnx;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.ScalarOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.shade.protobuf.ByteString;
import org.plsc4j.worker.OnnxExportException;

/**
 * Translates a SameDiff inference graph into an ONNX {@code ModelProto}, op by op.
 *
 * <p>Two passes. First the graph is split into the part that depends on the input placeholder and
 * the part that does not (parameters and whatever is computed from them alone, such as batch-norm
 * scale and shift); the latter needs no ONNX mapping: SameDiff evaluates the values the former
 * consumes and they become initializers. Then every input-dependent op, in graph order, is mapped
 * to ONNX nodes; the first one without a mapping raises {@link OnnxExportException}.
 */
public final class OnnxGraphTranslator {

    /** ONNX operator set (ReduceMean takes axes as an attribute up to 17). */
    public static final int OPSET = 17;
    private static final long IR_VERSION = 8;

    /** Ops this translator maps (SameDiff op names), listed in the error message. */
    static final List<String> SUPPORTED = List.of("add", "subtract", "multiply", "divide", "rsub", "rdiv",
            "add_scalar", "sub_scalar", "mul_scalar", "div_scalar", "rsub_scalar", "rdiv_scalar", "relu",
            "leakyrelu", "neg", "abs", "tanh", "sigmoid", "exp", "log", "sqrt", "rsqrt", "square", "identity",
            "softmax", "reshape", "permute", "transpose", "matmul", "conv2d", "reduce_mean", "reduce_sum",
            "reduce_max", "concat");

    private final SameDiff sd;
    private final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder();
    private final Set<String> constant = new HashSet<>();
    private final Map<String, INDArray> initializers = new LinkedHashMap<>();
    private final Map<String, Integer> counters = new HashMap<>();

    private OnnxGraphTranslator(SameDiff sd) {
        this.sd = sd;
    }

    /**
     * The ONNX model of {@code sd} with input placeholder {@code input} and output {@code output}.
     *
     * @param outputShape the output's shape, -1 for dynamic dimensions
     * @throws OnnxExportException naming the first op without an ONNX mapping, or a graph that does
     *     not have exactly that input
     */
    public static Onnx.ModelProto translate(SameDiff sd, String input, String output, long[] outputShape) {
        return new OnnxGraphTranslator(sd).build(input, output, outputShape);
    }

    private Onnx.ModelProto build(String input, String output, long[] outputShape) {
        SDVariable in = sd.getVariable(input);
        if (in == null || in.getVariableType() != VariableType.PLACEHOLDER) {
            throw new OnnxExportException("ONNX export: the graph has no placeholder " + input, null, input);
        }
        if (!sd.hasVariable(output)) {
            throw new OnnxExportException("ONNX export: the graph has no output " + output, null, output);
        }
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.PLACEHOLDER && !v.name().equals(input)) {
                throw new OnnxExportException("ONNX export: placeholder " + v.name() + " (expected: " + input
                        + " only; an inference graph is fed the images alone)", null, v.name());
            }
            if (v.getVariableType() == VariableType.VARIABLE || v.getVariableType() == VariableType.CONSTANT) {
                constant.add(v.name());
            }
        }
        List<DifferentialFunction> live = new ArrayList<>();
        for (DifferentialFunction f : sd.ops()) {
            SDVariable[] args = f.args();
            boolean isConst = args.length > 0 && Arrays.stream(args).allMatch(a -> constant.contains(a.name()));
            if (isConst) {
                for (SDVariable o : f.outputVariables()) {
                    constant.add(o.name());
                }
            } else {
                live.add(f);
            }
        }
        // fail on the first unmappable op before evaluating anything
        for (DifferentialFunction f : live) {
            if (!SUPPORTED.contains(f.opName())) {
                throw unsupported(f, "");
            }
        }
        evaluateConstantsUsedBy(live);
        for (DifferentialFunction f : live) {
            map(f);
        }
        if (constant.contains(output)) {
            throw new OnnxExportException("ONNX export: output " + output + " does not depend on " + input, null,
                    output);
        }
        Set<String> used = new HashSet<>();
        for (Onnx.NodeProto n : graph.getNodeList()) {
            used.addAll(n.getInputList());
        }
        for (Map.Entry<String, INDArray> e : initializers.entrySet()) {
            if (used.contains(e.getKey())) { // e.g. not the [k, k, in, out] original of a transposed weight
                graph.addInitializer(tensor(e.getKey(), e.getValue()));
            }
        }
        DataType type = in.dataType();
        graph.setName("plsc4j");
        graph.addInput(valueInfo(input, type, in.getShape()));
        SDVariable out = sd.getVariable(output);
        graph.addOutput(valueInfo(output, out.dataType(), outputShape));
        return Onnx.ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("plsc4j")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph).build();
    }

    private void evaluateConstantsUsedBy(List<DifferentialFunction> live) {
        Set<String> computed = new LinkedHashSet<>();
        for (DifferentialFunction f : live) {
            for (SDVariable a : f.args()) {
                if (!constant.contains(a.name()) || initializers.containsKey(a.name())) {
                    continue;
                }
                VariableType t = a.getVariableType();
                if (t == VariableType.VARIABLE || t == VariableType.CONSTANT) {
                    initializers.put(a.name(), a.getArr());
                } else {
                    computed.add(a.name());
                }
            }
        }
        if (!computed.isEmpty()) {
            Map<String, INDArray> values = sd.output(Map.of(), computed.toArray(new String[0]));
            for (String n : computed) {
                initializers.put(n, values.get(n).dup());
            }
        }
    }

    private OnnxExportException unsupported(DifferentialFunction f, String why) {
        String out = f.outputVariables().length > 0 ? f.outputVariables()[0].name() : "?";
        return new OnnxExportException("ONNX export: op " + f.opName() + " (" + f.getClass().getSimpleName()
                + ", producing " + out + ") has no ONNX mapping" + (why.isEmpty() ? "" : ": " + why)
                + " (supported ops: " + SUPPORTED + ")", f.opName(), out);
    }

    private void map(DifferentialFunction f) {
        String[] in = Arrays.stream(f.args()).map(SDVariable::name).toArray(String[]::new);
        String out = f.outputVariables()[0].name();
        if (f.outputVariables().length != 1) {
            throw unsupported(f, "more than one output");
        }
        switch (f.opName()) {
            case "add" -> node("Add", in, out);
            case "subtract" -> node("Sub", in, out);
            case "multiply" -> node("Mul", in, out);
            case "divide" -> node("Div", in, out);
            case "rsub" -> node("Sub", new String[] {in[1], in[0]}, out);
            case "rdiv" -> node("Div", new String[] {in[1], in[0]}, out);
            case "add_scalar" -> node("Add", new String[] {in[0], scalar(f)}, out);
            case "sub_scalar" -> node("Sub", new String[] {in[0], scalar(f)}, out);
            case "mul_scalar" -> node("Mul", new String[] {in[0], scalar(f)}, out);
            case "div_scalar" -> node("Div", new String[] {in[0], scalar(f)}, out);
            case "rsub_scalar" -> node("Sub", new String[] {scalar(f), in[0]}, out);
            case "rdiv_scalar" -> node("Div", new String[] {scalar(f), in[0]}, out);
            case "relu" -> {
                if (scalarValue(f) != 0) {
                    throw unsupported(f, "cutoff " + scalarValue(f) + " (expected: 0)");
                }
                node("Relu", in, out);
            }
            case "leakyrelu" -> node("LeakyRelu", in, out).addAttribute(floatAttr("alpha", scalarValue(f)));
            case "neg" -> node("Neg", in, out);
            case "abs" -> node("Abs", in, out);
            case "tanh" -> node("Tanh", in, out);
            case "sigmoid" -> node("Sigmoid", in, out);
            case "exp" -> node("Exp", in, out);
            case "log" -> node("Log", in, out);
            case "sqrt" -> node("Sqrt", in, out);
            case "rsqrt" -> {
                String s = fresh(out + "/sqrt");
                node("Sqrt", in, s);
                node("Reciprocal", new String[] {s}, out);
            }
            case "square" -> node("Mul", new String[] {in[0], in[0]}, out);
            case "identity" -> node("Identity", new String[] {in[0]}, out);
            case "softmax" -> softmax(f, in, out);
            case "reshape" -> reshape(f, in, out);
            case "permute", "transpose" -> transpose(f, in, out);
            case "matmul" -> matmul(f, in, out);
            case "conv2d" -> conv2d(f, in, out);
            case "reduce_mean" -> reduce(f, "ReduceMean", in, out, false);
            case "reduce_max" -> reduce(f, "ReduceMax", in, out, false);
            case "reduce_sum" -> reduce(f, "ReduceSum", in, out, true);
            case "concat" -> concat(f, in, out);
            default -> throw unsupported(f, "");
        }
    }

    private Onnx.NodeProto.Builder node(String type, String[] inputs, String output) {
        Onnx.NodeProto.Builder n = graph.addNodeBuilder().setOpType(type).setName(fresh(output + "/" + type))
                .addOutput(output);
        for (String i : inputs) {
            n.addInput(i);
        }
        return n;
    }

    private String fresh(String base) {
        int k = counters.merge(base, 1, Integer::sum);
        return k == 1 ? base : base + "_" + k;
    }

    private String constantTensor(String base, INDArray value) {
        String name = fresh(base);
        while (sd.hasVariable(name) || initializers.containsKey(name)) {
            name = fresh(base);
        }
        initializers.put(name, value);
        return name;
    }

    private static double scalarValue(DifferentialFunction f) {
        INDArray s = ((ScalarOp) f).scalar();
        if (s == null) {
            throw new IllegalStateException("scalar op " + f.opName() + " without a scalar");
        }
        return s.getDouble(0);
    }

    private String scalar(DifferentialFunction f) {
        DataType t = f.args()[0].dataType();
        return constantTensor(f.outputVariables()[0].name() + "/scalar",
                org.nd4j.linalg.factory.Nd4j.scalar(t, scalarValue(f)));
    }

    private long[] intArgs(DifferentialFunction f) {
        return f instanceof DynamicCustomOp d ? d.iArgs() : new long[0];
    }

    private long[] constantLongs(DifferentialFunction f, String name) {
        INDArray v = initializers.get(name);
        if (v == null) {
            throw unsupported(f, name + " is computed from the input (expected: a constant)");
        }
        return v.toLongVector();
    }

    private void reshape(DifferentialFunction f, String[] in, String out) {
        long[] shape;
        if (in.length > 1) {
            shape = constantLongs(f, in[1]);
        } else {
            long[] ia = intArgs(f);
            if (ia.length > 0 && (ia[0] == -'c' || ia[0] == -'f')) {
                if (ia[0] == -'f') {
                    throw unsupported(f, "Fortran-order reshape");
                }
                ia = Arrays.copyOfRange(ia, 1, ia.length);
            }
            shape = ia;
        }
        if (shape.length == 0) {
            throw unsupported(f, "no target shape");
        }
        String s = constantTensor(out + "/shape", org.nd4j.linalg.factory.Nd4j.createFromArray(shape));
        node("Reshape", new String[] {in[0], s}, out);
    }

    private void transpose(DifferentialFunction f, String[] in, String out) {
        long[] perm = in.length > 1 ? constantLongs(f, in[1]) : intArgs(f);
        Onnx.NodeProto.Builder n = node("Transpose", new String[] {in[0]}, out);
        if (perm.length > 0) {
            n.addAttribute(intsAttr("perm", perm));
        }
    }

    private void softmax(DifferentialFunction f, String[] in, String out) {
        long[] ia = intArgs(f);
        long axis = ia.length > 0 ? ia[0] : -1;
        node("Softmax", new String[] {in[0]}, out).addAttribute(intAttr("axis", axis));
    }

    private void concat(DifferentialFunction f, String[] in, String out) {
        long[] ia = intArgs(f);
        if (ia.length != 1) {
            throw unsupported(f, "axis given as an input");
        }
        node("Concat", in, out).addAttribute(intAttr("axis", ia[0]));
    }

    private void matmul(DifferentialFunction f, String[] in, String out) {
        Map<String, Object> p = f.propertiesForFunction();
        String a = in[0];
        String b = in[1];
        if (Boolean.TRUE.equals(p.get("transposeA"))) {
            a = transposed2d(a);
        }
        if (Boolean.TRUE.equals(p.get("transposeB"))) {
            b = transposed2d(b);
        }
        if (Boolean.TRUE.equals(p.get("transposeResult"))) {
            String mm = fresh(out + "/matmul");
            node("MatMul", new String[] {a, b}, mm);
            node("Transpose", new String[] {mm}, out).addAttribute(intsAttr("perm", new long[] {1, 0}));
        } else {
            node("MatMul", new String[] {a, b}, out);
        }
    }

    private String transposed2d(String name) {
        INDArray c = initializers.get(name);
        if (c != null) {
            return constantTensor(name + "/T", c.transpose().dup('c'));
        }
        String t = fresh(name + "/T");
        node("Transpose", new String[] {name}, t).addAttribute(intsAttr("perm", new long[] {1, 0}));
        return t;
    }

    private void reduce(DifferentialFunction f, String type, String[] in, String out, boolean axesAsInput) {
        int[] dims = f.getDimensions();
        if (in.length > 1) {
            dims = Arrays.stream(constantLongs(f, in[1])).mapToInt(Math::toIntExact).toArray();
        }
        boolean keep = f instanceof org.nd4j.linalg.api.ops.ReduceOp r && r.isKeepDims();
        List<String> inputs = new ArrayList<>();
        inputs.add(in[0]);
        long[] axes = dims == null ? new long[0] : Arrays.stream(dims).asLongStream().toArray();
        if (axesAsInput && axes.length > 0) {
            inputs.add(constantTensor(out + "/axes", org.nd4j.linalg.factory.Nd4j.createFromArray(axes)));
        }
        Onnx.NodeProto.Builder n = node(type, inputs.toArray(new String[0]), out).addAttribute(intAttr("keepdims",
                keep ? 1 : 0));
        if (!axesAsInput && axes.length > 0) {
            n.addAttribute(intsAttr("axes", axes));
        }
    }

    private void conv2d(DifferentialFunction f, String[] in, String out) {
        Conv2DConfig c = ((Conv2D) f).getConfig();
        if (!"NCHW".equalsIgnoreCase(c.getDataFormat())) {
            throw unsupported(f, "data format " + c.getDataFormat() + " (expected: NCHW)");
        }
        int[] perm = switch (c.getWeightsFormat() == null ? WeightsFormat.YXIO : c.getWeightsFormat()) {
            case YXIO -> new int[] {3, 2, 0, 1};
            case OIYX -> new int[] {0, 1, 2, 3};
            case OYXI -> new int[] {0, 3, 1, 2};
        };
        String w = in[1];
        INDArray wc = initializers.get(w);
        if (wc != null) {
            w = constantTensor(w + "/oihw", wc.permute(perm).dup('c'));
        } else {
            String t = fresh(w + "/oihw");
            node("Transpose", new String[] {w}, t).addAttribute(intsAttr("perm",
                    Arrays.stream(perm).asLongStream().toArray()));
            w = t;
        }
        List<String> inputs = new ArrayList<>(List.of(in[0], w));
        if (in.length > 2) {
            inputs.add(in[2]);
        }
        Onnx.NodeProto.Builder n = node("Conv", inputs.toArray(new String[0]), out)
                .addAttribute(intsAttr("kernel_shape", new long[] {c.getKH(), c.getKW()}))
                .addAttribute(intsAttr("strides", new long[] {c.getSH(), c.getSW()}))
                .addAttribute(intsAttr("dilations", new long[] {c.getDH(), c.getDW()}));
        PaddingMode mode = c.getPaddingMode();
        if (mode == PaddingMode.SAME) {
            n.addAttribute(Onnx.AttributeProto.newBuilder().setName("auto_pad")
                    .setType(Onnx.AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8("SAME_UPPER")));
        } else if (mode == PaddingMode.VALID) {
            n.addAttribute(intsAttr("pads", new long[] {c.getPH(), c.getPW(), c.getPH(), c.getPW()}));
        } else {
            throw unsupported(f, "padding mode " + mode);
        }
    }

    private static Onnx.AttributeProto intAttr(String name, long v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(v)
                .build();
    }

    private static Onnx.AttributeProto floatAttr(String name, double v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT)
                .setF((float) v).build();
    }

    private static Onnx.AttributeProto intsAttr(String name, long[] v) {
        Onnx.AttributeProto.Builder b = Onnx.AttributeProto.newBuilder().setName(name)
                .setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            b.addInts(x);
        }
        return b.build();
    }

    private static int onnxType(DataType t) {
        return switch (t) {
            case FLOAT -> Onnx.TensorProto.DataType.FLOAT_VALUE;
            case DOUBLE -> Onnx.TensorProto.DataType.DOUBLE_VALUE;
            case LONG -> Onnx.TensorProto.DataType.INT64_VALUE;
            case INT -> Onnx.TensorProto.DataType.INT32_VALUE;
            default -> throw new OnnxExportException("ONNX export: data type " + t + " (expected: FLOAT, DOUBLE,"
                    + " LONG or INT)", null, null);
        };
    }

    private static Onnx.TensorProto tensor(String name, INDArray value) {
        INDArray v = value.dup('c');
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(onnxType(v.dataType()));
        for (long d : v.shape()) {
            t.addDims(d);
        }
        int n = Math.toIntExact(v.length());
        ByteBuffer buf = ByteBuffer.allocate(n * v.dataType().width()).order(ByteOrder.LITTLE_ENDIAN);
        switch (v.dataType()) {
            case FLOAT -> buf.asFloatBuffer().put(v.data().asFloat(), 0, n);
            case DOUBLE -> buf.asDoubleBuffer().put(v.data().asDouble(), 0, n);
            case LONG -> buf.asLongBuffer().put(v.data().asLong(), 0, n);
            case INT -> buf.asIntBuffer().put(v.data().asInt(), 0, n);
            default -> throw new OnnxExportException("ONNX export: data type " + v.dataType() + " of " + name, null,
                    name);
        }
        return t.setRawData(ByteString.copyFrom(buf.array())).build();
    }

    private static Onnx.ValueInfoProto valueInfo(String name, DataType type, long[] shape) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                s.addDimBuilder().setDimParam(i == 0 ? "batch" : "d" + i);
            } else {
                s.addDimBuilder().setDimValue(shape[i]);
            }
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(onnxType(type)).setShape(s))).build();
    }
}
