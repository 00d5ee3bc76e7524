package org.medsearch.model.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An ONNX model in memory, just the parts medsearch writes: one graph of nodes over named tensors,
 * its initializers (weights), inputs and outputs, and the opset it targets. {@link OnnxCodec} turns it
 * into the ONNX protobuf and back.
 *
 * <p>Contract: names are unique among initializers; node order is topological (ONNX requires it and
 * this class does not check it). Initializer data is held as little-endian raw bytes, as ONNX's
 * {@code raw_data} stores it. Not thread-safe while being built.
 *
 * <pre>{@code
 * OnnxModel m = new OnnxModel("tiny", 17);
 * m.input("x", OnnxModel.FLOAT, "N", 4L);
 * m.node("Relu", List.of("x"), List.of("y"));
 * m.output("y", OnnxModel.FLOAT, "N", 4L);
 * byte[] proto = OnnxCodec.write(m);
 * }</pre>
 */
public final class OnnxModel {

    /** ONNX {@code TensorProto.DataType} codes this project uses. */
    public static final int FLOAT = 1;

    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int INT32 = 6;
    public static final int INT64 = 7;

    /** A node attribute: exactly one of the value fields is meaningful, chosen by {@code type}. */
    public record Attribute(String name, Kind type, long i, float f, long[] ints, String s) {
        public Attribute {
            ints = ints == null ? new long[0] : ints;
        }

        /** ONNX {@code AttributeProto.AttributeType} codes. */
        public enum Kind {
            FLOAT(1),
            INT(2),
            STRING(3),
            INTS(7);

            final int code;

            Kind(int code) {
                this.code = code;
            }

            static Kind of(int code) {
                for (Kind k : values()) {
                    if (k.code == code) {
                        return k;
                    }
                }
                throw new IllegalArgumentException("unsupported ONNX attribute type " + code);
            }
        }

        public static Attribute of(String name, long value) {
            return new Attribute(name, Kind.INT, value, 0, null, null);
        }

        public static Attribute of(String name, float value) {
            return new Attribute(name, Kind.FLOAT, 0, value, null, null);
        }

        public static Attribute of(String name, String value) {
            return new Attribute(name, Kind.STRING, 0, 0, null, value);
        }

        public static Attribute ints(String name, long... values) {
            return new Attribute(name, Kind.INTS, 0, 0, values.clone(), null);
        }
    }

    /** One operator application. */
    public record Node(
            String name, String opType, List<String> inputs, List<String> outputs, List<Attribute> attributes) {
        public Node {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
            attributes = List.copyOf(attributes);
        }

        /** The attribute called {@code name}, or null. */
        public Attribute attribute(String name) {
            for (Attribute a : attributes) {
                if (a.name().equals(name)) {
                    return a;
                }
            }
            return null;
        }
    }

    /** A constant tensor: little-endian raw bytes of {@code dataType}, shape {@code dims}. */
    public record Initializer(String name, int dataType, long[] dims, byte[] raw) {
        /** The values of a FLOAT initializer. */
        public float[] floats() {
            if (dataType != FLOAT) {
                throw new IllegalStateException(name + " is not a float tensor");
            }
            float[] out = new float[raw.length / 4];
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }
    }

    /**
     * A graph input or output: element type and shape; a dimension is a {@link Long} (fixed) or a
     * {@link String} (symbolic, such as the batch axis "N"). {@code dims} null: shape not stated.
     */
    public record ValueInfo(String name, int elemType, List<Object> dims) {
        public ValueInfo {
            dims = dims == null ? null : List.copyOf(dims);
        }
    }

    private final String graphName;
    private final int opset;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Initializer> initializers = new LinkedHashMap<>();
    private final List<ValueInfo> inputs = new ArrayList<>();
    private final List<ValueInfo> outputs = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private String producer = "medsearch";
    private String producerVersion = "";

    public OnnxModel(String graphName, int opset) {
        this.graphName = Objects.requireNonNull(graphName);
        this.opset = opset;
    }

    public String graphName() {
        return graphName;
    }

    public int opset() {
        return opset;
    }

    public OnnxModel producer(String name, String version) {
        this.producer = name;
        this.producerVersion = version;
        return this;
    }

    public String producer() {
        return producer;
    }

    public String producerVersion() {
        return producerVersion;
    }

    /** Adds a node; its name is made from the op and a counter. Returns its first output. */
    public String node(String opType, List<String> in, List<String> out, Attribute... attributes) {
        nodes.add(new Node(opType + "_" + nodes.size(), opType, in, out, List.of(attributes)));
        return out.get(0);
    }

    /** Adds a node as given. */
    public void add(Node node) {
        nodes.add(node);
    }

    /** Adds a float initializer. */
    public String initializer(String name, long[] dims, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return initializer(new Initializer(name, FLOAT, dims.clone(), b.array()));
    }

    /** Adds an initializer; a second one of the same name is refused. */
    public String initializer(Initializer init) {
        if (initializers.putIfAbsent(init.name(), init) != null) {
            throw new IllegalArgumentException("duplicate initializer " + init.name());
        }
        return init.name();
    }

    public void input(String name, int elemType, Object... dims) {
        inputs.add(new ValueInfo(name, elemType, List.of(dims)));
    }

    public void input(ValueInfo v) {
        inputs.add(v);
    }

    public void output(String name, int elemType, Object... dims) {
        outputs.add(new ValueInfo(name, elemType, List.of(dims)));
    }

    public void metadata(String key, String value) {
        metadata.put(key, value);
    }

    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    public Map<String, Initializer> initializers() {
        return Collections.unmodifiableMap(initializers);
    }

    public List<ValueInfo> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    public List<ValueInfo> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /** A copy with other outputs (a calibration graph that exposes intermediate tensors); tensors are shared. */
    OnnxModel withOutputs(List<ValueInfo> values) {
        OnnxModel m = new OnnxModel(graphName, opset).producer(producer, producerVersion);
        m.inputs.addAll(inputs);
        m.nodes.addAll(nodes);
        m.initializers.putAll(initializers);
        m.metadata.putAll(metadata);
        m.outputs.addAll(values);
        return m;
    }

    /** Replaces the outputs. */
    void replaceOutputs(List<ValueInfo> values) {
        outputs.clear();
        outputs.addAll(values);
    }
}
