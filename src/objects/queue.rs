//! The work an object's workers share: each takes the next item when it is free, so a slow
//! request holds up one worker, not a fixed share of the work.

use std::sync::Mutex;

/// Items handed out one at a time to whichever worker asks first.
pub(crate) struct Queue<I>(Mutex<I>);

impl<I: Iterator> Queue<I> {
    pub fn new(items: I) -> Self {
        Self(Mutex::new(items))
    }

    pub fn next(&self) -> Option<I::Item> {
        self.0.lock().expect("never poisoned").next()
    }
}
