//! A finding's attributes: a small map from names to values, sorted by name.
//!
//! Reports hold hundreds of thousands of findings, and most of their
//! attribute names and many values are the same few dozen strings (`provider`,
//! `country`, `Amazon Web Services`, `valid IIN`). A `BTreeMap<String,
//! String>` spent a node and two heap strings per attribute on them — about
//! 1 KB per endpoint finding, most of a report's memory. Here the pairs sit
//! in one sorted `Vec`, and names and values known in advance (the rule
//! data's strings and the detectors' fixed words) are stored by index, not copied:
//! see [`Value`]. Serialized as a JSON object in name order, as the map was.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

/// An attribute name or value: borrowed when known in advance, else owned.
pub type Text = Cow<'static, str>;

/// A stored name or value: the index of a known string, or an owned string
/// that is not one. 16 bytes where a [`Text`] takes 24, and always in this
/// canonical form (a known string is never `Owned`), so that equality and
/// hashing can compare slots.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Value(Slot);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Slot {
    Known(u32),
    Owned(Box<str>),
}

impl Value {
    /// The known string at `i` (see [`known_index`]), if there is one.
    pub fn known(i: u32) -> Option<Value> {
        known_at(i).map(|_| Value(Slot::Known(i)))
    }

    /// Its index among the known strings, when it is one.
    pub fn known_index(&self) -> Option<u32> {
        match self.0 {
            Slot::Known(i) => Some(i),
            Slot::Owned(_) => None,
        }
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Slot::Known(i) => known().list[*i as usize],
            Slot::Owned(s) => s,
        }
    }

    fn into_text(self) -> Text {
        match self.0 {
            Slot::Known(i) => Cow::Borrowed(known().list[i as usize]),
            Slot::Owned(s) => Cow::Owned(s.into_string()),
        }
    }
}

impl From<Text> for Value {
    fn from(t: Text) -> Value {
        match known_index(&t) {
            Some(i) => Value(Slot::Known(i)),
            None => Value(Slot::Owned(t.into_owned().into_boxed_str())),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        match known_index(s) {
            Some(i) => Value(Slot::Known(i)),
            None => Value(Slot::Owned(s.into())),
        }
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        match known_index(&s) {
            Some(i) => Value(Slot::Known(i)),
            None => Value(Slot::Owned(s.into_boxed_str())),
        }
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

/// Attribute names and values, sorted by name, names unique.
///
/// Either owned (as detectors build them) or shared: a report repeats the
/// same few thousand sets across hundreds of thousands of findings (every
/// `valid IIN`, every finding of one endpoint host), and the cache's decoder
/// hands out one shared copy of each set it has seen ([`Attributes::shared`])
/// instead of a fresh allocation per finding. Changing a shared set copies
/// it first, so sharing is never visible.
#[derive(Clone)]
pub struct Attributes(Repr);

#[derive(Clone)]
enum Repr {
    Owned(Vec<(Value, Value)>),
    Shared(Arc<[(Value, Value)]>),
}

impl Default for Attributes {
    fn default() -> Attributes {
        Attributes::new()
    }
}

impl PartialEq for Attributes {
    fn eq(&self, other: &Attributes) -> bool {
        self.pairs() == other.pairs()
    }
}

impl Eq for Attributes {}

impl Hash for Attributes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.pairs().hash(state);
    }
}

impl std::fmt::Debug for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Attributes {
        Attributes(Repr::Owned(Vec::new()))
    }

    /// No attributes, with room for `n`.
    pub fn with_capacity(n: usize) -> Attributes {
        Attributes(Repr::Owned(Vec::with_capacity(n)))
    }

    /// These attributes as a set that clones without copying (a reference
    /// count), for handing the same set to many findings.
    pub fn shared(self) -> Attributes {
        match self.0 {
            Repr::Owned(v) => Attributes(Repr::Shared(v.into())),
            shared => Attributes(shared),
        }
    }

    /// An identity of a shared set ([`Attributes::shared`]): equal for two
    /// clones of one set, so a loop over many findings can reuse what it
    /// worked out for the previous one. `None` for a set of its own.
    pub fn shared_id(&self) -> Option<usize> {
        match &self.0 {
            Repr::Shared(a) => Some(a.as_ptr() as usize),
            Repr::Owned(_) => None,
        }
    }

    fn pairs(&self) -> &[(Value, Value)] {
        match &self.0 {
            Repr::Owned(v) => v,
            Repr::Shared(a) => a,
        }
    }

