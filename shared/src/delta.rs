//! Field-wise changes between tables, and the deltas snapshots carry.
//!
//! A *change* is a row's (or the room state's) fields that differ from a
//! baseline: a `u64` mask with one bit per slot, then each masked slot in
//! order, a numeric one as the zigzag varint of its wrapping difference
//! within its width and a string as its length and bytes. Against no
//! baseline (a spawn, a complete snapshot) the baseline is all zeros and
//! empty strings, so a field at its zero costs nothing there either.
//!
//! A *delta* turns one view (a selection of a table's rows) into another:
//! the ids that left, the changes of those that stayed, the kind, owner and
//! change-from-zero of those that arrived; every list by ascending id, each
//! id as the gap from the previous one. `docs/PROTOCOL.md` has the bytes.
//!
//! [`EncodedUpdates`] encodes every entity's change from one tick to the
//! next once; a client that was sent the previous tick gets its updates
//! copied from there, where [`write_delta`] would otherwise compare and
//! encode each entity of each view again.

use crate::ids::EntityId;
use crate::schema::{Layout, Layouts};
use crate::table::{Row, Table};
use crate::varint::{self, ReadError, SliceReader, SliceWriter};
use std::sync::OnceLock;

/// A row's slots and the table their strings are in; `None` for the zero
/// baseline.
type Base<'a> = Option<(&'a [u32], &'a Table)>;

/// The mask of the slots that differ from `old` to `new`.
#[inline]
fn change_mask(layout: &Layout, old: Base<'_>, new: &[u32], nt: &Table) -> u64 {
    let mut mask = 0u64;
    match old {
        Some((old, ot)) if !layout.has_strings => {
            for (i, (a, b)) in old.iter().zip(new).enumerate() {
                mask |= u64::from(a != b) << i;
            }
            let _ = ot;
        }
        _ => {
            for (i, (slot, &v)) in layout.slots.iter().zip(new).enumerate() {
                let changed = match old {
                    Some((old, ot)) if slot.is_str() => ot.string(old[i]) != nt.string(v),
                    Some((old, _)) => old[i] != v,
                    None if slot.is_str() => !nt.string(v).is_empty(),
                    None => v != 0,
                };
                mask |= u64::from(changed) << i;
            }
        }
    }
    mask
}

/// Writes the change from `old` to `new` (at most `layout.max_bytes`):
/// the mask, then each changed slot. Returns the mask (0: only the mask,
/// a zero byte, was written).
#[inline]
pub(crate) fn write_change(
    layout: &Layout,
    old: Base<'_>,
    new: &[u32],
    nt: &Table,
    w: &mut SliceWriter<'_>,
) -> u64 {
    if !layout.has_strings {
        return write_numeric_change(layout, old.map(|(o, _)| o), new, w);
    }
    let mask = change_mask(layout, old, new, nt);
    w.u64(mask);
    let mut m = mask;
    while m != 0 {
        let i = m.trailing_zeros() as usize;
        m &= m - 1;
        let slot = &layout.slots[i];
        if slot.is_str() {
            let s = nt.string(new[i]);
            w.len(s.len());
            w.slice(s.as_bytes());
        } else {
            let was = old.map_or(0, |(o, _)| o[i]);
            w.u32(slot.zigzag_delta(was, new[i]));
        }
    }
    mask
}

/// [`write_change`] for a layout of numbers only (the common case: no
/// string lookups, no per-slot branching on the slot's type).
#[inline]
fn write_numeric_change(
    layout: &Layout,
    old: Option<&[u32]>,
    new: &[u32],
    w: &mut SliceWriter<'_>,
) -> u64 {
    let mut mask = 0u64;
    match old {
        Some(old) => {
            for (i, (a, b)) in old.iter().zip(new).enumerate() {
                mask |= u64::from(a != b) << i;
            }
        }
        None => {
            for (i, v) in new.iter().enumerate() {
                mask |= u64::from(*v != 0) << i;
            }
        }
    }
    w.u64(mask);
    let mut m = mask;
    while m != 0 {
        let i = m.trailing_zeros() as usize;
        m &= m - 1;
        let was = old.map_or(0, |o| o[i]);
        w.u32(layout.slots[i].zigzag_delta(was, new[i]));
    }
    mask
}

