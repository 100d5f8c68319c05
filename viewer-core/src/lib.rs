//! The viewer's pure logic, native and wasm alike, tested natively.
