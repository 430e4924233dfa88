//! Where the head's full chunks go: the `chunks_head/` files, or memory.
//!
//! A durable head writes full chunks to [`ChunkDiskMapper`] files so that only a 32-byte
//! reference stays in memory. A head without a data directory (tests, the PromQL
//! conformance runner) keeps them in an in-memory slab instead. If a file write fails
//! (disk full), the chunk is kept in the slab and the error logged: the samples are safe in
//! the WAL either way, and the live head does not lose them.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::chunkenc::Encoding;
use crate::chunks_head::{ChunkDiskMapper, ChunkDiskRef, ChunksHeadError, MappedChunk};
use crate::SeriesRef;

/// Marks a [`StoredChunkRef`] as an index into the memory slab rather than a
/// [`ChunkDiskRef`] (whose upper half is a file number, far below 2^31).
const MEMORY_BIT: u64 = 1 << 63;

/// A reference to a full chunk: a `chunks_head/` reference, or a slab index with the top
/// bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct StoredChunkRef(u64);

impl StoredChunkRef {
    pub fn disk(r: ChunkDiskRef) -> StoredChunkRef {
        StoredChunkRef(r.0 & !MEMORY_BIT)
    }

    fn memory(index: usize) -> StoredChunkRef {
        StoredChunkRef(index as u64 | MEMORY_BIT)
    }

    fn location(self) -> Location {
        if self.0 & MEMORY_BIT != 0 {
            Location::Memory((self.0 & !MEMORY_BIT) as usize)
        } else {
            Location::Disk(ChunkDiskRef(self.0))
        }
    }
}

enum Location {
    Disk(ChunkDiskRef),
    Memory(usize),
}

/// The bytes of a full chunk, kept alive for as long as a query iterates them.
#[derive(Clone)]
pub enum ChunkBytes {
    Mapped(MappedChunk),
    Shared(Arc<[u8]>),
}

impl ChunkBytes {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            ChunkBytes::Mapped(m) => m.data(),
            ChunkBytes::Shared(b) => b,
        }
    }
}

impl std::fmt::Debug for ChunkBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChunkBytes({} bytes)", self.as_slice().len())
    }
}

/// Why a stored chunk could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChunkReadError {
    #[error("head chunk {0:#x} is not in memory")]
    MissingInMemory(u64),
    #[error(transparent)]
    Disk(#[from] ChunksHeadError),
}

/// The head's chunk store.
pub(crate) struct ChunkStore {
    disk: Option<ChunkDiskMapper>,
    slab: RwLock<Vec<Arc<[u8]>>>,
}

impl ChunkStore {
    /// Full chunks in memory only.
    pub fn memory() -> ChunkStore {
        ChunkStore {
            disk: None,
            slab: RwLock::new(Vec::new()),
        }
    }

    /// Full chunks in `chunks_head/` files.
    pub fn disk(mapper: ChunkDiskMapper) -> ChunkStore {
        ChunkStore {
            disk: Some(mapper),
            slab: RwLock::new(Vec::new()),
        }
    }

    pub fn mapper(&self) -> Option<&ChunkDiskMapper> {
        self.disk.as_ref()
    }

    /// Stores a full XOR chunk of `series` covering `[min_t, max_t]`.
    pub fn write(&self, series: SeriesRef, min_t: i64, max_t: i64, data: &[u8]) -> StoredChunkRef {
        if let Some(disk) = &self.disk {
            match disk.write_chunk(series, min_t, max_t, Encoding::Xor, data) {
                Ok(r) => return StoredChunkRef::disk(r),
                Err(e) => {
                    tracing::error!(
                        series = series.0,
                        err = %e,
                        "writing a full head chunk to chunks_head failed; keeping it in memory"
                    );
                }
            }
        }
        let mut slab = self.slab.write();
        slab.push(Arc::from(data));
        StoredChunkRef::memory(slab.len() - 1)
    }

    /// The bytes of a stored chunk.
    pub fn read(&self, r: StoredChunkRef) -> Result<ChunkBytes, ChunkReadError> {
        match r.location() {
            Location::Memory(i) => match self.slab.read().get(i) {
                Some(b) => Ok(ChunkBytes::Shared(b.clone())),
                None => Err(ChunkReadError::MissingInMemory(r.0)),
            },
            Location::Disk(d) => match &self.disk {
                Some(disk) => Ok(ChunkBytes::Mapped(disk.chunk(d)?)),
                None => Err(ChunkReadError::MissingInMemory(r.0)),
            },
        }
    }
}
