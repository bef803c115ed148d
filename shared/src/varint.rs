//! bincode 2's `standard()` integer encoding, written straight into a `Vec`.
//!
//! The per-client delta is most of what a server encodes, and bincode's serde
//! path spends about 350 instructions per entity on it (an `io::Write`
//! adapter and a generic call chain per field). These writers produce the
//! same bytes for the few shapes a delta is made of; the tests below and
//! `delta`'s check them byte for byte against bincode, on boundary values
//! and random ones.
//!
//! The format (bincode's specification, "varint encoding", little endian):
//! an unsigned value below 251 is one byte; otherwise a marker byte (251,
//! 252, 253) followed by the value as a `u16`, `u32` or `u64`, whichever is
//! the smallest that holds it. Signed values are zigzag-mapped first
//! (0, -1, 1, -2, … become 0, 1, 2, 3, …). A `u8` is always one raw byte.

const U16_MARKER: u8 = 251;
const U32_MARKER: u8 = 252;
const U64_MARKER: u8 = 253;
const SINGLE_BYTE_MAX: u8 = 250;

/// The most bytes [`SliceWriter::u32`] and [`SliceWriter::i32`] write.
pub(crate) const MAX_U32: usize = 5;
/// The most bytes [`SliceWriter::u16`] and [`SliceWriter::i16`] write.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const MAX_U16: usize = 3;
/// The most bytes [`SliceWriter::len`] writes.
pub(crate) const MAX_LEN: usize = 9;

/// Appends to `out` what `write` writes, which must be at most `max` bytes.
///
/// The writer works on a plain slice, sized beforehand, so each byte is one
/// store and a bounds check rather than a `Vec` push (which re-reads the
/// `Vec`'s length and capacity around every byte it stores).
///
/// # Panics
///
/// If `write` writes more than `max` bytes: a caller's sizing bug.
pub(crate) fn append<R>(
    out: &mut Vec<u8>,
    max: usize,
    write: impl FnOnce(&mut SliceWriter<'_>) -> R,
) -> R {
    let start = out.len();
    out.resize(start + max, 0);
    let mut w = SliceWriter {
        buf: &mut out[start..],
        pos: 0,
    };
    let r = write(&mut w);
    let end = start + w.pos;
    out.truncate(end);
    r
}

/// Writes what `write` writes into `buf` (which must be large enough);
/// returns how many bytes it wrote.
#[inline]
pub(crate) fn write_into(buf: &mut [u8], write: impl FnOnce(&mut SliceWriter<'_>)) -> usize {
    let mut w = SliceWriter { buf, pos: 0 };
    write(&mut w);
    w.pos
}

/// Writes bincode `standard()` values into a slice; see [`append`].
#[derive(Debug)]
pub(crate) struct SliceWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl SliceWriter<'_> {
    #[inline(always)]
    fn bytes<const N: usize>(&mut self, b: [u8; N]) {
        self.slice(&b);
    }

    /// Bytes written so far.
    #[inline(always)]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Forgets what was written after `pos`.
    #[inline(always)]
    pub(crate) fn rewind(&mut self, pos: usize) {
        self.pos = pos.min(self.pos);
    }

    /// Raw bytes, copied as they are (already encoded values).
    #[inline(always)]
    pub(crate) fn slice(&mut self, b: &[u8]) {
        let dst = &mut self.buf[self.pos..self.pos + b.len()];
        if b.len() <= 8 {
            // An update's change is a few bytes: a byte loop beats a call
            // to memcpy.
            for (d, s) in dst.iter_mut().zip(b) {
                *d = *s;
            }
        } else {
            dst.copy_from_slice(b);
        }
        self.pos += b.len();
    }

    /// A `u8`: one raw byte.
    #[inline(always)]
    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes([v]);
    }

    #[cfg_attr(not(test), allow(dead_code))] // bincode's, tested against it
    #[inline(always)]
    pub(crate) fn u16(&mut self, v: u16) {
        if v <= u16::from(SINGLE_BYTE_MAX) {
            self.u8(v as u8);
        } else {
            self.u8(U16_MARKER);
            self.bytes(v.to_le_bytes());
        }
    }

    #[inline(always)]
    pub(crate) fn u32(&mut self, v: u32) {
        if v <= u32::from(SINGLE_BYTE_MAX) {
            self.u8(v as u8);
        } else if let Ok(v) = u16::try_from(v) {
            self.u8(U16_MARKER);
            self.bytes(v.to_le_bytes());
        } else {
            self.u8(U32_MARKER);
            self.bytes(v.to_le_bytes());
        }
    }

    /// A sequence length (a `usize`, encoded as a `u64`).
    #[inline(always)]
    pub(crate) fn len(&mut self, len: usize) {
        let v = len as u64;
        if let Ok(v) = u32::try_from(v) {
            self.u32(v);
        } else {
            self.u8(U64_MARKER);
            self.bytes(v.to_le_bytes());
        }
    }

    /// A `u64` (the same encoding as a length).
    #[inline(always)]
    pub(crate) fn u64(&mut self, v: u64) {
        if let Ok(v) = u32::try_from(v) {
            self.u32(v);
        } else {
            self.u8(U64_MARKER);
            self.bytes(v.to_le_bytes());
        }
    }

    #[cfg_attr(not(test), allow(dead_code))] // bincode's, tested against it
    #[inline(always)]
    pub(crate) fn i16(&mut self, v: i16) {
        self.u16(((v << 1) ^ (v >> 15)) as u16);
    }

    #[cfg_attr(not(test), allow(dead_code))] // bincode's, tested against it
    #[inline(always)]
    pub(crate) fn i32(&mut self, v: i32) {
        self.u32(((v << 1) ^ (v >> 31)) as u32);
    }
}

