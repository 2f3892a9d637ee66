//! The GitHub integration payload (topic `argus.integration.github`): one verified webhook delivery,
//! already turned from GitHub's wire JSON into the few facts Argus acts on.
//!
//! The wire DTOs and the signature check live in `argus-github`; this module holds only the domain values
//! that travel on the bus. Status, conclusion and action values are kept as GitHub spells them
//! (`completed`, `failure`, `synchronize`, …): GitHub adds values over time, and a future value must not
//! make a delivery undecodable. The helpers below give those strings their meaning in one place.

use crate::{EventId, ProjectId, Topic, envelope::Payload};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The sha GitHub puts in `before`/`after` for "no commit" (a ref that was created or deleted).
pub const NULL_SHA: &str = "0000000000000000000000000000000000000000";

/// One verified GitHub webhook delivery (topic `argus.integration.github`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GithubEvent {
    /// The `X-GitHub-Delivery` GUID. A redelivery keeps it, so it is the idempotency key.
    pub delivery_id: String,
    /// The repository the delivery is about (`owner/name`, as GitHub spells it); it selected the project.
    pub repository: String,
    /// What happened.
    pub event: GithubEventKind,
}

impl GithubEvent {
    /// The envelope event id of a delivery: derived from the project and the delivery GUID, so a
    /// redelivery that slips past the edge's dedupe is still the same event for every handler.
    pub fn event_id(project: &ProjectId, delivery_id: &str) -> EventId {
        let name = format!("github-delivery/{project}/{delivery_id}");
        EventId(Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()))
    }
}

impl Payload for GithubEvent {
    const TOPIC: Topic = Topic::IntegrationGithub;

    /// One repository's deliveries stay in order (a push before the workflow run it triggered).
    fn partition_key(&self, project: &ProjectId) -> String {
        format!("{project}/{}", self.repository)
    }
}

/// The events Argus handles, by `X-GitHub-Event` name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GithubEventKind {
    /// `ping`: sent once when the webhook is created.
    Ping(GithubPing),
    /// `push`: commits pushed to a branch or tag (or the ref deleted).
    Push(GithubPush),
    /// `pull_request`: a pull request changed.
    PullRequest(GithubPullRequest),
    /// `workflow_run`: a GitHub Actions workflow run changed state.
    WorkflowRun(GithubWorkflowRun),
    /// `workflow_job`: one job of a workflow run changed state.
    WorkflowJob(GithubWorkflowJob),
    /// `check_run`: a check run changed state.
    CheckRun(GithubCheckRun),
    /// `check_suite`: a check suite changed state.
    CheckSuite(GithubCheckSuite),
}

impl GithubEventKind {
    /// The `X-GitHub-Event` name of this kind (`push`, `workflow_run`, …).
    pub const fn event_name(&self) -> &'static str {
        match self {
            GithubEventKind::Ping(_) => "ping",
            GithubEventKind::Push(_) => "push",
            GithubEventKind::PullRequest(_) => "pull_request",
            GithubEventKind::WorkflowRun(_) => "workflow_run",
            GithubEventKind::WorkflowJob(_) => "workflow_job",
            GithubEventKind::CheckRun(_) => "check_run",
            GithubEventKind::CheckSuite(_) => "check_suite",
        }
    }
}

/// `ping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubPing {
    /// A random line of GitHub zen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zen: Option<String>,
    /// The id of the webhook that was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_id: Option<u64>,
}

/// `push`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubPush {
    /// The full ref pushed (`refs/heads/main`, `refs/tags/v1`).
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The sha the ref pointed at before ([`NULL_SHA`] when the ref was created).
    pub before: String,
    /// The sha the ref points at now ([`NULL_SHA`] when the ref was deleted).
    pub after: String,
    /// Whether the push deleted the ref (then there are no commits).
    pub deleted: bool,
    /// The pushed commits, oldest first (GitHub sends at most 20; the rest are only in `after`'s history).
    pub commits: Vec<GithubCommit>,
    /// The commit the ref points at now, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_commit: Option<GithubCommit>,
}

impl GithubPush {
    /// The branch name when the ref is a branch (`refs/heads/feature/x` → `feature/x`).
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }

    /// Whether the push deleted the ref: GitHub's flag, or `after` being [`NULL_SHA`].
    pub fn is_deletion(&self) -> bool {
        self.deleted || self.after == NULL_SHA
    }

    /// The commits to record: the pushed ones, plus the head commit when it is not among them (a new
    /// branch at an existing commit). Empty for a deletion.
    pub fn commits_to_record(&self) -> Vec<&GithubCommit> {
        if self.is_deletion() {
            return Vec::new();
        }
        let mut commits: Vec<&GithubCommit> = self.commits.iter().collect();
        if let Some(head) = &self.head_commit
            && !commits.iter().any(|commit| commit.sha == head.sha)
        {
            commits.push(head);
        }
        commits
    }
}

