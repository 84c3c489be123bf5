//! Query intent (being built).
