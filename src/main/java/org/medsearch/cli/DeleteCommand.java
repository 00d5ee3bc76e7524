package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.medsearch.index.VectorStore;
import org.medsearch.service.IndexLocation;
import org.medsearch.service.Stores;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code medsearch delete}: remove images from an index by id or by source path. */
@Command(
        name = "delete",
        mixinStandardHelpOptions = true,
        description = "Remove images from an index, by id or by source path, and commit.")
final class DeleteCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            converter = Converters.Index.class,
            names = "--index",
            required = true,
            paramLabel = "INDEX",
            description = "The index.")
    IndexLocation index;

    @Option(names = "--path", paramLabel = "P", description = "Remove the image indexed from this file.")
    List<Path> paths;

    @Parameters(paramLabel = "ID", arity = "0..*", description = "Ids to remove.")
    List<Long> ids;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        if ((ids == null || ids.isEmpty()) && (paths == null || paths.isEmpty())) {
            throw new MedsearchException("delete needs ids or --path");
        }
        try (VectorStore idx = Stores.open(index, true)) {
            int before = idx.size();
            int missing = 0;
            if (ids != null) {
                for (long id : ids) {
                    if (idx.get(id).isEmpty()) {
                        missing++;
                        out.println("no image with id " + id);
                    }
                    idx.delete(id);
                }
            }
            if (paths != null) {
                for (Path p : paths) {
                    idx.deleteByPath(p.toAbsolutePath().normalize().toString());
                }
            }
            idx.commit();
            out.printf("Removed %d images; %d remain%n", before - idx.size(), idx.size());
            return missing > 0 ? 2 : 0;
        }
    }
}
