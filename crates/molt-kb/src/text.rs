//! Text as the knowledge base compares it: Khmer normalised (SIL order, no
//! zero-width marks), words segmented, Latin in lower case. The helpers live
//! in `molt-khmer`, shared with song search.

pub use molt_khmer::{index_text, name_key, words};
