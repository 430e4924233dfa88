use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex as StdMutex;

use proptest::prelude::*;

use super::*;

fn opts(write_buffer_size: usize, max_file_size: u64) -> ChunkDiskMapperOptions {
    ChunkDiskMapperOptions {
        write_buffer_size,
        max_file_size,
    }
}

/// Deterministic pseudo-random chunk bytes for `key` (xorshift), so content can be checked
/// anywhere from the key alone.
fn payload(key: u64, len: usize) -> Vec<u8> {
    let mut x = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A chunk as the test wrote it.
#[derive(Debug, Clone, PartialEq)]
struct Written {
    chunk: ChunkDiskRef,
    series: u64,
    mint: i64,
    maxt: i64,
    data: Vec<u8>,
}

impl Written {
    /// The meta the format says iteration must report: the sample count is the data's first
    /// two bytes, big endian.
    fn meta(&self) -> HeadChunkMeta {
        HeadChunkMeta {
            series: SeriesRef(self.series),
            chunk: self.chunk,
            mint: self.mint,
            maxt: self.maxt,
            num_samples: u16::from_be_bytes([self.data[0], self.data[1]]),
            encoding: Encoding::Xor,
            out_of_order: false,
        }
    }

    /// Bytes of the record in the file: 25 fixed, the uvarint length, data, 4 CRC.
    fn end(&self) -> u64 {
        let varint = if self.data.len() < 128 { 1 } else { 2 };
        u64::from(self.chunk.offset()) + 25 + varint + self.data.len() as u64 + 4
    }
}

/// Writes chunk number `i`: series, times and content all derived from `i`.
fn write(m: &ChunkDiskMapper, i: u64, len: usize) -> Written {
    let (series, mint, maxt) = (i % 7 + 1, i as i64 * 1000 - 5000, i as i64 * 1000 + 999);
    let data = payload(i, len);
    let chunk = m
        .write_chunk(SeriesRef(series), mint, maxt, Encoding::Xor, &data)
        .unwrap();
    Written {
        chunk,
        series,
        mint,
        maxt,
        data,
    }
}

fn metas(m: &ChunkDiskMapper) -> Vec<HeadChunkMeta> {
    let mut out = Vec::new();
    m.iterate_all_chunks(|meta| {
        out.push(meta);
        Ok(())
    })
    .unwrap();
    out
}

fn assert_reads(m: &ChunkDiskMapper, written: &[Written]) {
    for w in written {
        let c = m
            .chunk(w.chunk)
            .unwrap_or_else(|e| panic!("{}: {e}", w.chunk));
        assert_eq!(c.data(), &w.data[..], "chunk {}", w.chunk);
        assert_eq!(c.encoding(), Encoding::Xor);
    }
}

/// `(name, length)` of the regular files in `dir`, sorted.
fn files(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.metadata().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    v.sort();
    v
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (name, _) in files(from) {
        std::fs::copy(from.join(&name), to.join(&name)).unwrap();
    }
}

#[test]
fn mapper_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ChunkDiskMapper>();
    check::<MappedChunk>();
}

#[test]
fn ref_packs_sequence_and_offset() {
    let r = ChunkDiskRef::new(3, 0x10);
    assert_eq!(r.0, 0x0000_0003_0000_0010);
    assert_eq!((r.seq(), r.offset()), (3, 0x10));
    assert_eq!(r.to_string(), "000003:16");
    assert!(ChunkDiskRef::new(1, u32::MAX) < ChunkDiskRef::new(2, 8));
}

/// The bytes of a file with two chunks, derived from head_chunks.md by hand.
#[test]
fn file_bytes_match_the_documented_format() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), ChunkDiskMapperOptions::default()).unwrap();
    let r1 = m
        .write_chunk(SeriesRef(1), 1000, 2000, Encoding::Xor, &[0x00, 0x02, 0xAB])
        .unwrap();
    let r2 = m
        .write_chunk(
            SeriesRef(0x1_0000_0000),
            -2,
            -1,
            Encoding::Histogram,
            &[0, 1],
        )
        .unwrap();
    m.close().unwrap();

    // File header: magic 0x0130BC91, version 1, 3 bytes padding. First record at 8 in 000001.
    let mut want = vec![0x01, 0x30, 0xBC, 0x91, 0x01, 0, 0, 0];
    let rec1 = [
        &[0, 0, 0, 0, 0, 0, 0, 1][..],   // series ref 1
        &[0, 0, 0, 0, 0, 0, 0x03, 0xE8], // mint 1000
        &[0, 0, 0, 0, 0, 0, 0x07, 0xD0], // maxt 2000
        &[1],                            // encoding XOR
        &[3],                            // uvarint len 3
        &[0x00, 0x02, 0xAB],             // data
    ]
    .concat();
    want.extend(&rec1);
    want.extend(crc32c::crc32c(&rec1).to_be_bytes()); // CRC over the whole record before it
                                                      // Second record: 8 + 25 + 1 + 3 + 4 = 41.
    let rec2 = [
        &[0, 0, 0, 1, 0, 0, 0, 0][..],
        &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE], // -2, two's complement
        &[0xFF; 8],                                        // -1
        &[2],                                              // histogram encoding
        &[2],
        &[0, 1],
    ]
    .concat();
    want.extend(&rec2);
    want.extend(crc32c::crc32c(&rec2).to_be_bytes());

    assert_eq!(std::fs::read(dir.path().join("000001")).unwrap(), want);
    assert_eq!(r1, ChunkDiskRef((1 << 32) | 8));
    assert_eq!(r2, ChunkDiskRef((1 << 32) | 41));
    // Second record: 25 + 1 + 2 + 4 = 32 bytes, so the file is 73 bytes.
    assert_eq!(want.len(), 73);
}

