package org.medsearch.search;

/** Which indexed images a query is compared with. */
public enum Scope {
    /** Only the images of the query's predicted class: the paper's rule. */
    PREDICTED,
    /** Every indexed image. */
    ALL
}
