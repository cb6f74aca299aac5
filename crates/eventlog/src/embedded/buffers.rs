//! The buffers pages read from disk are decompressed into, used again once the page has
//! been sent.
//!
//! A page of 1000 items is about 1 MB of JSON, one of 10,000 (what `consume` asks for)
//! about 10 MB. Allocating each afresh and freeing it once the socket has it churns the
//! allocator by the megabyte per request: the allocator gives freed memory back to the
//! system only after a delay, so a reader catching up left the server holding some
//! 100 MB it did not use. The buffer of a sent page goes back here instead (when the last
//! slice of it is dropped, on whichever thread) and the next read writes into it.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use bytes::Bytes;

use crate::item::DISK_PAGE_BYTES;

/// Buffers kept at most: one per read running at once, with some to spare.
const KEPT: usize = 8;
/// The capacity of all kept buffers together, at most: past it, a returned buffer is
/// freed. Room for [`KEPT`] pages of the most JSON a page read from disk holds
/// ([`DISK_PAGE_BYTES`]) and their last item.
const KEPT_BYTES: usize = KEPT * (DISK_PAGE_BYTES + (1 << 20));

#[derive(Debug, Default)]
pub(super) struct Buffers {
    free: Mutex<Vec<Vec<u8>>>,
}

impl Buffers {
    /// An empty buffer, with the capacity an earlier page left in it when there is one.
    pub(super) fn take(&self) -> Vec<u8> {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    /// `buf` as shared bytes that hand the buffer back here when the last of them is
    /// dropped.
    pub(super) fn wrap(self: &Arc<Self>, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Lent {
            buf,
            home: Arc::downgrade(self),
        })
    }

    fn give_back(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let kept: usize = free.iter().map(Vec::capacity).sum();
        if free.len() < KEPT && kept + buf.capacity() <= KEPT_BYTES {
            free.push(buf);
        }
    }

    #[cfg(test)]
    fn kept(&self) -> Vec<usize> {
        let free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        free.iter().map(Vec::capacity).collect()
    }
}

/// A buffer on loan to a page.
struct Lent {
    buf: Vec<u8>,
    home: Weak<Buffers>,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(home) = self.home.upgrade() {
            home.give_back(std::mem::take(&mut self.buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_when_the_last_slice_is_dropped() {
        let buffers = Arc::new(Buffers::default());
        let mut buf = buffers.take();
        buf.extend_from_slice(b"{\"id\":\"1-0\"},{\"id\":\"1-1\"}");
        let capacity = buf.capacity();
        let page = buffers.wrap(buf);
        let second = page.slice(13..);
        assert_eq!(&second[..], b"{\"id\":\"1-1\"}");
        drop(page);
        assert!(buffers.kept().is_empty(), "a slice still reads it");
        assert_eq!(&second[..], b"{\"id\":\"1-1\"}");
        drop(second);
        assert_eq!(buffers.kept(), vec![capacity]);
        let again = buffers.take();
        assert!(again.is_empty());
        assert_eq!(again.capacity(), capacity);
        assert!(buffers.kept().is_empty());
    }

    #[test]
    fn what_is_kept_is_bounded() {
        let buffers = Arc::new(Buffers::default());
        for _ in 0..KEPT + 3 {
            drop(buffers.wrap(Vec::with_capacity(1024)));
        }
        assert_eq!(buffers.kept().len(), KEPT);
        let buffers = Arc::new(Buffers::default());
        let big: Vec<Bytes> = (0..3)
            .map(|_| buffers.wrap(Vec::with_capacity(KEPT_BYTES / 2)))
            .collect();
        drop(big);
        assert_eq!(
            buffers.kept().len(),
            2,
            "the third would pass the byte bound"
        );
        assert!(buffers.kept().iter().sum::<usize>() <= KEPT_BYTES);
    }

    #[test]
    fn a_buffer_outliving_its_pool_is_freed() {
        let buffers = Arc::new(Buffers::default());
        let page = buffers.wrap(b"[]".to_vec());
        drop(buffers);
        assert_eq!(&page[..], b"[]");
        drop(page);
    }
}