#[test]
fn round_trip_across_many_files() {
    let dir = tempfile::tempdir().unwrap();
    let max = 4096;
    let m = ChunkDiskMapper::open(dir.path(), opts(1024, max)).unwrap();
    assert_eq!(metas(&m), vec![]);
    let mut written = Vec::new();
    for i in 0..3000u64 {
        let w = write(&m, i, 2 + (i as usize * 37) % 300);
        // Readable at once, whether still buffered or already written out.
        assert_eq!(m.chunk(w.chunk).unwrap().data(), &w.data[..]);
        written.push(w);
    }
    assert_reads(&m, &written);
    m.close().unwrap();

    // Contiguous `%06d` names, none over the limit, and sizes add up to size_bytes.
    let on_disk = files(dir.path());
    assert!(on_disk.len() > 100, "{} files", on_disk.len());
    for (i, (name, len)) in on_disk.iter().enumerate() {
        assert_eq!(name, &format!("{:06}", i + 1));
        assert!(*len <= max);
    }
    // Refs ascend and each record starts where the previous one ended, or at 8 in the next file.
    for pair in written.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.chunk.seq() == b.chunk.seq() {
            assert_eq!(u64::from(b.chunk.offset()), a.end());
        } else {
            assert_eq!((b.chunk.seq(), b.chunk.offset()), (a.chunk.seq() + 1, 8));
            assert!(a.end() + (b.end() - 8) > max, "cut although the record fit");
        }
    }

    let m = ChunkDiskMapper::open(dir.path(), opts(1024, max)).unwrap();
    let total: u64 = on_disk.iter().map(|f| f.1).sum();
    assert_eq!(m.size_bytes(), total);
    let want: Vec<_> = written.iter().map(Written::meta).collect();
    assert_eq!(metas(&m), want);
    assert_reads(&m, &written);
    // A second iteration sees the same.
    assert_eq!(metas(&m), want);
    // Existing files are not appended to: the next chunk starts a new file.
    let next = write(&m, 5000, 50);
    assert_eq!(
        (next.chunk.seq() as usize, next.chunk.offset()),
        (on_disk.len() + 1, 8)
    );
    assert_eq!(m.size_bytes(), total + next.end());
}

#[test]
fn chunks_in_the_write_buffer_are_served_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), opts(1 << 20, MAX_FILE_SIZE)).unwrap();
    let written: Vec<_> = (0..10).map(|i| write(&m, i, 100)).collect();
    // Nothing is on disk yet: the file exists but is empty.
    assert_eq!(files(dir.path()), vec![("000001".into(), 0)]);
    let early = m.chunk(written[3].chunk).unwrap();
    assert!(matches!(early.bytes, ChunkBytes::Copied(_)));
    assert_reads(&m, &written);
    assert_eq!(m.size_bytes(), written[9].end());

    m.flush().unwrap();
    assert_eq!(files(dir.path()), vec![("000001".into(), written[9].end())]);
    let late = m.chunk(written[3].chunk).unwrap();
    assert!(matches!(late.bytes, ChunkBytes::Mapped { .. }));
    assert_eq!(early.data(), late.data());
    assert_reads(&m, &written);

    // Past the end of what was written: an error, not a panic.
    let beyond = ChunkDiskRef::new(1, written[9].end() as u32);
    assert!(matches!(
        m.chunk(beyond),
        Err(ChunksHeadError::BeyondEnd { .. })
    ));
    let more = write(&m, 10, 100);
    assert!(matches!(
        m.chunk(more.chunk).unwrap().bytes,
        ChunkBytes::Copied(_)
    ));
}

