//! GitHub's wire JSON: one tolerant DTO per handled event (unknown fields ignored, every field optional
//! because GitHub omits or nulls some of them), each turned into its vocabulary type with `TryFrom`, which
//! names the event and the field when something Argus needs is missing.
//!
//! The DTOs never leave this module: [`parse_event`] returns vocabulary values only.

use crate::GithubError;
use argus_vocabulary::{
    GithubCheckRun, GithubCheckSuite, GithubCommit, GithubEventKind, GithubPing, GithubPullRequest,
    GithubPush, GithubWorkflowJob, GithubWorkflowRun,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The result of parsing a delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// An event Argus handles.
    Event(GithubEventKind),
    /// An event Argus does not handle (its `X-GitHub-Event` name): acknowledged and ignored.
    Ignored(String),
}

/// Turns a delivery's body into a vocabulary event, dispatched by its `X-GitHub-Event` name. Call it only
/// after [`crate::verify_signature`] accepted the body.
pub fn parse_event(event_name: &str, body: &[u8]) -> Result<Parsed, GithubError> {
    let kind = match event_name {
        "ping" => GithubEventKind::Ping(decode::<PingDto>("ping", body)?.into()),
        "push" => GithubEventKind::Push(decode::<PushDto>("push", body)?.try_into()?),
        "pull_request" => {
            GithubEventKind::PullRequest(decode::<PullRequestDto>("pull_request", body)?.try_into()?)
        }
        "workflow_run" => {
            GithubEventKind::WorkflowRun(decode::<WorkflowRunDto>("workflow_run", body)?.try_into()?)
        }
        "workflow_job" => {
            GithubEventKind::WorkflowJob(decode::<WorkflowJobDto>("workflow_job", body)?.try_into()?)
        }
        "check_run" => GithubEventKind::CheckRun(decode::<CheckRunDto>("check_run", body)?.try_into()?),
        "check_suite" => {
            GithubEventKind::CheckSuite(decode::<CheckSuiteDto>("check_suite", body)?.try_into()?)
        }
        other => return Ok(Parsed::Ignored(other.to_owned())),
    };
    Ok(Parsed::Event(kind))
}

/// The payload's `repository.full_name`, reading nothing else: the edge needs it to find the project (and
/// so the secret) before it can verify the signature. `None` when the body is not JSON or names no
/// repository (an organisation-level `ping`).
pub fn repository_full_name(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Peek {
        repository: Option<PeekRepository>,
    }
    #[derive(Deserialize)]
    struct PeekRepository {
        full_name: Option<String>,
    }
    let peek: Peek = serde_json::from_slice(body).ok()?;
    peek.repository?.full_name.filter(|name| !name.is_empty())
}

/// Checks a repository name (`owner/name`: one slash, both parts 1–100 characters of ASCII letters,
/// digits, `-`, `_` or `.`) and returns it unchanged.
pub fn parse_repository_full_name(raw: &str) -> Result<String, GithubError> {
    let valid_part = |part: &str| {
        (1..=100).contains(&part.len())
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && part != "."
            && part != ".."
    };
    match raw.split_once('/') {
        Some((owner, name)) if valid_part(owner) && valid_part(name) => Ok(raw.to_owned()),
        _ => Err(GithubError::InvalidRepositoryName(raw.to_owned())),
    }
}

/// Deserialises a body, naming the JSON path of the first value that does not fit.
fn decode<T: DeserializeOwned>(event: &'static str, body: &[u8]) -> Result<T, GithubError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        GithubError::InvalidPayload { event, path, reason: error.into_inner().to_string() }
    })?;
    deserializer.end().map_err(|error| GithubError::InvalidPayload {
        event,
        path: ".".to_owned(),
        reason: error.to_string(),
    })?;
    Ok(value)
}

/// A field Argus needs, or the error naming it.
fn required<T>(value: Option<T>, event: &'static str, field: &'static str) -> Result<T, GithubError> {
    value.ok_or(GithubError::MissingField { event, field })
}

/// A required text field that must not be empty either (a sha, a ref).
fn required_text(
    value: Option<String>,
    event: &'static str,
    field: &'static str,
) -> Result<String, GithubError> {
    required(value.filter(|text| !text.is_empty()), event, field)
}

// ---- ping ----

#[derive(Debug, Deserialize)]
struct PingDto {
    zen: Option<String>,
    hook_id: Option<u64>,
}

impl From<PingDto> for GithubPing {
    fn from(dto: PingDto) -> Self {
        GithubPing { zen: dto.zen, hook_id: dto.hook_id }
    }
}

// ---- push ----

#[derive(Debug, Deserialize)]
struct PushDto {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    deleted: Option<bool>,
    commits: Option<Vec<CommitDto>>,
    head_commit: Option<CommitDto>,
}