/// Reads a change written by [`write_change`] onto `old`, appending the
/// new slots to `out` (strings included). Refuses what `write_change`
/// never writes: a mask bit beyond the layout, a masked slot that does not
/// change, a value out of its field's range, a string too long or not
/// UTF-8, and (with `nonzero`) an empty mask.
#[inline]
pub(crate) fn read_change(
    layout: &Layout,
    old: Base<'_>,
    r: &mut SliceReader<'_>,
    out: &mut Table,
    nonzero: bool,
) -> Result<(), ReadError> {
    use ReadError::Malformed;
    let mask = r.u64()?;
    if mask & !layout.full_mask() != 0 || (nonzero && mask == 0) {
        return Err(Malformed);
    }
    if !layout.has_strings {
        // Numbers only (the common case): start from the old slots (or
        // zeros), then visit the masked ones alone.
        let start = out.values.len();
        match old {
            Some((o, _)) => {
                for &v in &o[..layout.len()] {
                    out.values.push(v);
                }
            }
            None => {
                for _ in 0..layout.len() {
                    out.values.push(0);
                }
            }
        }
        let mut m = mask;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            let slot = &layout.slots[i];
            let z = r.u32()?;
            if z == 0 {
                return Err(Malformed);
            }
            let v = slot
                .apply_zigzag(out.values[start + i], z)
                .ok_or(Malformed)?;
            if !slot.check(v) {
                return Err(Malformed);
            }
            out.values[start + i] = v;
        }
        // From zero, an unmasked field is 0: it must be valid too.
        if old.is_none() {
            let zeros = !mask & layout.full_mask();
            if zeros != 0
                && layout
                    .slots
                    .iter()
                    .enumerate()
                    .any(|(i, s)| zeros >> i & 1 != 0 && !s.check(0))
            {
                return Err(Malformed);
            }
        }
        return Ok(());
    }
    for (i, slot) in layout.slots.iter().enumerate() {
        let changed = mask >> i & 1 != 0;
        if slot.is_str() {
            let old_s = old.map_or("", |(o, t)| t.string(o[i]));
            let s: std::sync::Arc<str> = if changed {
                let len = r.len()?;
                if len as i64 > slot.max {
                    return Err(Malformed);
                }
                let s = std::str::from_utf8(r.take(len)?).map_err(|_| Malformed)?;
                if s == old_s {
                    return Err(Malformed);
                }
                s.into()
            } else if let Some((o, t)) = old {
                t.strings[o[i] as usize].clone()
            } else {
                "".into()
            };
            out.values.push(out.strings.len() as u32);
            out.strings.push(s);
        } else {
            let was = old.map_or(0, |(o, _)| o[i]);
            let v = if changed {
                let z = r.u32()?;
                if z == 0 {
                    return Err(Malformed);
                }
                slot.apply_zigzag(was, z).ok_or(Malformed)?
            } else {
                was
            };
            // Values from a baseline were checked when it was read.
            if (changed || old.is_none()) && !slot.check(v) {
                return Err(Malformed);
            }
            out.values.push(v);
        }
    }
    Ok(())
}

/// Which rows of a table a view holds.
#[derive(Clone, Copy, Debug)]
pub enum Sel<'a> {
    /// Every row.
    All,
    /// The rows at these ascending indices.
    Indices(&'a [u32]),
    /// The same, with the rows' ids beside them (what a client's view
    /// keeps): the merge then reads ids from one contiguous list.
    Ids(&'a [u32], &'a [EntityId]),
}

/// Where an entity's encoded change is; `len` [`ABSENT`]: not in the older
/// table.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    len: u32,
}

const ABSENT: u32 = u32::MAX;

/// Every entity's change from an older table to a newer one, each encoded
/// once (mask and changed slots).
#[derive(Clone, Debug, Default)]
pub struct EncodedUpdates {
    /// By index in the newer table.
    spans: Vec<Span>,
    bytes: Vec<u8>,
}