#[test]
fn a_chunk_larger_than_the_write_buffer_is_written_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), opts(64, 1 << 20)).unwrap();
    let small = write(&m, 1, 10);
    let big = write(&m, 2, 1000);
    assert_eq!(files(dir.path()), vec![("000001".into(), big.end())]);
    assert_reads(&m, &[small, big]);
}

#[test]
fn concurrent_writers_and_readers_see_exact_contents() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), opts(4096, 64 * 1024)).unwrap();
    let published: StdMutex<Vec<(ChunkDiskRef, u64, usize)>> = StdMutex::new(Vec::new());
    let done = AtomicBool::new(false);
    const WRITERS: u64 = 4;
    const PER_WRITER: u64 = 2500;
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|t| {
                let (m, published) = (&m, &published);
                s.spawn(move || {
                    for i in 0..PER_WRITER {
                        let key = t * 1_000_000 + i;
                        let len = 2 + (key as usize * 31) % 200;
                        let r = m
                            .write_chunk(
                                SeriesRef(t + 1),
                                i as i64,
                                i as i64,
                                Encoding::Xor,
                                &payload(key, len),
                            )
                            .unwrap();
                        published.lock().unwrap().push((r, key, len));
                    }
                })
            })
            .collect();
        for reader in 0..3u64 {
            let (m, published, done) = (&m, &published, &done);
            s.spawn(move || {
                let mut x = reader + 1;
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) || reads < 1000 {
                    let pick = {
                        let p = published.lock().unwrap();
                        if p.is_empty() {
                            continue;
                        }
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        // Favour recent chunks, the ones racing with flushes.
                        let back = ((x >> 33) as usize % 64).min(p.len() - 1);
                        let i = if x & 1 == 0 {
                            p.len() - 1 - back
                        } else {
                            (x >> 20) as usize % p.len()
                        };
                        p[i]
                    };
                    let c = m.chunk(pick.0).unwrap();
                    assert_eq!(c.data(), &payload(pick.1, pick.2)[..], "{}", pick.0);
                    reads += 1;
                }
            });
        }
        let (m, done) = (&m, &done);
        s.spawn(move || {
            for i in 0.. {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                if i % 10 == 0 {
                    m.cut_new_file().unwrap()
                } else {
                    m.flush().unwrap()
                }
                std::thread::yield_now();
            }
        });
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });

    let published = published.into_inner().unwrap();
    assert_eq!(published.len() as u64, WRITERS * PER_WRITER);
    let mut refs: Vec<_> = published.iter().map(|p| p.0).collect();
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), published.len(), "a ref was handed out twice");
    for &(r, key, len) in &published {
        assert_eq!(m.chunk(r).unwrap().data(), &payload(key, len)[..]);
    }
    m.close().unwrap();

    let m = ChunkDiskMapper::open(dir.path(), opts(4096, 64 * 1024)).unwrap();
    let by_ref: HashMap<_, _> = published.iter().map(|&(r, k, l)| (r, (k, l))).collect();
    let found = metas(&m);
    assert_eq!(found.len(), published.len());
    for meta in found {
        let (key, len) = by_ref[&meta.chunk];
        assert_eq!(meta.series.0, key / 1_000_000 + 1);
        assert_eq!(m.chunk(meta.chunk).unwrap().data(), &payload(key, len)[..]);
    }
}

#[test]
fn reopen_after_drop_without_close_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let written: Vec<_> = {
        let m = ChunkDiskMapper::open(dir.path(), opts(1 << 20, 4096)).unwrap();
        (0..200).map(|i| write(&m, i, 60)).collect()
    };
    let m = ChunkDiskMapper::open(dir.path(), opts(1 << 20, 4096)).unwrap();
    assert_eq!(
        metas(&m),
        written.iter().map(Written::meta).collect::<Vec<_>>()
    );
    assert_reads(&m, &written);
}

/// A crash: the buffered chunks are lost, the written ones survive, writing carries on.
#[test]
fn reopen_after_a_crash_keeps_what_was_written_out() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), opts(1 << 20, MAX_FILE_SIZE)).unwrap();
    let flushed: Vec<_> = (0..50).map(|i| write(&m, i, 80)).collect();
    m.flush().unwrap();
    let _lost: Vec<_> = (50..60).map(|i| write(&m, i, 80)).collect();
    std::mem::forget(m); // no Drop, no flush: as if the process died

    let m = ChunkDiskMapper::open(dir.path(), opts(1 << 20, MAX_FILE_SIZE)).unwrap();
    assert_eq!(
        metas(&m),
        flushed.iter().map(Written::meta).collect::<Vec<_>>()
    );
    let next = write(&m, 100, 80);
    assert_eq!(next.chunk, ChunkDiskRef::new(2, 8));
    assert_reads(&m, &flushed);
    assert_reads(&m, &[next]);
}

