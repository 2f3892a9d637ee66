//! The journal: an append-only file of JSON lines, one [`Batch`] per line, replayed on open.
//!
//! Line format (version 1): `{"v":1,"call":"record_commit","project":"shop","ops":[...]}` where `ops` are
//! [`super::mutation::Mutation`]s. A reader rejects a line with another `v` instead of guessing.
//!
//! Crash tolerance: a line is written with one `write_all` of its bytes and the newline, through a file
//! opened with `O_APPEND`. A crash mid-write can only leave the *last* line incomplete; on open such a torn
//! last line is dropped with a warning and the file is cut back to the last whole line, so the next append
//! starts on a fresh line. An undecodable line anywhere else is [`GraphError::CorruptJournal`].
//! Durability: bytes reach the operating system before the call returns (they survive a crash of the
//! process); they are not `fsync`ed, so a power loss may drop the tail, which replay tolerates.

use super::mutation::Batch;
use super::property_graph::PropertyGraph;
use crate::GraphError;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use tracing::{info, warn};

/// The journal line version this build writes and reads.
pub(crate) const JOURNAL_VERSION: u32 = 1;

#[derive(Serialize)]
struct LineOut<'a> {
    v: u32,
    #[serde(flatten)]
    batch: &'a Batch,
}

#[derive(Deserialize)]
struct LineHeader {
    v: u32,
}

/// Why a line could not be replayed.
enum LineError {
    /// Not JSON at all: what a torn write leaves behind. Tolerated on the last line only.
    NotJson(String),
    /// Valid JSON that is not a journal line this build understands. Never tolerated.
    Invalid(String),
}

/// An open journal, positioned for appending.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    /// Length of the file up to the end of the last whole line: where a failed append is cut back to.
    len: u64,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and replays every line into `graph`.
    pub(crate) fn open(path: &Path, graph: &mut PropertyGraph) -> Result<Self, GraphError> {
        let io_error = |source| GraphError::Journal { path: path.display().to_string(), source };
        let corrupt =
            |line, message| GraphError::CorruptJournal { path: path.display().to_string(), line, message };
        let file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io_error)?;

        let mut reader = BufReader::new(&file);
        let mut bytes = Vec::new();
        let mut line_number = 0;
        let mut replayed = 0usize;
        let mut good_len = 0u64;
        // An undecodable line is fatal only once we know it is not the last one.
        let mut pending: Option<(usize, String)> = None;
        loop {
            bytes.clear();
            let read = reader.read_until(b'\n', &mut bytes).map_err(io_error)?;
            if read == 0 {
                break;
            }
            line_number += 1;
            if let Some((line, message)) = pending.take() {
                return Err(corrupt(line, message));
            }
            let Some(content) = bytes.strip_suffix(b"\n") else {
                // No newline: the write of this line never finished.
                pending = Some((line_number, "line has no end".to_owned()));
                continue;
            };
            match decode(content) {
                Ok(batch) => {
                    graph.apply(&batch);
                    replayed += 1;
                    good_len += read as u64;
                }
                Err(LineError::NotJson(message)) => pending = Some((line_number, message)),
                Err(LineError::Invalid(message)) => return Err(corrupt(line_number, message)),
            }
        }
        drop(reader);

        if let Some((line, message)) = pending {
            warn!(path = %path.display(), line, %message, "ignoring torn last journal line");
            file.set_len(good_len).map_err(io_error)?;
        }
        info!(path = %path.display(), lines = replayed, "graph journal replayed");
        Ok(Self { path: path.to_owned(), file, len: good_len })
    }

    /// The journal file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `batch` as one line. On failure the file is cut back to its last whole line, so a partial
    /// write cannot end up in the middle of the journal.
    pub(crate) fn append(&mut self, batch: &Batch) -> Result<(), GraphError> {
        let mut line = serde_json::to_vec(&LineOut { v: JOURNAL_VERSION, batch })
            .map_err(|e| GraphError::Codec { what: "journal line", message: e.to_string() })?;
        line.push(b'\n');
        // `&File` is unbuffered: once `write_all` returns, the bytes are with the operating system.
        if let Err(source) = (&self.file).write_all(&line) {
            if let Err(truncate) = self.file.set_len(self.len) {
                warn!(path = %self.path.display(), error = %truncate, "cannot cut back a failed journal append");
            }
            return Err(GraphError::Journal { path: self.path.display().to_string(), source });
        }
        self.len += line.len() as u64;
        Ok(())
    }
}

fn decode(content: &[u8]) -> Result<Batch, LineError> {
    let header: LineHeader =
        serde_json::from_slice(content).map_err(|e| LineError::NotJson(e.to_string()))?;
    if header.v != JOURNAL_VERSION {
        return Err(LineError::Invalid(format!(
            "unsupported journal version {} (this build reads {JOURNAL_VERSION})",
            header.v
        )));
    }
    serde_json::from_slice(content).map_err(|e| LineError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_process::mutation::NodeLabel;
    use argus_vocabulary::ProjectId;

    fn batch(key: &str) -> Batch {
        let project = ProjectId::parse("shop").expect("valid");
        let mut batch = Batch::new("test", &project);
        batch.merge_node(NodeLabel::Locator, key);
        batch
    }

    #[test]
    fn header_without_json_is_torn_and_unknown_version_is_invalid() {
        assert!(matches!(decode(br#"{"v":1,"call":"te"#), Err(LineError::NotJson(_))));
        assert!(matches!(
            decode(br#"{"v":2,"call":"x","project":"shop","ops":[]}"#),
            Err(LineError::Invalid(_))
        ));
        assert!(matches!(
            decode(br#"{"v":1,"call":"x","project":"BAD","ops":[]}"#),
            Err(LineError::Invalid(_))
        ));
    }

    #[test]
    fn appended_lines_replay_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("graph.jsonl");
        let mut journal = Journal::open(&path, &mut PropertyGraph::default()).expect("open");
        journal.append(&batch("#a")).expect("append");
        journal.append(&batch("#b")).expect("append");

        let mut graph = PropertyGraph::default();
        Journal::open(&path, &mut graph).expect("reopen");

        let project = ProjectId::parse("shop").expect("valid");
        assert_eq!(graph.keys(&project, NodeLabel::Locator).collect::<Vec<_>>(), ["#a", "#b"]);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with(r#"{"v":1,"call":"test","project":"shop","ops":["#));
    }
}