/// One commit of a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubCommit {
    /// The commit sha.
    pub sha: String,
    /// The commit message.
    pub message: String,
    /// Paths the commit added.
    #[serde(default)]
    pub added: Vec<String>,
    /// Paths the commit modified.
    #[serde(default)]
    pub modified: Vec<String>,
    /// Paths the commit removed.
    #[serde(default)]
    pub removed: Vec<String>,
}

impl GithubCommit {
    /// Every path the commit touched (added, modified, removed), sorted and deduplicated.
    pub fn changed_files(&self) -> Vec<String> {
        let mut files: Vec<String> =
            self.added.iter().chain(&self.modified).chain(&self.removed).cloned().collect();
        files.sort_unstable();
        files.dedup();
        files
    }
}

/// `pull_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubPullRequest {
    /// What happened (`opened`, `synchronize`, `reopened`, `closed`, `labeled`, …).
    pub action: String,
    /// The pull request number.
    pub number: u64,
    /// The sha of the pull request's head.
    pub head_sha: String,
    /// The head branch.
    pub head_ref: String,
    /// The base branch.
    pub base_ref: String,
}

impl GithubPullRequest {
    /// Whether the action (re)defines which commit the pull request's head is: `opened`, `synchronize`
    /// (new commits pushed) or `reopened`. Other actions do not move the head.
    pub fn sets_head(&self) -> bool {
        matches!(self.action.as_str(), "opened" | "synchronize" | "reopened")
    }
}

/// `workflow_run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubWorkflowRun {
    /// What happened (`requested`, `in_progress`, `completed`).
    pub action: String,
    /// The run id.
    pub id: u64,
    /// The workflow's name (GitHub sends an empty one for some runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The commit the run ran on.
    pub head_sha: String,
    /// The branch the run ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_branch: Option<String>,
    /// `queued`, `in_progress`, `completed`, … (see [`is_completed`]).
    pub status: String,
    /// `success`, `failure`, `cancelled`, … once completed (see [`is_failing_conclusion`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// Which attempt of the run this is (1 for the first; re-runs count up).
    pub run_attempt: u32,
    /// The run's page on GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
}

/// `workflow_job`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubWorkflowJob {
    /// What happened (`queued`, `waiting`, `in_progress`, `completed`).
    pub action: String,
    /// The job id.
    pub id: u64,
    /// The id of the workflow run the job belongs to.
    pub run_id: u64,
    /// Which attempt of the run the job belongs to.
    pub run_attempt: u32,
    /// The job's name.
    pub name: String,
    /// The commit the job ran on.
    pub head_sha: String,
    /// The branch the job ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_branch: Option<String>,
    /// `queued`, `in_progress`, `completed`, `waiting`, ….
    pub status: String,
    /// The conclusion once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// The job's page on GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
}

/// `check_run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubCheckRun {
    /// What happened (`created`, `completed`, `rerequested`, `requested_action`).
    pub action: String,
    /// The check run id.
    pub id: u64,
    /// The check's name (`lint`, `Octocoders-linter`).
    pub name: String,
    /// The commit checked.
    pub head_sha: String,
    /// `queued`, `in_progress`, `completed`.
    pub status: String,
    /// The conclusion once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
}

/// `check_suite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubCheckSuite {
    /// What happened (`requested`, `rerequested`, `completed`).
    pub action: String,
    /// The check suite id.
    pub id: u64,
    /// The name of the app that runs the suite, when GitHub sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// The commit checked.
    pub head_sha: String,
    /// The branch checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_branch: Option<String>,
    /// `queued`, `in_progress`, `completed`, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The conclusion once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
}

impl GithubCheckSuite {
    /// The name a suite's conclusion is recorded under: `check_suite:<app>` (or the suite id when GitHub
    /// names no app), so it cannot collide with a check run's name.
    pub fn record_name(&self) -> String {
        match &self.app_name {
            Some(app) => format!("check_suite:{app}"),
            None => format!("check_suite:{}", self.id),
        }
    }
}

/// Whether a run/job/check `status` means it finished.
pub fn is_completed(status: &str) -> bool {
    status == "completed"
}

