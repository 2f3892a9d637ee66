-- GitHub integration: per-repository webhook secrets, delivery dedupe, and the facts webhooks bring
-- (CI runs, check conclusions per commit, pull-request heads). Same conventions as 0001.

-- The secret is stored as given: verifying an HMAC needs the key itself, so a hash would not do. It never
-- leaves the store except to verify a delivery, and is never logged.
CREATE TABLE github_webhooks (
    repository_key  TEXT PRIMARY KEY NOT NULL,  -- lowercase owner/name: GitHub names ignore case
    repository      TEXT NOT NULL,              -- owner/name as configured
    project_id      TEXT NOT NULL,
    secret          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE INDEX github_webhooks_by_project ON github_webhooks (project_id);

-- Deliveries published on the bus, by X-GitHub-Delivery GUID (a redelivery keeps the GUID).
CREATE TABLE github_deliveries (
    project_id   TEXT NOT NULL,
    delivery_id  TEXT NOT NULL,
    event_name   TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (project_id, delivery_id)
);

-- Completed GitHub Actions workflow runs and jobs, latest attempt.
CREATE TABLE ci_runs (
    project_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,             -- workflow_run | workflow_job
    id           INTEGER NOT NULL,          -- the run id, or the job id
    run_id       INTEGER NOT NULL,          -- the workflow run (equal to id for a run)
    run_attempt  INTEGER NOT NULL,
    name         TEXT,
    repository   TEXT NOT NULL,
    head_sha     TEXT NOT NULL,
    head_branch  TEXT,
    status       TEXT NOT NULL,
    conclusion   TEXT,
    html_url     TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (project_id, kind, id)
);

CREATE INDEX ci_runs_newest ON ci_runs (project_id, updated_at DESC);
CREATE INDEX ci_runs_by_sha ON ci_runs (project_id, head_sha);

-- The latest conclusion of each check (check run name, or check_suite:<app>) per commit.
CREATE TABLE check_conclusions (
    project_id    TEXT NOT NULL,
    head_sha      TEXT NOT NULL,
    name          TEXT NOT NULL,
    repository    TEXT NOT NULL,
    conclusion    TEXT NOT NULL,
    concluded_at  TEXT NOT NULL,
    PRIMARY KEY (project_id, head_sha, name)
);

-- Every commit a pull request's head has pointed at: head sha <-> pull request.
CREATE TABLE pull_request_heads (
    project_id  TEXT NOT NULL,
    repository  TEXT NOT NULL,
    number      INTEGER NOT NULL,
    head_sha    TEXT NOT NULL,
    head_ref    TEXT NOT NULL,
    base_ref    TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    PRIMARY KEY (project_id, repository, number, head_sha)
);

CREATE INDEX pull_request_heads_by_sha ON pull_request_heads (project_id, head_sha);
