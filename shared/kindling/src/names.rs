//! Enums written as names (in `kindling.toml`, the CLI, the stores): each variant's name is
//! declared once, with [`named!`], and parsing, printing and the "one of ..." of an error all
//! read that one list.

/// An enum whose values are written as names.
pub trait Named: Copy + PartialEq + Sized + 'static {
    /// Every variant with its name, in the order errors list them.
    const NAMES: &'static [(&'static str, Self)];

    /// The variant's name.
    fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(n, _)| n)
    }

    /// The variant with this name.
    fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// `a, b or c`: what a value may be, for errors.
    fn expected() -> String {
        let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// Implements [`Named`] for an enum: `named!(Repeat { Every = "every", Once = "once" });`.
#[macro_export]
macro_rules! named {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $crate::names::Named for $ty {
            const NAMES: &'static [(&'static str, Self)] = &[$(($name, $ty::$variant)),+];
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Day {
        Every,
        Weekdays,
        BusinessDays,
    }
    named!(Day {
        Every = "every",
        Weekdays = "weekdays",
        BusinessDays = "business_days",
    });

    #[test]
    fn names_parse_print_and_list_from_one_declaration() {
        assert_eq!(Day::from_name("weekdays"), Some(Day::Weekdays));
        assert_eq!(Day::from_name("Weekdays"), None);
        assert_eq!(Day::BusinessDays.name(), "business_days");
        assert_eq!(Day::expected(), "every, weekdays or business_days");
        for (name, v) in Day::NAMES {
            assert_eq!(Day::from_name(name), Some(*v));
        }
    }
}
