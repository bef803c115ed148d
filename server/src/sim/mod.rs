//! Spatial indexing for views: the grid every area-of-interest query uses.
//! Nothing here does I/O, so all of it is unit-tested and benched without
//! sockets.

pub mod grid;

pub use grid::Grid;
