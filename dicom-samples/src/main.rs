//! `dicom-samples`: write synthetic DICOM studies to disk.

fn main() {}