    /// The pairs, to change: a shared set is copied first.
    fn pairs_mut(&mut self) -> &mut Vec<(Value, Value)> {
        if let Repr::Shared(a) = &self.0 {
            self.0 = Repr::Owned(a.to_vec());
        }
        match &mut self.0 {
            Repr::Owned(v) => v,
            Repr::Shared(_) => unreachable!("made owned above"),
        }
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.pairs().binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Attributes from pairs already in name order with unique names: a
    /// detector's fixed layout, stored as is (checked in debug builds; the
    /// detectors' tests compare such attributes with `insert`-built ones).
    pub(crate) fn from_sorted(pairs: Vec<(Value, Value)>) -> Attributes {
        debug_assert!(pairs.windows(2).all(|w| w[0].0.as_str() < w[1].0.as_str()));
        Attributes(Repr::Owned(pairs))
    }

    /// Sets `key` to `value`; returns the value it replaces.
    pub fn insert(&mut self, key: impl Into<Text>, value: impl Into<Text>) -> Option<Text> {
        self.insert_value(Value::from(key.into()), Value::from(value.into()))
            .map(Value::into_text)
    }

    /// [`Attributes::insert`] for a name and value already stored as
    /// [`Value`]s (the cache's decoder).
    pub fn insert_value(&mut self, key: Value, value: Value) -> Option<Value> {
        // Built in name order (the usual case): append.
        if self
            .pairs()
            .last()
            .is_none_or(|(k, _)| k.as_str() < key.as_str())
        {
            self.pairs_mut().push((key, value));
            return None;
        }
        match self.position(key.as_str()) {
            Ok(i) => Some(std::mem::replace(&mut self.pairs_mut()[i].1, value)),
            Err(i) => {
                self.pairs_mut().insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).ok().map(|i| self.pairs()[i].1.as_str())
    }

    /// [`Attributes::get`] for a name already stored as a [`Value`]: a
    /// known name is found by its index, with no string comparison (for
    /// loops over many findings).
    pub fn get_value(&self, key: &Value) -> Option<&str> {
        self.pairs()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Text> {
        let i = self.position(key).ok()?;
        Some(self.pairs_mut().remove(i).1.into_text())
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.pairs().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs().is_empty()
    }

    /// Names and values, in name order.
    pub fn iter(&self) -> Iter<'_> {
        self.pairs().iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Names and values as stored, in name order (the cache's encoder).
    pub fn values(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.pairs().iter().map(|(k, v)| (k, v))
    }

    /// Names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs().iter().map(|(k, _)| k.as_str())
    }
}

/// Iterator over [`Attributes`].
pub type Iter<'a> = std::iter::Map<
    std::slice::Iter<'a, (Value, Value)>,
    fn(&'a (Value, Value)) -> (&'a str, &'a str),
>;

impl<'a> IntoIterator for &'a Attributes {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl std::ops::Index<&str> for Attributes {
    type Output = str;
    /// # Panics
    /// When `key` is not set (as a map's index does).
    fn index(&self, key: &str) -> &str {
        match self.position(key) {
            Ok(i) => self.pairs()[i].1.as_str(),
            Err(_) => panic!("no attribute {key:?}"),
        }
    }
}

impl<K: Into<Text>, V: Into<Text>> FromIterator<(K, V)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Attributes {
        let mut a = Attributes::new();
        for (k, v) in iter {
            a.insert(k, v);
        }
        a
    }
}

impl<K: Into<Text>, V: Into<Text>> Extend<(K, V)> for Attributes {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl serde::Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> serde::Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Attributes, D::Error> {
        let m = BTreeMap::<String, String>::deserialize(d)?;
        // Sorted and unique already: pushed, not inserted.
        Ok(Attributes(Repr::Owned(
            m.into_iter()
                .map(|(k, v)| (Value::from(k), Value::from(v)))
                .collect(),
        )))
    }
}

/// Names and values every report repeats: the attribute names and fixed
/// values the detectors and the scanner write.
const KNOWN: &[&str] = &[
    // names
    "aggregated",
    "category",
    "column",
    "column_index",
    "context",
    "country",
    "dataset",
    "distinct",
    "entity_type",
    "family",
    "format",
    "hidden_by_layer",
    "holds",
    "host",
    "layer",
    "libraries",
    "note",
    "operator_country",
    "part",
    "policy",
    "provider",
    "region",
    "remote",
    "row",
    "service",
    "validation",
    // values
    "unknown",
    "valid IIN",
    "valid BIN",
    "resident",
    "non_resident",
    "joint_ie",
    "evidence",
    "import+call",
    "import_or_call",
    "aggregated",
    "task",
    "matched",
    "size",
    "count",
    "reasons",
    "overwritten_by_layer",
    "identifier keyword nearby",
    "column",
    "csv",
    "tsv",
    "json",
    "jsonl",
    "parquet",
    "metadata",
    "leading zero lost",
    "column name says it holds IDs",
    "most values of the column are valid IDs",
    "KZ",
];

/// The known strings, in a fixed order, with their index.
struct Known {
    list: Vec<&'static str>,
    index: HashMap<&'static str, u32, crate::hash::FastHash>,
    digest: u64,
}

fn known() -> &'static Known {
    static KNOWN_TABLE: OnceLock<Known> = OnceLock::new();
    KNOWN_TABLE.get_or_init(|| {
        let rules = crate::Ruleset::builtin();
        let mut all: Vec<&'static str> = KNOWN.to_vec();
        for e in &rules.endpoints {
            all.extend([
                e.id.as_str(),
                e.provider.as_str(),
                e.service.as_str(),
                e.category.as_str(),
            ]);
            for s in [&e.country, &e.region, &e.operator_country, &e.note]
                .into_iter()
                .flatten()
            {
                all.push(s.as_str());
            }
        }
        for r in &rules.region_tables {
            for (region, country) in &r.regions {
                all.extend([region.as_str(), country.as_str()]);
            }
        }
        let mut k = Known {
            list: Vec::new(),
            index: HashMap::default(),
            digest: 0,
        };
        let mut h = crate::hash::FastHasher::default();
        for s in all {
            if let std::collections::hash_map::Entry::Vacant(v) = k.index.entry(s) {
                v.insert(k.list.len() as u32);
                k.list.push(s);
                s.hash(&mut h);
            }
        }
        k.digest = h.finish();
        k
    })
}

/// The position of `s` among the known strings: the cache stores this
/// small number instead of the string.
pub fn known_index(s: &str) -> Option<u32> {
    known().index.get(s).copied()
}

/// The known string at `i` (see [`known_index`]).
pub fn known_at(i: u32) -> Option<&'static str> {
    known().list.get(i as usize).copied()
}

/// A digest of the known strings and their order: stored with cached
/// values, so that indices written by another build are never misread.
pub fn known_digest() -> u64 {
    known().digest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_set_is_copied_before_it_changes() {
        let mut a = Attributes::new();
        a.insert("provider", "aws");
        a.insert("host", "bucket.s3.amazonaws.com");
        let shared = a.clone().shared();
        let mut b = shared.clone();
        assert_eq!(shared, a);
        assert_eq!(b, a);
        b.insert("region", "eu-central-1");
        assert_eq!(b.remove("provider").as_deref(), Some("aws"));
        // The other holders of the set see no change.
        assert_eq!(shared, a);
        assert_eq!(shared.get("provider"), Some("aws"));
        assert_eq!(shared.get("region"), None);
        assert_eq!(b.keys().collect::<Vec<_>>(), ["host", "region"]);
        let hash = |x: &Attributes| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            x.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&shared), hash(&a));
        assert_eq!(Attributes::new().shared(), Attributes::new());
        assert!(shared.shared_id().is_some());
        assert_eq!(shared.clone().shared_id(), shared.shared_id());
        assert_eq!(a.shared_id(), None);
        assert_ne!(a.clone().shared().shared_id(), shared.shared_id());
        for key in ["provider", "host", "region", "nope"] {
            assert_eq!(b.get_value(&Value::from(key)), b.get(key), "{key}");
            assert_eq!(shared.get_value(&Value::from(key)), shared.get(key));
        }
    }

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut a = Attributes::new();
        let mut m = BTreeMap::new();
        for (k, v) in [("b", "1"), ("a", "2"), ("c", "3"), ("a", "4"), ("", "5")] {
            assert_eq!(
                a.insert(k.to_string(), v),
                m.insert(k.to_string(), v.to_string()).map(Cow::Owned)
            );
        }
        let ours: Vec<_> = a.iter().collect();
        let theirs: Vec<_> = m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(ours, theirs);
        assert_eq!(a.get("a"), Some("4"));
        assert_eq!(&a["c"], "3");
        assert_eq!(a.remove("b").as_deref(), Some("1"));
        assert!(!a.contains_key("b"));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"":"5","a":"4","c":"3"}"#
        );
        let back: Attributes = serde_json::from_str(r#"{"c":"3","a":"4","":"5"}"#).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn a_stored_value_is_two_words() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<(Value, Value)>(), 32);
    }

    #[test]
    fn values_are_canonical() {
        let borrowed = Value::from(Cow::Borrowed("provider"));
        let owned = Value::from("provider".to_string());
        assert_eq!(borrowed, owned);
        assert_eq!(borrowed.known_index(), known_index("provider"));
        let host = Value::from("my-bucket.example");
        assert_eq!(host.known_index(), None);
        assert_eq!(host.as_str(), "my-bucket.example");
        assert_eq!(Value::known(u32::MAX), None);
    }

    #[test]
    fn known_strings_round_trip_by_index() {
        let i = known_index("provider").unwrap();
        assert_eq!(known_at(i), Some("provider"));
        assert_eq!(known_index("not a known string"), None);
        assert_eq!(known_at(u32::MAX), None);
        assert_eq!(known_digest(), known_digest());
    }

    #[test]
    fn known_strings_are_borrowed() {
        assert!(Value::from("provider").known_index().is_some());
        assert!(Value::from("valid IIN").known_index().is_some());
        assert!(Value::from("eu-central-1".to_string())
            .known_index()
            .is_some());
        assert!(Value::from("my-bucket.example").known_index().is_none());
    }
}