/// Copies the directory while a writer is busy, as a backup or a crash would catch it: the
/// copy must open, keep every chunk written out before the copy began, and hold nothing but
/// correct chunks, each file a prefix of what was written to it.
#[test]
fn a_copy_taken_while_writing_opens_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), opts(700, 8192)).unwrap();
    let written: StdMutex<Vec<Written>> = StdMutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let copies: Vec<(tempfile::TempDir, usize)> = std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let w = write(&m, i, 20 + (i as usize * 13) % 150);
                written.lock().unwrap().push(w);
                i += 1;
            }
        });
        let mut copies = Vec::new();
        for _ in 0..20 {
            while written.lock().unwrap().len() < 300 + copies.len() * 200 {
                std::thread::yield_now();
            }
            m.flush().unwrap();
            let durable = written.lock().unwrap().len();
            let copy = tempfile::tempdir().unwrap();
            copy_dir(dir.path(), copy.path());
            copies.push((copy, durable));
        }
        stop.store(true, Ordering::Relaxed);
        copies
    });

    let written = written.into_inner().unwrap();
    let by_ref: HashMap<_, _> = written.iter().map(|w| (w.chunk, w)).collect();
    for (copy, durable) in copies {
        let m = ChunkDiskMapper::open(copy.path(), opts(700, 8192)).unwrap();
        let found = metas(&m);
        assert!(found.len() >= durable, "{} < {durable}", found.len());
        // Exactly the first chunks written, in order, each with its content.
        for (meta, w) in found.iter().zip(&written) {
            assert_eq!(*meta, w.meta());
            assert_eq!(
                m.chunk(meta.chunk).unwrap().data(),
                &by_ref[&meta.chunk].data[..]
            );
        }
        write(&m, 1 << 40, 64);
    }
}

/// A pristine set of files: (directory, chunks written, file sizes).
fn pristine() -> (tempfile::TempDir, Vec<Written>) {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), opts(512, 1024)).unwrap();
    let written: Vec<_> = (0..40)
        .map(|i| write(&m, i, 20 + (i as usize * 7) % 60))
        .collect();
    m.close().unwrap();
    assert!(files(dir.path()).len() >= 3);
    (dir, written)
}

/// Opens a damaged directory and checks the outcome: exactly the chunks `keep` are found and
/// exactly the files `want_files` (`(seq, length)`) remain. Then the mapper must accept new
/// chunks, in the file after the last one kept, and find them after reopening.
fn check_repair(dir: &Path, keep: &[Written], want_files: &[(u32, u64)], context: &str) {
    let m = ChunkDiskMapper::open(dir, opts(512, 1024)).unwrap();
    let found = metas(&m);
    let want: Vec<_> = keep.iter().map(Written::meta).collect();
    assert_eq!(found, want, "{context}");
    assert_reads(&m, keep);

    let on_disk: Vec<_> = files(dir)
        .into_iter()
        .filter(|(n, _)| n.len() == 6)
        .filter_map(|(n, l)| Some((n.parse::<u32>().ok()?, l)))
        .collect();
    assert_eq!(on_disk, want_files, "{context}");
    let next_seq = want_files.last().map_or(1, |f| f.0 + 1);
    let new = write(&m, 999, 40);
    assert_eq!(new.chunk, ChunkDiskRef::new(next_seq, 8), "{context}");
    m.close().unwrap();

    let m = ChunkDiskMapper::open(dir, opts(512, 1024)).unwrap();
    let mut want = want;
    want.push(new.meta());
    assert_eq!(metas(&m), want, "{context}: after writing");
}

/// What opening must make of the pristine files when file `seq` is replaced by `damaged`,
/// whose bytes from `first_bad` on are missing or wrong. From the format alone: a file
/// without a whole, valid header is dropped; otherwise the records ending before `first_bad`
/// are good; if only zeros follow them the file looks complete (there is no footer) and is
/// left as is, else it is cut back to its last good record. Damage drops all later files.
/// Returns the chunks kept and the files that must remain.
fn expected_after_damage(
    pristine_files: &[(String, u64)],
    written: &[Written],
    seq: u32,
    damaged: &[u8],
    first_bad: u64,
) -> (Vec<Written>, Vec<(u32, u64)>) {
    let header_ok = damaged.len() >= 8 && first_bad >= 5;
    let in_file: Vec<_> = written
        .iter()
        .filter(|w| w.chunk.seq() == seq && w.end() <= first_bad)
        .collect();
    let good_end = in_file.last().map_or(8, |w| w.end());
    let complete = header_ok && damaged[good_end as usize..].iter().all(|&b| b == 0);
    let keep = written
        .iter()
        .filter(|w| {
            w.chunk.seq() < seq
                || (header_ok && w.chunk.seq() == seq && w.end() <= first_bad)
                || (complete && w.chunk.seq() > seq)
        })
        .cloned()
        .collect();
    let mut remaining = Vec::new();
    for (name, len) in pristine_files {
        let s: u32 = name.parse().unwrap();
        if s < seq || (complete && s > seq) {
            remaining.push((s, *len));
        } else if s == seq && header_ok {
            remaining.push((
                s,
                if complete {
                    damaged.len() as u64
                } else {
                    good_end
                },
            ));
        }
    }
    (keep, remaining)
}