impl EncodedUpdates {
    /// Encodes the change of every entity of `newer` from its state in
    /// `older`. Linear in both; keeps its allocations.
    pub fn build(&mut self, layouts: &Layouts, older: &Table, newer: &Table) {
        self.spans.clear();
        self.bytes.clear();
        self.spans.reserve(newer.rows.len());
        // One writer for the whole table, sized for every row's longest
        // change, rather than a resize and a truncation per entity.
        let max: usize = newer
            .rows
            .iter()
            .map(|r| {
                layouts
                    .kinds
                    .get(usize::from(r.kind))
                    .map_or(0, |k| k.layout.max_bytes)
            })
            .sum();
        let spans = &mut self.spans;
        varint::append(&mut self.bytes, max, |w| {
            let orows = &older.rows;
            let mut o = 0;
            for row in &newer.rows {
                while o < orows.len() && orows[o].id < row.id {
                    o += 1;
                }
                let start = w.position();
                let len = match orows.get(o) {
                    Some(old) if old.id == row.id && old.kind == row.kind => {
                        o += 1;
                        let layout = &layouts.kinds[usize::from(row.kind)].layout;
                        let n = layout.len();
                        let before = (older.slots(old, n), older);
                        if write_change(layout, Some(before), newer.slots(row, n), newer, w) == 0 {
                            // Unchanged: nothing to copy (the mask byte goes).
                            w.rewind(start);
                        }
                        (w.position() - start) as u32
                    }
                    _ => ABSENT,
                };
                spans.push(Span {
                    start: start as u32,
                    len,
                });
            }
        });
    }

    /// Entities in the newer table.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the newer table is empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// Scratch lists for [`write_delta`], kept between calls.
#[derive(Clone, Debug, Default)]
pub struct DeltaScratch {
    removed: Vec<EntityId>,
    /// Changed entities: id, and where the change is (in the encoded
    /// updates, or in `bytes`).
    updated: Vec<(EntityId, u32, u32, bool)>,
    /// Indices (in the current table) of arrivals.
    spawned: Vec<u32>,
    /// Changes encoded here rather than copied.
    bytes: Vec<u8>,
}

/// Arrivals in one snapshot from which encoding every entity's arrival
/// once, for all the clients of the tick, is cheaper than encoding each
/// (a client that joins, a mass join at a match's start).
const SPAWN_CACHE_MIN: usize = 16;

/// Appends to `out` the delta from the view `base_sel` of `base` to the
/// view `cur_sel` of `cur`. When `updates` holds the changes from `base`
/// to `cur` (built from exactly these two tables), kept entities' changes
/// are copied from it; otherwise they are encoded here. With `spawns`, a
/// snapshot with many arrivals copies them from it, filled (for every
/// entity of `cur`) the first time it is needed.
#[allow(clippy::too_many_arguments)]
pub fn write_delta(
    layouts: &Layouts,
    base: &Table,
    base_sel: Sel<'_>,
    cur: &Table,
    cur_sel: Sel<'_>,
    updates: Option<&EncodedUpdates>,
    spawns: Option<&OnceLock<EncodedSpawns>>,
    scratch: &mut DeltaScratch,
    out: &mut Vec<u8>,
) {
    let s = scratch;
    s.removed.clear();
    s.updated.clear();
    s.spawned.clear();
    s.bytes.clear();
    // One merge per shape of selection, so that the loop indexes plain
    // slices (the aoi case is two index lists, the full view two tables).
    let mut max = 3 * varint::MAX_LEN;
    let mut m = Merge {
        layouts,
        base,
        cur,
        spans: updates.map_or(&[][..], |u| &u.spans[..]),
        s,
        max: &mut max,
    };
    let (brows, crows) = (&base.rows, &cur.rows);
    match (base_sel, cur_sel) {
        (Sel::Ids(b, bid), Sel::Ids(c, cid)) => m.run(
            b.len(),
            |k| (b[k] as usize, bid[k]),
            c.len(),
            |k| (c[k] as usize, cid[k]),
        ),
        (Sel::All, Sel::All) => m.run(
            brows.len(),
            |k| (k, brows[k].id),
            crows.len(),
            |k| (k, crows[k].id),
        ),
        (b, c) => {
            let (nb, nc) = (sel_len(&b, brows.len()), sel_len(&c, crows.len()));
            m.run(
                nb,
                |k| {
                    let i = sel_at(&b, k);
                    (i, brows[i].id)
                },
                nc,
                |k| {
                    let i = sel_at(&c, k);
                    (i, crows[i].id)
                },
            )
        }
    }
    let s = m.s;
    let mut max = *m.max;
    let cached = spawns
        .filter(|_| s.spawned.len() >= SPAWN_CACHE_MIN)
        .map(|c| c.get_or_init(|| EncodedSpawns::build(layouts, cur)));
    if let Some(c) = cached {
        // The estimate counted each arrival at its longest; it is exact now.
        max = 3 * varint::MAX_LEN
            + s.removed.len() * varint::MAX_U32
            + s.updated
                .iter()
                .map(|u| varint::MAX_U32 + u.2 as usize)
                .sum::<usize>()
            + s.spawned
                .iter()
                .map(|&k| varint::MAX_U32 + c.spans[k as usize].len as usize)
                .sum::<usize>();
    }
    let copied_from = updates.map_or(&[][..], |u| &u.bytes[..]);
    varint::append(out, max, |w| {
        w.len(s.removed.len());
        let mut prev = 0;
        for id in &s.removed {
            w.u32(id.0 - prev);
            prev = id.0;
        }
        w.len(s.updated.len());
        let mut prev = 0;
        for &(id, start, len, shared) in &s.updated {
            w.u32(id.0 - prev);
            prev = id.0;
            let from = if shared { copied_from } else { &s.bytes[..] };
            w.slice(&from[start as usize..][..len as usize]);
        }
        w.len(s.spawned.len());
        let mut prev = 0;
        for &k in &s.spawned {
            let row = &cur.rows[k as usize];
            w.u32(row.id.0 - prev);
            prev = row.id.0;
            match cached {
                Some(c) => {
                    let sp = c.spans[k as usize];
                    w.slice(&c.bytes[sp.start as usize..][..sp.len as usize]);
                }
                None => write_spawn(layouts, cur, row, w),
            }
        }
    });
}

fn sel_len(s: &Sel<'_>, all: usize) -> usize {
    match s {
        Sel::All => all,
        Sel::Indices(i) | Sel::Ids(i, _) => i.len(),
    }
}

fn sel_at(s: &Sel<'_>, k: usize) -> usize {
    match s {
        Sel::All => k,
        Sel::Indices(i) | Sel::Ids(i, _) => i[k] as usize,
    }
}

/// The merge of a baseline view and a current one, by id.
struct Merge<'a> {
    layouts: &'a Layouts,
    base: &'a Table,
    cur: &'a Table,
    /// The encoded updates' spans (empty without them).
    spans: &'a [Span],
    s: &'a mut DeltaScratch,
    /// The most bytes the lists can take, so far.
    max: &'a mut usize,
}

