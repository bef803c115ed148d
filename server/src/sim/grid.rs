//! A uniform grid over the arena, rebuilt every tick, for view queries.
//!
//! Rebuilding is a counting sort of the entities by cell: two linear passes,
//! no hashing, no per-cell allocation. A query visits only the cells that the
//! query circle's bounding box touches (at most 3×3 when the cell side is the
//! query radius), so a client's view costs the same at 1,000 or 50,000
//! entities of equal density.

use snapwire_shared::table::Row;

/// Entity indices bucketed by cell, in quantised coordinates.
#[derive(Debug, Default, Clone)]
pub struct Grid {
    /// Cell side in position quanta.
    cell: i64,
    /// Cells per row (and per column).
    cols: usize,
    /// `items[starts[c]..starts[c + 1]]` are the entities in cell `c`.
    starts: Vec<u32>,
    /// Indices into the entity list the grid was built from.
    items: Vec<u32>,
    /// Each item's position, beside it, so that a query reads its cells'
    /// positions in one sequential sweep instead of jumping through the
    /// entity list.
    item_pos: Vec<(i32, i32)>,
    /// `1 / cell`, so placing an entity is a multiply, not a division.
    inv_cell: f64,
    /// Scratch: each entity's cell, computed once per rebuild.
    cell_of_item: Vec<u32>,
    /// Scratch: the row index of each item, in row order.
    index_of_item: Vec<u32>,
    /// Scratch: fill cursors of the counting sort.
    cursor: Vec<u32>,
}

impl Grid {
    /// Rebuilds the grid over the rows for which `positioned` holds, for an
    /// arena of `world_q` quanta a side and cells of `cell_q` quanta;
    /// allocations are reused. Items are indices into `rows`.
    pub fn rebuild(
        &mut self,
        rows: &[Row],
        positioned: impl Fn(&Row) -> bool,
        world_q: i64,
        cell_q: i64,
    ) {
        self.cell = cell_q.max(1);
        // Cap the cell count: a tiny radius in a huge world would otherwise
        // allocate millions of cells (queries still work, cells just grow).
        let cols = (world_q / self.cell + 1).clamp(1, 1024);
        self.cell = self.cell.max(world_q / (cols - 1).max(1) + 1);
        self.inv_cell = 1.0 / self.cell as f64;
        self.cols = cols as usize;
        let n_cells = self.cols * self.cols;
        // Counting sort by cell: count, prefix-sum, place. Each entity's
        // cell is computed once.
        let mut cells = std::mem::take(&mut self.cell_of_item);
        cells.clear();
        let mut index = std::mem::take(&mut self.index_of_item);
        index.clear();
        for (i, r) in rows.iter().enumerate() {
            if positioned(r) {
                cells.push(self.cell_of(r.x, r.y) as u32);
                index.push(i as u32);
            }
        }
        self.cell_of_item = cells;
        self.index_of_item = index;
        self.starts.clear();
        self.starts.resize(n_cells + 1, 0);
        for &c in &self.cell_of_item {
            self.starts[c as usize + 1] += 1;
        }
        for c in 0..n_cells {
            self.starts[c + 1] += self.starts[c];
        }
        let n = self.index_of_item.len();
        self.items.clear();
        self.items.resize(n, 0);
        self.item_pos.clear();
        self.item_pos.resize(n, (0, 0));
        // Place from the back, with a cursor at each cell's end, so that each
        // cell's items stay in input order (ascending id).
        self.cursor.clear();
        self.cursor.extend_from_slice(&self.starts[1..]);
        for (i, &c) in self.cell_of_item.iter().enumerate().rev() {
            let slot = &mut self.cursor[c as usize];
            *slot -= 1;
            let r = self.index_of_item[i];
            self.items[*slot as usize] = r;
            let row = &rows[r as usize];
            self.item_pos[*slot as usize] = (row.x, row.y);
        }
    }

    fn axis(&self, v: i32) -> usize {
        // Multiplying by the reciprocal instead of dividing: monotonic, and
        // the same function places entities and bounds queries, so a value
        // on a cell boundary is found wherever it lands.
        ((f64::from(v) * self.inv_cell) as i64).clamp(0, self.cols as i64 - 1) as usize
    }

    fn cell_of(&self, x: i32, y: i32) -> usize {
        self.axis(y) * self.cols + self.axis(x)
    }

    /// Calls `f` with the index and position of every entity whose cell
    /// touches the square of half-side `r_q` around `(x, y)`: a superset of
    /// the circle, which the caller filters by exact distance.
    pub fn for_each_near(&self, x: i32, y: i32, r_q: i64, mut f: impl FnMut(u32, i32, i32)) {
        if self.cols == 0 {
            return;
        }
        let lo = |v: i32| {
            self.axis((i64::from(v) - r_q).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
        };
        let hi = |v: i32| {
            self.axis((i64::from(v) + r_q).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
        };
        for row in lo(y)..=hi(y) {
            let first = row * self.cols + lo(x);
            let last = row * self.cols + hi(x);
            // Cells of one row are contiguous in `items`.
            let (a, b) = (self.starts[first] as usize, self.starts[last + 1] as usize);
            for (&i, &(x, y)) in self.items[a..b].iter().zip(&self.item_pos[a..b]) {
                f(i, x, y);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use snapwire_shared::EntityId;

    fn ent(i: u32, x: i32, y: i32) -> Row {
        Row {
            id: EntityId(i + 1),
            kind: 0,
            owner: 0,
            x,
            y,
            start: 0,
        }
    }

    proptest! {
        #[test]
        fn a_query_finds_exactly_the_entities_in_range(
            pts in proptest::collection::vec((0i32..16_000, 0i32..16_000), 0..300),
            (qx, qy) in (0i32..16_000, 0i32..16_000),
            r in 1i64..6_000,
            cell in 1i64..8_000,
        ) {
            let ents: Vec<_> = pts.iter().enumerate().map(|(i, &(x, y))| ent(i as u32, x, y)).collect();
            let mut g = Grid::default();
            g.rebuild(&ents, |_| true, 16_000, cell);
            let (mut found, mut wrong_pos) = (Vec::new(), Vec::new());
            g.for_each_near(qx, qy, r, |i, x, y| {
                let e = &ents[i as usize];
                if (x, y) != (e.x, e.y) {
                    wrong_pos.push(i);
                }
                let (dx, dy) = (i64::from(x - qx), i64::from(y - qy));
                if dx * dx + dy * dy <= r * r {
                    found.push(i);
                }
            });
            prop_assert!(wrong_pos.is_empty(), "positions given are the entities' own");
            found.sort_unstable();
            let expected: Vec<u32> = ents.iter().enumerate().filter(|(_, e)| {
                let (dx, dy) = (i64::from(e.x - qx), i64::from(e.y - qy));
                dx * dx + dy * dy <= r * r
            }).map(|(i, _)| i as u32).collect();
            prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn entities_outside_the_arena_are_still_found() {
        let ents = vec![ent(0, -50, -50), ent(1, 20_000, 20_000)];
        let mut g = Grid::default();
        g.rebuild(&ents, |_| true, 16_000, 4_000);
        let mut hits = Vec::new();
        g.for_each_near(0, 0, 100, |i, _, _| hits.push(i));
        assert_eq!(hits, vec![0]);
        hits.clear();
        g.for_each_near(16_000, 16_000, 100, |i, _, _| hits.push(i));
        assert_eq!(hits, vec![1]);
    }
}
