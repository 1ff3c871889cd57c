//! Scanner (being written).
