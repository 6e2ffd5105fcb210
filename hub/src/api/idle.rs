//! Idle keep-alive connections without a hyper connection.
//!
//! hyper allocates its read and write buffers when a connection starts and keeps them while the
//! connection waits for the next request, which is most of an agent connection's life. So a
//! connection here is served one request at a time: the connection task waits for the first
//! byte of a request on the bare TLS stream, then hands a [`Rewind`] (that byte, then the
//! stream) to a fresh hyper connection. Once that request is answered, flushed and hyper is
//! waiting for the next request head, the connection is stopped while idle
//! (`graceful_shutdown` on an idle hyper connection closes it without touching any response)
//! and the stream and any bytes hyper had read ahead are taken back.
//!
//! The hyper connection is only stopped at a clean request boundary: after a request whose body
//! the handler did not read to the end, hyper drains the body or closes the connection on its
//! own terms, and the connection is only parked again after a later clean request.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// State shared by the connection task, its [`Rewind`] IO and its service.
#[derive(Debug, Default)]
pub(super) struct Flags {
    /// The last request's response has been produced (the handler returned).
    responded: AtomicBool,
    /// The last request's body was read to its end (or had none).
    body_done: AtomicBool,
    /// The hub is shutting down: hyper must finish on its own.
    draining: AtomicBool,
    /// The last read hyper attempted was held back because the exchange is over.
    parked: AtomicBool,
    /// Everything hyper wrote has been flushed.
    flushed: AtomicBool,
}

impl Flags {
    /// Start a new hyper connection.
    pub(super) fn reset(&self) {
        self.responded.store(false, Ordering::Relaxed);
        self.body_done.store(false, Ordering::Relaxed);
        self.draining.store(false, Ordering::Relaxed);
        self.parked.store(false, Ordering::Relaxed);
        self.flushed.store(true, Ordering::Relaxed);
    }

    /// A request was dispatched to the service.
    pub(super) fn request(&self, body_empty: bool) {
        self.responded.store(false, Ordering::Relaxed);
        self.body_done.store(body_empty, Ordering::Relaxed);
    }

    /// The handler returned its response.
    pub(super) fn responded(&self) {
        self.responded.store(true, Ordering::Relaxed);
    }

    /// Let hyper finish on its own (its reads are no longer held back).
    pub(super) fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether hyper's next read may be held back: the last request was answered and its body
    /// read to the end, so hyper's next read is for the next request head. (With the body left
    /// unread, hyper drains it or closes the connection; a following request starts afresh.)
    fn may_park(&self) -> bool {
        self.responded.load(Ordering::Relaxed)
            && self.body_done.load(Ordering::Relaxed)
            && !self.draining.load(Ordering::Relaxed)
    }

    /// hyper answered the request, flushed the response and waits for the next request head:
    /// it can be stopped without affecting the client.
    pub(super) fn idle(&self) -> bool {
        self.may_park()
            && self.parked.load(Ordering::Relaxed)
            && self.flushed.load(Ordering::Relaxed)
    }
}

/// The TLS stream behind bytes already read from it.
pub(super) struct Rewind {
    /// The connection.
    pub(super) stream: Box<TlsStream<TcpStream>>,
    /// Bytes read from `stream` that hyper has not seen yet.
    pub(super) pre: Bytes,
    flags: Arc<Flags>,
}

impl Rewind {
    pub(super) fn new(stream: Box<TlsStream<TcpStream>>, flags: Arc<Flags>) -> Self {
        Self {
            stream,
            pre: Bytes::new(),
            flags,
        }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.flags.parked.store(false, Ordering::Relaxed);
        if !this.pre.is_empty() {
            let n = this.pre.len().min(buf.remaining());
            buf.put_slice(&this.pre.split_to(n));
            return Poll::Ready(Ok(()));
        }
        if this.flags.may_park() {
            // The exchange is over: the connection task stops hyper instead of waking it.
            this.flags.parked.store(true, Ordering::Relaxed);
            return Poll::Pending;
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.flags.flushed.store(false, Ordering::Relaxed);
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        if let Poll::Ready(Ok(())) = polled {
            this.flags.flushed.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A request body that records, in [`Flags`], when it has been read to its end.
pub(super) struct Tracked {
    inner: Incoming,
    flags: Arc<Flags>,
}

impl Tracked {
    pub(super) fn new(inner: Incoming, flags: Arc<Flags>) -> Self {
        Self { inner, flags }
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.flags.body_done.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
