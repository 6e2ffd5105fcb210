//! A raw Kubernetes watch: `GET <collection>?watch=true` through a `kube::Client`, read frame by
//! frame, one JSON event per line, resumed from the last resourceVersion when the server ends
//! the request. The benchmarks time objects appearing or changing with it, in-process and
//! without polling. [`LineBuffer`] is the pure line splitter.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::BodyExt as _;
use serde_json::Value;

/// Server-side timeout of one watch request (below kube's 295 s read timeout).
const WATCH_SECONDS: u32 = 290;

/// One watch event, stamped when its line was read.
#[derive(Debug, Clone)]
pub(crate) struct WatchEvent {
    /// `ADDED`, `MODIFIED`, `DELETED` (bookmarks and errors are handled inside).
    pub(crate) kind: String,
    /// The object.
    pub(crate) object: Value,
    /// When the event was read.
    pub(crate) at: Instant,
}

impl WatchEvent {
    /// `metadata.name` of the object.
    pub(crate) fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }
}

/// Bytes in, complete non-empty lines out.
#[derive(Debug, Default)]
pub(crate) struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// Append what was read.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// The next complete line (without its `\n`), skipping empty ones.
    pub(crate) fn next_line(&mut self) -> Option<Vec<u8>> {
        loop {
            let end = self.pending.iter().position(|&b| b == b'\n')?;
            let mut line: Vec<u8> = self.pending.drain(..=end).collect();
            line.pop();
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Some(line);
            }
        }
    }
}

/// A watch on one collection path (e.g. `/apis/g/v/namespaces/ns/solvers`, optionally with a
/// `?fieldSelector=...` query).
pub(crate) struct RawWatch {
    client: kube::Client,
    path: String,
    resource_version: Option<String>,
    body: Option<kube::client::Body>,
    lines: LineBuffer,
}

impl RawWatch {
    /// A watch on `path`; connects on the first [`RawWatch::next`].
    pub(crate) fn new(client: kube::Client, path: &str) -> RawWatch {
        RawWatch {
            client,
            path: path.to_owned(),
            resource_version: None,
            body: None,
            lines: LineBuffer::default(),
        }
    }

    /// The next ADDED/MODIFIED/DELETED event (the first ones describe what exists already).
    pub(crate) async fn next(&mut self) -> anyhow::Result<WatchEvent> {
        loop {
            if let Some(line) = self.lines.next_line() {
                if let Some(event) = self.decode(&line)? {
                    return Ok(event);
                }
                continue;
            }
            let Some(body) = self.body.as_mut() else {
                self.body = Some(connect(self.client.clone(), self.uri()).await?);
                continue;
            };
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        self.lines.push(data);
                    }
                }
                // The server ended the request (timeout) or the stream broke: resume.
                Some(Err(_)) | None => self.body = None,
            }
        }
    }

    /// Decode one line; `None` for bookmarks and expired resource versions (watched again).
    fn decode(&mut self, line: &[u8]) -> anyhow::Result<Option<WatchEvent>> {
        let at = Instant::now();
        let event: Value = serde_json::from_slice(line).context("watch event is not JSON")?;
        let kind = event["type"].as_str().unwrap_or_default().to_owned();
        let object = event["object"].clone();
        if kind == "ERROR" {
            anyhow::ensure!(object["code"] == 410, "watch error: {object}");
            self.resource_version = None;
            self.body = None;
            return Ok(None);
        }
        if let Some(rv) = object["metadata"]["resourceVersion"].as_str() {
            self.resource_version = Some(rv.to_owned());
        }
        Ok((kind != "BOOKMARK").then_some(WatchEvent { kind, object, at }))
    }

    /// The watch request's URI, from the last resourceVersion seen.
    fn uri(&self) -> String {
        let separator = if self.path.contains('?') { '&' } else { '?' };
        let mut uri = format!(
            "{}{separator}watch=true&timeoutSeconds={WATCH_SECONDS}",
            self.path
        );
        if let Some(rv) = &self.resource_version {
            uri.push_str(&format!("&resourceVersion={rv}"));
        }
        uri
    }
}

/// Start the watch request `uri`; its body streams the events.
async fn connect(client: kube::Client, uri: String) -> anyhow::Result<kube::client::Body> {
    let request = http::Request::get(&uri).body(kube::client::Body::from(Vec::new()))?;
    let response = tokio::time::timeout(Duration::from_secs(30), client.send(request))
        .await
        .with_context(|| format!("watch {uri}: no answer"))?
        .with_context(|| format!("watch {uri}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "watch {uri}: {}",
        response.status()
    );
    Ok(response.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_and_within_frames() {
        let mut buffer = LineBuffer::default();
        buffer.push(b"{\"a\":1}\n{\"b\"");
        assert_eq!(buffer.next_line().as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(buffer.next_line(), None, "the second line is incomplete");
        buffer.push(b":2}\n\n  \n{\"c\":3}\n");
        assert_eq!(buffer.next_line().as_deref(), Some(&b"{\"b\":2}"[..]));
        assert_eq!(
            buffer.next_line().as_deref(),
            Some(&b"{\"c\":3}"[..]),
            "blank lines are skipped"
        );
        assert_eq!(buffer.next_line(), None);
    }
}
