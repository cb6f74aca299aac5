//! Concurrency caps per access key: how many requests (or streams) one key may have open
//! at once. A slot is a guard; dropping it gives the slot back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Open slots per key, each key capped at `cap`. Keys without open slots take no memory.
#[derive(Debug)]
pub(crate) struct KeySlots {
    cap: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One open slot of one key.
#[derive(Debug)]
pub(crate) struct KeySlot {
    slots: Arc<KeySlots>,
    key: String,
}

impl KeySlots {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(KeySlots {
            cap: cap.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// A slot for `key`, or `None` when it already holds `cap` of them.
    pub(crate) fn try_take(self: &Arc<Self>, key: &str) -> Option<KeySlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key.to_owned()).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(KeySlot {
            slots: Arc::clone(self),
            key: key.to_owned(),
        })
    }
}

impl Drop for KeySlot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_its_own_cap_and_slots_come_back() {
        let slots = KeySlots::new(2);
        let a1 = slots.try_take("a").unwrap();
        let _a2 = slots.try_take("a").unwrap();
        assert!(slots.try_take("a").is_none());
        let _b = slots.try_take("b").expect("another key is not held up");
        drop(a1);
        let _a3 = slots.try_take("a").expect("a dropped slot is free again");
        assert!(slots.try_take("a").is_none());
    }

    #[test]
    fn keys_without_open_slots_are_forgotten() {
        let slots = KeySlots::new(1);
        drop(slots.try_take("a").unwrap());
        assert!(slots.open.lock().unwrap().is_empty());
    }
}
