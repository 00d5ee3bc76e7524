package org.medsearch.index.solr;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import org.apache.solr.client.solrj.SolrServerException;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrDocumentList;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.util.NamedList;
import org.junit.jupiter.api.Test;
import org.medsearch.util.MedsearchException;

/**
 * What the Solr store retries and what it does not, without a cluster: the cases that {@link
 * SolrFaultToleranceTest} meets only now and then (a node going down mid-search) or only under a race
 * (two writers' version conflicts).
 */
class SolrRetryRulesTest {

    static QueryResponse answer(boolean withResults, Boolean partial) {
        NamedList<Object> header = new NamedList<>();
        header.add("status", 0);
        if (partial != null) {
            header.add(SolrVectorStore.PARTIAL_RESULTS, partial);
        }
        NamedList<Object> body = new NamedList<>();
        body.add("responseHeader", header);
        if (withResults) {
            body.add("response", new SolrDocumentList());
        }
        QueryResponse r = new QueryResponse();
        r.setResponse(body);
        return r;
    }

    @Test
    void anIncompleteAnswerIsAFailureToRetryNotAnAnswer() throws Exception {
        QueryResponse whole = answer(true, null);
        assertSame(whole, SolrVectorStore.complete(whole));
        QueryResponse notPartial = answer(true, false);
        assertSame(notPartial, SolrVectorStore.complete(notPartial));

        // seen once while a node stopped: an answer without a result list (the search then failed with an NPE)
        SolrServerException none =
                assertThrows(SolrServerException.class, () -> SolrVectorStore.complete(answer(false, null)));
        // some shards' results only: a search would have been silently wrong
        SolrServerException partial =
                assertThrows(SolrServerException.class, () -> SolrVectorStore.complete(answer(true, true)));
        assertTrue(SolrCluster.transientFailure(none) && SolrCluster.transientFailure(partial), "both are retried");
    }

    @Test
    void aVerdictOfTheCallIsNotRetriedButAClusterFailureIs() {
        // what send() throws on a version conflict (another writer reserved ids first): read again, at once
        assertFalse(SolrCluster.transientFailure(new MedsearchException("version conflict: ...")));
        assertFalse(SolrCluster.transientFailure(new MedsearchException("collection x not found on solr://zk:2181/x")));
        assertFalse(
                SolrCluster.transientFailure(new SolrException(SolrException.ErrorCode.CONFLICT, "version conflict")));
        assertFalse(SolrCluster.transientFailure(new SolrException(SolrException.ErrorCode.BAD_REQUEST, "bad")));

        assertTrue(SolrCluster.transientFailure(
                new SolrException(SolrException.ErrorCode.SERVICE_UNAVAILABLE, "no leader")));
        assertTrue(SolrCluster.transientFailure(new SolrServerException("No live SolrServers available")));
        assertTrue(SolrCluster.transientFailure(new SolrServerException("refused", new ConnectException("refused"))));
    }
}
