//! Vectors stored contiguously, one row each, with the maps between the
//! caller's ids and the rows. Both in-memory engines build on it.

use std::collections::HashMap;

/// Where an upsert put the vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// A new id, in a new last row.
    New(usize),
    /// An id that was there: its row was overwritten.
    Replaced(usize),
}

/// What a removal did: `row` was freed by moving the last row into it (unless
/// it was the last row), so that the rows stay contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Removed {
    pub(crate) row: usize,
}

/// Row-major `f32` vectors, `dim` values a row. One allocation for all of them,
/// so a scan reads memory in order and the prefetcher keeps up.
pub(crate) struct Rows {
    dim: usize,
    data: Vec<f32>,
    ids: Vec<i64>,
    rows: HashMap<i64, usize>,
}

impl Rows {
    pub(crate) fn new(dim: usize) -> Rows {
        Rows { dim, data: Vec::new(), ids: Vec::new(), rows: HashMap::new() }
    }

    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// All the vectors, row after row.
    pub(crate) fn data(&self) -> &[f32] {
        &self.data
    }

    pub(crate) fn row(&self, row: usize) -> &[f32] {
        &self.data[row * self.dim..(row + 1) * self.dim]
    }

    /// The row that holds `id`.
    pub(crate) fn find(&self, id: i64) -> Option<usize> {
        self.rows.get(&id).copied()
    }

    pub(crate) fn id(&self, row: usize) -> i64 {
        self.ids[row]
    }

    /// Stores `vector` (already validated: `dim` finite values) under `id`.
    pub(crate) fn upsert(&mut self, id: i64, vector: &[f32]) -> Placed {
        debug_assert_eq!(vector.len(), self.dim);
        if let Some(&row) = self.rows.get(&id) {
            self.data[row * self.dim..(row + 1) * self.dim].copy_from_slice(vector);
            return Placed::Replaced(row);
        }
        let row = self.ids.len();
        self.data.extend_from_slice(vector);
        self.ids.push(id);
        self.rows.insert(id, row);
        Placed::New(row)
    }

    /// Removes `id` by swap-remove: O(dim), and no holes to skip in a scan.
    pub(crate) fn remove(&mut self, id: i64) -> Option<Removed> {
        let row = self.rows.remove(&id)?;
        swap_remove_row(&mut self.data, self.dim, row);
        self.ids.swap_remove(row);
        if let Some(&moved) = self.ids.get(row) {
            self.rows.insert(moved, row);
        }
        Some(Removed { row })
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.data.reserve(additional * self.dim);
        self.ids.reserve(additional);
        self.rows.reserve(additional);
    }

    /// Heap bytes held (capacity, not length, and the map's table estimated).
    pub(crate) fn heap_bytes(&self) -> usize {
        let map_entry = size_of::<(i64, usize)>() + 1; // hashbrown: one control byte an entry
        self.data.capacity() * size_of::<f32>()
            + self.ids.capacity() * size_of::<i64>()
            + self.rows.capacity() * map_entry
    }
}

/// Removes row `row` of a row-major `Vec` with rows of `width` values by moving
/// the last row into its place.
pub(crate) fn swap_remove_row<T: Copy>(values: &mut Vec<T>, width: usize, row: usize) {
    let last = values.len() / width - 1;
    if row != last {
        values.copy_within(last * width..(last + 1) * width, row * width);
    }
    values.truncate(last * width);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_remove_keep_maps_consistent() {
        let mut rows = Rows::new(2);
        assert_eq!(rows.upsert(10, &[1.0, 0.0]), Placed::New(0));
        assert_eq!(rows.upsert(20, &[0.0, 1.0]), Placed::New(1));
        assert_eq!(rows.upsert(30, &[0.5, 0.5]), Placed::New(2));
        assert_eq!(rows.upsert(20, &[0.6, 0.8]), Placed::Replaced(1));
        assert_eq!(rows.remove(10), Some(Removed { row: 0 }));
        assert_eq!(rows.remove(10), None);
        // 30 moved into row 0.
        assert_eq!((rows.id(0), rows.row(0)), (30, &[0.5, 0.5][..]));
        assert_eq!((rows.id(1), rows.row(1)), (20, &[0.6, 0.8][..]));
        assert_eq!(rows.remove(20), Some(Removed { row: 1 }), "the last row");
        assert_eq!(rows.data(), &[0.5, 0.5]);
        assert_eq!(rows.upsert(10, &[1.0, 0.0]), Placed::New(1));
        assert_eq!(rows.len(), 2);
    }
}