#[derive(Debug, Deserialize)]
struct CommitDto {
    id: Option<String>,
    message: Option<String>,
    added: Option<Vec<String>>,
    modified: Option<Vec<String>>,
    removed: Option<Vec<String>>,
}

impl TryFrom<CommitDto> for GithubCommit {
    type Error = GithubError;

    fn try_from(dto: CommitDto) -> Result<Self, Self::Error> {
        Ok(GithubCommit {
            sha: required_text(dto.id, "push", "commits[].id")?,
            message: dto.message.unwrap_or_default(),
            added: dto.added.unwrap_or_default(),
            modified: dto.modified.unwrap_or_default(),
            removed: dto.removed.unwrap_or_default(),
        })
    }
}

impl TryFrom<PushDto> for GithubPush {
    type Error = GithubError;

    fn try_from(dto: PushDto) -> Result<Self, Self::Error> {
        let commits = dto.commits.unwrap_or_default();
        Ok(GithubPush {
            git_ref: required_text(dto.git_ref, "push", "ref")?,
            before: required_text(dto.before, "push", "before")?,
            after: required_text(dto.after, "push", "after")?,
            deleted: dto.deleted.unwrap_or(false),
            commits: commits.into_iter().map(GithubCommit::try_from).collect::<Result<_, _>>()?,
            head_commit: dto.head_commit.map(GithubCommit::try_from).transpose()?,
        })
    }
}

// ---- pull_request ----

#[derive(Debug, Deserialize)]
struct PullRequestDto {
    action: Option<String>,
    number: Option<u64>,
    pull_request: Option<PullRequestBodyDto>,
}

#[derive(Debug, Deserialize)]
struct PullRequestBodyDto {
    number: Option<u64>,
    head: Option<GitRefDto>,
    base: Option<GitRefDto>,
}

#[derive(Debug, Deserialize)]
struct GitRefDto {
    sha: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

impl TryFrom<PullRequestDto> for GithubPullRequest {
    type Error = GithubError;

    fn try_from(dto: PullRequestDto) -> Result<Self, Self::Error> {
        const EVENT: &str = "pull_request";
        let pull = required(dto.pull_request, EVENT, "pull_request")?;
        let head = required(pull.head, EVENT, "pull_request.head")?;
        let base = required(pull.base, EVENT, "pull_request.base")?;
        Ok(GithubPullRequest {
            action: required_text(dto.action, EVENT, "action")?,
            number: required(dto.number.or(pull.number), EVENT, "number")?,
            head_sha: required_text(head.sha, EVENT, "pull_request.head.sha")?,
            head_ref: required_text(head.git_ref, EVENT, "pull_request.head.ref")?,
            base_ref: required_text(base.git_ref, EVENT, "pull_request.base.ref")?,
        })
    }
}

// ---- workflow_run ----

#[derive(Debug, Deserialize)]
struct WorkflowRunDto {
    action: Option<String>,
    workflow_run: Option<WorkflowRunBodyDto>,
}

#[derive(Debug, Deserialize)]
struct WorkflowRunBodyDto {
    id: Option<u64>,
    name: Option<String>,
    head_sha: Option<String>,
    head_branch: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    run_attempt: Option<u32>,
    html_url: Option<String>,
}

impl TryFrom<WorkflowRunDto> for GithubWorkflowRun {
    type Error = GithubError;

    fn try_from(dto: WorkflowRunDto) -> Result<Self, Self::Error> {
        const EVENT: &str = "workflow_run";
        let run = required(dto.workflow_run, EVENT, "workflow_run")?;
        Ok(GithubWorkflowRun {
            action: required_text(dto.action, EVENT, "action")?,
            id: required(run.id, EVENT, "workflow_run.id")?,
            name: run.name.filter(|name| !name.is_empty()),
            head_sha: required_text(run.head_sha, EVENT, "workflow_run.head_sha")?,
            head_branch: run.head_branch,
            status: required_text(run.status, EVENT, "workflow_run.status")?,
            conclusion: run.conclusion,
            // Payloads from before re-runs existed have no attempt: that was the first.
            run_attempt: run.run_attempt.unwrap_or(1),
            html_url: run.html_url,
        })
    }
}

// ---- workflow_job ----

#[derive(Debug, Deserialize)]
struct WorkflowJobDto {
    action: Option<String>,
    workflow_job: Option<WorkflowJobBodyDto>,
}

#[derive(Debug, Deserialize)]
struct WorkflowJobBodyDto {
    id: Option<u64>,
    run_id: Option<u64>,
    run_attempt: Option<u32>,
    name: Option<String>,
    head_sha: Option<String>,
    head_branch: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
}

impl TryFrom<WorkflowJobDto> for GithubWorkflowJob {
    type Error = GithubError;

