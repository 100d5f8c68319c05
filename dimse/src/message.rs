//! Command sets (PS3.7 §9.3, §E): in progress.
