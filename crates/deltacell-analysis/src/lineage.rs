//! Lineages: which cell is which across frames, who divided from whom and when.
//!
//! DeLTA's model, kept as it is so that its results convert without loss: a cell keeps its id
//! from its first frame to its last, **and a mother keeps her id after a division** (the pole
//! that stays in place); the daughter is a new cell whose `mother` is that id, recorded in the
//! mother's `divisions` at the frame of the daughter's birth. Ids start at 1 and are unique in
//! one ROI. The Cell Tracking Challenge's model (a mother's track ends at a division, two
//! daughter tracks begin) is a different view of the same facts; `ctc` converts both ways.

use std::collections::BTreeMap;
use std::fmt;

/// A cell's persistent id, from 1 (DeLTA's `cell` coordinate; 0 means "none" in its files).
pub type CellId = u32;

/// One tracked cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// The cell's id, ≥ 1.
    pub id: CellId,
    /// The cell it divided from, or `None` for a cell present from the start or appearing
    /// without a mother (an orphan).
    pub mother: Option<CellId>,
    /// First frame (0-based index into the ROI's stack) in which the cell is present.
    pub first_frame: usize,
    /// Last frame (0-based, inclusive) in which the cell is present.
    pub last_frame: usize,
    /// `(frame, daughter)` for each division: the daughter's first frame and id, in frame order.
    pub divisions: Vec<(usize, CellId)>,
}

/// Why a lineage is inconsistent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineageError {
    /// A cell id of 0 (reserved for "none").
    #[error("cell id 0 is reserved for 'no cell'")]
    ZeroId,
    /// The same id twice.
    #[error("cell {0} appears twice")]
    DuplicateId(CellId),
    /// `first_frame > last_frame`.
    #[error("cell {id}: first frame {first} is after its last frame {last}")]
    EmptyLife {
        /// The cell.
        id: CellId,
        /// Its first frame.
        first: usize,
        /// Its last frame.
        last: usize,
    },
    /// A mother that is not in the lineage.
    #[error("cell {id}: mother {mother} is not in the lineage")]
    UnknownMother {
        /// The daughter.
        id: CellId,
        /// The missing mother.
        mother: CellId,
    },
    /// A daughter born when her mother was not alive the frame before.
    #[error("cell {id} is born at frame {born} but its mother {mother} lives from frame {first} to {last}")]
    MotherNotAlive {
        /// The daughter.
        id: CellId,
        /// The daughter's first frame.
        born: usize,
        /// The mother.
        mother: CellId,
        /// The mother's first frame.
        first: usize,
        /// The mother's last frame.
        last: usize,
    },
    /// A mother's `divisions` and her daughters' `mother` fields disagree.
    #[error("cell {mother}: division into {daughter} at frame {frame} does not match the daughter's record")]
    DivisionMismatch {
        /// The mother.
        mother: CellId,
        /// The daughter named in the division.
        daughter: CellId,
        /// The frame of the division.
        frame: usize,
    },
}

/// All cells of one ROI, by id.
///
/// # Examples
///
/// A mother (1) present in frames 0–3 whose daughter (2) is born at frame 2:
///
/// ```
/// use deltacell_analysis::Lineage;
///
/// let mut lineage = Lineage::default();
/// let mother = lineage.new_cell(0, None);
/// lineage.extend(mother, 3);
/// let daughter = lineage.new_cell(2, Some(mother));
/// lineage.extend(daughter, 3);
/// lineage.validate().unwrap();
/// assert_eq!(lineage.cell(mother).unwrap().divisions, vec![(2, daughter)]);
/// assert_eq!(lineage.cell(daughter).unwrap().mother, Some(1));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lineage {
    cells: BTreeMap<CellId, Cell>,
}

impl Lineage {
    /// Builds a lineage from its cells, checking it ([`Lineage::validate`]).
    pub fn from_cells(cells: impl IntoIterator<Item = Cell>) -> Result<Self, LineageError> {
        let mut map = BTreeMap::new();
        for cell in cells {
            if cell.id == 0 {
                return Err(LineageError::ZeroId);
            }
            let id = cell.id;
            if map.insert(id, cell).is_some() {
                return Err(LineageError::DuplicateId(id));
            }
        }
        let lineage = Lineage { cells: map };
        lineage.validate()?;
        Ok(lineage)
    }

