-- Vigil store, schema 30: replay evidence for promotion requests. When a request to make a version
-- champion (or canary) waits for approval, the daemon re-scores the champion's last day of logged
-- inputs with the candidate, off the request path, and keeps what it found here: how often the two
-- agree, how far the candidate's scores move from the champion's logged ones, and the metric of each
-- on the rows that have labels. Information for the approver, never a gate; written only by the
-- daemon's replay job from the prediction log (no operation writes it), one row per request.

CREATE TABLE replay_evidence (
    request_id         BIGINT PRIMARY KEY,   -- promotion_requests.request_id
    model_name         VARCHAR NOT NULL,
    candidate_version  INTEGER NOT NULL,
    champion_version   INTEGER,              -- the champion whose traffic was replayed (NULL: none)
    status             VARCHAR NOT NULL,     -- 'replayed', 'no_inputs', 'no_champion' or 'failed'
    computed_at        TIMESTAMP NOT NULL,
    window_start       TIMESTAMP,            -- the replayed rows' logged_at span
    window_end         TIMESTAMP,
    rows_replayed      INTEGER NOT NULL,
    rows_skipped       INTEGER NOT NULL,     -- logged without a feature the candidate takes
    agreement          DOUBLE,               -- share of rows where both give the same class or decision
    score_psi          DOUBLE,               -- candidate scores against the champion's logged scores
    score_ks           DOUBLE,
    labelled_rows      INTEGER NOT NULL,
    metric             VARCHAR,              -- the metric compared on the labelled rows
    candidate_metric   DOUBLE,
    champion_metric    DOUBLE,
    detail             JSON NOT NULL         -- everything above with its notes, as `vigil requests show` prints it
);