#[test]
fn truncation_at_every_offset_keeps_the_chunks_before_it() {
    let (src, written) = pristine();
    let pristine_files = files(src.path());
    for (name, len) in &pristine_files {
        let seq: u32 = name.parse().unwrap();
        let original = std::fs::read(src.path().join(name)).unwrap();
        for cut in 0..*len {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(src.path(), dir.path());
            let damaged = &original[..cut as usize];
            std::fs::write(dir.path().join(name), damaged).unwrap();
            let (keep, want_files) =
                expected_after_damage(&pristine_files, &written, seq, damaged, cut);
            check_repair(
                dir.path(),
                &keep,
                &want_files,
                &format!("{name} cut at {cut}"),
            );
        }
    }
}

#[test]
fn a_flipped_byte_anywhere_drops_its_record_and_everything_after() {
    let (src, written) = pristine();
    let pristine_files = files(src.path());
    let all: Vec<_> = pristine_files
        .iter()
        .map(|(n, l)| (n.parse().unwrap(), *l))
        .collect();
    for (name, len) in &pristine_files {
        let seq: u32 = name.parse().unwrap();
        let original = std::fs::read(src.path().join(name)).unwrap();
        for at in 0..*len as usize {
            let flip = [0xFFu8, 0x01, 0x80, 0x10][at % 4];
            let dir = tempfile::tempdir().unwrap();
            copy_dir(src.path(), dir.path());
            let mut damaged = original.clone();
            damaged[at] ^= flip;
            std::fs::write(dir.path().join(name), &damaged).unwrap();
            let context = format!("{name} byte {at} ^ {flip:#x}");
            if (5..8).contains(&at) {
                // The header padding is not checked (nor by Prometheus): nothing is lost.
                check_repair(dir.path(), &written, &all, &context);
                continue;
            }
            let (keep, want_files) =
                expected_after_damage(&pristine_files, &written, seq, &damaged, at as u64);
            check_repair(dir.path(), &keep, &want_files, &context);
        }
    }
}

/// Prometheus preallocates files with zeros and leaves the padding: it is not damage, and the
/// file is left alone. Non-zero bytes in it are damage from there on.
#[test]
fn zero_padding_after_the_last_record_is_not_damage() {
    let (src, written) = pristine();
    let last = files(src.path()).pop().unwrap();
    let path = src.path().join(&last.0);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.resize(bytes.len() + 128 * 1024, 0);
    std::fs::write(&path, &bytes).unwrap();
    let mut want_files: Vec<(u32, u64)> = files(src.path())
        .iter()
        .map(|(n, l)| (n.parse().unwrap(), *l))
        .collect();
    assert_eq!(want_files.last().unwrap().1, bytes.len() as u64);
    check_repair(src.path(), &written, &want_files, "padded");

    // Junk in the padding: the file is cut back to its last record.
    let (src, written) = pristine();
    let path = src.path().join(&last.0);
    let mut bytes = std::fs::read(&path).unwrap();
    let end = bytes.len();
    bytes.resize(end + 1000, 0);
    bytes[end + 600] = 7;
    std::fs::write(&path, &bytes).unwrap();
    want_files.last_mut().unwrap().1 = end as u64;
    check_repair(src.path(), &written, &want_files, "junk in padding");
}

#[test]
fn a_gap_in_the_numbering_drops_the_files_after_it() {
    let (src, written) = pristine();
    let names = files(src.path());
    assert!(names.len() >= 3);
    std::fs::remove_file(src.path().join(&names[1].0)).unwrap();
    let keep: Vec<_> = written
        .iter()
        .filter(|w| w.chunk.seq() == 1)
        .cloned()
        .collect();
    check_repair(src.path(), &keep, &[(1, names[0].1)], "gap");
    assert!(!src.path().join(&names[2].0).exists());
}