impl Merge<'_> {
    /// `b_at(k)` and `c_at(k)` give the k-th row of each view: its index
    /// in its table and its id.
    #[inline]
    fn run(
        &mut self,
        nb: usize,
        b_at: impl Fn(usize) -> (usize, EntityId),
        nc: usize,
        c_at: impl Fn(usize) -> (usize, EntityId),
    ) {
        let (mut i, mut j) = (0, 0);
        while i < nb && j < nc {
            let ((bi, bid), (ck, cid)) = (b_at(i), c_at(j));
            if bid < cid {
                self.removed(bid);
                i += 1;
            } else if bid > cid {
                self.spawned(ck);
                j += 1;
            } else {
                self.kept(bi, ck, cid);
                i += 1;
                j += 1;
            }
        }
        for i in i..nb {
            self.removed(b_at(i).1);
        }
        for j in j..nc {
            self.spawned(c_at(j).0);
        }
    }

    #[inline]
    fn removed(&mut self, id: EntityId) {
        self.s.removed.push(id);
        *self.max += varint::MAX_U32;
    }

    #[inline]
    fn spawned(&mut self, k: usize) {
        self.s.spawned.push(k as u32);
        let kind = self.cur.rows[k].kind;
        *self.max += 3 * varint::MAX_U32 + self.layouts.kinds[usize::from(kind)].layout.max_bytes;
    }

    /// An entity in both views: its change copied from the encoded
    /// updates (the common case, inline), or encoded here.
    #[inline]
    fn kept(&mut self, bi: usize, k: usize, id: EntityId) {
        if let Some(span) = self.spans.get(k)
            && span.len != ABSENT
        {
            if span.len > 0 {
                self.s.updated.push((id, span.start, span.len, true));
                *self.max += varint::MAX_U32 + span.len as usize;
            }
            return;
        }
        self.kept_encoded(bi, k);
    }

    #[inline(never)]
    fn kept_encoded(&mut self, bi: usize, k: usize) {
        let c = &self.cur.rows[k];
        let b = &self.base.rows[bi];
        if b.kind != c.kind {
            // Not the same entity (ids are never reused by the server, but
            // a table may say otherwise): it leaves and arrives.
            self.removed(b.id);
            self.spawned(k);
            return;
        }
        let layout = &self.layouts.kinds[usize::from(c.kind)].layout;
        let n = layout.len();
        let start = self.s.bytes.len();
        let before = (self.base.slots(b, n), self.base);
        let (cur, new) = (self.cur, self.cur.slots(c, n));
        let mask = varint::append(&mut self.s.bytes, layout.max_bytes, |w| {
            write_change(layout, Some(before), new, cur, w)
        });
        if mask == 0 {
            self.s.bytes.truncate(start);
        } else {
            let len = self.s.bytes.len() - start;
            self.s.updated.push((c.id, start as u32, len as u32, false));
            *self.max += varint::MAX_U32 + len;
        }
    }
}

