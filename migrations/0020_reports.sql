-- Vigil store, schema 20: every HTML report written (`vigil report`, and the weekly report job), with
-- its window, file and checksum, so the console and auditors can list them.
CREATE SEQUENCE reports_id START 1;

CREATE TABLE reports (
    report_id     BIGINT PRIMARY KEY DEFAULT nextval('reports_id'),
    model_name    VARCHAR NOT NULL,
    version       INTEGER,                -- the champion when it was written (NULL: none)
    window_start  TIMESTAMP NOT NULL,
    window_end    TIMESTAMP NOT NULL,
    path          VARCHAR NOT NULL,       -- absolute path of the HTML file
    bytes         BIGINT NOT NULL,
    sha256        VARCHAR NOT NULL,
    trigger       VARCHAR NOT NULL,       -- manual, cron or startup
    created_at    TIMESTAMP NOT NULL,
    created_by    VARCHAR NOT NULL
);
