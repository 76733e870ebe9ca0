//! Small formatting helpers for people: durations and sizes.

/// "45 s", "3 min 5 s", "1 h 2 min".
pub fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => {
            let (m, s) = (s / 60, s % 60);
            if s == 0 {
                format!("{m} min")
            } else {
                format!("{m} min {s} s")
            }
        }
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// "1.8 GB", "512.0 MB", "900.0 kB" (decimal units, as registries report sizes), rounded to a
/// tenth. Integer arithmetic only: float formatting would add its code to the wasm.
pub fn bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1_000)];
    for (unit, scale) in UNITS {
        if n >= scale {
            let tenth = scale / 10;
            let tenths = n / tenth + u64::from(n % tenth >= tenth / 2);
            return format!("{}.{} {unit}", tenths / 10, tenths % 10);
        }
    }
    format!("{n} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(120), "2 min");
        assert_eq!(duration(963), "16 min 3 s");
        assert_eq!(duration(3720), "1 h 2 min");
    }

    #[test]
    fn sizes_use_decimal_units() {
        assert_eq!(bytes(1_843_201_234), "1.8 GB");
        assert_eq!(bytes(512_000_000), "512.0 MB");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_000), "1.0 kB");
        assert_eq!(bytes(1_960_000), "2.0 MB");
        assert_eq!(bytes(u64::MAX), "18446744073.7 GB");
    }
}
