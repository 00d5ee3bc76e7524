package org.medsearch.search;

import org.medsearch.index.SearchFilter;
import org.medsearch.index.VectorStore.SearchMode;

/**
 * How to search: how many results, over which scope, with which extra conditions.
 *
 * <pre>{@code
 * SearchRequest r = SearchRequest.of(10, Scope.PREDICTED).withFilter(SearchFilter.ALL.withModality("CT"));
 * }</pre>
 *
 * @param k results wanted, 1 to 1000
 * @param scope which classes to compare with ({@link Scope}); null for the model's default, which the
 *     search service resolves ({@code auto} for a model with a calibrated threshold, else
 *     {@code predicted}; {@code all} for a bare backbone)
 * @param filter conditions besides the scope (modality, excluded patient, ...)
 * @param mode which search path: the planner's choice (AUTO) or the exact scan
 * @param feedback the reader's marks on earlier hits ({@link Feedback#NONE}: none)
 */
public record SearchRequest(int k, Scope scope, SearchFilter filter, SearchMode mode, Feedback feedback) {

    public static final int MAX_K = 1000;
    /** The paper's 10 closest images. */
    public static final int DEFAULT_K = 10;

    public SearchRequest {
        if (k < 1 || k > MAX_K) {
            throw new IllegalArgumentException("k must be between 1 and " + MAX_K + ", got " + k);
        }
        if (filter == null) {
            filter = SearchFilter.ALL;
        }
        if (mode == null) {
            mode = SearchMode.AUTO;
        }
        if (feedback == null) {
            feedback = Feedback.NONE;
        }
    }

    public SearchRequest(int k, Scope scope, SearchFilter filter, SearchMode mode) {
        this(k, scope, filter, mode, Feedback.NONE);
    }

    public SearchRequest(int k, Scope scope, SearchFilter filter) {
        this(k, scope, filter, SearchMode.AUTO);
    }

    public static SearchRequest of(int k, Scope scope) {
        return new SearchRequest(k, scope, SearchFilter.ALL);
    }

    public SearchRequest withFilter(SearchFilter f) {
        return new SearchRequest(k, scope, f, mode, feedback);
    }

    public SearchRequest withMode(SearchMode m) {
        return new SearchRequest(k, scope, filter, m, feedback);
    }

    public SearchRequest withFeedback(Feedback f) {
        return new SearchRequest(k, scope, filter, mode, f);
    }
}
