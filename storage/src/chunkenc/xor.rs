//! (in progress)
pub struct XorChunk;
pub struct XorIterator;
