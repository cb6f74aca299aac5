//! Stored items are compressed one by one with zstd and a dictionary trained on the log's
//! own items.
//!
//! Items repeat the same keys, type names and catalog names, so alone each compresses
//! poorly, but against a dictionary of what items usually contain an item of 800 bytes
//! of JSON shrinks to a few dozen. Compressing items one by one (rather than in blocks)
//! keeps every item addressable by its id in the index, so a page starts anywhere
//! without decompressing neighbours, and an append writes only its own rows.
//!
//! Dictionaries live in the `dictionaries` table and are never changed: each stored item
//! names the dictionary it needs (0: stored as is). The writer trains a first one from
//! the items of the first appends, then a new one now and then so that the dictionary
//! follows a catalog that changes; retention deletes dictionaries no item needs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension};
use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict};

use crate::error::Error;

/// zstd's level: higher levels gain little on items this small and cost append time.
const LEVEL: i32 = 3;
/// The largest dictionary trained. Items are a few hundred bytes to a few kB; a larger
/// dictionary gains little and costs memory in every reader.
pub(super) const DICTIONARY_BYTES: usize = 64 * 1024;
/// The stored form of an item without a dictionary.
pub(super) const RAW: i64 = 0;

/// The writer's side: the current dictionary, ready to compress with.
#[derive(Debug)]
pub(super) struct Compressor {
    current: Option<(i64, CDictHolder)>,
    ctx: CCtxHolder,
}

/// zstd's contexts do not implement `Debug`.
struct CDictHolder(CDict<'static>);
struct CCtxHolder(CCtx<'static>);

impl std::fmt::Debug for CDictHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CDict")
    }
}

impl std::fmt::Debug for CCtxHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CCtx")
    }
}

impl Compressor {
    /// Uses the newest dictionary stored, if any.
    pub(super) fn load(conn: &Connection) -> Result<Compressor, Error> {
        let newest: Option<(i64, Vec<u8>)> = conn
            .query_row(
                "SELECT id, bytes FROM dictionaries ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let mut compressor = Compressor {
            current: None,
            ctx: CCtxHolder(CCtx::create()),
        };
        if let Some((id, bytes)) = newest {
            compressor.use_dictionary(id, &bytes);
        }
        Ok(compressor)
    }

    pub(super) fn use_dictionary(&mut self, id: i64, bytes: &[u8]) {
        self.current = Some((id, CDictHolder(CDict::create(bytes, LEVEL))));
    }

    pub(super) fn has_dictionary(&self) -> bool {
        self.current.is_some()
    }

    pub(super) fn current_id(&self) -> Option<i64> {
        self.current.as_ref().map(|(id, _)| *id)
    }

    /// The stored form of `text`: the dictionary it was compressed with and the bytes.
    pub(super) fn compress(&mut self, text: &[u8]) -> (i64, Vec<u8>) {
        let Some((id, dict)) = &self.current else {
            return (RAW, text.to_vec());
        };
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(text.len()));
        match self.ctx.0.compress_using_cdict(&mut out, text, &dict.0) {
            // Something that does not shrink is kept as it is: cheaper to read.
            Ok(_) if out.len() < text.len() => (*id, out),
            _ => (RAW, text.to_vec()),
        }
    }
}

/// Trains a dictionary from sample items; `None` when the samples are too few or too
/// alike for zstd to make one (the writer then tries again later, with more).
pub(super) fn train(samples: &[Vec<u8>]) -> Option<Vec<u8>> {
    match zstd::dict::from_samples(samples, DICTIONARY_BYTES) {
        Ok(dict) if !dict.is_empty() => Some(dict),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, samples = samples.len(), "no dictionary from these samples yet");
            None
        }
    }
}

/// The readers' side: every dictionary loaded once, shared by all reader threads.
#[derive(Debug, Default)]
pub(super) struct Dictionaries {
    loaded: Mutex<HashMap<i64, Arc<DDictHolder>>>,
}

pub(super) struct DDictHolder(DDict<'static>);

impl std::fmt::Debug for DDictHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DDict")
    }
}