    fn try_from(dto: WorkflowJobDto) -> Result<Self, Self::Error> {
        const EVENT: &str = "workflow_job";
        let job = required(dto.workflow_job, EVENT, "workflow_job")?;
        Ok(GithubWorkflowJob {
            action: required_text(dto.action, EVENT, "action")?,
            id: required(job.id, EVENT, "workflow_job.id")?,
            run_id: required(job.run_id, EVENT, "workflow_job.run_id")?,
            run_attempt: job.run_attempt.unwrap_or(1),
            name: required_text(job.name, EVENT, "workflow_job.name")?,
            head_sha: required_text(job.head_sha, EVENT, "workflow_job.head_sha")?,
            head_branch: job.head_branch,
            status: required_text(job.status, EVENT, "workflow_job.status")?,
            conclusion: job.conclusion,
            html_url: job.html_url,
        })
    }
}

// ---- check_run ----

#[derive(Debug, Deserialize)]
struct CheckRunDto {
    action: Option<String>,
    check_run: Option<CheckRunBodyDto>,
}

#[derive(Debug, Deserialize)]
struct CheckRunBodyDto {
    id: Option<u64>,
    name: Option<String>,
    head_sha: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
}

impl TryFrom<CheckRunDto> for GithubCheckRun {
    type Error = GithubError;

    fn try_from(dto: CheckRunDto) -> Result<Self, Self::Error> {
        const EVENT: &str = "check_run";
        let check = required(dto.check_run, EVENT, "check_run")?;
        Ok(GithubCheckRun {
            action: required_text(dto.action, EVENT, "action")?,
            id: required(check.id, EVENT, "check_run.id")?,
            name: required_text(check.name, EVENT, "check_run.name")?,
            head_sha: required_text(check.head_sha, EVENT, "check_run.head_sha")?,
            status: required_text(check.status, EVENT, "check_run.status")?,
            conclusion: check.conclusion,
        })
    }
}

// ---- check_suite ----

#[derive(Debug, Deserialize)]
struct CheckSuiteDto {
    action: Option<String>,
    check_suite: Option<CheckSuiteBodyDto>,
}

#[derive(Debug, Deserialize)]
struct CheckSuiteBodyDto {
    id: Option<u64>,
    head_sha: Option<String>,
    head_branch: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    app: Option<AppDto>,
}

#[derive(Debug, Deserialize)]
struct AppDto {
    name: Option<String>,
    slug: Option<String>,
}

impl TryFrom<CheckSuiteDto> for GithubCheckSuite {
    type Error = GithubError;

