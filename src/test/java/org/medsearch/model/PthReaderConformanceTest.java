package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medsearch.testutil.Shared;

/** torchvision's own resnet18.pth: the same tensors as the safetensors copy, the same outputs as torch. */
class PthReaderConformanceTest {

    @Test
    void everyTensorEqualsTheSafetensorsCopyBitForBit() throws Exception {
        Path dir = Shared.require("conformance/resnet18");
        Map<String, Tensor> pth = PthReader.read(dir.resolve("resnet18.pth"));
        assertEquals(122, pth.size());
        PthReaderTest.assertSameTensors(SafeTensors.read(dir.resolve("resnet18.safetensors")), pth);
    }

    @ParameterizedTest
    @ValueSource(ints = {64, 224})
    void pthMatchesTorchvision(int size) throws Exception {
        Path dir = Shared.require("conformance/resnet18");
        ResNet18ConformanceTest.checkAgainstFixture(dir, Weights.read(dir.resolve("resnet18.pth")), size);
    }
}