/// Whether a conclusion means the work did not succeed: `failure`, `timed_out`, `startup_failure`,
/// `cancelled` or `action_required`. (`success`, `neutral`, `skipped` and `stale` do not.)
pub fn is_failing_conclusion(conclusion: &str) -> bool {
    matches!(conclusion, "failure" | "timed_out" | "startup_failure" | "cancelled" | "action_required")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Envelope;
    use chrono::Utc;

    fn commit(sha: &str, added: &[&str], modified: &[&str], removed: &[&str]) -> GithubCommit {
        let owned = |paths: &[&str]| paths.iter().map(|p| (*p).to_owned()).collect();
        GithubCommit {
            sha: sha.to_owned(),
            message: "change".to_owned(),
            added: owned(added),
            modified: owned(modified),
            removed: owned(removed),
        }
    }

    fn push(after: &str, deleted: bool, commits: Vec<GithubCommit>) -> GithubPush {
        GithubPush {
            git_ref: "refs/heads/main".to_owned(),
            before: NULL_SHA.to_owned(),
            after: after.to_owned(),
            deleted,
            head_commit: commits.last().cloned(),
            commits,
        }
    }

    #[test]
    fn changed_files_join_added_modified_and_removed() {
        let change = commit("a1", &["b.ts", "a.ts"], &["a.ts"], &["c.ts"]);
        assert_eq!(change.changed_files(), ["a.ts", "b.ts", "c.ts"]);
    }

    #[test]
    fn a_deletion_records_no_commit_even_without_the_flag() {
        let deleted = push(NULL_SHA, false, vec![commit("a1", &["x"], &[], &[])]);
        assert!(deleted.is_deletion());
        assert!(deleted.commits_to_record().is_empty());
        let pushed = push("a1", false, vec![commit("a1", &["x"], &[], &[])]);
        assert_eq!(pushed.commits_to_record().len(), 1, "the head commit is not recorded twice");
        assert_eq!(pushed.branch(), Some("main"));
    }

    #[test]
    fn a_head_commit_outside_the_commits_is_recorded() {
        let mut new_branch = push("b2", false, Vec::new());
        new_branch.head_commit = Some(commit("b2", &[], &["y"], &[]));
        let shas: Vec<_> = new_branch.commits_to_record().iter().map(|c| c.sha.clone()).collect();
        assert_eq!(shas, ["b2"]);
    }

    #[test]
    fn only_head_moving_actions_set_a_pull_requests_head() {
        let mut pull = GithubPullRequest {
            action: "synchronize".to_owned(),
            number: 7,
            head_sha: "c3".to_owned(),
            head_ref: "feature".to_owned(),
            base_ref: "main".to_owned(),
        };
        assert!(pull.sets_head());
        pull.action = "labeled".to_owned();
        assert!(!pull.sets_head());
    }

    #[test]
    fn conclusions_are_classified() {
        for failing in ["failure", "timed_out", "startup_failure", "cancelled", "action_required"] {
            assert!(is_failing_conclusion(failing), "{failing}");
        }
        for passing in ["success", "neutral", "skipped", "stale", "something_new"] {
            assert!(!is_failing_conclusion(passing), "{passing}");
        }
        assert!(is_completed("completed") && !is_completed("in_progress"));
    }

    #[test]
    fn event_ids_derive_from_project_and_delivery() {
        let (shop, docs) =
            (ProjectId::parse("shop").expect("valid"), ProjectId::parse("docs").expect("valid"));
        let delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
        assert_eq!(GithubEvent::event_id(&shop, delivery), GithubEvent::event_id(&shop, delivery));
        assert_ne!(GithubEvent::event_id(&shop, delivery), GithubEvent::event_id(&docs, delivery));
        assert_ne!(GithubEvent::event_id(&shop, delivery), GithubEvent::event_id(&shop, "other"));
    }

    #[test]
    fn an_event_round_trips_and_is_keyed_by_repository() {
        let project = ProjectId::parse("shop").expect("valid");
        let event = GithubEvent {
            delivery_id: "d-1".to_owned(),
            repository: "octo/shop".to_owned(),
            event: GithubEventKind::Push(push("a1", false, vec![commit("a1", &["x"], &[], &[])])),
        };
        let envelope = Envelope::new(GithubEvent::event_id(&project, "d-1"), project, Utc::now(), event);
        assert_eq!(envelope.topic(), Topic::IntegrationGithub);
        assert_eq!(envelope.partition_key(), "shop/octo/shop");
        let json: serde_json::Value = serde_json::from_slice(&envelope.to_bytes()).expect("json");
        assert_eq!(json["payload"]["event"]["type"], "push");
        assert_eq!(json["payload"]["event"]["ref"], "refs/heads/main");
        assert_eq!(Envelope::<GithubEvent>::from_bytes(&envelope.to_bytes()).ok(), Some(envelope));
    }
}
