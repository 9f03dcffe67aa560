//! Calls on a session from inside its own callbacks. A score, log or frame-release callback runs
//! while the session is busy: in a blocking session further down the stack of the call that
//! scores (which holds the session's lock), in a non-blocking one on the session's worker thread
//! (which the caller's `finish` or `destroy` waits for). Calling the same session from there
//! would deadlock, or free the session under the call that runs the callback. So each thread
//! keeps the sessions it is inside, and a call on one of them is refused at once with
//! `VSRQA_ERROR_INVALID_STATE`, before any lock is taken.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::status::{CError, VsrqaStatus::VSRQA_ERROR_INVALID_STATE};

/// A session's identity for these checks: unlike its address, never reused by a later session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionId(u64);

impl SessionId {
    pub fn new() -> SessionId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SessionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

thread_local! {
    /// The sessions this thread is inside: a vsrqa call on them further up the stack, or the
    /// thread is their worker.
    static INSIDE: RefCell<Vec<SessionId>> = const { RefCell::new(Vec::new()) };
}

fn is_inside(id: SessionId) -> bool {
    // A thread being torn down has no callbacks left to run: nothing to refuse.
    INSIDE.try_with(|inside| inside.borrow().contains(&id)).unwrap_or(false)
}

/// The thread is inside a session call until this is dropped.
pub(crate) struct Inside(SessionId);

impl Drop for Inside {
    fn drop(&mut self) {
        let _ = INSIDE.try_with(|inside| {
            let mut inside = inside.borrow_mut();
            if let Some(at) = inside.iter().rposition(|&id| id == self.0) {
                inside.remove(at);
            }
        });
    }
}

/// Enters a call (`call`, the function's name) on session `id`: refused when this thread is
/// already inside that session.
pub(crate) fn enter(id: SessionId, call: &str) -> Result<Inside, CError> {
    if is_inside(id) {
        return Err(CError::new(
            VSRQA_ERROR_INVALID_STATE,
            format!(
                "{call} was called from inside a callback of the same session (its score, log or frame_release \
                 callback, or its worker thread), which would deadlock or free the session in use: nothing was done; \
                 make the call after the callback returns"
            ),
        ));
    }
    let _ = INSIDE.try_with(|inside| inside.borrow_mut().push(id));
    Ok(Inside(id))
}

/// Marks the current thread, a non-blocking session's worker, as inside session `id` for the rest
/// of its life: every callback the worker runs is then refused calls on that session.
pub(crate) fn mark_worker(id: SessionId) {
    let _ = INSIDE.try_with(|inside| inside.borrow_mut().push(id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_refused_inside_itself_and_free_after() {
        let (a, b) = (SessionId::new(), SessionId::new());
        assert_ne!(a, b);
        let outer = enter(a, "outer").ok().unwrap();
        // Another session may be called from inside `a` (a callback may drive a second stream).
        let inner = enter(b, "inner").ok().unwrap();
        let refused = enter(a, "vsrqa_session_poll").err().unwrap();
        assert_eq!(refused.status, VSRQA_ERROR_INVALID_STATE);
        assert!(refused.message.starts_with("vsrqa_session_poll was called from inside"), "{}", refused.message);
        drop(inner);
        drop(outer);
        drop(enter(a, "again").ok().unwrap());
    }

    #[test]
    fn a_worker_is_inside_its_session_for_good() {
        let id = SessionId::new();
        std::thread::spawn(move || {
            mark_worker(id);
            assert!(enter(id, "vsrqa_session_finish").is_err());
        })
        .join()
        .unwrap();
        // Only that thread was marked.
        assert!(enter(id, "vsrqa_session_finish").is_ok());
    }
}