/// Every entity's arrival (what follows its id gap in a spawned list),
/// encoded once.
#[derive(Clone, Debug, Default)]
pub struct EncodedSpawns {
    /// By index in the table.
    spans: Vec<Span>,
    bytes: Vec<u8>,
}

impl EncodedSpawns {
    /// Encodes the arrival of every entity of `t`.
    pub fn build(layouts: &Layouts, t: &Table) -> Self {
        let max: usize = t
            .rows
            .iter()
            .map(|r| 2 * varint::MAX_U32 + layouts.kinds[usize::from(r.kind)].layout.max_bytes)
            .sum();
        let mut spans = Vec::with_capacity(t.rows.len());
        let mut bytes = Vec::new();
        varint::append(&mut bytes, max, |w| {
            for row in &t.rows {
                let start = w.position();
                write_spawn(layouts, t, row, w);
                spans.push(Span {
                    start: start as u32,
                    len: (w.position() - start) as u32,
                });
            }
        });
        EncodedSpawns { spans, bytes }
    }
}

/// An arrival after its id gap: kind, owner, change from zero.
#[inline]
fn write_spawn(layouts: &Layouts, t: &Table, row: &Row, w: &mut SliceWriter<'_>) {
    let layout = &layouts.kinds[usize::from(row.kind)].layout;
    // A game of one kind sends no kind.
    if layouts.kinds.len() > 1 {
        w.u32(u32::from(row.kind));
    }
    w.u32(row.owner);
    write_change(layout, None, t.slots(row, layout.len()), t, w);
}

/// Why a delta does not fit the view it was applied to, or does not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The bytes do not read as a delta.
    #[error(transparent)]
    Read(crate::codec::DecodeError),
    /// The delta removes or updates an entity the view does not have.
    #[error("delta names {0}, which the baseline does not hold")]
    Missing(EntityId),
    /// The delta spawns an entity the view already has.
    #[error("delta spawns {0}, which the baseline already holds")]
    AlreadyPresent(EntityId),
}

impl From<ReadError> for ApplyError {
    fn from(e: ReadError) -> Self {
        ApplyError::Read(e.into())
    }
}

