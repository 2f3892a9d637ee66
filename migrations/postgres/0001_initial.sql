-- Argus distributed store (Postgres), initial schema. Kept in step with `migrations/sqlite/` (same file
-- numbering, same tables, columns and indexes), in Postgres types.
--
-- Conventions:
-- * every row belongs to a project (`project_id`); every query filters by it;
-- * timestamps are TIMESTAMPTZ (microsecond precision);
-- * event, batch and suggestion ids are UUID;
-- * enums are stored by their wire names (`locator-not-found`, `open`, `apply`, ...);
-- * JSONB columns hold serde_json of the vocabulary types.

CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    api_key_hash  TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL
);

-- Accepted ingest batches ("the events"): the whole envelope, kept until normalised and after.
CREATE TABLE ingest_batches (
    project_id     TEXT NOT NULL,
    batch_id       UUID NOT NULL,
    envelope       JSONB NOT NULL,         -- Envelope<IngestBatch>
    occurred_at    TIMESTAMPTZ NOT NULL,   -- the envelope's occurred_at, the replay order
    received_at    TIMESTAMPTZ NOT NULL,
    normalized_at  TIMESTAMPTZ,
    PRIMARY KEY (project_id, batch_id)
);

CREATE INDEX ingest_batches_unnormalized
    ON ingest_batches (occurred_at, received_at)
    WHERE normalized_at IS NULL;

-- DOM snapshots, content-addressed per project, gzip-compressed.
CREATE TABLE dom_snapshots (
    project_id  TEXT NOT NULL,
    hash        TEXT NOT NULL,             -- lowercase hex SHA-256 of the html
    compressed  BYTEA NOT NULL,
    raw_size    BIGINT NOT NULL,           -- bytes of the html before compression
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, hash)
);

CREATE TABLE test_results (
    event_id     UUID PRIMARY KEY,
    project_id   TEXT NOT NULL,
    test_key     TEXT NOT NULL,
    file         TEXT NOT NULL,
    title_path   JSONB NOT NULL,           -- array of strings
    status       TEXT NOT NULL,
    retries      BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    commit_sha   TEXT,
    branch       TEXT,
    ci_run_id    TEXT,
    occurred_at  TIMESTAMPTZ NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX test_results_by_test ON test_results (project_id, test_key, occurred_at);

-- Failure occurrences, one row per failure event.
CREATE TABLE failures (
    event_id       UUID PRIMARY KEY,
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
    occurred_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX failures_by_fingerprint ON failures (project_id, fingerprint, occurred_at);

-- All occurrences of one fingerprint, folded.
CREATE TABLE failure_groups (
    project_id    TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    test          JSONB NOT NULL,          -- TestIdentity
    test_key      TEXT NOT NULL,           -- TestIdentity::key, for filtering
    error_kind    TEXT NOT NULL,
    locator       TEXT,
    last_message  TEXT NOT NULL,
    occurrences   BIGINT NOT NULL,
    first_seen    TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, fingerprint)
);

CREATE INDEX failure_groups_newest ON failure_groups (project_id, last_seen DESC);
CREATE INDEX failure_groups_by_test ON failure_groups (project_id, test_key, last_seen DESC);

CREATE TABLE failure_group_commits (
    project_id   TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    commit_sha   TEXT NOT NULL,
    first_seen   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, fingerprint, commit_sha),
    FOREIGN KEY (project_id, fingerprint)
        REFERENCES failure_groups (project_id, fingerprint) ON DELETE CASCADE
);

CREATE TABLE healing_suggestions (
    id                UUID PRIMARY KEY,
    project_id        TEXT NOT NULL,
    request_event_id  UUID NOT NULL UNIQUE,
    failure_event_id  UUID NOT NULL,
    fingerprint       TEXT NOT NULL,
    test_key          TEXT NOT NULL,
    decision          TEXT NOT NULL,
    status            TEXT NOT NULL,
    confidence        DOUBLE PRECISION NOT NULL,
    source            TEXT,                -- NULL when every step abstained
    body              JSONB NOT NULL,      -- HealingSuggestion, the whole answer
    created_at        TIMESTAMPTZ NOT NULL,
    reviewed_at       TIMESTAMPTZ
);

CREATE INDEX healing_suggestions_newest ON healing_suggestions (project_id, created_at DESC);

-- The knowledge base. `confidence` is derived by the database and can never be written.
CREATE TABLE healing_patterns (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id         TEXT NOT NULL,
    fingerprint        TEXT NOT NULL,
    original_selector  TEXT NOT NULL,
    healed_selector    TEXT NOT NULL,
    error_type         TEXT NOT NULL,
    success_count      BIGINT NOT NULL DEFAULT 0,
    failure_count      BIGINT NOT NULL DEFAULT 0,
    confidence         DOUBLE PRECISION GENERATED ALWAYS AS (
        CASE WHEN success_count + failure_count = 0 THEN 0.0
             ELSE CAST(success_count AS DOUBLE PRECISION) / (success_count + failure_count)
        END
    ) STORED,
    last_used_at       TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (project_id, fingerprint)
);

CREATE INDEX healing_patterns_fingerprint ON healing_patterns (fingerprint);
CREATE INDEX healing_patterns_project ON healing_patterns (project_id);
CREATE INDEX healing_patterns_confidence ON healing_patterns (project_id, confidence DESC);
