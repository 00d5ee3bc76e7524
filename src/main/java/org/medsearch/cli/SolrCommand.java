package org.medsearch.cli;

import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.medsearch.index.VectorStore;
import org.medsearch.index.solr.SolrCluster;
import org.medsearch.index.solr.SolrLocation;
import org.medsearch.service.IndexLocation;
import org.medsearch.service.Stores;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code medsearch solr}: create medsearch collections on a SolrCloud cluster, and move aliases between them. */
@Command(
        name = "solr",
        mixinStandardHelpOptions = true,
        description = {
            "Administer medsearch's collections on a SolrCloud cluster (Solr 9.x).",
            "Create a collection, index into it (medsearch index --index solr://...), then promote it behind an alias"
                    + " that searches use: they move to the new collection at once, never to a half-built one."
        },
        subcommands = {SolrCommand.Create.class, SolrCommand.Promote.class})
final class SolrCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(Output.out(spec));
    }

    static SolrLocation solr(IndexLocation l) throws MedsearchException {
        if (!l.isSolr()) {
            throw new MedsearchException("--index must name a Solr collection (solr://ZKHOST:PORT[/chroot]/COLLECTION"
                    + " or solr+http://HOST:PORT/solr/COLLECTION), not a directory: " + l);
        }
        return l.solr();
    }

    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = {
                "Upload medsearch's configset (unless the cluster has it) and create a collection with it.",
                "The collection records the model fingerprint of the first 'index' into it; another model is refused."
            })
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(
                names = "--index",
                required = true,
                converter = Converters.Index.class,
                paramLabel = "solr://ZK/COLLECTION",
                description = "The collection to create.")
        IndexLocation index;

        @Option(names = "--shards", defaultValue = "1", description = "Shards (default ${DEFAULT-VALUE}).")
        int shards;

        @Option(
                names = "--replicas",
                defaultValue = "1",
                description =
                        "Copies of each shard, on different nodes where there are enough (default ${DEFAULT-VALUE}).")
        int replicas;

        @Option(
                names = "--dimensions",
                defaultValue = "512",
                description = "Vector length: ResNet-18's 512 (default ${DEFAULT-VALUE}).")
        int dimensions;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = Output.out(spec);
            SolrLocation l = solr(index);
            if (dimensions < 1 || dimensions > 4096) {
                throw new MedsearchException("--dimensions must be between 1 and 4096, got " + dimensions);
            }
            try (SolrCluster c = SolrCluster.connect(l)) {
                c.createCollection(l.collection(), dimensions, shards, replicas);
            }
            out.printf(
                    "Created %s: %d shard%s x %d replica%s, %d-d vectors. Next: medsearch index --index %s --model M"
                            + " --data D%n",
                    l, shards, shards == 1 ? "" : "s", replicas, replicas == 1 ? "" : "s", dimensions, l);
            return 0;
        }
    }

    @Command(
            name = "promote",
            mixinStandardHelpOptions = true,
            description = {
                "Point an alias at a collection, atomically: searches through the alias go to the new collection"
                        + " from then on, never to a half-built one.",
                "Servers reading through the alias follow it within seconds if the new collection holds the same"
                        + " model's vectors; a collection of another model needs servers started with that model."
            })
    static final class Promote implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(
                names = "--index",
                required = true,
                converter = Converters.Index.class,
                paramLabel = "solr://ZK/COLLECTION",
                description = "The collection to promote (indexed and checked).")
        IndexLocation index;

        @Option(names = "--alias", required = true, description = "The alias searches use.")
        String alias;

        @Option(names = "--allow-empty", description = "Promote even a collection that holds no image.")
        boolean allowEmpty;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = Output.out(spec);
            SolrLocation l = solr(index);
            SolrLocation a = l.withCollection(alias);
            int images = 0;
            if (Stores.exists(index)) {
                try (VectorStore s = Stores.open(index, false)) {
                    images = s.size();
                }
            }
            if (images == 0 && !allowEmpty) {
                throw new MedsearchException(l + " holds no image: index it first (or --allow-empty)");
            }
            Optional<String> before;
            try (SolrCluster c = SolrCluster.connect(l)) {
                before = c.promote(alias, c.resolve(l.collection()));
            }
            out.printf(
                    "%s -> %s (%d images)%s%n",
                    a, l.collection(), images, before.map(b -> ", was " + b).orElse(", new alias"));
            return 0;
        }
    }
}