#[test]
fn an_empty_last_file_is_removed_and_other_names_are_ignored() {
    let (src, written) = pristine();
    let names = files(src.path());
    let next = format!("{:06}", names.len() + 1);
    std::fs::write(src.path().join(&next), b"").unwrap();
    std::fs::write(src.path().join("notes.txt"), b"hello").unwrap();
    std::fs::write(src.path().join("000003.tmp"), b"junk").unwrap();
    std::fs::create_dir(src.path().join("123")).unwrap();
    std::fs::write(src.path().join("9"), b"junk").unwrap();
    std::fs::write(src.path().join("0000009"), b"junk").unwrap();
    let want_files: Vec<(u32, u64)> = names
        .iter()
        .map(|(n, l)| (n.parse().unwrap(), *l))
        .collect();
    check_repair(src.path(), &written, &want_files, "empty last");
    for other in ["notes.txt", "000003.tmp", "9", "0000009"] {
        assert!(src.path().join(other).exists(), "{other}");
    }
}

#[test]
fn chunks_with_an_unknown_encoding_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), Default::default()).unwrap();
    let a = write(&m, 1, 30);
    // Encoding 0x7F, with the out-of-order bit 0xFF: a valid record Ember cannot decode.
    let mut raw = Vec::new();
    record::encode_record(&mut raw, 5, 0, 1, 0x7F, &[0, 1, 2]);
    let b = write(&m, 2, 30);
    m.close().unwrap();
    // Splice the foreign record between a and b.
    let path = dir.path().join("000001");
    let bytes = std::fs::read(&path).unwrap();
    let at = a.end() as usize;
    let spliced = [&bytes[..at], &raw, &bytes[at..]].concat();
    std::fs::write(&path, spliced).unwrap();

    let m = ChunkDiskMapper::open(dir.path(), Default::default()).unwrap();
    let b_moved = Written {
        chunk: ChunkDiskRef::new(1, b.chunk.offset() + raw.len() as u32),
        ..b
    };
    assert_eq!(metas(&m), vec![a.meta(), b_moved.meta()]);
    let foreign = ChunkDiskRef::new(1, at as u32);
    assert!(matches!(
        m.chunk(foreign),
        Err(ChunksHeadError::Corrupt {
            reason: RecordError::UnknownEncoding(0x7F),
            ..
        })
    ));
}

#[test]
fn out_of_order_bit_is_reported_and_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = record::file_header().to_vec();
    record::encode_record(&mut bytes, 9, 10, 20, 0x80 | 1, &[0, 4, 1]);
    std::fs::write(dir.path().join("000001"), &bytes).unwrap();
    let m = ChunkDiskMapper::open(dir.path(), Default::default()).unwrap();
    let found = metas(&m);
    assert_eq!(
        found,
        vec![HeadChunkMeta {
            series: SeriesRef(9),
            chunk: ChunkDiskRef::new(1, 8),
            mint: 10,
            maxt: 20,
            num_samples: 4,
            encoding: Encoding::Xor,
            out_of_order: true,
        }]
    );
    let c = m.chunk(found[0].chunk).unwrap();
    assert_eq!((c.encoding(), c.data()), (Encoding::Xor, &[0, 4, 1][..]));
}

#[test]
fn invalid_calls_and_bogus_refs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        ChunkDiskMapper::open(dir.path(), opts(0, 1024)),
        Err(ChunksHeadError::InvalidOptions(_))
    ));
    assert!(ChunkDiskMapper::open(dir.path(), opts(1024, (1 << 32) + 1)).is_err());
    let m = ChunkDiskMapper::open(dir.path(), opts(1024, 1024)).unwrap();
    assert!(matches!(
        m.write_chunk(SeriesRef(0), 0, 0, Encoding::Xor, &[0, 0]),
        Err(ChunksHeadError::ZeroSeriesRef)
    ));
    // 8 header + 25 + 2 length + 986 data + 4 CRC = 1025 > 1024.
    assert!(matches!(
        m.write_chunk(SeriesRef(1), 0, 0, Encoding::Xor, &[0; 986]),
        Err(ChunksHeadError::ChunkTooLarge { len: 986, .. })
    ));
    let fits = m
        .write_chunk(SeriesRef(1), 0, 0, Encoding::Xor, &[0; 985])
        .unwrap();
    assert_eq!(fits, ChunkDiskRef::new(1, 8));
    assert!(matches!(
        m.chunk(ChunkDiskRef::new(7, 8)),
        Err(ChunksHeadError::UnknownFile(_))
    ));
    // Mid-record: bad CRC (or a bogus length), reported as corruption.
    m.flush().unwrap();
    assert!(matches!(
        m.chunk(ChunkDiskRef::new(1, 9)),
        Err(ChunksHeadError::Corrupt { .. })
    ));
    m.close().unwrap();
    m.close().unwrap();
    assert!(matches!(m.chunk(fits), Err(ChunksHeadError::Closed)));
    assert!(matches!(
        m.write_chunk(SeriesRef(1), 0, 0, Encoding::Xor, &[0, 0]),
        Err(ChunksHeadError::Closed)
    ));
    assert!(matches!(m.flush(), Err(ChunksHeadError::Closed)));
    assert!(matches!(m.truncate(0), Err(ChunksHeadError::Closed)));
}