impl Dictionaries {
    fn get(&self, conn: &Connection, id: i64) -> Result<Arc<DDictHolder>, Error> {
        if let Some(dict) = self
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(Arc::clone(dict));
        }
        let bytes: Vec<u8> = conn
            .prepare_cached("SELECT bytes FROM dictionaries WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| {
                Error::Corrupt(format!("an item needs dictionary {id}, which is gone"))
            })?;
        let dict = Arc::new(DDictHolder(DDict::create(&bytes)));
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::clone(&dict));
        Ok(dict)
    }

    /// Forgets dictionaries retention deleted.
    pub(super) fn retain(&self, keep: impl Fn(i64) -> bool) {
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, _| keep(*id));
    }
}

/// One reader's decompression context; decompresses items into a page's buffer.
pub(super) struct Decompressor {
    ctx: DCtx<'static>,
    dictionaries: Arc<Dictionaries>,
    /// The last dictionary used: consecutive items almost always share one.
    last: Option<(i64, Arc<DDictHolder>)>,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor").finish_non_exhaustive()
    }
}

impl Decompressor {
    pub(super) fn new(dictionaries: Arc<Dictionaries>) -> Self {
        Decompressor {
            ctx: DCtx::create(),
            dictionaries,
            last: None,
        }
    }

    /// Appends the text of a stored item to `out`.
    pub(super) fn decompress_into(
        &mut self,
        conn: &Connection,
        dict: i64,
        stored: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if dict == RAW {
            out.extend_from_slice(stored);
            return Ok(());
        }
        let ddict = match &self.last {
            Some((id, d)) if *id == dict => Arc::clone(d),
            _ => {
                let d = self.dictionaries.get(conn, dict)?;
                self.last = Some((dict, Arc::clone(&d)));
                d
            }
        };
        let size = zstd::zstd_safe::get_frame_content_size(stored)
            .ok()
            .flatten()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| Error::Corrupt("a stored item has no readable size".into()))?;
        // Zeroing the room first costs little next to decompressing into it.
        let start = out.len();
        out.resize(start + size, 0);
        let written = self
            .ctx
            .decompress_using_ddict(&mut out[start..], stored, &ddict.0)
            .map_err(|code| {
                Error::Corrupt(format!(
                    "a stored item does not decompress: {}",
                    zstd::zstd_safe::get_error_name(code)
                ))
            })?;
        if written != size {
            return Err(Error::Corrupt(
                "a stored item is shorter than it says".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Vec<u8>> {
        (0..2000)
            .map(|n| {
                format!(
                    r#","ts":"2026-01-01T10:00:{:02}","type":"webshop:pageview","data":{{"page":"addtickets","params":{{"event":"{}","flow":"basketwithcheckout"}},"orderid":null,"ref":"shopper-{}"}}}}"#,
                    n % 60,
                    10_000 + n % 7,
                    n * 7919 % 1000
                )
                .into_bytes()
            })
            .collect()
    }

    #[test]
    fn items_round_trip_and_shrink_with_a_trained_dictionary() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE dictionaries (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)",
        )
        .unwrap();
        let mut compressor = Compressor::load(&conn).unwrap();
        let item = samples()[5].clone();
        // Without a dictionary an item is kept as it is.
        assert_eq!(compressor.compress(&item), (RAW, item.clone()));

        let dict = train(&samples()).unwrap();
        conn.execute(
            "INSERT INTO dictionaries (id, bytes) VALUES (1, ?1)",
            [&dict],
        )
        .unwrap();
        let mut compressor = Compressor::load(&conn).unwrap();
        let (id, stored) = compressor.compress(&item);
        assert_eq!(id, 1);
        assert!(
            stored.len() * 3 < item.len(),
            "{} of {}",
            stored.len(),
            item.len()
        );

        let mut out = b"head".to_vec();
        let mut reader = Decompressor::new(Arc::default());
        reader
            .decompress_into(&conn, id, &stored, &mut out)
            .unwrap();
        assert_eq!(&out[4..], &item[..]);
        assert!(reader.decompress_into(&conn, 2, &stored, &mut out).is_err());
        assert!(reader.decompress_into(&conn, 1, b"junk", &mut out).is_err());
    }

    #[test]
    fn too_few_samples_make_no_dictionary() {
        assert_eq!(train(&[b"a".to_vec(), b"b".to_vec()]), None);
    }
}
