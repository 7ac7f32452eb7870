//! What the simulations hand to the renderer: cells with identities, and the tracking ground
//! truth derived from two consecutive frames.

use crate::image::{Labels, Mask, Plane};
use crate::morphology::{label, Connectivity};

use super::render::Rod;

/// One cell in one frame: its shape and its lineage.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CellView {
    pub(crate) rod: Rod,
    /// Persistent identity (unique within one simulation, starting at 1).
    pub(crate) id: u32,
    /// Identity of the cell it was born from (0 for the founders).
    pub(crate) parent: u32,
    /// Simulation frame in which it was born (0 for the founders).
    pub(crate) born: u32,
}

/// One tracking training sample: DeLTA's `seg/` (seed) and `mot_dau/` (ground truth) masks.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackSample {
    /// DeLTA's cell number of the seed in the previous frame: the 1-based label of its
    /// 4-connected component in raster order (as `predict_compile_from_seg_track` numbers them).
    pub cell: u32,
    /// Mask of the seed cell in the previous frame (`seg/`).
    pub seed: Mask,
    /// Mask, in the current frame, of the seed cell and of its daughter if it divided
    /// (`mot_dau/`); empty when the cell left the field of view.
    pub mot_dau: Mask,
}

/// Renumbers rasterised labels (`1..=cells.len()` in `cells` order) so that labels are the
/// 4-connected components of the mask in raster order (DeLTA's numbering), and returns, per new
/// label, the index into `cells` it came from.
pub(crate) fn raster_order(lab: &Labels) -> (Labels, Vec<usize>) {
    let (comp, n) = label(&lab.to_mask(), Connectivity::Four);
    let mut owner = vec![usize::MAX; n as usize];
    for (c, v) in comp.as_slice().iter().zip(lab.as_slice()) {
        if *c != 0 && owner[*c as usize - 1] == usize::MAX {
            owner[*c as usize - 1] = *v as usize - 1;
        }
    }
    (comp, owner)
}

/// Tracking ground truth between two frames: one [`TrackSample`] per component of the previous
/// frame. `prev`/`cur` are raster-ordered labels with their owners (see [`raster_order`]);
/// `frame` is the simulation frame of `cur`, so a daughter is a cell with `born == frame` whose
/// parent is the seed.
pub(crate) fn track_samples(
    prev: (&Labels, &[usize], &[CellView]),
    cur: (&Labels, &[usize], &[CellView]),
    frame: u32,
) -> Vec<TrackSample> {
    let (plab, pown, pcells) = prev;
    let (clab, cown, ccells) = cur;
    let (h, w) = plab.shape();
    // For each current label: the identity it continues, and the parent if it was just born.
    let cur_of: Vec<(u32, u32)> = cown
        .iter()
        .map(|&i| {
            let c = &ccells[i];
            (c.id, if c.born == frame { c.parent } else { 0 })
        })
        .collect();
    (0..pown.len())
        .map(|k| {
            let id = pcells[pown[k]].id;
            let want = k as u32 + 1;
            let seed = Mask::from_plane(plab.map(|v| u8::from(v == want)));
            let mut md = Plane::filled(h, w, 0u8);
            for (m, &v) in md.as_mut_slice().iter_mut().zip(clab.as_slice()) {
                if v != 0 {
                    let (cid, parent) = cur_of[v as usize - 1];
                    *m = u8::from(cid == id || parent == id);
                }
            }
            TrackSample {
                cell: want,
                seed,
                mot_dau: Mask::from_plane(md),
            }
        })
        .collect()
}