#[test]
fn truncate_deletes_the_leading_files_whose_chunks_are_all_older() {
    let dir = tempfile::tempdir().unwrap();
    let m = ChunkDiskMapper::open(dir.path(), Default::default()).unwrap();
    let put = |maxt: i64| {
        m.write_chunk(
            SeriesRef(1),
            maxt - 10,
            maxt,
            Encoding::Xor,
            &[0, 1, maxt as u8],
        )
        .unwrap()
    };
    // File 1: maxt 5, 10. File 2: 30, 15. File 3: 100. File 4 (being written): 12.
    let f1 = [put(5), put(10)];
    m.cut_new_file().unwrap();
    let f2 = [put(30), put(15)];
    m.cut_new_file().unwrap();
    m.cut_new_file().unwrap(); // nothing written since: no empty file
    put(100);
    m.cut_new_file().unwrap();
    let f4 = put(12);
    let names = |d: &Path| files(d).into_iter().map(|f| f.0).collect::<Vec<_>>();
    assert_eq!(names(dir.path()), ["000001", "000002", "000003", "000004"]);
    let held = m.chunk(f1[0]).unwrap();

    m.truncate(10).unwrap(); // file 1 holds maxt 10: stays
    assert_eq!(names(dir.path()).len(), 4);
    m.truncate(11).unwrap();
    assert_eq!(names(dir.path()), ["000002", "000003", "000004"]);
    assert!(matches!(
        m.chunk(f1[1]),
        Err(ChunksHeadError::UnknownFile(_))
    ));
    assert_eq!(held.data(), &[0, 1, 5]); // still mapped, though deleted
    assert_eq!(m.chunk(f2[1]).unwrap().data(), &[0, 1, 15]);
    // File 4 was finished by the truncation: the next chunk goes to file 5.
    let f5 = put(1000);
    assert_eq!(f5.seq(), 5);

    m.truncate(31).unwrap(); // file 3 (100) stops it; file 4 (12) must wait behind it
    assert_eq!(names(dir.path()), ["000003", "000004", "000005"]);
    assert_eq!(m.chunk(f4).unwrap().data(), &[0, 1, 12]);
    m.truncate(1001).unwrap(); // everything, the current file included
    assert_eq!(names(dir.path()), Vec::<String>::new());
    assert_eq!(m.size_bytes(), 0);
    assert_eq!(put(2000).seq(), 6);
    m.close().unwrap();

    // After reopening, the maxt of existing files comes from the scan.
    let m = ChunkDiskMapper::open(dir.path(), Default::default()).unwrap();
    m.truncate(1999).unwrap();
    assert_eq!(names(dir.path()), ["000006"]);
    m.truncate(2001).unwrap();
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Against a brute-force model: whatever the files' maxts, truncate(mint) leaves exactly
    /// the files from the first one holding a chunk with maxt >= mint onwards.
    #[test]
    fn truncate_matches_a_brute_force_model(
        file_maxts in prop::collection::vec(prop::collection::vec(0i64..100, 1..4), 1..8),
        mints in prop::collection::vec(0i64..110, 1..4),
        reopen in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut m = ChunkDiskMapper::open(dir.path(), Default::default()).unwrap();
        for maxts in &file_maxts {
            for &t in maxts {
                m.write_chunk(SeriesRef(1), 0, t, Encoding::Xor, &[0, 1]).unwrap();
            }
            m.cut_new_file().unwrap();
        }
        if reopen {
            m.close().unwrap();
            m = ChunkDiskMapper::open(dir.path(), Default::default()).unwrap();
        }
        let mut model: Vec<(String, i64)> = file_maxts
            .iter()
            .enumerate()
            .map(|(i, ts)| (format!("{:06}", i + 1), *ts.iter().max().unwrap()))
            .collect();
        for &mint in &mints {
            m.truncate(mint).unwrap();
            while model.first().is_some_and(|f| f.1 < mint) {
                model.remove(0);
            }
            let on_disk = files(dir.path());
            let names: Vec<_> = on_disk.iter().map(|f| f.0.clone()).collect();
            let want: Vec<_> = model.iter().map(|f| f.0.clone()).collect();
            prop_assert_eq!(names, want);
            prop_assert_eq!(m.size_bytes(), on_disk.iter().map(|f| f.1).sum::<u64>());
        }
    }

    /// Random writes, flushes, cuts and reopenings: every chunk reads back as written, and a
    /// reopened mapper iterates exactly the chunks written so far.
    #[test]
    fn random_operations_round_trip(
        ops in prop::collection::vec((0u8..10, 2usize..400), 1..120),
        buffer in 40usize..2000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let o = opts(buffer, 2048);
        let mut m = ChunkDiskMapper::open(dir.path(), o).unwrap();
        let mut written: Vec<Written> = Vec::new();
        for (i, &(op, len)) in ops.iter().enumerate() {
            match op {
                0 => m.flush().unwrap(),
                1 => m.cut_new_file().unwrap(),
                2 => {
                    if i % 2 == 0 { m.close().unwrap() } else { drop(m) }
                    m = ChunkDiskMapper::open(dir.path(), o).unwrap();
                    let want: Vec<_> = written.iter().map(Written::meta).collect();
                    prop_assert_eq!(metas(&m), want);
                }
                _ => written.push(write(&m, i as u64, len.min(1900))),
            }
            if let Some(w) = written.last() {
                let c = m.chunk(w.chunk).unwrap();
                prop_assert_eq!(c.data(), &w.data[..]);
            }
        }
        assert_reads(&m, &written);
    }

    /// Any ref, however bogus, gives a chunk or an error: never a panic.
    #[test]
    fn arbitrary_refs_never_panic(refs in prop::collection::vec(any::<u64>(), 1..200), offsets in prop::collection::vec(0u32..400, 1..200)) {
        let dir = tempfile::tempdir().unwrap();
        let m = ChunkDiskMapper::open(dir.path(), opts(256, 1024)).unwrap();
        for i in 0..20 {
            write(&m, i, 30);
        }
        for r in refs {
            let _ = m.chunk(ChunkDiskRef(r));
        }
        for off in offsets {
            let _ = m.chunk(ChunkDiskRef::new(1, off));
            let _ = m.chunk(ChunkDiskRef::new(2, off));
        }
    }
}