    /// Adds a cell born (or first seen) at `frame`, with the next free id, and records the
    /// division in its mother's `divisions`. Returns the new id.
    pub fn new_cell(&mut self, frame: usize, mother: Option<CellId>) -> CellId {
        let id = self.cells.keys().next_back().map_or(1, |last| last + 1);
        if let Some(m) = mother.and_then(|m| self.cells.get_mut(&m)) {
            m.divisions.push((frame, id));
            m.divisions.sort_unstable();
        }
        self.cells.insert(
            id,
            Cell {
                id,
                mother,
                first_frame: frame,
                last_frame: frame,
                divisions: Vec::new(),
            },
        );
        id
    }

    /// Records that `id` is present at `frame` (extends its life to it). Unknown ids are ignored.
    pub fn extend(&mut self, id: CellId, frame: usize) {
        if let Some(c) = self.cells.get_mut(&id) {
            c.first_frame = c.first_frame.min(frame);
            c.last_frame = c.last_frame.max(frame);
        }
    }

    /// The cell with this id.
    pub fn cell(&self, id: CellId) -> Option<&Cell> {
        self.cells.get(&id)
    }

    /// Every cell, by increasing id.
    pub fn cells(&self) -> impl ExactSizeIterator<Item = &Cell> {
        self.cells.values()
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether there is no cell.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Checks that ids are non-zero, lives non-empty, mothers known and alive the frame before
    /// each daughter's birth (or at it: DeLTA records a daughter's first frame as the frame of
    /// the division, when the mother is also present), and that every division is recorded on
    /// both sides.
    pub fn validate(&self) -> Result<(), LineageError> {
        for c in self.cells.values() {
            if c.id == 0 {
                return Err(LineageError::ZeroId);
            }
            if c.first_frame > c.last_frame {
                return Err(LineageError::EmptyLife {
                    id: c.id,
                    first: c.first_frame,
                    last: c.last_frame,
                });
            }
            if let Some(m) = c.mother {
                let mother = self.cells.get(&m).ok_or(LineageError::UnknownMother {
                    id: c.id,
                    mother: m,
                })?;
                let alive =
                    mother.first_frame < c.first_frame && mother.last_frame + 1 >= c.first_frame;
                if !alive {
                    return Err(LineageError::MotherNotAlive {
                        id: c.id,
                        born: c.first_frame,
                        mother: m,
                        first: mother.first_frame,
                        last: mother.last_frame,
                    });
                }
                if !mother.divisions.contains(&(c.first_frame, c.id)) {
                    return Err(LineageError::DivisionMismatch {
                        mother: m,
                        daughter: c.id,
                        frame: c.first_frame,
                    });
                }
            }
            for &(frame, d) in &c.divisions {
                let ok = self
                    .cells
                    .get(&d)
                    .is_some_and(|d| d.mother == Some(c.id) && d.first_frame == frame);
                if !ok {
                    return Err(LineageError::DivisionMismatch {
                        mother: c.id,
                        daughter: d,
                        frame,
                    });
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Lineage {
    /// One line per cell: `id mother first last [frame:daughter …]` (0 for no mother).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.cells.values() {
            write!(
                f,
                "{} {} {} {}",
                c.id,
                c.mother.unwrap_or(0),
                c.first_frame,
                c.last_frame
            )?;
            for (frame, d) in &c.divisions {
                write!(f, " {frame}:{d}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daughter_born_before_her_mother_is_refused() {
        let cells = [
            Cell {
                id: 1,
                mother: None,
                first_frame: 3,
                last_frame: 5,
                divisions: vec![(2, 2)],
            },
            Cell {
                id: 2,
                mother: Some(1),
                first_frame: 2,
                last_frame: 4,
                divisions: vec![],
            },
        ];
        assert!(matches!(
            Lineage::from_cells(cells),
            Err(LineageError::MotherNotAlive { id: 2, .. })
        ));
    }

    #[test]
    fn duplicate_and_zero_ids_are_refused() {
        let cell = |id| Cell {
            id,
            mother: None,
            first_frame: 0,
            last_frame: 0,
            divisions: vec![],
        };
        assert_eq!(Lineage::from_cells([cell(0)]), Err(LineageError::ZeroId));
        assert_eq!(
            Lineage::from_cells([cell(1), cell(1)]),
            Err(LineageError::DuplicateId(1))
        );
    }

    #[test]
    fn a_division_recorded_on_one_side_only_is_refused() {
        let cells = [
            Cell {
                id: 1,
                mother: None,
                first_frame: 0,
                last_frame: 5,
                divisions: vec![],
            },
            Cell {
                id: 2,
                mother: Some(1),
                first_frame: 2,
                last_frame: 4,
                divisions: vec![],
            },
        ];
        assert!(matches!(
            Lineage::from_cells(cells),
            Err(LineageError::DivisionMismatch {
                mother: 1,
                daughter: 2,
                ..
            })
        ));
    }
}
