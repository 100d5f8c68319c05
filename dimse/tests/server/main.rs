//! The acceptor against real peers: dcmtk's echoscu/storescu, and a raw
//! upper-layer peer for the inputs no well-behaved tool sends.

mod dcmtk;
mod hostile;
mod support;