/// The first 81 chunks of a `chunks_head/000001` written by Prometheus 2.42.0 while scraping
/// itself every 100ms (56 series), cut at a record boundary. The expected values come from
/// an independent Python decoder of the format.
#[test]
fn reads_a_file_written_by_prometheus() {
    const FIXTURE: &[u8] = include_bytes!("testdata/prometheus-2.42-000001");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("000001"), FIXTURE).unwrap();
    let m = ChunkDiskMapper::open(dir.path(), Default::default()).unwrap();
    let found = metas(&m);
    assert_eq!(found.len(), 81);
    assert_eq!(
        found[0],
        HeadChunkMeta {
            series: SeriesRef(1),
            chunk: ChunkDiskRef::new(1, 8),
            mint: 1795410568414,
            maxt: 1795410580015,
            num_samples: 117,
            encoding: Encoding::Xor,
            out_of_order: false,
        }
    );
    assert_eq!((found[1].chunk.offset(), found[1].series.0), (240, 2));
    assert_eq!((found[2].chunk.offset(), found[2].series.0), (774, 3));
    let last = found[80];
    assert_eq!(
        (last.chunk.offset(), last.series.0, last.mint, last.maxt),
        (23837, 25, 1795410580114, 1795410591714)
    );
    assert_eq!(
        found.iter().map(|c| u64::from(c.num_samples)).sum::<u64>(),
        9477
    );
    assert_eq!(found.iter().map(|c| c.series.0).sum::<u64>(), 1921);
    assert!(found
        .iter()
        .all(|c| c.encoding == Encoding::Xor && !c.out_of_order));
    // Data length of the first chunk: uvarint 0xC9 0x01 = 201.
    assert_eq!(m.chunk(found[0].chunk).unwrap().data().len(), 201);
    // Nothing to repair: the file is untouched.
    assert_eq!(std::fs::read(dir.path().join("000001")).unwrap(), FIXTURE);

    // Writing the same chunks in the same order reproduces Prometheus's file byte for byte.
    let out = tempfile::tempdir().unwrap();
    let ember = ChunkDiskMapper::open(out.path(), Default::default()).unwrap();
    for c in &found {
        let data = m.chunk(c.chunk).unwrap();
        let r = ember
            .write_chunk(c.series, c.mint, c.maxt, data.encoding(), data.data())
            .unwrap();
        assert_eq!(r, c.chunk);
    }
    ember.close().unwrap();
    assert_eq!(std::fs::read(out.path().join("000001")).unwrap(), FIXTURE);
}