    fn try_from(dto: CheckSuiteDto) -> Result<Self, Self::Error> {
        const EVENT: &str = "check_suite";
        let suite = required(dto.check_suite, EVENT, "check_suite")?;
        Ok(GithubCheckSuite {
            action: required_text(dto.action, EVENT, "action")?,
            id: required(suite.id, EVENT, "check_suite.id")?,
            app_name: suite.app.and_then(|app| app.slug.or(app.name)).filter(|name| !name.is_empty()),
            head_sha: required_text(suite.head_sha, EVENT, "check_suite.head_sha")?,
            head_branch: suite.head_branch,
            status: suite.status,
            conclusion: suite.conclusion,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_vocabulary::github::NULL_SHA;
    use serde_json::json;

    fn parse(event: &str, body: &serde_json::Value) -> Result<Parsed, GithubError> {
        parse_event(event, body.to_string().as_bytes())
    }

    fn event(event: &str, body: &serde_json::Value) -> GithubEventKind {
        match parse(event, body) {
            Ok(Parsed::Event(kind)) => kind,
            other => panic!("{event} should parse, got {other:?}"),
        }
    }

    #[test]
    fn unknown_events_are_ignored_by_name_whatever_the_body() {
        assert_eq!(parse_event("star", b"not json"), Ok(Parsed::Ignored("star".to_owned())));
        assert_eq!(parse_event("", b"{}"), Ok(Parsed::Ignored(String::new())));
    }

    #[test]
    fn a_push_with_null_lists_and_no_head_commit_parses() {
        let body = json!({
            "ref": "refs/heads/main", "before": NULL_SHA, "after": "a1b2", "deleted": false,
            "commits": [{"id": "a1b2", "message": "m", "added": null, "modified": ["src/x.ts"]}],
            "head_commit": null, "unknown": {"nested": [1, 2]}
        });
        let GithubEventKind::Push(push) = event("push", &body) else { panic!("push") };
        assert_eq!(push.commits.len(), 1);
        assert_eq!(push.commits[0].changed_files(), ["src/x.ts"]);
        assert_eq!(push.head_commit, None);
    }

    #[test]
    fn a_push_without_deleted_flag_defaults_to_false() {
        let body = json!({"ref": "refs/heads/main", "before": "a", "after": "b"});
        let GithubEventKind::Push(push) = event("push", &body) else { panic!("push") };
        assert!(!push.deleted);
        assert!(push.commits.is_empty());
    }

    #[test]
    fn missing_fields_name_the_event_and_the_field() {
        let error = parse("push", &json!({"ref": "refs/heads/main", "before": "a"})).expect_err("no after");
        assert_eq!(error, GithubError::MissingField { event: "push", field: "after" });
        assert_eq!(error.to_string(), "push payload has no after");

        let no_head = json!({"action": "opened", "number": 3, "pull_request": {"base": {"ref": "main"}}});
        assert_eq!(
            parse("pull_request", &no_head).expect_err("no head"),
            GithubError::MissingField { event: "pull_request", field: "pull_request.head" }
        );
        let empty_sha = json!({"action": "completed", "check_run": {"id": 1, "name": "lint", "head_sha": "",
            "status": "completed"}});
        assert_eq!(
            parse("check_run", &empty_sha).expect_err("empty sha"),
            GithubError::MissingField { event: "check_run", field: "check_run.head_sha" }
        );
    }

    #[test]
    fn wrong_types_name_the_json_path() {
        let body = json!({"action": "completed", "workflow_run": {"id": "not a number"}});
        let error = parse("workflow_run", &body).expect_err("bad id");
        let GithubError::InvalidPayload { event, path, .. } = &error else { panic!("{error:?}") };
        assert_eq!((*event, path.as_str()), ("workflow_run", "workflow_run.id"));
        assert!(error.to_string().starts_with("workflow_run payload is invalid at workflow_run.id: "));

        let not_json = parse_event("push", b"{\"ref\": ").expect_err("truncated");
        assert!(matches!(not_json, GithubError::InvalidPayload { event: "push", .. }), "{not_json:?}");
        let trailing = parse_event("ping", b"{} {}").expect_err("trailing data");
        assert!(matches!(trailing, GithubError::InvalidPayload { event: "ping", .. }), "{trailing:?}");
    }

    #[test]
    fn a_workflow_run_without_attempt_is_the_first_and_empty_names_are_none() {
        let body = json!({"action": "completed", "workflow_run": {"id": 9, "name": "", "head_sha": "c3",
            "status": "completed", "conclusion": "failure"}});
        let GithubEventKind::WorkflowRun(run) = event("workflow_run", &body) else { panic!("run") };
        assert_eq!((run.run_attempt, run.name, run.conclusion.as_deref()), (1, None, Some("failure")));
    }

    #[test]
    fn the_pull_request_number_falls_back_to_the_inner_one() {
        let body = json!({"action": "synchronize", "pull_request": {"number": 12,
            "head": {"sha": "d4", "ref": "feature"}, "base": {"sha": "e5", "ref": "main"}}});
        let GithubEventKind::PullRequest(pull) = event("pull_request", &body) else { panic!("pr") };
        assert_eq!((pull.number, pull.head_sha.as_str()), (12, "d4"));
    }

    #[test]
    fn a_check_suite_is_named_after_its_app() {
        let body = json!({"action": "completed", "check_suite": {"id": 5, "head_sha": "f6", "status": "completed",
            "conclusion": "failure", "app": {"name": "Super CI", "slug": "super-ci"}}});
        let GithubEventKind::CheckSuite(suite) = event("check_suite", &body) else { panic!("suite") };
        assert_eq!(suite.record_name(), "check_suite:super-ci");
    }

    #[test]
    fn the_repository_is_peeked_without_parsing_the_rest() {
        let body = json!({"repository": {"full_name": "octo/shop", "id": "whatever"}, "push": [1]});
        assert_eq!(repository_full_name(body.to_string().as_bytes()).as_deref(), Some("octo/shop"));
        assert_eq!(repository_full_name(b"{\"zen\": \"x\"}"), None);
        assert_eq!(repository_full_name(b"{\"repository\": {\"full_name\": \"\"}}"), None);
        assert_eq!(repository_full_name(b"not json at all"), None);
        assert_eq!(repository_full_name(b"[1, 2]"), None);
    }

    #[test]
    fn repository_names_are_owner_slash_name() {
        for valid in ["octo/shop", "Octo-Org/hello_world.js", "a/b"] {
            assert_eq!(parse_repository_full_name(valid).as_deref(), Ok(valid));
        }
        for invalid in ["", "octo", "octo/", "/shop", "a/b/c", "octo/sh op", "../x", "octo/..", "o/ü"] {
            assert!(parse_repository_full_name(invalid).is_err(), "{invalid:?}");
        }
    }
}
