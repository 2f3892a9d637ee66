-- Argus embedded store, initial schema.
--
-- Conventions:
-- * every row belongs to a project (`project_id`); every query filters by it;
-- * timestamps are RFC 3339 UTC text with exactly nine fractional digits and a `Z` suffix
--   (`2024-05-01T12:00:00.250000000Z`): fixed width, so text order is time order and MIN/MAX work;
-- * enums are stored by their wire names (`locator-not-found`, `open`, `apply`, ...);
-- * JSON columns hold serde_json text of the vocabulary types.

CREATE TABLE projects (
    id            TEXT PRIMARY KEY NOT NULL,
    display_name  TEXT NOT NULL,
    api_key_hash  TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL
);

-- Accepted ingest batches ("the events"): the whole envelope, kept until normalised and after.
CREATE TABLE ingest_batches (
    project_id     TEXT NOT NULL,
    batch_id       TEXT NOT NULL,
    envelope       TEXT NOT NULL,          -- JSON Envelope<IngestBatch>
    occurred_at    TEXT NOT NULL,          -- the envelope's occurred_at, the replay order
    received_at    TEXT NOT NULL,
    normalized_at  TEXT,
    PRIMARY KEY (project_id, batch_id)
);

CREATE INDEX ingest_batches_unnormalized
    ON ingest_batches (occurred_at, received_at)
    WHERE normalized_at IS NULL;

-- DOM snapshots, content-addressed per project, gzip-compressed.
CREATE TABLE dom_snapshots (
    project_id  TEXT NOT NULL,
    hash        TEXT NOT NULL,             -- lowercase hex SHA-256 of the html
    compressed  BLOB NOT NULL,
    raw_size    INTEGER NOT NULL,          -- bytes of the html before compression
    created_at  TEXT NOT NULL,
    PRIMARY KEY (project_id, hash)
);

CREATE TABLE test_results (
    event_id     TEXT PRIMARY KEY NOT NULL,
    project_id   TEXT NOT NULL,
    test_key     TEXT NOT NULL,
    file         TEXT NOT NULL,
    title_path   TEXT NOT NULL,            -- JSON array of strings
    status       TEXT NOT NULL,
    retries      INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    commit_sha   TEXT,
    branch       TEXT,
    ci_run_id    TEXT,
    occurred_at  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
);

CREATE INDEX test_results_by_test ON test_results (project_id, test_key, occurred_at);

-- Failure occurrences, one row per failure event.
CREATE TABLE failures (
    event_id       TEXT PRIMARY KEY NOT NULL,
    project_id     TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    test_key       TEXT NOT NULL,
    error_kind     TEXT NOT NULL,
    message        TEXT NOT NULL,
    stack          TEXT,
    locator        TEXT,
    page_url       TEXT,
    commit_sha     TEXT,
    branch         TEXT,
    ci_run_id      TEXT,
    snapshot_hash  TEXT,
    occurred_at    TEXT NOT NULL
);

CREATE INDEX failures_by_fingerprint ON failures (project_id, fingerprint, occurred_at);

-- All occurrences of one fingerprint, folded.
CREATE TABLE failure_groups (
    project_id    TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    test          TEXT NOT NULL,           -- JSON TestIdentity
    test_key      TEXT NOT NULL,           -- TestIdentity::key, for filtering
    error_kind    TEXT NOT NULL,
    locator       TEXT,
    last_message  TEXT NOT NULL,
    occurrences   INTEGER NOT NULL,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    PRIMARY KEY (project_id, fingerprint)
);

CREATE INDEX failure_groups_newest ON failure_groups (project_id, last_seen DESC);
CREATE INDEX failure_groups_by_test ON failure_groups (project_id, test_key, last_seen DESC);

CREATE TABLE failure_group_commits (
    project_id   TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    commit_sha   TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    PRIMARY KEY (project_id, fingerprint, commit_sha),
    FOREIGN KEY (project_id, fingerprint)
        REFERENCES failure_groups (project_id, fingerprint) ON DELETE CASCADE
);

CREATE TABLE healing_suggestions (
    id                TEXT PRIMARY KEY NOT NULL,
    project_id        TEXT NOT NULL,
    request_event_id  TEXT NOT NULL UNIQUE,
    failure_event_id  TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    test_key          TEXT NOT NULL,
    decision          TEXT NOT NULL,
    status            TEXT NOT NULL,
    confidence        REAL NOT NULL,
    source            TEXT,                -- NULL when every step abstained
    body              TEXT NOT NULL,       -- JSON HealingSuggestion, the whole answer
    created_at        TEXT NOT NULL,
    reviewed_at       TEXT
);

CREATE INDEX healing_suggestions_newest ON healing_suggestions (project_id, created_at DESC);

-- The knowledge base. `confidence` is derived by the database and can never be written.
CREATE TABLE healing_patterns (
    id                 INTEGER PRIMARY KEY,
    project_id         TEXT NOT NULL,
    fingerprint        TEXT NOT NULL,
    original_selector  TEXT NOT NULL,
    healed_selector    TEXT NOT NULL,
    error_type         TEXT NOT NULL,
    success_count      INTEGER NOT NULL DEFAULT 0,
    failure_count      INTEGER NOT NULL DEFAULT 0,
    confidence         REAL GENERATED ALWAYS AS (
        CASE WHEN success_count + failure_count = 0 THEN 0.0
             ELSE CAST(success_count AS REAL) / (success_count + failure_count)
        END
    ) STORED,
    last_used_at       TEXT,
    created_at         TEXT NOT NULL,
    UNIQUE (project_id, fingerprint)
);

CREATE INDEX healing_patterns_fingerprint ON healing_patterns (fingerprint);
CREATE INDEX healing_patterns_project ON healing_patterns (project_id);
CREATE INDEX healing_patterns_confidence ON healing_patterns (project_id, confidence DESC);
