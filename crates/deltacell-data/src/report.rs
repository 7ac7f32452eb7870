//! (module under construction in this session's parallel work; filled before merge)
