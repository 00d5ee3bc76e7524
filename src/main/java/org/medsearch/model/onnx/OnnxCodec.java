package org.medsearch.model.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@link OnnxModel} to and from ONNX's protobuf encoding (onnx.proto3, IR version 8), with
 * protobuf-java's wire-format streams and this project's own table of field numbers (below): ONNX
 * publishes no Java classes, and generating them would need {@code protoc} at build time for the
 * few messages used here.
 *
 * <p>Contract: {@code read(write(m))} gives back {@code m}'s nodes, attributes, initializers,
 * inputs, outputs, opset and metadata. {@link #read} reads only the fields listed here and skips the
 * rest, so it reads models written by other tools too, as far as those fields go; a malformed
 * message is an {@link IOException}. Cost: {@link #write} buffers each nested message once, so it
 * holds about twice the weights in memory.
 *
 * <pre>{@code
 * byte[] proto = OnnxCodec.write(model);
 * OnnxModel back = OnnxCodec.read(proto);
 * }</pre>
 */
public final class OnnxCodec {
    private OnnxCodec() {}

    /** The IR version written: the one ONNX 1.13 (opset 18) introduced; every ONNX Runtime since 1.14 reads it. */
    public static final int IR_VERSION = 8;

    // ModelProto
    private static final int MODEL_IR_VERSION = 1;
    private static final int MODEL_PRODUCER_NAME = 2;
    private static final int MODEL_PRODUCER_VERSION = 3;
    private static final int MODEL_GRAPH = 7;
    private static final int MODEL_OPSET_IMPORT = 8;
    private static final int MODEL_METADATA = 14;
    // OperatorSetIdProto
    private static final int OPSET_DOMAIN = 1;
    private static final int OPSET_VERSION = 2;
    // StringStringEntryProto
    private static final int ENTRY_KEY = 1;
    private static final int ENTRY_VALUE = 2;
    // GraphProto
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_NAME = 2;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    // NodeProto
    private static final int NODE_INPUT = 1;
    private static final int NODE_OUTPUT = 2;
    private static final int NODE_NAME = 3;
    private static final int NODE_OP_TYPE = 4;
    private static final int NODE_ATTRIBUTE = 5;
    // AttributeProto
    private static final int ATTR_NAME = 1;
    private static final int ATTR_F = 2;
    private static final int ATTR_I = 3;
    private static final int ATTR_S = 4;
    private static final int ATTR_INTS = 8;
    private static final int ATTR_TYPE = 20;
    // TensorProto
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_RAW_DATA = 9;
    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, Dimension
    private static final int VALUE_NAME = 1;
    private static final int VALUE_TYPE = 2;
    private static final int TYPE_TENSOR = 1;
    private static final int TENSOR_TYPE_ELEM = 1;
    private static final int TENSOR_TYPE_SHAPE = 2;
    private static final int SHAPE_DIM = 1;
    private static final int DIM_VALUE = 1;
    private static final int DIM_PARAM = 2;

    /** The model as ONNX protobuf bytes. */
    public static byte[] write(OnnxModel m) {
        return message(out -> {
            out.writeInt64(MODEL_IR_VERSION, IR_VERSION);
            out.writeString(MODEL_PRODUCER_NAME, m.producer());
            out.writeString(MODEL_PRODUCER_VERSION, m.producerVersion());
            out.writeByteArray(MODEL_GRAPH, graph(m));
            out.writeByteArray(MODEL_OPSET_IMPORT, message(o -> {
                o.writeString(OPSET_DOMAIN, "");
                o.writeInt64(OPSET_VERSION, m.opset());
            }));
            for (Map.Entry<String, String> e : m.metadata().entrySet()) {
                out.writeByteArray(MODEL_METADATA, message(o -> {
                    o.writeString(ENTRY_KEY, e.getKey());
                    o.writeString(ENTRY_VALUE, e.getValue());
                }));
            }
        });
    }

    private static byte[] graph(OnnxModel m) throws IOException {
        return message(out -> {
            for (OnnxModel.Node n : m.nodes()) {
                out.writeByteArray(GRAPH_NODE, node(n));
            }
            out.writeString(GRAPH_NAME, m.graphName());
            for (OnnxModel.Initializer t : m.initializers().values()) {
                out.writeByteArray(GRAPH_INITIALIZER, message(o -> {
                    for (long d : t.dims()) {
                        o.writeInt64(TENSOR_DIMS, d);
                    }
                    o.writeInt32(TENSOR_DATA_TYPE, t.dataType());
                    o.writeString(TENSOR_NAME, t.name());
                    o.writeByteArray(TENSOR_RAW_DATA, t.raw());
                }));
            }
            for (OnnxModel.ValueInfo v : m.inputs()) {
                out.writeByteArray(GRAPH_INPUT, valueInfo(v));
            }
            for (OnnxModel.ValueInfo v : m.outputs()) {
                out.writeByteArray(GRAPH_OUTPUT, valueInfo(v));
            }
        });
    }

    private static byte[] node(OnnxModel.Node n) throws IOException {
        return message(out -> {
            for (String s : n.inputs()) {
                out.writeString(NODE_INPUT, s);
            }
            for (String s : n.outputs()) {
                out.writeString(NODE_OUTPUT, s);
            }
            out.writeString(NODE_NAME, n.name());
            out.writeString(NODE_OP_TYPE, n.opType());
            for (OnnxModel.Attribute a : n.attributes()) {
                out.writeByteArray(NODE_ATTRIBUTE, message(o -> {
                    o.writeString(ATTR_NAME, a.name());
                    switch (a.type()) {
                        case FLOAT -> o.writeFloat(ATTR_F, a.f());
                        case INT -> o.writeInt64(ATTR_I, a.i());
                        case STRING ->
                            o.writeByteArray(ATTR_S, a.s().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                        case INTS -> {
                            for (long v : a.ints()) {
                                o.writeInt64(ATTR_INTS, v);
                            }
                        }
                    }
                    o.writeEnum(ATTR_TYPE, a.type().code);
                }));
            }
        });
    }

    private static byte[] valueInfo(OnnxModel.ValueInfo v) throws IOException {
        return message(out -> {
            out.writeString(VALUE_NAME, v.name());
            out.writeByteArray(
                    VALUE_TYPE,
                    message(type -> type.writeByteArray(TYPE_TENSOR, message(t -> {
                        t.writeInt32(TENSOR_TYPE_ELEM, v.elemType());
                        if (v.dims() == null) {
                            return; // shape not stated
                        }
                        t.writeByteArray(TENSOR_TYPE_SHAPE, message(shape -> {
                            for (Object d : v.dims()) {
                                shape.writeByteArray(SHAPE_DIM, message(dim -> {
                                    if (d instanceof Number n) {
                                        dim.writeInt64(DIM_VALUE, n.longValue());
                                    } else {
                                        dim.writeString(DIM_PARAM, String.valueOf(d));
                                    }
                                }));
                            }
                        }));
                    }))));
        });
    }

    private interface Body {
        void write(CodedOutputStream out) throws IOException;
    }

    private static byte[] message(Body body) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            body.write(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
    }

    // ---------------------------------------------------------------- reading

    /** Parses ONNX protobuf bytes (see the class contract for what is read). */
    public static OnnxModel read(byte[] proto) throws IOException {
        CodedInputStream in = newInput(proto);
        byte[] graph = null;
        String producer = "";
        String producerVersion = "";
        long opset = -1;
        List<String[]> meta = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case MODEL_PRODUCER_NAME -> producer = in.readString();
                case MODEL_PRODUCER_VERSION -> producerVersion = in.readString();
                case MODEL_GRAPH -> graph = in.readByteArray();
                case MODEL_OPSET_IMPORT -> {
                    CodedInputStream o = newInput(in.readByteArray());
                    String domain = "";
                    long version = -1;
                    for (int t; (t = o.readTag()) != 0; ) {
                        switch (t >>> 3) {
                            case OPSET_DOMAIN -> domain = o.readString();
                            case OPSET_VERSION -> version = o.readInt64();
                            default -> o.skipField(t);
                        }
                    }
                    if (domain.isEmpty() || domain.equals("ai.onnx")) {
                        opset = version;
                    }
                }
                case MODEL_METADATA -> {
                    CodedInputStream o = newInput(in.readByteArray());
                    String[] kv = {"", ""};
                    for (int t; (t = o.readTag()) != 0; ) {
                        switch (t >>> 3) {
                            case ENTRY_KEY -> kv[0] = o.readString();
                            case ENTRY_VALUE -> kv[1] = o.readString();
                            default -> o.skipField(t);
                        }
                    }
                    meta.add(kv);
                }
                default -> in.skipField(tag);
            }
        }
        if (graph == null) {
            throw new IOException("not an ONNX model: no graph");
        }
        OnnxModel m = readGraph(graph, (int) opset);
        m.producer(producer, producerVersion);
        for (String[] kv : meta) {
            m.metadata(kv[0], kv[1]);
        }
        return m;
    }

    private static OnnxModel readGraph(byte[] bytes, int opset) throws IOException {
        CodedInputStream in = newInput(bytes);
        List<OnnxModel.Node> nodes = new ArrayList<>();
        List<OnnxModel.Initializer> inits = new ArrayList<>();
        List<OnnxModel.ValueInfo> inputs = new ArrayList<>();
        List<OnnxModel.ValueInfo> outputs = new ArrayList<>();
        String name = "";
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case GRAPH_NODE -> nodes.add(readNode(in.readByteArray()));
                case GRAPH_NAME -> name = in.readString();
                case GRAPH_INITIALIZER -> inits.add(readTensor(in.readByteArray()));
                case GRAPH_INPUT -> inputs.add(readValueInfo(in.readByteArray()));
                case GRAPH_OUTPUT -> outputs.add(readValueInfo(in.readByteArray()));
                default -> in.skipField(tag);
            }
        }
        OnnxModel m = new OnnxModel(name, opset);
        nodes.forEach(m::add);
        inits.forEach(m::initializer);
        inputs.forEach(m::input);
        m.replaceOutputs(outputs);
        return m;
    }

    private static OnnxModel.Node readNode(byte[] bytes) throws IOException {
        CodedInputStream in = newInput(bytes);
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        List<OnnxModel.Attribute> attrs = new ArrayList<>();
        String name = "";
        String op = "";
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case NODE_INPUT -> inputs.add(in.readString());
                case NODE_OUTPUT -> outputs.add(in.readString());
                case NODE_NAME -> name = in.readString();
                case NODE_OP_TYPE -> op = in.readString();
                case NODE_ATTRIBUTE -> attrs.add(readAttribute(in.readByteArray()));
                default -> in.skipField(tag);
            }
        }
        return new OnnxModel.Node(name, op, inputs, outputs, attrs);
    }

    private static OnnxModel.Attribute readAttribute(byte[] bytes) throws IOException {
        CodedInputStream in = newInput(bytes);
        String name = "";
        int type = 0;
        long i = 0;
        float f = 0;
        String s = null;
        List<Long> ints = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case ATTR_NAME -> name = in.readString();
                case ATTR_F -> f = in.readFloat();
                case ATTR_I -> i = in.readInt64();
                case ATTR_S -> s = in.readStringRequireUtf8();
                case ATTR_INTS -> readInt64s(in, tag, ints);
                case ATTR_TYPE -> type = in.readEnum();
                default -> in.skipField(tag);
            }
        }
        long[] values = ints.stream().mapToLong(Long::longValue).toArray();
        return new OnnxModel.Attribute(name, OnnxModel.Attribute.Kind.of(type), i, f, values, s);
    }

    private static OnnxModel.Initializer readTensor(byte[] bytes) throws IOException {
        CodedInputStream in = newInput(bytes);
        List<Long> dims = new ArrayList<>();
        int type = 0;
        String name = "";
        byte[] raw = new byte[0];
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case TENSOR_DIMS -> readInt64s(in, tag, dims);
                case TENSOR_DATA_TYPE -> type = in.readInt32();
                case TENSOR_NAME -> name = in.readString();
                case TENSOR_RAW_DATA -> raw = in.readByteArray();
                default -> in.skipField(tag);
            }
        }
        return new OnnxModel.Initializer(
                name, type, dims.stream().mapToLong(Long::longValue).toArray(), raw);
    }

    private static OnnxModel.ValueInfo readValueInfo(byte[] bytes) throws IOException {
        CodedInputStream in = newInput(bytes);
        String name = "";
        int elem = 0;
        List<Object> dims = null;
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case VALUE_NAME -> name = in.readString();
                case VALUE_TYPE -> {
                    CodedInputStream type = newInput(in.readByteArray());
                    for (int t; (t = type.readTag()) != 0; ) {
                        if (t >>> 3 != TYPE_TENSOR) {
                            type.skipField(t);
                            continue;
                        }
                        CodedInputStream tensor = newInput(type.readByteArray());
                        for (int u; (u = tensor.readTag()) != 0; ) {
                            switch (u >>> 3) {
                                case TENSOR_TYPE_ELEM -> elem = tensor.readInt32();
                                case TENSOR_TYPE_SHAPE -> {
                                    dims = new ArrayList<>();
                                    CodedInputStream shape = newInput(tensor.readByteArray());
                                    for (int w; (w = shape.readTag()) != 0; ) {
                                        if (w >>> 3 != SHAPE_DIM) {
                                            shape.skipField(w);
                                            continue;
                                        }
                                        CodedInputStream dim = newInput(shape.readByteArray());
                                        Object d = "?";
                                        for (int x; (x = dim.readTag()) != 0; ) {
                                            switch (x >>> 3) {
                                                case DIM_VALUE -> d = dim.readInt64();
                                                case DIM_PARAM -> d = dim.readString();
                                                default -> dim.skipField(x);
                                            }
                                        }
                                        dims.add(d);
                                    }
                                }
                                default -> tensor.skipField(u);
                            }
                        }
                    }
                }
                default -> in.skipField(tag);
            }
        }
        return new OnnxModel.ValueInfo(name, elem, dims);
    }

    /** One element of a repeated int64 field, or all of them when the writer packed them. */
    private static void readInt64s(CodedInputStream in, int tag, List<Long> into) throws IOException {
        if ((tag & 7) == 2) {
            CodedInputStream p = newInput(in.readByteArray());
            while (!p.isAtEnd()) {
                into.add(p.readInt64());
            }
        } else {
            into.add(in.readInt64());
        }
    }

    private static CodedInputStream newInput(byte[] bytes) {
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        in.setSizeLimit(Integer.MAX_VALUE);
        return in;
    }
}