/// Reads a delta written by [`write_delta`] and applies it to `base`
/// (`None`: a complete view), writing the new view into `out` (cleared
/// first). `removed` is scratch. Never panics; on error `out` holds junk.
pub(crate) fn read_delta(
    layouts: &Layouts,
    base: Option<&Table>,
    r: &mut SliceReader<'_>,
    out: &mut Table,
    removed: &mut Vec<EntityId>,
) -> Result<(), ApplyError> {
    use ReadError::Malformed;
    out.clear();
    let empty = Table::default();
    let base = base.unwrap_or(&empty);
    let gap_id = |prev: &mut u32, g: u32| -> Result<EntityId, ReadError> {
        if g == 0 {
            return Err(Malformed);
        }
        *prev = prev.checked_add(g).ok_or(Malformed)?;
        Ok(EntityId(*prev))
    };
    removed.clear();
    let n = r.len()?;
    let mut prev = 0;
    for _ in 0..n {
        removed.push(gap_id(&mut prev, r.u32()?)?);
    }
    let (mut bi, mut ri) = (0usize, 0usize);
    // Copies the baseline's rows before `id` (all of them for `None`),
    // dropping the removed ones.
    let copy_until = |out: &mut Table, id: Option<EntityId>, bi: &mut usize, ri: &mut usize| {
        while let Some(b) = base.rows.get(*bi) {
            if id.is_some_and(|id| b.id >= id) {
                break;
            }
            if removed.get(*ri) == Some(&b.id) {
                *ri += 1;
            } else if removed.get(*ri).is_some_and(|&r| r < b.id) {
                return Err(ApplyError::Missing(removed[*ri]));
            } else {
                let layout = &layouts.kinds[usize::from(b.kind)].layout;
                out.push_copy(base, b, layout);
            }
            *bi += 1;
        }
        Ok(())
    };
    let n = r.len()?;
    let mut prev = 0;
    for _ in 0..n {
        let id = gap_id(&mut prev, r.u32()?)?;
        copy_until(out, Some(id), &mut bi, &mut ri)?;
        let b = base.rows.get(bi).filter(|b| b.id == id);
        let Some(b) = b else {
            return Err(ApplyError::Missing(id));
        };
        if removed.get(ri) == Some(&id) {
            return Err(ApplyError::Missing(id));
        }
        let kl = &layouts.kinds[usize::from(b.kind)];
        let start = out.values.len() as u32;
        let old = (base.slots(b, kl.layout.len()), base);
        read_change(&kl.layout, Some(old), r, out, true)?;
        push_row(out, kl, Row { start, ..*b });
        bi += 1;
    }
    copy_until(out, None, &mut bi, &mut ri)?;
    if let Some(&missing) = removed.get(ri) {
        return Err(ApplyError::Missing(missing));
    }
    let kept = out.rows.len();
    let n = r.len()?;
    let mut prev = 0;
    for _ in 0..n {
        let id = gap_id(&mut prev, r.u32()?)?;
        let kind = if layouts.kinds.len() > 1 {
            u16::try_from(r.u32()?).map_err(|_| Malformed)?
        } else {
            0
        };
        let owner = r.u32()?;
        let kl = layouts.kinds.get(usize::from(kind)).ok_or(Malformed)?;
        let start = out.values.len() as u32;
        read_change(&kl.layout, None, r, out, false)?;
        let row = Row {
            id,
            kind,
            owner,
            x: 0,
            y: 0,
            start,
        };
        push_row(out, kl, row);
    }
    if out.rows.len() > kept {
        // Arrivals were appended after the kept rows: merge the two runs
        // (a stable sort finds them), then refuse an id twice.
        out.rows.sort_by_key(|r| r.id);
        if let Some(w) = out.rows.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(ApplyError::AlreadyPresent(w[0].id));
        }
    }
    Ok(())
}

/// Appends `row`, with its position read from its (new) slots.
fn push_row(out: &mut Table, kl: &crate::schema::KindLayout, mut row: Row) {
    if let Some(p) = kl.position {
        let s = row.start as usize + p;
        row.x = out.values[s] as i32;
        row.y = out.values[s + 1] as i32;
    }
    out.rows.push(row);
}

/// Appends the room state's change from `old` (`None`: from zero) to
/// `new`: a mask byte 0 when nothing changed, nothing at all when the game
/// declares no room state. Both tables hold the state's
/// slots from their start.
pub fn write_state_change(layout: &Layout, old: Option<&Table>, new: &Table, out: &mut Vec<u8>) {
    let n = layout.len();
    if n == 0 {
        // A game without room state sends none, not even a mask.
        return;
    }
    let base = old.map(|o| (&o.values[..n.min(o.values.len())], o));
    if new.values.len() < n || base.is_some_and(|(v, _)| v.len() < n) {
        // Not the layout's state: a caller's bug; send "unchanged".
        out.push(0);
        return;
    }
    varint::append(out, layout.max_bytes, |w| {
        write_change(layout, base, &new.values[..n], new, w);
    });
}