/// Why a read failed, in the terms of `codec::DecodeError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The bytes end in the middle of a value.
    Truncated,
    /// A varint marker the type cannot take, or a value the caller refuses.
    Malformed,
}

/// Reads bincode `standard()` values from a slice: the inverse of
/// [`SliceWriter`], accepting exactly what bincode accepts (non-minimal
/// varints included) and failing where it fails.
#[derive(Debug)]
pub(crate) struct SliceReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> SliceReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        SliceReader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    #[cfg_attr(not(test), allow(dead_code))] // bincode's, tested against it
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let b = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or(ReadError::Truncated)?;
        self.pos += N;
        Ok(b.try_into().expect("the slice has N bytes"))
    }

    /// A `u8`: one raw byte.
    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, ReadError> {
        Ok(self.bytes::<1>()?[0])
    }

    #[cfg_attr(not(test), allow(dead_code))] // bincode's, tested against it
    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, ReadError> {
        match self.u8()? {
            b @ 0..=SINGLE_BYTE_MAX => Ok(u16::from(b)),
            U16_MARKER => Ok(u16::from_le_bytes(self.bytes()?)),
            _ => Err(ReadError::Malformed),
        }
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, ReadError> {
        match self.u8()? {
            b @ 0..=SINGLE_BYTE_MAX => Ok(u32::from(b)),
            U16_MARKER => Ok(u32::from(u16::from_le_bytes(self.bytes()?))),
            U32_MARKER => Ok(u32::from_le_bytes(self.bytes()?)),
            _ => Err(ReadError::Malformed),
        }
    }

    /// A sequence length (a `u64`, which must fit a `usize`).
    #[inline]
    pub(crate) fn len(&mut self) -> Result<usize, ReadError> {
        usize::try_from(self.u64()?).map_err(|_| ReadError::Malformed)
    }

    /// A `u64`.
    #[inline]
    pub(crate) fn u64(&mut self) -> Result<u64, ReadError> {
        Ok(match self.u8()? {
            b @ 0..=SINGLE_BYTE_MAX => u64::from(b),
            U16_MARKER => u64::from(u16::from_le_bytes(self.bytes()?)),
            U32_MARKER => u64::from(u32::from_le_bytes(self.bytes()?)),
            U64_MARKER => u64::from_le_bytes(self.bytes()?),
            _ => return Err(ReadError::Malformed),
        })
    }

    /// `n` raw bytes.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self.pos.checked_add(n).ok_or(ReadError::Truncated)?;
        let b = self.buf.get(self.pos..end).ok_or(ReadError::Truncated)?;
        self.pos = end;
        Ok(b)
    }

    /// What is left, consumed.
    #[inline]
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let b = &self.buf[self.pos..];
        self.pos = self.buf.len();
        b
    }

    #[cfg_attr(not(test), allow(dead_code))] // bincode's, tested against it
    #[inline]
    pub(crate) fn i16(&mut self) -> Result<i16, ReadError> {
        let n = self.u16()?;
        Ok(((n >> 1) as i16) ^ -((n & 1) as i16))
    }

    #[cfg_attr(not(test), allow(dead_code))] // bincode's, tested against it
    #[inline]
    pub(crate) fn i32(&mut self) -> Result<i32, ReadError> {
        let n = self.u32()?;
        Ok(((n >> 1) as i32) ^ -((n & 1) as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bincode::config::standard;
    use proptest::prelude::*;

    fn bincode_bytes<T: serde::Serialize>(v: T) -> Vec<u8> {
        bincode::serde::encode_to_vec(v, standard()).expect("integers encode")
    }

    fn ours(put: impl FnOnce(&mut SliceWriter<'_>)) -> Vec<u8> {
        // A prefix, to check that `append` appends and keeps it.
        let mut out = vec![0xAA];
        append(&mut out, MAX_LEN, put);
        assert_eq!(out[0], 0xAA);
        out.split_off(1)
    }

    #[test]
    fn boundaries_match_bincode() {
        for v in [0u32, 1, 250, 251, 252, 255, 256, 65_535, 65_536, u32::MAX] {
            assert_eq!(ours(|w| w.u32(v)), bincode_bytes(v), "u32 {v}");
            assert!(ours(|w| w.u32(v)).len() <= MAX_U32);
        }
        for v in [0u16, 250, 251, u16::MAX] {
            assert_eq!(ours(|w| w.u16(v)), bincode_bytes(v), "u16 {v}");
            assert!(ours(|w| w.u16(v)).len() <= MAX_U16);
        }
        for v in [0i32, -1, 1, -125, 125, -126, 126, i32::MIN, i32::MAX] {
            assert_eq!(ours(|w| w.i32(v)), bincode_bytes(v), "i32 {v}");
        }
        for v in [0i16, -1, 1, -126, 126, i16::MIN, i16::MAX] {
            assert_eq!(ours(|w| w.i16(v)), bincode_bytes(v), "i16 {v}");
        }
        for v in [
            0usize,
            250,
            251,
            65_536,
            u32::MAX as usize,
            u32::MAX as usize + 1,
        ] {
            assert_eq!(ours(|w| w.len(v)), bincode_bytes(v), "len {v}");
            assert!(ours(|w| w.len(v)).len() <= MAX_LEN);
        }
    }

    /// What bincode makes of `bytes` as a `T`, in our error terms.
    fn bincode_reads<T: serde::de::DeserializeOwned>(
        bytes: &[u8],
    ) -> Result<(T, usize), ReadError> {
        bincode::serde::decode_from_slice(bytes, standard()).map_err(|e| match e {
            bincode::error::DecodeError::UnexpectedEnd { .. } => ReadError::Truncated,
            _ => ReadError::Malformed,
        })
    }

    fn our_read<T>(
        bytes: &[u8],
        read: impl FnOnce(&mut SliceReader<'_>) -> Result<T, ReadError>,
    ) -> Result<(T, usize), ReadError> {
        let mut r = SliceReader::new(bytes);
        let v = read(&mut r)?;
        Ok((v, r.position()))
    }

    proptest! {
        #[test]
        fn reads_accept_and_refuse_what_bincode_does(
            bytes in proptest::collection::vec(
                prop_oneof![3 => 0u8..=255, 1 => 249u8..=255], 0..10),
        ) {
            prop_assert_eq!(our_read(&bytes, |r| r.u8()), bincode_reads::<u8>(&bytes));
            prop_assert_eq!(our_read(&bytes, |r| r.u16()), bincode_reads::<u16>(&bytes));
            prop_assert_eq!(our_read(&bytes, |r| r.u32()), bincode_reads::<u32>(&bytes));
            prop_assert_eq!(our_read(&bytes, |r| r.i16()), bincode_reads::<i16>(&bytes));
            prop_assert_eq!(our_read(&bytes, |r| r.i32()), bincode_reads::<i32>(&bytes));
            prop_assert_eq!(our_read(&bytes, |r| r.len()), bincode_reads::<usize>(&bytes));
        }

        #[test]
        fn every_integer_matches_bincode(
            // Each width's branches: one byte, 16 bits, the full width.
            a in prop_oneof![0u32..300, 0u32..70_000, any::<u32>()],
            b in prop_oneof![-200i32..200, -40_000i32..40_000, any::<i32>()],
            c in prop_oneof![0u16..300, any::<u16>()],
            d in prop_oneof![-200i16..200, any::<i16>()],
            e in prop_oneof![0u64..70_000, any::<u64>()],
        ) {
            prop_assert_eq!(ours(|w| w.u32(a)), bincode_bytes(a));
            prop_assert_eq!(ours(|w| w.i32(b)), bincode_bytes(b));
            prop_assert_eq!(ours(|w| w.u16(c)), bincode_bytes(c));
            prop_assert_eq!(ours(|w| w.i16(d)), bincode_bytes(d));
            prop_assert_eq!(ours(|w| w.len(e as usize)), bincode_bytes(e as usize));
        }
    }
}
